//! The PROXY protocol on a control connection (`--proxy-protocol`): the
//! balancer's header is read before anything is said (HAProxy's
//! proxy-protocol.txt §2: the receiver must not start processing the
//! connection before the header, "particularly important for protocols
//! where the receiver is expected to speak first (eg: SMTP, FTP or SSH)").
//!
//! Once the header names the client, `Conn` admits the connection against the
//! per-address limits *as that client*, and its session, data side and
//! reports are made again for it: the PORT/EPRT target check, the passive
//! peer check, bans and every log line see the client, never the balancer.
//! A `LOCAL` header (a health check) or an unsupported family keeps the real
//! peer. No header within [`PROXY_HEADER_SECS_MAX`], or a bad one, closes the
//! connection without a word.

use std::time::{Duration, Instant};

use std::net::SocketAddr;

use crate::proto::proxy::{Decoder, Header, Parse};

/// Time a connection has to send its PROXY header.
pub const PROXY_HEADER_SECS_MAX: u64 = 3;

/// A connection waiting for its header.
pub(super) struct ProxyWait {
    decoder: Decoder,
    since: Instant,
}

impl ProxyWait {
    pub(super) fn new(now: Instant) -> ProxyWait {
        ProxyWait {
            decoder: Decoder::new(),
            since: now,
        }
    }

    pub(super) fn expired(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.since) >= Duration::from_secs(PROXY_HEADER_SECS_MAX)
    }
}

/// What a receive did to the wait.
pub(super) enum Fed {
    /// The header is not complete yet.
    NeedMore,
    /// Not a valid header: close without a word.
    Invalid(crate::proto::proxy::Invalid),
    /// The client (the real peer for `LOCAL`), the balancer when it is not
    /// the client itself, and how many bytes of this receive the header used.
    Client {
        client: SocketAddr,
        proxy: Option<SocketAddr>,
        consumed: usize,
    },
}

impl ProxyWait {
    /// Feeds one receive from `real`, the connection's real peer.
    pub(super) fn feed(&mut self, bytes: &[u8], real: SocketAddr) -> Fed {
        match self.decoder.feed(bytes) {
            Parse::NeedMore => Fed::NeedMore,
            Parse::Invalid(why) => Fed::Invalid(why),
            Parse::Done { header, consumed } => {
                let client = match header {
                    Header::Proxied { source, .. } => {
                        SocketAddr::new(source.ip().to_canonical(), source.port())
                    }
                    Header::Local => real,
                };
                Fed::Client {
                    client,
                    proxy: (client != real).then_some(real),
                    consumed,
                }
            }
        }
    }
}
