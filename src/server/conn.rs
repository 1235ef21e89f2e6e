//! One control connection on a worker: its session, the control socket's
//! receive and send ops, its passive listener, and its transfer. Session
//! actions are carried out here; their answers are fed back as events.

use std::net::SocketAddr;
use std::sync::Arc;

use super::pool::{JobOutput, JobTag};
use super::token::{self, Purpose};
use super::transfer::Xfer;
use super::worker::{reclaim, Ctx};
use super::{jobs, Shared};
use crate::engine::{Completion, CompletionKind, FixedBuf, OpId, SharedFd};
use crate::fs::Root;
use crate::proto::session::{Action, Event, Now, Session};

/// Output queued beyond this stops reading commands until the client reads replies.
const SEND_BACKLOG_MAX_BYTES: usize = 64 * 1024;

/// A passive listener and the data connection it accepted, if any.
pub struct Passive {
    pub listener: Option<SharedFd>,
    pub accept_op: Option<OpId>,
    pub accepted: Option<SharedFd>,
    /// When it was opened (an unused listener expires, see `guard.rs`).
    pub opened_at: std::time::Instant,
}

/// One control connection.
pub struct Conn {
    pub index: usize,
    pub gen: u32,
    pub peer: SocketAddr,
    pub local: SocketAddr,
    pub session: Session,
    ctrl: Option<SharedFd>,
    recv_op: Option<OpId>,
    send_in_flight: bool,
    send_backlog: Vec<u8>,
    close_after_flush: bool,
    closed: bool,
    pub root: Option<Arc<Root>>,
    pub pasv: Option<Passive>,
    pub xfer: Option<Xfer>,
    /// Ops in flight for this connection; the slot is freed at zero after close.
    pub ops: u32,
    seq: u64,
    wait_seq: u64,
    /// Stops the running stepped job (HASH, SITE CPTO), if any.
    job_cancel: Option<super::bulk::Cancel>,
}

impl Conn {
    /// A new connection; the session queues its greeting.
    pub fn new(
        index: usize,
        gen: u32,
        ctrl: SharedFd,
        peer: SocketAddr,
        local: SocketAddr,
        shared: &Shared,
        now: Now,
    ) -> Conn {
        Conn {
            index,
            gen,
            peer,
            local,
            session: Session::new(shared.session_cfg.clone(), peer, local, now),
            ctrl: Some(ctrl),
            recv_op: None,
            send_in_flight: false,
            send_backlog: Vec::new(),
            close_after_flush: false,
            closed: false,
            root: None,
            pasv: None,
            xfer: None,
            ops: 0,
            seq: 0,
            wait_seq: 0,
            job_cancel: None,
        }
    }

    /// A token for an op of this connection (and counts it in flight).
    pub fn token(&mut self, p: Purpose) -> u64 {
        self.ops += 1;
        token::pack(p, self.index, self.gen)
    }

    /// A tag for a helper job of this connection.
    pub fn next_tag(&mut self) -> JobTag {
        self.seq += 1;
        JobTag {
            conn: self.index,
            conn_gen: self.gen,
            seq: self.seq,
        }
    }

    /// True when closed and no op can still complete for it.
    pub fn is_finished(&self) -> bool {
        self.closed && self.ops == 0
    }

    /// Carries out the session's actions, sends its output, keeps reading.
    pub fn pump(&mut self, ctx: &mut Ctx) {
        while let Some(a) = self.session.poll_action() {
            self.exec(ctx, a);
        }
        if let Some(out) = self.session.take_output() {
            self.send_backlog.extend_from_slice(&out);
        }
        self.flush(ctx);
        if self.closed {
            return;
        }
        if self.close_after_flush && !self.send_in_flight && self.send_backlog.is_empty() {
            return self.close(ctx);
        }
        let wants = self.session.wants_input();
        if self.recv_op.is_none()
            && !self.close_after_flush
            && self.send_backlog.len() < SEND_BACKLOG_MAX_BYTES
            && wants
        {
            if let Some(fd) = self.ctrl.clone() {
                let t = self.token(Purpose::CtrlRecv);
                self.recv_op = Some(ctx.ring.recv_provided(&fd, t));
            }
        }
    }

    fn flush(&mut self, ctx: &mut Ctx) {
        if self.send_in_flight || self.send_backlog.is_empty() {
            return;
        }
        let Some(fd) = self.ctrl.clone() else {
            self.send_backlog.clear();
            return;
        };
        let data = std::mem::take(&mut self.send_backlog);
        let t = self.token(Purpose::CtrlSend);
        ctx.ring.send(&fd, data, t);
        self.send_in_flight = true;
    }

