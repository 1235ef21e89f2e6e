//! A connection's data side: its passive listener and its transfer. The
//! session is told of each step (passive port open, 150, 226/4xx); the
//! transfer itself is [`Xfer`]'s state machine.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::passive::Passive;
use super::report::{direction_of, Finished, Report};
use crate::engine::{CompletionKind, FixedBuf, OpId};
use crate::fs::{FsError, Root};
use crate::proto::session::{DataEndpoint, Event, Session, Transfer, TransferError};
use crate::server::ctx::Ctx;
use crate::server::listing_stream::ListChunk;
use crate::server::pool::JobOutput;
use crate::server::tags::Tags;
use crate::server::token::Purpose;
use crate::server::transfer::{Io, Limits, Opened, Step, Xfer};

/// The passive listener and the transfer of one connection.
pub(super) struct DataChannel {
    peer: SocketAddr,
    local: SocketAddr,
    pasv: Option<Passive>,
    xfer: Option<Xfer>,
    /// Bytes of the running transfer already added to the byte counter.
    bytes_counted: u64,
}

/// Borrows of the connection that the data side works with.
pub(super) struct Parts<'a> {
    pub ctx: &'a mut Ctx,
    pub tags: &'a mut Tags,
    pub session: &'a mut Session,
    pub report: &'a Report,
}

impl Parts<'_> {
    /// What a transfer's step works with, borrowed from these parts.
    fn io(&mut self) -> Io<'_> {
        Io {
            ctx: self.ctx,
            tags: self.tags,
        }
    }
}

impl DataChannel {
    pub(super) fn new(peer: SocketAddr, local: SocketAddr) -> DataChannel {
        DataChannel {
            peer,
            local,
            pasv: None,
            xfer: None,
            bytes_counted: 0,
        }
    }

    /// PASV/EPSV: a new listener (or a pooled one) replaces the old one.
    pub(super) fn open_passive(&mut self, p: Parts) {
        if let Some(mut pasv) = self.pasv.take() {
            pasv.close(p.ctx);
        }
        let port = match Passive::open(p.ctx, p.tags, self.local.ip()) {
            Ok((pasv, port)) => {
                self.pasv = Some(pasv);
                Some(port)
            }
            Err(e) => {
                eprintln!(
                    "ringftpd[w{}]: {}: no passive port: {e}",
                    p.ctx.id, self.peer
                );
                None
            }
        };
        p.session
            .handle_event(Event::PassiveOpened(port), p.ctx.now);
    }

    /// Closes the passive listener and an accepted, unused data connection.
    pub(super) fn close_passive(&mut self, ctx: &mut Ctx) {
        if let Some(mut pasv) = self.pasv.take() {
            pasv.close(ctx);
        }
    }

    /// The transfer is over: its passive listener goes back to the worker's
    /// pool for the next PASV/EPSV (an accepted, unused data connection is
    /// closed).
    fn retire_passive(&mut self, ctx: &mut Ctx) {
        if let Some(pasv) = self.pasv.take() {
            pasv.retire(ctx, self.local.ip());
        }
    }

    /// A connection on the passive listener.
    pub(super) fn on_pasv_accept(&mut self, mut p: Parts, kind: CompletionKind) {
        let peer = self.peer.ip();
        let Some(fd) = self
            .pasv
            .as_mut()
            .and_then(|pasv| pasv.on_accept(p.ctx, kind, peer))
        else {
            return;
        };
        match self.xfer.as_mut().filter(|x| x.waiting_for_passive()) {
            Some(x) => {
                let step = x.data_connected(&mut p.io(), fd);
                self.on_step(p, step);
            }
            None => {
                if let Some(pasv) = self.pasv.as_mut() {
                    pasv.hold(fd);
                }
            }
        }
    }

