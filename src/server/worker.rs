//! One worker: a pinned thread, its ring, its control listeners, its slice of
//! the passive range, and every session that arrived on it. Sessions and their
//! data channels never leave the worker that accepted them.

use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use nix::errno::Errno;
use slab::Slab;

use super::conn::Conn;
use super::ctx::Ctx;
use super::ops::WorkerObs;
use super::pool::{Job, JobOutput, JobTag, Route};
use super::shared::{Phase, Shared};
use super::timers::Timers;
use super::token::{self, Purpose};
use crate::engine::{Completion, CompletionKind, Ring, RingConfig, SharedFd, Sock};
use crate::obs::labels::RefusalReason;
use crate::proto::reply;

/// How long a listener whose accept failed for lack of fds/memory rests.
const ACCEPT_PAUSE: Duration = Duration::from_secs(1);

/// The longest wait on the ring with no deadline due (a safety net: the
/// stop flag and every event arrive as completions anyway).
const WAIT_MAX: Duration = Duration::from_secs(60);

/// What a worker is started with.
pub struct WorkerInit {
    pub id: usize,
    pub shared: Arc<Shared>,
    pub listeners: Vec<OwnedFd>,
    pub wake_read: OwnedFd,
    pub wake_write: Arc<OwnedFd>,
    pub jobs: Sender<Job>,
    pub stop: Arc<AtomicBool>,
    pub pasv_slice: (u16, u16),
    /// Closed by `start` once every ring is up and `--run-as` is done; the
    /// worker starts accepting only then.
    pub go: Receiver<()>,
    /// This worker's metric block and log channels.
    pub obs: WorkerObs,
    /// Held until the thread ends: the main thread sees every worker gone
    /// when all of these are dropped.
    pub alive: Sender<()>,
}

/// A worker thread's state.
pub struct Worker {
    ctx: Ctx,
    conns: Slab<Conn>,
    next_gen: u32,
    listeners: Vec<SharedFd>,
    results: Receiver<(JobTag, JobOutput)>,
    wake: SharedFd,
    stop: Arc<AtomicBool>,
    /// Listeners whose accept failed for lack of fds/memory, re-armed at
    /// `accept_retry_at`.
    accept_paused: Vec<usize>,
    accept_retry_at: Option<Instant>,
    /// Every connection's next deadline (see `timers.rs`).
    timers: Timers,
    /// Control connections accepted (for the hidden test hook).
    accepted: u64,
    /// The phase this worker has acted on (see [`Phase`]).
    phase: Phase,
}

impl Worker {
    /// Builds the worker on its own thread (the ring is not `Send`).
    pub fn new(init: WorkerInit) -> Result<Worker, String> {
        let a = &init.shared.args;
        let rc = RingConfig {
            fixed_bufs_count: a.upload_buffers_count,
            fixed_buf_size_bytes: a.upload_buffer_size_bytes,
            provided_bufs_count: a.control_buffers_count,
            provided_buf_size_bytes: a.control_buffer_size_bytes,
            // One direct-descriptor slot per session (the kernel allows 2^20).
            fixed_files_count: if a.no_direct_descriptors {
                0
            } else {
                u32::try_from(a.sessions_max)
                    .unwrap_or(u32::MAX)
                    .min(1 << 20)
            },
            ..RingConfig::default()
        };
        let ring = Ring::new(&rc).map_err(|e| e.to_string())?;
        let (tx, results) = crossbeam_channel::unbounded();
        let route = Route {
            tx,
            wake: init.wake_write,
        };
        let ctx = Ctx::new(
            init.id,
            ring,
            init.shared,
            init.jobs,
            route,
            init.pasv_slice,
            init.obs,
        );
        Ok(Worker {
            ctx,
            conns: Slab::new(),
            next_gen: 1,
            listeners: init.listeners.into_iter().map(Rc::new).collect(),
            results,
            wake: Rc::new(init.wake_read),
            stop: init.stop,
            accept_paused: Vec::new(),
            accept_retry_at: None,
            timers: Timers::new(),
            accepted: 0,
            phase: Phase::Serving,
        })
    }

