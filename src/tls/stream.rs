//! One TLS connection (control or data) driven over byte buffers.

use std::io::{Read, Write};
use std::sync::Arc;

use rustls::{HandshakeKind, ServerConfig, ServerConnection};

use super::record::RecordSealer;
use super::SessionTag;

/// What [`TlsStream::feed`] found in the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fed {
    /// Records processed; there may be plaintext, or output to send.
    Ok,
    /// The bytes are not TLS, or the handshake failed (an alert may be
    /// waiting in [`TlsStream::take_ciphertext`]): close the connection.
    Failed,
}

/// A server-side TLS connection over in-memory buffers.
pub struct TlsStream {
    conn: ServerConnection,
    /// The peer sent close_notify.
    peer_closed: bool,
    /// The config lets the traffic secrets out ([`TlsStream::into_sealer`]).
    secrets_extractable: bool,
}

impl std::fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsStream")
            .field("handshaking", &self.conn.is_handshaking())
            .field("peer_closed", &self.peer_closed)
            .finish()
    }
}

impl TlsStream {
    /// A control connection: every session it makes resumable carries `tag`.
    pub fn control(config: &Arc<ServerConfig>, tag: SessionTag) -> Option<TlsStream> {
        let mut s = TlsStream::new(config)?;
        s.conn.set_resumption_data(tag.as_bytes());
        Some(s)
    }

    /// A data connection (checked with [`TlsStream::resumed_tag`]).
    pub fn data(config: &Arc<ServerConfig>) -> Option<TlsStream> {
        TlsStream::new(config)
    }

    fn new(config: &Arc<ServerConfig>) -> Option<TlsStream> {
        let mut conn = ServerConnection::new(config.clone()).ok()?;
        // Our callers bound what they write per step; rustls must take it all.
        conn.set_buffer_limit(None);
        Some(TlsStream {
            conn,
            peer_closed: false,
            secrets_extractable: config.enable_secret_extraction,
        })
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
                Ok(st) => {
                    if st.peer_has_closed() {
                        self.peer_closed = true;
                    }
                }
                Err(_) => return Fed::Failed,
            }
            self.read_all_plain(plain);
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

    /// Appends every decrypted byte buffered to `out`.
    fn read_all_plain(&mut self, out: &mut Vec<u8>) {
        // Ok(0) at close_notify, WouldBlock when nothing is buffered.
        let _ = self.conn.reader().read_to_end(out);
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

    /// After the handshake: true when this connection resumed a session
    /// of the control session tagged `tag`. The configs' ticketer and cache
    /// belong to that control session alone ([`super::TlsConfigs::session`]),
    /// so any resumption is of one of its sessions; a TLS 1.3 ticket's tag
    /// is compared as well (rustls gives none back for TLS 1.2).
    pub fn resumed_from(&self, tag: SessionTag) -> bool {
        let resumed = self.conn.handshake_kind() == Some(HandshakeKind::Resumed);
        resumed
            && self
                .conn
                .received_resumption_data()
                .is_none_or(|got| got == tag.as_bytes())
    }

    /// True when [`TlsStream::into_sealer`] will succeed: the handshake is
    /// done, nothing is left to send, the config allows taking the secrets
    /// out, and the version and suite are ones [`RecordSealer`] frames.
    pub fn sealable(&self) -> bool {
        use rustls::CipherSuite as S;
        let suite_ok = self.conn.negotiated_cipher_suite().is_some_and(|s| {
            matches!(
                s.suite(),
                S::TLS13_AES_128_GCM_SHA256
                    | S::TLS13_AES_256_GCM_SHA384
                    | S::TLS13_CHACHA20_POLY1305_SHA256
                    | S::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
                    | S::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
                    | S::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
                    | S::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
                    | S::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
                    | S::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
            )
        });
        let version_ok = matches!(
            self.conn.protocol_version(),
            Some(rustls::ProtocolVersion::TLSv1_2 | rustls::ProtocolVersion::TLSv1_3)
        );
        self.secrets_extractable
            && !self.conn.is_handshaking()
            && !self.conn.wants_write()
            && suite_ok
            && version_ok
    }

    /// Hands the transmit direction to a [`RecordSealer`]: rustls gives up
    /// the traffic secret and the next sequence number (the step a kTLS
    /// set-up takes) and the connection is gone. Only for a connection
    /// that will send and never read again. Check [`TlsStream::sealable`]
    /// first: after a `None` nothing can be sent on this connection.
    pub fn into_sealer(self) -> Option<RecordSealer> {
        if !self.sealable() {
            return None;
        }
        let version = self.conn.protocol_version()?;
        // The buffered connection's extraction is not deprecated (the
        // unbuffered one's is, for lacking ticket and key-update support;
        // a data connection gets no tickets, and the sealer never updates
        // keys: its sequence numbers last 2^64 - 2^16 records).
        let secrets = self.conn.dangerous_extract_secrets().ok()?;
        let (seq, tx) = secrets.tx;
        RecordSealer::new(version, seq, &tx)
    }

    /// The negotiated protocol version, for logs ("TLSv1.3").
    pub fn version(&self) -> Option<&'static str> {
        self.conn.protocol_version().map(|v| match v {
            rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3",
            rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2",
            _ => "TLS",
        })
    }
}
