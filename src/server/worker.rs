//! One worker: a pinned thread, its ring, its control listeners, its slice of
//! the passive range, and every session that arrived on it. Sessions and their
//! data channels never leave the worker that accepted them.

use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, Sender};
use nix::errno::Errno;
use slab::Slab;

use super::conn::Conn;
use super::pool::{Job, JobOutput, JobTag, Route};
use super::token::{self, Purpose};
use super::Shared;
use crate::engine::{Completion, CompletionKind, FixedBuf, Pipe, Ring, RingConfig, SharedFd};
use crate::proto::session::Now;

/// How often sessions are checked for timeouts.
const TICK: Duration = Duration::from_secs(1);

/// Everything of a worker except its connections, so a connection and the
/// context can be borrowed at once.
pub struct Ctx {
    pub id: usize,
    pub ring: Ring,
    pub shared: Arc<Shared>,
    pub jobs: Sender<Job>,
    pub route: Route,
    pub pasv_slice: (u16, u16),
    pub pasv_cursor: u16,
    pub pipes: Vec<Pipe>,
    /// Connections waiting for a registered buffer (index, generation).
    pub buf_waiters: std::collections::VecDeque<(usize, u32)>,
    /// Reused scratch space (TYPE A conversion).
    pub scratch: Vec<u8>,
}

impl Ctx {
    /// The time for sessions.
    pub fn now(&self) -> Now {
        let unix_secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Now {
            mono: Instant::now(),
            unix_secs,
        }
    }

    /// Submits blocking work for connection `tag`.
    pub fn submit_job(&mut self, tag: JobTag, work: Box<dyn FnOnce() -> JobOutput + Send>) {
        let job = Job {
            work,
            reply: self.route.clone(),
            tag,
        };
        if let Err(e) = self.jobs.try_send(job) {
            // The queue is full: run it here rather than lose the request.
            let job = e.into_inner();
            let out = (job.work)();
            let _ = self.route.tx.send((job.tag, out));
            let _ = nix::unistd::write(&*self.route.wake, &1u64.to_ne_bytes());
        }
    }

    /// Returns a registered buffer and wakes one connection waiting for it.
    pub fn give_buf(&mut self, buf: FixedBuf) {
        self.ring.give_fixed_buf(buf);
    }

    /// Logs one line when `--verbose` is on.
    pub fn log(&self, msg: std::fmt::Arguments<'_>) {
        if self.shared.args.verbose {
            eprintln!("ringftpd[w{}]: {msg}", self.id);
        }
    }
}

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
    /// Listeners whose accept failed for lack of fds/memory; re-armed at the next tick.
    accept_paused: Vec<usize>,
    /// Control connections accepted (for the hidden test hook).
    accepted: u64,
}

