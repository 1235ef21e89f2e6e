//! The server's side of one TLS connection (control or data): [`Records`]
//! over a rustls `ServerConnection`, with the control session's tag.

use std::sync::Arc;

use rustls::{HandshakeKind, ServerConfig, ServerConnection};

use super::records::Records;
use super::sealer::RecordSealer;
use super::SessionTag;

/// A server-side TLS connection over in-memory buffers.
pub type TlsStream = Records<ServerConnection>;

impl Records<ServerConnection> {
    /// A control connection: every session it makes resumable carries `tag`.
    pub fn control(config: &Arc<ServerConfig>, tag: SessionTag) -> Option<TlsStream> {
        let mut conn = ServerConnection::new(config.clone()).ok()?;
        conn.set_resumption_data(tag.as_bytes());
        Some(Records::over(conn))
    }

    /// A data connection (checked with [`TlsStream::resumed_from`]).
    pub fn data(config: &Arc<ServerConfig>) -> Option<TlsStream> {
        Some(Records::over(ServerConnection::new(config.clone()).ok()?))
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

    /// True when [`TlsStream::into_sealer`] can take over: the handshake is
    /// done, nothing is left to send, and the version and suite are ones
    /// [`RecordSealer`] frames. (Whether the config lets the secrets out is
    /// not visible here: only the data config does, `TlsConfigs::session`.)
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
        !self.conn.is_handshaking() && !self.conn.wants_write() && suite_ok && version_ok
    }

    /// Hands the transmit direction to a [`RecordSealer`]: rustls gives up
    /// the traffic secret and the next sequence number (the step a kTLS
    /// set-up takes) and the connection is gone. Only for a connection
    /// that will send and never read again. Check [`TlsStream::sealable`]
    /// first; `None` (then nothing more can be sent on this connection)
    /// also when the config keeps its secrets (every control connection).
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
}
