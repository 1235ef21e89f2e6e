//! FTPS (RFC 4217) over rustls, sans I/O.
//!
//! This module never touches an fd and makes no syscall: the server's ring
//! receives ciphertext into buffers it owns and hands it to [`TlsStream::feed`];
//! plaintext comes out of it into the caller's buffer; what is to be sent
//! is written with [`TlsStream::write_plain`] and the records come out of
//! [`TlsStream::take_ciphertext`] into a buffer the ring then sends.
//!
//! rustls is driven through its buffered `ServerConnection` with in-memory
//! `read_tls(&mut &[u8])` / `write_tls(&mut Vec<u8>)` (docs/dependencies.md
//! says why not the unbuffered API).
//!
//! - [`TlsConfigs::from_pem`]: the certificate and key (PEM bytes, read by the
//!   caller) checked against each other: the base server config.
//! - [`TlsConfigs::session`]: one control session's [`SessionTls`]: a control
//!   config and a data config sharing a ticketer and a session cache that
//!   belong to that control session alone (the data config may only read
//!   them: `readonly.rs`), and its random [`SessionTag`],
//!   which every TLS 1.3 ticket it issues carries (`set_resumption_data`).
//!   A data connection is accepted only when it resumed one of those
//!   sessions ([`TlsStream::resumed_from`]).
//!
//! - [`RecordSealer`] (`sealer.rs`): after a data connection's handshake,
//!   a transfer that only sends (RETR, LIST, NLST, MLSD) takes the transmit
//!   secret out of rustls ([`TlsStream::into_sealer`]) and seals full-size
//!   records straight into its reused send buffer.
//!
//! Only TLS 1.2 and 1.3 exist in rustls, so older clients fail the handshake.

mod any_cert;
mod readonly;
mod records;
mod sealer;
mod stream;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_sealer;

pub use any_cert::AnyCert;
pub use records::{Fed, Records};
pub use sealer::{RecordSealer, SealError, RECORD_PLAIN_MAX_BYTES};
pub use stream::TlsStream;

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::ServerSessionMemoryCache;
use rustls::ServerConfig;

/// Why the certificate and key could not be used (start-up: one line, exit 2).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsError {
    /// The certificate file holds no PEM certificate.
    NoCertificate,
    /// The key file holds no PEM private key (PKCS#8, PKCS#1 or SEC1).
    NoKey,
    /// rustls refused the key (unsupported type) or the key does not match
    /// the certificate's public key.
    KeyRejected(String),
    /// The crypto provider could not be set up.
    Provider(String),
}

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsError::NoCertificate => f.write_str("no PEM certificate found"),
            TlsError::NoKey => f.write_str("no PEM private key found"),
            TlsError::KeyRejected(e) => write!(f, "key does not fit the certificate: {e}"),
            TlsError::Provider(e) => write!(f, "TLS set-up failed: {e}"),
        }
    }
}

/// Sessions one control connection may have cached for resumption (its own
/// TLS 1.2 session IDs; a client keeps using the one it got).
const SESSION_CACHE_ENTRIES_MAX: usize = 8;

/// TLS 1.3 tickets a control connection sends after its handshake.
const CONTROL_TICKETS: usize = 4;

/// The ALPN protocol id for FTP (IANA registry: "ftp").
pub const ALPN_FTP: &[u8] = b"ftp";

/// The crypto provider: ring (builds with a C compiler only; aws-lc-rs would
/// need cmake). rustls 0.23.48 deprecates it for lacking post-quantum key
/// exchange; docs/dependencies.md notes the trade.
#[allow(deprecated)]
fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// The certificate and key, checked, as a base server config.
#[derive(Clone)]
pub struct TlsConfigs {
    base: Arc<ServerConfig>,
}

impl std::fmt::Debug for TlsConfigs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsConfigs")
    }
}