impl Worker {
    /// Builds the worker on its own thread (the ring is not `Send`).
    pub fn new(init: WorkerInit) -> Result<Worker, String> {
        let a = &init.shared.args;
        let rc = RingConfig {
            fixed_bufs_count: a.upload_buffers_count,
            fixed_buf_size_bytes: a.upload_buffer_size_bytes,
            provided_bufs_count: a.control_buffers_count,
            provided_buf_size_bytes: 2048,
            ..RingConfig::default()
        };
        let ring = Ring::new(&rc).map_err(|e| e.to_string())?;
        let (tx, results) = crossbeam_channel::unbounded();
        let ctx = Ctx {
            id: init.id,
            ring,
            shared: init.shared,
            jobs: init.jobs,
            route: Route {
                tx,
                wake: init.wake_write,
            },
            pasv_slice: init.pasv_slice,
            pasv_cursor: init.pasv_slice.1,
            pipes: Vec::new(),
            buf_waiters: Default::default(),
            scratch: Vec::new(),
        };
        Ok(Worker {
            ctx,
            conns: Slab::new(),
            next_gen: 1,
            listeners: init.listeners.into_iter().map(Rc::new).collect(),
            results,
            wake: Rc::new(init.wake_read),
            stop: init.stop,
            accept_paused: Vec::new(),
            accepted: 0,
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
        let mut next_tick = Instant::now() + TICK;
        while !self.stop.load(Ordering::Relaxed) {
            let wait = next_tick.saturating_duration_since(Instant::now());
            if let Err(e) = self.ctx.ring.submit_and_wait(1, Some(wait)) {
                eprintln!("ringftpd[w{}]: ring failed: {e}", self.ctx.id);
                break;
            }
            self.ctx.ring.completions(&mut cqes);
            for c in cqes.drain(..) {
                self.on_completion(c);
            }
            if Instant::now() >= next_tick {
                self.tick();
                next_tick = Instant::now() + TICK;
            }
        }
        self.ctx.ring.shutdown();
    }

    fn on_completion(&mut self, c: Completion) {
        let Some((purpose, index, gen)) = token::unpack(c.token) else {
            return;
        };
        match purpose {
            Purpose::CtrlAccept => self.on_accept(index, c),
            Purpose::Wake => self.on_wake(c),
            _ => {
                let live = self.conns.get(index).is_some_and(|conn| conn.gen == gen);
                if !live {
                    return reclaim(&mut self.ctx, c.kind);
                }
                let conn = &mut self.conns[index];
                if !c.more {
                    conn.ops = conn.ops.saturating_sub(1);
                }
                conn.on_completion(&mut self.ctx, purpose, c);
                self.after(index);
            }
        }
    }

    /// Frees a connection whose ops have all completed; serves buffer waiters.
    fn after(&mut self, index: usize) {
        if self.conns.get(index).is_some_and(|c| c.is_finished()) {
            let conn = self.conns.remove(index);
            if let Ok(mut t) = self.ctx.shared.ips.lock() {
                t.release(conn.peer.ip());
            }
            self.ctx.log(format_args!("{} closed", conn.peer));
        }
        self.serve_buf_waiters();
    }

    fn serve_buf_waiters(&mut self) {
        while let Some(&(i, g)) = self.ctx.buf_waiters.front() {
            let Some(buf) = self.ctx.ring.take_fixed_buf() else {
                return;
            };
            self.ctx.buf_waiters.pop_front();
            match self.conns.get_mut(i).filter(|c| c.gen == g) {
                Some(conn) => conn.resume_with_buf(&mut self.ctx, buf),
                None => self.ctx.ring.give_fixed_buf(buf),
            }
        }
    }

    fn on_accept(&mut self, index: usize, c: Completion) {
        if !c.more && !self.stop.load(Ordering::Relaxed) {
            if let CompletionKind::Accept(Err(
                e @ (Errno::EMFILE | Errno::ENFILE | Errno::ENOMEM | Errno::ENOBUFS),
            )) = &c.kind
            {
                // Re-arming now would fail at once and spin: wait for the next
                // tick (the connection waits in the backlog meanwhile).
                eprintln!(
                    "ringftpd[w{}]: accept: {e}; pausing this listener for a second",
                    self.ctx.id
                );
                self.accept_paused.push(index);
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
            refuse(&fd, b"421 Too many connections; try again later.\r\n");
            return;
        }
        let admitted = self
            .ctx
            .shared
            .ips
            .lock()
            .ok()
            .map(|mut t| t.admit(peer.ip(), Instant::now()));
        if let Some(Err(why)) = admitted {
            self.ctx.log(format_args!("{peer} refused: {why:?}"));
            refuse(&fd, why.reply());
            return;
        }
        let _ = nix::sys::socket::setsockopt(&fd, nix::sys::socket::sockopt::TcpNoDelay, &true);
        // Clients send ABOR's line ending as TCP urgent data (RFC 959 §4.1.3
        // Synch); inline it so the line still ends.
        let _ = nix::sys::socket::setsockopt(&fd, nix::sys::socket::sockopt::OobInline, &true);
        self.next_gen = token::gen_bits(self.next_gen.wrapping_add(1)).max(1);
        let entry = self.conns.vacant_entry();
        let index = entry.key();
        let now = self.ctx.now();
        let conn = Conn::new(
            index,
            self.next_gen,
            Rc::new(fd),
            peer,
            local,
            &self.ctx.shared,
            now,
        );
        entry.insert(conn);
        self.ctx.log(format_args!("{peer} connected"));
        self.conns[index].pump(&mut self.ctx);
        self.after(index);
    }

    fn on_wake(&mut self, c: Completion) {
        if !self.stop.load(Ordering::Relaxed) {
            self.ctx
                .ring
                .read_u64(&self.wake, token::pack(Purpose::Wake, 0, 0));
        }
        let _ = c;
        while let Ok((tag, out)) = self.results.try_recv() {
            match self
                .conns
                .get_mut(tag.conn)
                .filter(|c| c.gen == tag.conn_gen)
            {
                Some(conn) => {
                    conn.on_job(&mut self.ctx, tag.seq, out);
                    self.after(tag.conn);
                }
                None => drop(out),
            }
        }
    }

    fn tick(&mut self) {
        let now = self.ctx.now();
        for i in std::mem::take(&mut self.accept_paused) {
            if let Some(l) = self.listeners.get(i) {
                self.ctx
                    .ring
                    .accept_multishot(l, token::pack(Purpose::CtrlAccept, i, 0));
            }
        }
        if let Ok(mut t) = self.ctx.shared.ips.lock() {
            t.prune(now.mono);
        }
        let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
        for k in keys {
            if let Some(conn) = self.conns.get_mut(k) {
                conn.tick(&mut self.ctx, now);
                self.after(k);
            }
        }
    }
}

/// Gives back the resources a completion carries when nobody wants it.
pub fn reclaim(ctx: &mut Ctx, kind: CompletionKind) {
    match kind {
        CompletionKind::Recv(Ok(Some(buf))) => ctx.ring.recycle(buf),
        CompletionKind::RecvFixed(_, buf) | CompletionKind::WriteFixed(_, buf) => ctx.give_buf(buf),
        _ => {}
    }
}

/// Best-effort one-line refusal on a fresh socket, then close.
fn refuse(fd: &OwnedFd, msg: &[u8]) {
    use nix::sys::socket::{send, MsgFlags};
    let flags = MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL;
    let _ = send(std::os::fd::AsRawFd::as_raw_fd(fd), msg, flags);
}

/// Starts worker `init.id` on its own pinned thread; `ready` gets `Ok` once its
/// ring is up, or the one-line reason it could not start.
pub fn spawn(
    init: WorkerInit,
    core: Option<core_affinity::CoreId>,
    ready: Sender<Result<(), String>>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name(format!("ringftpd-w{}", init.id))
        .spawn(move || {
            if let Some(core) = core {
                core_affinity::set_for_current(core);
            }
            let go = init.go.clone();
            let (id, stop) = (init.id, init.stop.clone());
            match Worker::new(init) {
                Ok(w) => {
                    let _ = ready.send(Ok(()));
                    // Serve nothing before start-up is over (privileges dropped).
                    let _ = go.recv();
                    w.run();
                    if !stop.load(Ordering::SeqCst) {
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
