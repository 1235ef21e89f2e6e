//! The session's passive listener (PASV/EPSV): one port of the worker's own
//! slice of the range, bound on the control connection's local address, and
//! the one data connection it accepted. Only the control peer's address may
//! connect (RFC 2577 §5, port stealing); an unused listener expires after
//! `--data-connect-timeout-secs`, so a PASV never connected holds its port
//! for a bounded time.
//!
//! When a transfer ends its listener goes back to the worker's pool
//! (`server/kept_listeners.rs`, `--pasv-reuse-listener`, on by default) and
//! the next PASV/EPSV on that worker and local address answers with its port
//! instead of binding a new one. A pooled listener accepts nothing:
//! connections made to it meanwhile wait in its backlog and are closed
//! before it listens again, so a transfer only takes a connection made after
//! its own 227/229, and only from its control peer's address.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use nix::errno::Errno;

use crate::engine::{CompletionKind, OpId, SharedFd};
use crate::server::args::OnOff;
use crate::server::ctx::Ctx;
use crate::server::kept_listeners::Kept;
use crate::server::tags::Tags;
use crate::server::token::Purpose;

pub(super) struct Passive {
    listener: Option<SharedFd>,
    port: u16,
    accept_op: Option<OpId>,
    accepted: Option<SharedFd>,
    opened_at: Instant,
}

/// Closes every connection waiting in a kept listener's backlog: none of
/// them can be for a transfer whose 227/229 has not been sent yet.
fn drain(fd: &SharedFd) -> Result<(), Errno> {
    let dup = fd.try_clone().map_err(|_| Errno::EMFILE)?;
    let listener = std::net::TcpListener::from(dup);
    loop {
        match listener.accept() {
            Ok(_) => continue, // dropped: closed
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))),
        }
    }
}

/// Binds a listener on a free port of the worker's slice. When every port is
/// taken and some are held by pooled listeners, the oldest of those is closed
/// and the bind tried again: pooling never turns a PASV/EPSV away.
fn bind_free_port(ctx: &mut Ctx, ip: IpAddr) -> Result<(std::os::fd::OwnedFd, u16), Errno> {
    loop {
        match crate::server::sockets::passive_listener(ip, ctx.pasv_slice, &mut ctx.pasv_cursor) {
            Err(e @ (Errno::EADDRINUSE | Errno::EACCES)) => {
                if ctx.kept_listeners.evict_oldest().is_none() {
                    return Err(e);
                }
            }
            r => return r,
        }
    }
}

impl Passive {
    /// Listens on a pooled listener of `ip` (if any), else on the next free
    /// port of the worker's slice; returns the port.
    pub(super) fn open(
        ctx: &mut Ctx,
        tags: &mut Tags,
        ip: IpAddr,
    ) -> Result<(Passive, u16), Errno> {
        let mut reused = None;
        while let Some(k) = ctx.kept_listeners.take(ip) {
            if drain(&k.fd).is_ok() {
                reused = Some((k.fd, k.port));
                break;
            }
        }
        let (fd, port) = match reused {
            Some(r) => r,
            None => {
                let (fd, port) = bind_free_port(ctx, ip)?;
                (std::rc::Rc::new(fd), port)
            }
        };
        // In use from now on (a pooled listener is not counted).
        ctx.obs.metrics.passive_port_opened();
        let op = ctx.ring.accept_multishot(&fd, tags.op(Purpose::PasvAccept));
        let p = Passive {
            listener: Some(fd),
            port,
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

    /// True while it waits for the data connection.
    pub(super) fn is_listening(&self) -> bool {
        self.accept_op.is_some()
    }

    /// Stops accepting (the one connection arrived).
    fn stop_accepting(&mut self, ctx: &mut Ctx) {
        if let Some(op) = self.accept_op.take() {
            ctx.ring.cancel(op);
        }
    }

    /// Stops accepting and closes the listener.
    pub(super) fn close(&mut self, ctx: &mut Ctx) {
        self.stop_accepting(ctx);
        if self.listener.take().is_some() {
            ctx.obs.metrics.passive_port_closed();
        }
    }

    /// The transfer is over: the listener goes back to the worker's pool
    /// (closed when reuse is off or the pool is full).
    pub(super) fn retire(mut self, ctx: &mut Ctx, ip: IpAddr) {
        self.stop_accepting(ctx);
        if ctx.shared.args.pasv_reuse_listener == OnOff::Off {
            self.close(ctx);
            return;
        }
        let Some(fd) = self.listener.take() else {
            return;
        };
        let (lo, hi) = ctx.pasv_slice;
        let ports = usize::from(hi.saturating_sub(lo)) + 1;
        let max = ports / 2;
        let k = Kept {
            fd,
            port: self.port,
            ip,
            since: ctx.now.mono,
        };
        // Pooled or closed: no longer in use either way.
        ctx.obs.metrics.passive_port_closed();
        ctx.kept_listeners.put(k, max);
    }

    /// An accept completion: the connection when it comes from `peer` (the
    /// listener then stops accepting), `None` otherwise (a foreign one is
    /// dropped).
    pub(super) fn on_accept(
        &mut self,
        ctx: &mut Ctx,
        kind: CompletionKind,
        peer: IpAddr,
    ) -> Option<SharedFd> {
        let CompletionKind::Accept(Ok(fd)) = kind else {
            return None;
        };
        // A late accept of a listener that stopped accepting: closed.
        self.accept_op.as_ref()?;
        let from = crate::server::sockets::peer_addr(&fd).map(|a| a.ip().to_canonical());
        if from != Some(peer.to_canonical()) {
            // RFC 2577 §5 / port stealing: only the control peer may connect.
            eprintln!(
                "ringftpd[w{}]: {peer}: refused data connection from {from:?}",
                ctx.id
            );
            return None;
        }
        self.stop_accepting(ctx);
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