    /// Runs until the stop flag is set, then cancels and drains every op.
    pub fn run(mut self) {
        for (i, l) in self.listeners.iter().enumerate() {
            self.ctx
                .ring
                .accept_multishot(l, token::pack(Purpose::CtrlAccept, i, 0));
        }
        self.ctx
            .ring
            .read_u64(&self.wake, token::pack(Purpose::Wake, 0, 0));
        let mut cqes = Vec::with_capacity(1024);
        while !self.stop.load(Ordering::Relaxed) {
            if self.phase != Phase::Serving && self.conns.is_empty() {
                // Drained: every session has ended.
                break;
            }
            // One timer per worker: the earliest deadline is the wait's timeout.
            let kept_limit = Duration::from_secs(self.ctx.shared.args.data_connect_timeout_secs);
            let next = [
                self.timers.next_deadline(),
                self.accept_retry_at,
                self.ctx.kept_listeners.next_expiry(kept_limit),
            ]
            .into_iter()
            .flatten()
            .min();
            let wait = next.map_or(WAIT_MAX, |t| {
                t.saturating_duration_since(Instant::now()).min(WAIT_MAX)
            });
            if let Err(e) = self.ctx.ring.submit_and_wait(1, Some(wait)) {
                eprintln!("ringftpd[w{}]: ring failed: {e}", self.ctx.id);
                break;
            }
            self.ctx.tick_clock();
            self.ctx.ring.completions(&mut cqes);
            for c in cqes.drain(..) {
                self.on_completion(c);
            }
            self.fire_timers();
        }
        self.ctx.kept_listeners.clear();
        self.ctx.ring.shutdown();
    }

    /// Why control connections use regular fds, when the kernel refused the
    /// ring's file table (`None` when it is registered, or not asked for).
    fn direct_fallback(&self) -> Option<String> {
        if self.ctx.shared.args.no_direct_descriptors {
            return None;
        }
        self.ctx.ring.fixed_files().err().map(|e| {
            format!(
                "registering a file table of {} slots: {e}",
                self.ctx.shared.args.sessions_max
            )
        })
    }

    fn on_completion(&mut self, c: Completion) {
        let Some((purpose, index, gen)) = token::unpack::<Purpose>(c.token) else {
            return;
        };
        match purpose {
            Purpose::CtrlAccept => self.on_accept(index, c),
            Purpose::Wake => self.on_wake(c),
            _ => {
                // A completion for a connection that is gone is dropped here
                // (its buffers go back to their pools as they drop).
                if let Some(conn) = self.conns.get_mut(index).filter(|conn| conn.is(gen)) {
                    conn.on_completion(&mut self.ctx, purpose, c);
                    self.after(index);
                }
            }
        }
    }

    /// Frees a connection whose ops have all completed, else schedules its
    /// next deadline; serves buffer waiters.
    fn after(&mut self, index: usize) {
        if self.phase != Phase::Serving {
            if let Some(conn) = self.conns.get_mut(index) {
                // A session whose transfer just ended gets its 421 now.
                conn.drain(&mut self.ctx, self.phase == Phase::GraceOver);
            }
        }
        if self.conns.get(index).is_some_and(|c| c.is_finished()) {
            let conn = self.conns.remove(index);
            if conn.admitted() {
                self.ctx.shared.release(conn.peer().ip());
            }
            conn.report_closed(&self.ctx);
            self.ctx.log(format_args!("{} closed", conn.peer()));
        } else {
            self.schedule(index);
        }
        self.serve_buf_waiters();
    }

    /// Keeps the invariant of the deadline heap: a connection that wants a
    /// deadline has a live entry no later than it.
    fn schedule(&mut self, index: usize) {
        if let Some(conn) = self.conns.get_mut(index) {
            let want = conn.deadline(&self.ctx);
            if let Some(at) = conn.armed.update(want) {
                self.timers.schedule(at, index, conn.gen());
            }
        }
    }

    fn serve_buf_waiters(&mut self) {
        while let Some(&(i, g)) = self.ctx.buf_waiters.front() {
            let Some(buf) = self.ctx.ring.take_fixed_buf() else {
                return;
            };
            self.ctx.buf_waiters.pop_front();
            // A connection that is gone, or no longer waiting, drops the
            // buffer, which goes back to the pool for the next waiter.
            if let Some(conn) = self.conns.get_mut(i).filter(|c| c.is(g)) {
                conn.resume_with_buf(&mut self.ctx, buf);
                self.schedule(i);
            }
        }
    }