    fn exec(&mut self, ctx: &mut Ctx, a: Action) {
        match a {
            Action::Login { user, pass } => {
                let tag = self.next_tag();
                self.wait_seq = tag.seq;
                let shared = ctx.shared.clone();
                ctx.submit_job(
                    tag,
                    Box::new(move || jobs::login(&shared.policy(), &shared.root, &user, &pass)),
                );
            }
            Action::Fs(op) => {
                let Some(root) = self.root.clone() else {
                    let now = ctx.now();
                    return self
                        .session
                        .handle_event(Event::Fs(Err(crate::fs::FsError::PermissionDenied)), now);
                };
                let tag = self.next_tag();
                self.wait_seq = tag.seq;
                let max = ctx.shared.args.list_entries_max;
                let cancel = super::bulk::Cancel::default();
                self.job_cancel = Some(cancel.clone());
                let again = super::bulk::Resubmit {
                    jobs: ctx.jobs.clone(),
                    route: ctx.route.clone(),
                    tag,
                    cancel,
                };
                ctx.submit_job(tag, super::bulk::work_for(root, op, max, again));
            }
            Action::OpenPassive => self.open_passive(ctx),
            Action::ClosePassive => self.close_passive(ctx),
            Action::Transfer(t) => self.start_transfer(ctx, t),
            Action::QueryProgress => {
                let n = self.xfer.as_ref().map_or(0, |x| x.bytes);
                let now = ctx.now();
                self.session.handle_event(Event::Progress(n), now);
            }
            Action::Abort => self.abort_transfer(ctx),
            Action::CancelFs => self.cancel_job(),
            Action::SelectHost(_) => {
                // One host: every name selects the same root (RFC 7151 §3.2 allows it).
                let now = ctx.now();
                let g = ctx.shared.session_cfg.greeting.clone();
                self.session.handle_event(Event::HostSelected(Some(g)), now);
            }
            Action::Close => self.close_after_flush = true,
        }
    }

    fn open_passive(&mut self, ctx: &mut Ctx) {
        self.close_passive(ctx);
        let now = ctx.now();
        let ip = self.local.ip();
        match super::sockets::passive_listener(ip, ctx.pasv_slice, &mut ctx.pasv_cursor) {
            Ok((fd, port)) => {
                let fd: SharedFd = std::rc::Rc::new(fd);
                let t = self.token(Purpose::PasvAccept);
                let op = ctx.ring.accept_multishot(&fd, t);
                let opened_at = std::time::Instant::now();
                self.pasv = Some(Passive {
                    listener: Some(fd),
                    accept_op: Some(op),
                    accepted: None,
                    opened_at,
                });
                self.session
                    .handle_event(Event::PassiveOpened(Some(port)), now);
            }
            Err(e) => {
                eprintln!("ringftpd[w{}]: {}: no passive port: {e}", ctx.id, self.peer);
                self.session.handle_event(Event::PassiveOpened(None), now);
            }
        }
    }

    /// Closes the passive listener (and an accepted, unused data connection).
    pub fn close_passive(&mut self, ctx: &mut Ctx) {
        if let Some(p) = self.pasv.take() {
            if let Some(op) = p.accept_op {
                ctx.ring.cancel(op);
            }
        }
    }

    /// Stops accepting on the passive listener (the one connection arrived).
    pub fn stop_listening(&mut self, ctx: &mut Ctx) {
        if let Some(p) = self.pasv.as_mut() {
            if let Some(op) = p.accept_op.take() {
                ctx.ring.cancel(op);
            }
            p.listener = None;
        }
    }

    /// Routes a completion of one of this connection's ops.
    pub fn on_completion(&mut self, ctx: &mut Ctx, purpose: Purpose, c: Completion) {
        match purpose {
            Purpose::CtrlRecv => self.on_recv(ctx, c.kind),
            Purpose::CtrlSend => self.on_sent(ctx, c.kind),
            Purpose::PasvAccept => self.on_pasv_accept(ctx, c),
            Purpose::DataConnect | Purpose::DataIo => self.on_data(ctx, purpose, c),
            Purpose::LoginDelay => self.on_login_delay(ctx, c),
            _ => reclaim(ctx, c.kind),
        }
        if !self.closed {
            self.pump(ctx);
        }
    }

