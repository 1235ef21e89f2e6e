//! The server's side of one TLS connection (control or data): [`Records`]
//! over a rustls `ServerConnection`, with the control session's tag.

use std::sync::Arc;

use rustls::{HandshakeKind, ServerConfig, ServerConnection};

use super::records::Records;
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
}