    fn on_accept(&mut self, index: usize, c: Completion) {
        if self.phase != Phase::Serving {
            // Draining: the listeners are shut; a connection that raced the
            // shutdown is closed as it drops.
            if let CompletionKind::Accept(Ok(fd)) = &c.kind {
                if let Some(peer) = super::sockets::peer_addr(fd) {
                    self.ctx.obs.refused(peer, RefusalReason::Draining);
                }
            }
            return;
        }
        if !c.more && !self.stop.load(Ordering::Relaxed) {
            if let CompletionKind::Accept(Err(
                e @ (Errno::EMFILE | Errno::ENFILE | Errno::ENOMEM | Errno::ENOBUFS),
            )) = &c.kind
            {
                // Re-arming now would fail at once and spin: wait a second
                // (the connection waits in the backlog meanwhile).
                eprintln!(
                    "ringftpd[w{}]: accept: {e}; pausing this listener for a second",
                    self.ctx.id
                );
                self.accept_paused.push(index);
                self.accept_retry_at = Some(self.ctx.now.mono + ACCEPT_PAUSE);
                return;
            }
            // Multishot ended (error or overflow): re-arm so the listener keeps serving.
            if let Some(l) = self.listeners.get(index) {
                self.ctx
                    .ring
                    .accept_multishot(l, token::pack(Purpose::CtrlAccept, index, 0));
            }
        }
        let CompletionKind::Accept(Ok(fd)) = c.kind else {
            return;
        };
        self.accepted += 1;
        if self.ctx.shared.args.test_panic_after_accepts == Some(self.accepted) {
            panic!("--test-panic-after-accepts {} reached", self.accepted);
        }
        let (Some(peer), Some(local)) = (
            super::sockets::peer_addr(&fd),
            super::sockets::local_addr(&fd),
        ) else {
            return;
        };
        if self.conns.len() >= self.ctx.shared.args.sessions_max {
            let why = "Too many connections; try again later.";
            refuse(&fd, &reply::encode(reply::SERVICE_NOT_AVAILABLE, why));
            self.ctx.obs.refused(peer, RefusalReason::SessionsMax);
            return;
        }
        let a = &self.ctx.shared.args;
        let await_proxy = a.proxy_protocol || !a.proxy_from.is_empty();
        if !a.proxy_from.is_empty() && !crate::proto::cidr::any_contains(&a.proxy_from, peer.ip()) {
            // Not a balancer we trust to name clients: closed without a word.
            self.ctx
                .log(format_args!("{peer} refused: not in --proxy-from"));
            self.ctx.obs.refused(peer, RefusalReason::ProxyUntrusted);
            return;
        }
        // Behind the PROXY protocol the limits apply to the client the header
        // names, once it has arrived (conn/proxied.rs).
        if !await_proxy {
            if let Err(why) = self.ctx.shared.admit(peer.ip(), self.ctx.now.mono) {
                self.ctx.log(format_args!("{peer} refused: {why:?}"));
                refuse(&fd, &why.reply());
                self.ctx.obs.refused(peer, why.reason());
                return;
            }
        }
        let _ = nix::sys::socket::setsockopt(&fd, nix::sys::socket::sockopt::TcpNoDelay, &true);
        // Clients send ABOR's line ending as TCP urgent data (RFC 959 §4.1.3
        // Synch); inline it so the line still ends.
        let _ = nix::sys::socket::setsockopt(&fd, nix::sys::socket::sockopt::OobInline, &true);
        // Into the ring's file table: the fd number is given back at once,
        // so the open-files limit does not bound the sessions.
        let sock = match self.ctx.ring.adopt(fd) {
            Ok(sock) => sock,
            Err(fd) => Sock::Fd(Rc::new(fd)),
        };
        self.next_gen = token::next_gen(self.next_gen);
        // Listeners past the --listen ones are the implicit FTPS ones.
        let implicit = index >= self.ctx.shared.args.listen.len();
        let entry = self.conns.vacant_entry();
        let index_conn = entry.key();
        let session_id = self.ctx.obs.next_session_id();
        let conn = Conn::new(
            (index_conn, self.next_gen),
            sock,
            (peer, local),
            session_id,
            await_proxy,
            implicit,
            &self.ctx,
        );
        entry.insert(conn);
        self.ctx.log(format_args!("{peer} connected"));
        self.conns[index_conn].pump(&mut self.ctx);
        self.after(index_conn);
    }