    fn on_recv(&mut self, ctx: &mut Ctx, kind: CompletionKind) {
        self.recv_op = None;
        let now = ctx.now();
        match kind {
            CompletionKind::Recv(Ok(Some(buf))) => {
                if !self.closed {
                    self.session.handle_input(ctx.ring.provided_data(&buf), now);
                }
                ctx.ring.recycle(buf);
            }
            // ENOBUFS: the pool is empty for now; pump() re-arms.
            CompletionKind::Recv(Err(nix::errno::Errno::ENOBUFS)) => {}
            CompletionKind::Recv(Err(nix::errno::Errno::ECANCELED)) if self.closed => {}
            other => {
                reclaim(ctx, other);
                self.session.handle_closed();
                while let Some(a) = self.session.poll_action() {
                    self.exec(ctx, a);
                }
                self.close(ctx);
            }
        }
    }

    fn on_sent(&mut self, ctx: &mut Ctx, kind: CompletionKind) {
        self.send_in_flight = false;
        match kind {
            CompletionKind::Send(Ok(n), mut data) if n < data.len() => {
                data.drain(..n);
                data.extend_from_slice(&self.send_backlog);
                self.send_backlog = data;
            }
            CompletionKind::Send(Ok(_), mut data) => {
                if self.send_backlog.is_empty() {
                    data.clear();
                    self.send_backlog = data; // keep the allocation
                }
            }
            _ => {
                self.send_backlog.clear();
                self.close(ctx);
            }
        }
    }

    fn on_pasv_accept(&mut self, ctx: &mut Ctx, c: Completion) {
        let CompletionKind::Accept(Ok(fd)) = c.kind else {
            return;
        };
        let from = super::sockets::peer_addr(&fd).map(|a| a.ip().to_canonical());
        if from != Some(self.peer.ip().to_canonical()) {
            // RFC 2577 §5 / port stealing: only the control peer may connect.
            eprintln!(
                "ringftpd[w{}]: {}: refused data connection from {:?}",
                ctx.id, self.peer, from
            );
            return;
        }
        let fd: SharedFd = std::rc::Rc::new(fd);
        self.stop_listening(ctx);
        let waiting = self.xfer.as_ref().is_some_and(|x| x.waiting_for_passive());
        if waiting {
            self.data_connected(ctx, fd);
        } else if let Some(p) = self.pasv.as_mut() {
            p.accepted = Some(fd);
        }
    }

    /// A helper job's result.
    pub fn on_job(&mut self, ctx: &mut Ctx, seq: u64, out: JobOutput) {
        if self.closed {
            return;
        }
        let now = ctx.now();
        match out {
            JobOutput::Login(r) if seq == self.wait_seq => {
                let ok = r.map(|(ok, root)| {
                    self.root = Some(root);
                    ok
                });
                if let Some(ok) = &ok {
                    ctx.log(format_args!("{} logged in as {}", self.peer, ok.user));
                } else if self.login_refused(ctx) {
                    return; // answered when the delay ends
                }
                self.session.handle_event(Event::Login(ok), now);
            }
            JobOutput::Fs(r) if seq == self.wait_seq => {
                self.job_cancel = None;
                self.session.handle_event(Event::Fs(r), now)
            }
            JobOutput::ListMore(r) => self.on_list_more(ctx, seq, r),
            JobOutput::OpenRead(_) | JobOutput::OpenWrite(_) | JobOutput::Listing(_) => {
                self.on_transfer_opened(ctx, seq, out)
            }
            _ => {}
        }
        self.pump(ctx);
    }

    /// Idle and transfer timeouts.
    pub fn tick(&mut self, ctx: &mut Ctx, now: Now) {
        if self.closed {
            return;
        }
        self.session.handle_tick(now);
        self.check_transfer_deadlines(ctx, now);
        self.expire_unused_passive(ctx, now.mono);
        self.pump(ctx);
    }

    /// A registered buffer became free for this connection's upload.
    pub fn resume_with_buf(&mut self, ctx: &mut Ctx, buf: FixedBuf) {
        self.store_with_buf(ctx, buf);
        self.pump(ctx);
    }

    /// Stops the running stepped job; its answer, if one still comes, is dropped.
    fn cancel_job(&mut self) {
        if let Some(c) = self.job_cancel.take() {
            c.cancel();
        }
        self.wait_seq = 0;
    }

    /// Closes everything; the slot is freed once all ops have completed.
    pub fn close(&mut self, ctx: &mut Ctx) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.cancel_job();
        if let Some(op) = self.recv_op.take() {
            ctx.ring.cancel(op);
        }
        self.close_passive(ctx);
        self.drop_transfer(ctx);
        if let Some(fd) = self.ctrl.take() {
            let _ = nix::sys::socket::shutdown(
                std::os::fd::AsRawFd::as_raw_fd(&*fd),
                nix::sys::socket::Shutdown::Both,
            );
        }
    }
}
