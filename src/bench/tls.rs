//! `--tls explicit|implicit`: the client side of FTPS over rustls, on byte
//! buffers (the worker's ring does the I/O).
//!
//! Each control session gets its own rustls client config and session store,
//! so its data connections resume *its* TLS session (servers that bind data
//! connections to their control session, ringftpd among them, refuse others
//! with 522). The bench speaks TLS 1.2: rustls gives a client each TLS 1.3
//! ticket once (its ticket type cannot be copied), and a server that issues
//! no tickets on data connections would run a long session out of them; a
//! TLS 1.2 session is resumed any number of times.
//! The server's certificate is not verified: the bench measures servers, it
//! does not protect data (a self-signed test certificate must work).

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use rustls::client::{ClientSessionStore, Tls12ClientSessionValue, Tls13ClientSessionValue};

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, NamedGroup};

/// How FTPS is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TlsMode {
    /// AUTH TLS on the normal port, then PBSZ 0 and PROT P.
    Explicit,
    /// TLS from the first byte (the server's implicit FTPS port), PROT P.
    Implicit,
}

/// One control session's resumption state: its last TLS 1.2 session, never
/// used up.
#[derive(Debug, Default)]
struct ReusingStore {
    kx: Mutex<Option<NamedGroup>>,
    tls12: Mutex<Option<Tls12ClientSessionValue>>,
}

impl ClientSessionStore for ReusingStore {
    fn set_kx_hint(&self, _: ServerName<'static>, group: NamedGroup) {
        if let Ok(mut g) = self.kx.lock() {
            *g = Some(group);
        }
    }

    fn kx_hint(&self, _: &ServerName<'_>) -> Option<NamedGroup> {
        self.kx.lock().ok().and_then(|g| *g)
    }

    fn set_tls12_session(&self, _: ServerName<'static>, value: Tls12ClientSessionValue) {
        if let Ok(mut s) = self.tls12.lock() {
            *s = Some(value);
        }
    }

    fn tls12_session(&self, _: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        self.tls12.lock().ok().and_then(|s| s.clone())
    }

    fn remove_tls12_session(&self, _: &ServerName<'static>) {
        if let Ok(mut s) = self.tls12.lock() {
            *s = None;
        }
    }

    fn insert_tls13_ticket(&self, _: ServerName<'static>, _: Tls13ClientSessionValue) {}

    fn take_tls13_ticket(&self, _: &ServerName<'static>) -> Option<Tls13ClientSessionValue> {
        None
    }
}

/// The run's base client config (built once).
pub fn base_config() -> Arc<ClientConfig> {
    #[allow(deprecated)] // ring: see docs/dependencies.md
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS12])
        .expect("ring supports TLS 1.2")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(crate::tls::AnyCert(provider)))
        .with_no_client_auth();
    Arc::new(cfg)
}

/// One control session's config: the base with its own session store.
pub fn session_config(base: &Arc<ClientConfig>) -> Arc<ClientConfig> {
    let mut cfg = (**base).clone();
    cfg.resumption = rustls::client::Resumption::store(Arc::new(ReusingStore::default()));
    Arc::new(cfg)
}

/// One client TLS connection over byte buffers.
pub struct ClientTls {
    conn: ClientConnection,
    peer_closed: bool,
}

impl ClientTls {
    pub fn new(cfg: &Arc<ClientConfig>) -> Option<ClientTls> {
        let name = ServerName::try_from("localhost").ok()?;
        let mut conn = ClientConnection::new(cfg.clone(), name).ok()?;
        conn.set_buffer_limit(None);
        Some(ClientTls {
            conn,
            peer_closed: false,
        })
    }

    /// Feeds received records; appends their plaintext to `plain`. False
    /// when the bytes are not TLS or the peer's alert ended the connection.
    pub fn feed(&mut self, mut bytes: &[u8], plain: &mut Vec<u8>) -> bool {
        while !bytes.is_empty() {
            match self.conn.read_tls(&mut bytes) {
                Ok(0) => break,
                Ok(_) => {}
                Err(_) => return false,
            }
            match self.conn.process_new_packets() {
                Ok(st) => self.peer_closed |= st.peer_has_closed(),
                Err(_) => return false,
            }
            let _ = self.conn.reader().read_to_end(plain);
        }
        true
    }

    pub fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// After the handshake: "TLSv1_2 TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
    /// (rustls' names for the version and the suite).
    pub fn negotiated(&self) -> Option<String> {
        let version = self.conn.protocol_version()?;
        let suite = self.conn.negotiated_cipher_suite()?;
        Some(format!("{version:?} {:?}", suite.suite()))
    }

    pub fn peer_closed(&self) -> bool {
        self.peer_closed
    }

    pub fn write_plain(&mut self, data: &[u8]) {
        let _ = self.conn.writer().write_all(data);
    }

    pub fn close(&mut self) {
        self.conn.send_close_notify();
    }

    pub fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// Appends the records waiting to be sent to `out`.
    pub fn take_ciphertext(&mut self, out: &mut Vec<u8>) {
        while self.conn.wants_write() {
            match self.conn.write_tls(out) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    }
}
