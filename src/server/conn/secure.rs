//! The control connection's TLS (AUTH TLS, or an implicit FTPS accept): the
//! ring's receives are decrypted here before the session reads them, and
//! the session's replies are encrypted here before the ring sends them.

use crate::tls::{Fed, SessionTls, TlsStream};

pub(super) struct ControlTls {
    /// This control session's configs and tag; its data connections resume it.
    pub(super) sess: SessionTls,
    stream: TlsStream,
    /// close_notify queued (the session is closing).
    notified: bool,
    logged: bool,
}

/// What a receive brought once decrypted.
pub(super) enum Decrypted {
    /// Plaintext for the session (possibly none yet: a handshake record).
    Plain,
    /// Not TLS, or the handshake failed: close after sending any alert.
    Failed,
}

impl ControlTls {
    /// A control session's TLS, or `None` when no TLS is configured or the
    /// random source failed.
    pub(super) fn new(configs: Option<&crate::tls::TlsConfigs>) -> Option<ControlTls> {
        let sess = configs?.session().ok()?;
        let stream = sess.control_stream()?;
        Some(ControlTls {
            sess,
            stream,
            notified: false,
            logged: false,
        })
    }

    /// Decrypts received bytes, appending the plaintext to `plain`.
    pub(super) fn received(&mut self, bytes: &[u8], plain: &mut Vec<u8>) -> Decrypted {
        match self.stream.feed(bytes, plain) {
            Fed::Ok => Decrypted::Plain,
            Fed::Failed => Decrypted::Failed,
        }
    }

    /// Encrypts `plain` and appends every record waiting to `out`.
    pub(super) fn send(&mut self, plain: &[u8], out: &mut Vec<u8>) {
        if !plain.is_empty() {
            self.stream.write_plain(plain);
        }
        self.stream.take_ciphertext(out);
    }

    /// Queues close_notify once, after the last reply.
    pub(super) fn close_notify(&mut self, out: &mut Vec<u8>) {
        if !std::mem::replace(&mut self.notified, true) {
            self.stream.close();
            self.stream.take_ciphertext(out);
        }
    }

    /// The protocol version, the first time it is known (for the log).
    pub(super) fn established(&mut self) -> Option<&'static str> {
        if self.logged || self.stream.is_handshaking() {
            return None;
        }
        self.logged = true;
        self.stream.version()
    }
}
