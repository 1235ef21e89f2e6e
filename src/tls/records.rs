//! One TLS connection, client or server, driven over byte buffers: received
//! ciphertext in, plaintext out, plaintext in, records out. The server's
//! [`TlsStream`](super::TlsStream) and the load generator's client are this
//! type over rustls's server and client connections.

use std::io::{Read, Write};
use std::ops::DerefMut;

use rustls::ConnectionCommon;

/// What [`Records::feed`] found in the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fed {
    /// Records processed; there may be plaintext, or output to send.
    Ok,
    /// The bytes are not TLS, or the handshake failed (an alert may be
    /// waiting in [`Records::take_ciphertext`]): close the connection.
    Failed,
}

/// A TLS connection (`C`: rustls's `ServerConnection` or `ClientConnection`)
/// over in-memory buffers.
pub struct Records<C> {
    pub(super) conn: C,
    /// The peer sent close_notify.
    peer_closed: bool,
}

impl<C, D> std::fmt::Debug for Records<C>
where
    C: DerefMut<Target = ConnectionCommon<D>>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Records")
            .field("handshaking", &self.conn.is_handshaking())
            .field("peer_closed", &self.peer_closed)
            .finish()
    }
}

impl<C, D> Records<C>
where
    C: DerefMut<Target = ConnectionCommon<D>>,
{
    /// Wraps a fresh connection.
    pub fn over(mut conn: C) -> Records<C> {
        // Our callers bound what they write per step; rustls must take it all.
        conn.set_buffer_limit(None);
        Records {
            conn,
            peer_closed: false,
        }
    }

    /// Feeds received ciphertext (all of it), processes the records and
    /// appends the plaintext they carried to `plain` (rustls holds at most
    /// 16 KiB of plaintext itself, so it is drained as records are read).
    pub fn feed(&mut self, mut bytes: &[u8], plain: &mut Vec<u8>) -> Fed {
        while !bytes.is_empty() {
            match self.conn.read_tls(&mut bytes) {
                Ok(0) => break,
                Ok(_) => {}
                Err(_) => return Fed::Failed,
            }
            match self.conn.process_new_packets() {
                Ok(st) => self.peer_closed |= st.peer_has_closed(),
                Err(_) => return Fed::Failed,
            }
            // Ok(0) at close_notify, WouldBlock when nothing is buffered.
            let _ = self.conn.reader().read_to_end(plain);
        }
        Fed::Ok
    }

    /// True until the handshake is complete.
    pub fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// The peer sent close_notify (no more plaintext will come).
    pub fn peer_closed(&self) -> bool {
        self.peer_closed
    }

    /// Queues plaintext to send (encrypted once the handshake is done).
    pub fn write_plain(&mut self, data: &[u8]) {
        // The buffer limit is off, so the writer takes everything.
        let _ = self.conn.writer().write_all(data);
    }

    /// Queues close_notify.
    pub fn close(&mut self) {
        self.conn.send_close_notify();
    }

    /// True when records wait to be sent.
    pub fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// Appends every record waiting to be sent to `out`.
    pub fn take_ciphertext(&mut self, out: &mut Vec<u8>) {
        while self.conn.wants_write() {
            match self.conn.write_tls(out) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    }

    /// The negotiated protocol version, for logs ("TLSv1.3").
    pub fn version(&self) -> Option<&'static str> {
        self.conn.protocol_version().map(|v| match v {
            rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3",
            rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2",
            _ => "TLS",
        })
    }

    /// After the handshake, the version and the cipher suite, for reports
    /// ("TLSv1.2 TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384").
    pub fn negotiated(&self) -> Option<String> {
        let suite = self.conn.negotiated_cipher_suite()?;
        Some(format!("{} {:?}", self.version()?, suite.suite()))
    }
}