impl TlsConfigs {
    /// Builds the base config from PEM bytes: the certificate chain (leaf
    /// first) and its private key, which must match.
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<TlsConfigs, TlsError> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
            .filter_map(Result::ok)
            .collect();
        if certs.is_empty() {
            return Err(TlsError::NoCertificate);
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|_| TlsError::NoKey)?;
        let provider = Arc::new(provider());
        let signing = provider
            .key_provider
            .load_private_key(key)
            .map_err(|e| TlsError::KeyRejected(e.to_string()))?;
        let certified = rustls::sign::CertifiedKey::new(certs, signing);
        // Unlike `with_single_cert`, an unknown consistency is an error too:
        // a key that cannot be checked is not served.
        certified
            .keys_match()
            .map_err(|e| TlsError::KeyRejected(e.to_string()))?;
        let resolver = Arc::new(rustls::sign::SingleCertAndKey::from(certified));
        let versions: &[&rustls::SupportedProtocolVersion] =
            &[&rustls::version::TLS13, &rustls::version::TLS12];
        let mut base = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .map_err(|e| TlsError::Provider(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(resolver);
        // RFC 4217 names no ALPN id; "ftp" is registered. A client offering
        // only other protocols is refused by rustls.
        base.alpn_protocols = vec![ALPN_FTP.to_vec()];
        base.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        Ok(TlsConfigs {
            base: Arc::new(base),
        })
    }

    /// The configs of one control session (at AUTH TLS or an implicit
    /// accept). Its ticketer (a fresh key) and its session cache are its
    /// own, so a data connection can resume only a session this control
    /// connection issued: another session's ticket does not even decrypt.
    /// TLS 1.3 tickets also carry the session's random tag, checked again
    /// by [`TlsStream::resumed_from`].
    pub fn session(&self) -> Result<SessionTls, TlsError> {
        let mut control = (*self.base).clone();
        control.ticketer =
            rustls::crypto::ring::Ticketer::new().map_err(|e| TlsError::Provider(e.to_string()))?;
        control.session_storage = ServerSessionMemoryCache::new(SESSION_CACHE_ENTRIES_MAX);
        // Enough TLS 1.3 tickets for clients that use each once (rustls) to
        // make a few data connections; OpenSSL clients reuse one.
        control.send_tls13_tickets = CONTROL_TICKETS;
        // Data connections resume the control connection's sessions and
        // add none (`readonly`): no tickets (an upload's client might never
        // read them, either), no cache entries.
        let mut data = control.clone();
        data.ticketer = Arc::new(readonly::DecryptOnly(control.ticketer.clone()));
        data.session_storage = Arc::new(readonly::ReadOnly(control.session_storage.clone()));
        data.send_tls13_tickets = 0;
        // A download hands its records to `RecordSealer` after the
        // handshake (`TlsStream::into_sealer`); never the control config.
        data.enable_secret_extraction = true;
        Ok(SessionTls {
            control: Arc::new(control),
            data: Arc::new(data),
            tag: SessionTag::random()?,
        })
    }
}

/// One control session's TLS configs and tag.
#[derive(Clone)]
pub struct SessionTls {
    pub control: Arc<ServerConfig>,
    pub data: Arc<ServerConfig>,
    pub tag: SessionTag,
}

impl std::fmt::Debug for SessionTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionTls")
    }
}

impl SessionTls {
    /// The control connection's TLS.
    pub fn control_stream(&self) -> Option<TlsStream> {
        TlsStream::control(&self.control, self.tag)
    }

    /// A data connection's TLS.
    pub fn data_stream(&self) -> Option<TlsStream> {
        TlsStream::data(&self.data)
    }
}

/// A random tag naming one control session; its tickets carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTag([u8; 16]);

impl SessionTag {
    /// A fresh tag from the crypto provider's random source.
    pub fn random() -> Result<SessionTag, TlsError> {
        let mut b = [0u8; 16];
        provider()
            .secure_random
            .fill(&mut b)
            .map_err(|_| TlsError::Provider("no random source".into()))?;
        Ok(SessionTag(b))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}