    /// Closes a passive listener nobody used within the data-connect
    /// timeout.
    pub(super) fn expire_unused_passive(&mut self, ctx: &mut Ctx) {
        let limit = Duration::from_secs(ctx.shared.args.data_connect_timeout_secs);
        let expired = self
            .pasv
            .as_ref()
            .is_some_and(|pasv| pasv.expired(ctx.now.mono, limit));
        if expired && self.xfer.is_none() {
            ctx.log(format_args!(
                "{}: unused passive listener closed",
                self.peer
            ));
            self.close_passive(ctx);
        }
    }

    /// Starts a transfer: its source or target is opened on the helper pool.
    pub(super) fn start(
        &mut self,
        mut p: Parts,
        t: Transfer,
        root: Option<Arc<Root>>,
        limits: &Limits,
        tls: Option<crate::tls::SessionTls>,
    ) {
        let started = match root {
            Some(root) => Xfer::start(&mut p.io(), t, root, limits, tls),
            None => Err(TransferError::Fs(FsError::PermissionDenied)),
        };
        match started {
            Ok(x) => {
                self.bytes_counted = 0;
                self.xfer = Some(x)
            }
            Err(e) => p
                .session
                .handle_event(Event::TransferDone(Err(e)), p.ctx.now),
        }
    }

    /// The helper opened the source/target: 150, then the data connection.
    pub(super) fn on_opened(&mut self, mut p: Parts, seq: u64, out: JobOutput) {
        let Some(x) = self.xfer.as_mut() else { return };
        match x.on_opened(&mut p.io(), seq, out) {
            Opened::NotOurs => {}
            Opened::Failed(e) => self.end(p, Err(e)),
            Opened::Ready { size, name } => {
                p.session
                    .handle_event(Event::TransferReady { size, name }, p.ctx.now);
                self.connect(p);
            }
        }
    }

    fn connect(&mut self, mut p: Parts) {
        let Some(x) = self.xfer.as_mut() else { return };
        let mut io = p.io();
        let step = match x.endpoint() {
            DataEndpoint::Passive => {
                let accepted = self.pasv.as_mut().and_then(Passive::take_accepted);
                let listening = self.pasv.as_ref().is_some_and(Passive::is_listening);
                match accepted {
                    Some(fd) => x.data_connected(&mut io, fd),
                    None if listening => Step::Continue,
                    None => Step::Done(Err(TransferError::DataConnection)),
                }
            }
            DataEndpoint::Active(to) => x.connect_active(&mut io, self.local.ip(), to),
        };
        self.on_step(p, step);
    }

    /// The completion of a data op (a stale one, of an ended transfer, is
    /// dropped: its buffers go back as they drop).
    pub(super) fn on_completion(
        &mut self,
        mut p: Parts,
        purpose: Purpose,
        op: OpId,
        kind: CompletionKind,
    ) {
        let step = match self.xfer.as_mut().filter(|x| x.owns(op)) {
            Some(x) => x.on_completion(&mut p.io(), op, purpose, kind),
            None => Step::Continue,
        };
        self.on_step(p, step);
    }

    /// The helper's next listing chunk.
    pub(super) fn on_list_more(&mut self, mut p: Parts, seq: u64, r: Result<ListChunk, FsError>) {
        let step = match self.xfer.as_mut() {
            Some(x) => x.on_list_more(&mut p.io(), seq, r),
            None => Step::Continue,
        };
        self.on_step(p, step);
    }

    /// A helper removed (or truncated back) an upload that went past the quota.
    pub(super) fn on_undone(&mut self, p: Parts, seq: u64) {
        let step = self
            .xfer
            .as_mut()
            .map_or(Step::Continue, |x| x.on_undone(seq));
        self.on_step(p, step);
    }

    /// A registered buffer for an upload that waited for one.
    pub(super) fn resume_with_buf(&mut self, mut p: Parts, buf: FixedBuf) {
        let step = match self.xfer.as_mut() {
            Some(x) => x.resume_with_buf(&mut p.io(), buf),
            None => Step::Continue,
        };
        self.on_step(p, step);
    }

