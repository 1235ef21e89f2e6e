//! The PROXY protocol on a control connection (`--proxy-protocol`): the
//! balancer's header is read before anything is said (HAProxy's
//! proxy-protocol.txt §2: the receiver must not start processing the
//! connection before the header, "particularly important for protocols
//! where the receiver is expected to speak first (eg: SMTP, FTP or SSH)").
//!
//! Once the header names the client, the connection is admitted against the
//! per-address limits *as that client*, and its session, data side and
//! reports are made again for it: the PORT/EPRT target check, the passive
//! peer check, bans and every log line see the client, never the balancer.
//! A `LOCAL` header (a health check) or an unsupported family keeps the real
//! peer. No header within [`PROXY_HEADER_SECS_MAX`], or a bad one, closes the
//! connection without a word.

use std::time::{Duration, Instant};

use super::data::DataChannel;
use super::Conn;
use crate::obs::labels::RefusalReason;
use crate::proto::proxy::{Decoder, Header, Parse};
use crate::proto::session::Session;
use crate::server::ctx::Ctx;

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

impl Conn {
    /// Bytes received before the header was complete.
    pub(super) fn on_proxy_bytes(&mut self, ctx: &mut Ctx, bytes: &[u8]) {
        let Some(wait) = self.proxy.as_mut() else {
            return;
        };
        let (header, consumed) = match wait.decoder.feed(bytes) {
            Parse::NeedMore => return,
            Parse::Invalid(why) => {
                ctx.log(format_args!("{}: PROXY header refused: {why}", self.peer));
                return self.proxy_refused(ctx, RefusalReason::ProxyHeader);
            }
            Parse::Done { header, consumed } => (header, consumed),
        };
        self.proxy = None;
        let real = self.peer;
        let client = match header {
            Header::Proxied { source, .. } => {
                std::net::SocketAddr::new(source.ip().to_canonical(), source.port())
            }
            Header::Local => real,
        };
        if let Err(why) = ctx.shared.admit(client.ip(), ctx.now.mono) {
            ctx.log(format_args!("{client} (via {real}) refused: {why:?}"));
            self.ctrl.send_now(why.reply());
            ctx.obs.refused(client, why.reason());
            return self.close(ctx);
        }
        self.admitted = true;
        self.peer = client;
        self.session = Session::new(ctx.shared.session_cfg.clone(), client, self.local, ctx.now);
        self.data = DataChannel::new(client, self.local);
        self.report.peer = client;
        self.report.proxy = (client != real).then_some(real);
        self.report.opened(&ctx.obs);
        ctx.log(format_args!("{client} connected via {real}"));
        if let Some(rest) = bytes.get(consumed..).filter(|r| !r.is_empty()) {
            self.session.handle_input(rest, ctx.now);
        }
    }

    /// No valid header (or none in time): closed without a word, counted.
    pub(super) fn proxy_refused(&mut self, ctx: &mut Ctx, reason: RefusalReason) {
        self.proxy = None;
        ctx.obs.refused(self.peer, reason);
        self.close(ctx);
    }
}
