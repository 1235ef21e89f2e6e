//! The session's passive listener (PASV/EPSV): one port of the worker's own
//! slice of the range, bound on the control connection's local address, and
//! the one data connection it accepted. Only the control peer's address may
//! connect (RFC 2577 §5, port stealing); an unused listener expires after
//! `--data-connect-timeout-secs`, so a PASV never connected holds its port
//! for a bounded time.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use nix::errno::Errno;

use crate::engine::{CompletionKind, OpId, SharedFd};
use crate::server::ctx::Ctx;
use crate::server::tags::Tags;
use crate::server::token::Purpose;

pub(super) struct Passive {
    listener: Option<SharedFd>,
    accept_op: Option<OpId>,
    accepted: Option<SharedFd>,
    opened_at: Instant,
}

impl Passive {
    /// Listens on the next free port of the worker's slice; returns the port.
    pub(super) fn open(
        ctx: &mut Ctx,
        tags: &mut Tags,
        ip: IpAddr,
    ) -> Result<(Passive, u16), Errno> {
        let (fd, port) =
            crate::server::sockets::passive_listener(ip, ctx.pasv_slice, &mut ctx.pasv_cursor)?;
        let fd: SharedFd = std::rc::Rc::new(fd);
        let op = ctx.ring.accept_multishot(&fd, tags.op(Purpose::PasvAccept));
        ctx.obs.metrics.passive_port_opened();
        let p = Passive {
            listener: Some(fd),
            accept_op: Some(op),
            accepted: None,
            opened_at: ctx.now.mono,
        };
        Ok((p, port))
    }

    /// The data connection accepted before the transfer was ready for it.
    pub(super) fn take_accepted(&mut self) -> Option<SharedFd> {
        self.accepted.take()
    }

    /// Keeps a data connection until the transfer is ready for it.
    pub(super) fn hold(&mut self, fd: SharedFd) {
        self.accepted = Some(fd);
    }

    pub(super) fn is_listening(&self) -> bool {
        self.listener.is_some()
    }

    /// Stops accepting (the one connection arrived, or the listener closes).
    pub(super) fn close(&mut self, ctx: &mut Ctx) {
        if let Some(op) = self.accept_op.take() {
            ctx.ring.cancel(op);
        }
        if self.listener.take().is_some() {
            ctx.obs.metrics.passive_port_closed();
        }
    }

    /// An accept completion: the connection when it comes from `peer` (the
    /// listener then stops), `None` otherwise (a foreign one is dropped).
    pub(super) fn on_accept(
        &mut self,
        ctx: &mut Ctx,
        kind: CompletionKind,
        peer: IpAddr,
    ) -> Option<SharedFd> {
        let CompletionKind::Accept(Ok(fd)) = kind else {
            return None;
        };
        let from = crate::server::sockets::peer_addr(&fd).map(|a| a.ip().to_canonical());
        if from != Some(peer.to_canonical()) {
            // RFC 2577 §5 / port stealing: only the control peer may connect.
            eprintln!(
                "ringftpd[w{}]: {peer}: refused data connection from {from:?}",
                ctx.id
            );
            return None;
        }
        self.close(ctx);
        Some(std::rc::Rc::new(fd))
    }

    /// When it expires unused (`limit` after it opened).
    pub(super) fn expires_at(&self, limit: Duration) -> Instant {
        self.opened_at + limit
    }

    /// True when nobody used it within `limit`.
    pub(super) fn expired(&self, now: Instant, limit: Duration) -> bool {
        now >= self.expires_at(limit)
    }
}
