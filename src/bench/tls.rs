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

use std::sync::{Arc, Mutex};

use rustls::client::{ClientSessionStore, Tls12ClientSessionValue, Tls13ClientSessionValue};

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, NamedGroup};

use crate::tls::Records;

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

/// One client TLS connection over byte buffers (the server's record layer,
/// `tls::Records`, over a rustls `ClientConnection`).
pub type ClientTls = Records<ClientConnection>;

/// A client connection for `cfg`, to the name the bench always gives.
pub fn client(cfg: &Arc<ClientConfig>) -> Option<ClientTls> {
    let name = ServerName::try_from("localhost").ok()?;
    Some(Records::over(
        ClientConnection::new(cfg.clone(), name).ok()?,
    ))
}