    /// ABOR (or the client left during a transfer).
    pub(super) fn abort(&mut self, mut p: Parts) {
        let step = match self.xfer.as_mut() {
            Some(x) => x.abort(&mut p.io()),
            None => Step::Done(Err(TransferError::Aborted)),
        };
        self.on_step(p, step);
    }

    /// Data-connection and stall timeouts.
    pub(super) fn check_deadlines(&mut self, p: Parts) {
        let stall = Duration::from_secs(p.ctx.shared.args.stall_timeout_secs);
        let now = p.ctx.now.mono;
        if let Some(e) = self
            .xfer
            .as_ref()
            .and_then(|x| x.deadline_error(now, stall))
        {
            self.end(p, Err(e));
        }
    }

    /// The earliest server-side data deadline: the transfer's data-connect
    /// or stall deadline, or an unused passive listener's expiry.
    pub(super) fn deadline(&self, ctx: &Ctx) -> Option<Instant> {
        let a = &ctx.shared.args;
        match (&self.xfer, &self.pasv) {
            (Some(x), _) => x.deadline(Duration::from_secs(a.stall_timeout_secs)),
            (None, Some(p)) => Some(p.expires_at(Duration::from_secs(a.data_connect_timeout_secs))),
            (None, None) => None,
        }
    }

    /// Bytes the running transfer has moved (STAT during a transfer).
    pub(super) fn progress(&self) -> u64 {
        self.xfer.as_ref().map_or(0, Xfer::bytes)
    }

    /// The byte counter follows a running transfer (so it rises during a
    /// long one, not only at its end).
    fn count_bytes(&mut self, ctx: &Ctx) {
        if let Some(x) = &self.xfer {
            let n = x.bytes();
            if n > self.bytes_counted {
                let dir = direction_of(x.kind());
                ctx.obs.metrics.transfer_bytes(dir, n - self.bytes_counted);
                self.bytes_counted = n;
            }
        }
    }

    /// Shutdown's grace time is over: the running transfer is aborted (426),
    /// once.
    pub(super) fn abort_once(&mut self, p: Parts) {
        if self.xfer.as_ref().is_some_and(|x| !x.is_aborting()) {
            self.abort(p);
        }
    }

    fn on_step(&mut self, p: Parts, step: Step) {
        self.count_bytes(p.ctx);
        if let Step::Done(r) = step {
            self.end(p, r);
        }
    }

    /// Ends the transfer: closes its data connection, keeps the passive
    /// listener for the next PASV/EPSV, tells the session.
    fn end(&mut self, mut p: Parts, r: Result<u64, TransferError>) {
        self.count_bytes(p.ctx);
        if let Some(x) = self.xfer.take() {
            p.ctx.log(format_args!(
                "{} transfer done: {r:?} ({} bytes)",
                self.peer,
                x.bytes()
            ));
            let done = Finished {
                kind: x.kind(),
                ascii: x.is_ascii(),
                bytes: x.bytes(),
                started: x.started(),
            };
            p.report
                .transfer_ended(&p.ctx.obs, done, &r, p.ctx.now.mono);
            x.end(&mut p.io(), r.is_ok());
        }
        self.retire_passive(p.ctx);
        p.session.handle_event(Event::TransferDone(r), p.ctx.now);
    }

    /// The connection closes: everything goes, nobody is told.
    pub(super) fn close(&mut self, ctx: &mut Ctx, tags: &mut Tags, report: &Report) {
        self.close_passive(ctx);
        self.count_bytes(ctx);
        if let Some(x) = self.xfer.take() {
            let done = Finished {
                kind: x.kind(),
                ascii: x.is_ascii(),
                bytes: x.bytes(),
                started: x.started(),
            };
            let r = Err(TransferError::ConnectionLost);
            report.transfer_ended(&ctx.obs, done, &r, ctx.now.mono);
            x.end(&mut Io { ctx, tags }, false);
        }
    }
}
