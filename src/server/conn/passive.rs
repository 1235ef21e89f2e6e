//! The session's passive listener (PASV/EPSV): one port of the worker's own
//! slice of the range, bound on the control connection's local address, and
//! the one data connection it accepted. Only the control peer's address may
//! connect (RFC 2577 §5, port stealing); an unused listener expires after
//! `--data-connect-timeout-secs`, so a PASV never connected holds its port
//! for a bounded time.
//!
//! With `--pasv-reuse-listener`, after a transfer the listener is kept
//! ([`Kept`]) for the session's next
//! PASV/EPSV, which then answers with the same port instead of binding a new
//! one: a mirror client's thousands of small transfers otherwise pay for a
//! bind each, and the kernel's bind walks every TIME_WAIT connection left on
//! the port (a fifth of the server's CPU in the 4 KiB benchmark). A kept
//! listener accepts nothing: connections made to it meanwhile wait in its
//! backlog and are closed before it listens again, so the next transfer only
//! takes a connection made after its own 227/229. It is closed when idle for
//! the same timeout, and a worker keeps at most half its ports this way.

use std::cell::Cell;
use std::net::IpAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use nix::errno::Errno;

use crate::engine::{CompletionKind, OpId, SharedFd};
use crate::server::ctx::Ctx;
use crate::server::tags::Tags;
use crate::server::token::Purpose;

pub(super) struct Passive {
    listener: Option<SharedFd>,
    port: u16,
    accept_op: Option<OpId>,
    accepted: Option<SharedFd>,
    opened_at: Instant,
}

/// A listener kept between transfers (see the module doc).
pub(super) struct Kept {
    fd: SharedFd,
    port: u16,
    since: Instant,
    _count: KeptCount,
}

impl Kept {
    /// Closes it (the port is no longer in use).
    pub(super) fn close(self, ctx: &mut Ctx) {
        ctx.obs.metrics.passive_port_closed();
    }

    /// True when no transfer used it within `limit`.
    pub(super) fn expired(&self, now: Instant, limit: Duration) -> bool {
        now.saturating_duration_since(self.since) >= limit
    }
}

/// One of the worker's kept listeners; counted down as it drops.
struct KeptCount(Rc<Cell<u32>>);

impl KeptCount {
    /// A place for one more kept listener, if the worker has one.
    fn take(ctx: &Ctx) -> Option<KeptCount> {
        let (lo, hi) = ctx.pasv_slice;
        let ports = u32::from(hi.saturating_sub(lo)) + 1;
        let max = ports / 2;
        let n = ctx.pasv_kept.get();
        (n < max).then(|| {
            ctx.pasv_kept.set(n + 1);
            KeptCount(Rc::clone(&ctx.pasv_kept))
        })
    }
}

impl Drop for KeptCount {
    fn drop(&mut self) {
        self.0.set(self.0.get().saturating_sub(1));
    }
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

impl Passive {
    /// Listens on the kept listener (if any), else on the next free port of
    /// the worker's slice; returns the port.
    pub(super) fn open(
        ctx: &mut Ctx,
        tags: &mut Tags,
        ip: IpAddr,
        kept: Option<Kept>,
    ) -> Result<(Passive, u16), Errno> {
        let reused = kept.and_then(|k| match drain(&k.fd) {
            Ok(()) => Some((k.fd.clone(), k.port)),
            Err(_) => {
                k.close(ctx);
                None
            }
        });
        let (fd, port) = match reused {
            Some(r) => r,
            None => {
                let (fd, port) = crate::server::sockets::passive_listener(
                    ip,
                    ctx.pasv_slice,
                    &mut ctx.pasv_cursor,
                )?;
                ctx.obs.metrics.passive_port_opened();
                (std::rc::Rc::new(fd), port)
            }
        };
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

    /// The transfer is over: the listener, kept for the session's next
    /// PASV/EPSV when the worker has room for it (else closed).
    pub(super) fn retire(mut self, ctx: &mut Ctx) -> Option<Kept> {
        self.stop_accepting(ctx);
        let count = ctx
            .shared
            .args
            .pasv_reuse_listener
            .then(|| KeptCount::take(ctx))
            .flatten();
        let Some(count) = count else {
            self.close(ctx);
            return None;
        };
        let fd = self.listener.take()?;
        Some(Kept {
            fd,
            port: self.port,
            since: ctx.now.mono,
            _count: count,
        })
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