    fn on_wake(&mut self, c: Completion) {
        if !self.stop.load(Ordering::Relaxed) {
            self.ctx
                .ring
                .read_u64(&self.wake, token::pack(Purpose::Wake, 0, 0));
        }
        let _ = c;
        self.follow_phase();
        while let Ok((tag, out)) = self.results.try_recv() {
            match self.conns.get_mut(tag.conn).filter(|c| c.is(tag.conn_gen)) {
                Some(conn) => {
                    conn.on_job(&mut self.ctx, tag.seq, out);
                    self.after(tag.conn);
                }
                None => drop(out),
            }
        }
    }

    /// Acts on a new phase set by the main thread (SIGTERM, grace over):
    /// every session is asked to end (see [`Conn::drain`]).
    fn follow_phase(&mut self) {
        let phase = self.ctx.shared.phase();
        if phase == self.phase {
            return;
        }
        self.phase = phase;
        // The main thread has shut the listeners down; their accepts end
        // and are not re-armed, and the sockets close with the last ref.
        self.listeners.clear();
        self.accept_paused.clear();
        self.accept_retry_at = None;
        let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
        for k in keys {
            self.after(k);
        }
    }

    /// Runs every deadline that has fallen: paused listeners are re-armed,
    /// each due connection does what is due and schedules its next deadline.
    fn fire_timers(&mut self) {
        let now = self.ctx.now.mono;
        // Pooled passive listeners idle for the data-connect timeout (the
        // loop's wait ends at the oldest one's expiry).
        let limit = Duration::from_secs(self.ctx.shared.args.data_connect_timeout_secs);
        self.ctx.kept_listeners.expire(now, limit);
        if self.accept_retry_at.is_some_and(|t| t <= now) {
            self.accept_retry_at = None;
            for i in std::mem::take(&mut self.accept_paused) {
                if let Some(l) = self.listeners.get(i) {
                    self.ctx
                        .ring
                        .accept_multishot(l, token::pack(Purpose::CtrlAccept, i, 0));
                }
            }
        }
        while let Some((at, index, gen)) = self.timers.pop_due(now) {
            // A stale entry: the connection is gone, or pushed an earlier one.
            let Some(conn) = self.conns.get_mut(index).filter(|c| c.is(gen)) else {
                continue;
            };
            if !conn.armed.fire(at) {
                continue;
            }
            conn.on_timer(&mut self.ctx);
            self.after(index);
        }
        if self.timers.needs_compaction(self.conns.len()) {
            let conns = &self.conns;
            self.timers
                .retain(|&(at, i, g)| conns.get(i).is_some_and(|c| c.is(g) && c.armed.is(at)));
        }
    }
}

/// Best-effort one-line refusal on a fresh socket, then close.
fn refuse(fd: &OwnedFd, msg: &[u8]) {
    use nix::sys::socket::{send, MsgFlags};
    let flags = MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL;
    let _ = send(std::os::fd::AsRawFd::as_raw_fd(fd), msg, flags);
}

/// Starts worker `init.id` on its own pinned thread; `ready` gets `Ok` once its
/// ring is up (with why control connections fall back to regular fds, if
/// they do), or the one-line reason it could not start.
pub fn spawn(
    init: WorkerInit,
    core: Option<core_affinity::CoreId>,
    ready: Sender<Result<Option<String>, String>>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name(format!("ringftpd-w{}", init.id))
        .spawn(move || {
            if let Some(core) = core {
                core_affinity::set_for_current(core);
            }
            let go = init.go.clone();
            let (id, stop, shared) = (init.id, init.stop.clone(), init.shared.clone());
            let _alive = init.alive.clone();
            match Worker::new(init) {
                Ok(w) => {
                    let _ = ready.send(Ok(w.direct_fallback()));
                    // Serve nothing before start-up is over (privileges dropped).
                    let _ = go.recv();
                    w.run();
                    if !stop.load(Ordering::SeqCst) && shared.phase() == Phase::Serving {
                        super::fatal::worker_ended_unexpectedly(id);
                    }
                }
                Err(e) => {
                    let _ = ready.send(Err(e));
                }
            }
        })
        .expect("spawning a worker thread at start-up")
}
