//! One worker: one ring, a fixed number of session slots, each slot running
//! control sessions one after the other. Control-channel handling and the
//! loop are here; the data channel is in `data.rs`.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::socket::Shutdown;

use super::cli::Op;
use super::client::{Action, Client, ClientConfig, Failure, Job, Mark};
use super::data::Data;
use super::net;
use super::plan::Plan;
use super::stats::{Live, Metric, Stats};
use crate::engine::{Completion, CompletionKind, EngineError, Ring, RingConfig, SharedFd};

/// What an op was for (token bits 0–7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum P {
    CtrlConnect = 1,
    CtrlRecv = 2,
    CtrlSend = 3,
    DataConnect = 4,
    DataAccept = 5,
    DataRead = 6,
    DataSend = 7,
    DataPoll = 8,
}

const GEN_MASK: u32 = 0x00ff_ffff;

/// Token: slot (bits 32–63), generation (8–31), purpose (0–7). Control ops
/// carry the session's generation, data ops the data channel's, so a late
/// completion never reaches a newer session or channel in the same slot.
pub fn tok(p: P, slot: usize, gen: u32) -> u64 {
    ((slot as u64) << 32) | (u64::from(gen & GEN_MASK) << 8) | p as u64
}

fn untok(t: u64) -> Option<(P, usize, u32)> {
    let p = match t & 0xff {
        1 => P::CtrlConnect,
        2 => P::CtrlRecv,
        3 => P::CtrlSend,
        4 => P::DataConnect,
        5 => P::DataAccept,
        6 => P::DataRead,
        7 => P::DataSend,
        8 => P::DataPoll,
        _ => return None,
    };
    Some((p, (t >> 32) as usize, ((t >> 8) as u32) & GEN_MASK))
}

/// Timestamps of one session, for the histograms.
#[derive(Debug, Clone, Copy)]
pub struct Times {
    pub connect: Instant,
    pub connected: Instant,
    pub greeted: Instant,
    pub data_addr: Instant,
    pub command: Instant,
    pub job_start: Instant,
}

/// One control session in a slot.
pub struct Sess {
    pub gen: u32,
    pub client: Client,
    pub ctrl: SharedFd,
    pub local_ip: IpAddr,
    sending: bool,
    outq: Vec<u8>,
    pub t: Times,
    pub data: Option<Data>,
    pub last_progress: Instant,
    pub quitting: bool,
    pub logged_in: bool,
}

/// What survives from one session of a slot to the next.
#[derive(Default)]
pub struct Slot {
    pub sess: Option<Sess>,
    pub seq: u64,
    pub opened: u64,
    pub fails_in_row: u32,
    /// Reused buffers (download, upload, send queue) and splice pipe.
    pub read_buf: Option<Vec<u8>>,
    pub up_buf: Option<Vec<u8>>,
    pub send_buf: Option<Vec<u8>>,
    pub pipe: Option<crate::engine::Pipe>,
    pub retired: bool,
}

/// The idle workload's phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Idle {
    Login,
    Hold(Instant),
    Check(Instant),
    Over,
}

pub struct Worker {
    pub id: usize,
    pub plan: Arc<Plan>,
    pub live: Arc<Live>,
    pub ring: Ring,
    pub slots: Vec<Slot>,
    pub stats: Stats,
    next_gen: u32,
    pub(super) acts: Vec<Action>,
    /// Open loop: intended starts not yet taken by a session, and idle slots.
    pending: VecDeque<Instant>,
    parked: VecDeque<usize>,
    next_arrival: Instant,
    idle: Idle,
    rearm_recv: Vec<usize>,
    /// Sessions not yet logged in, and slots waiting for the login window.
    logging_in: usize,
    waiting_open: VecDeque<usize>,
    pub devnull: Option<SharedFd>,
}

impl Worker {
    pub fn new(
        id: usize,
        slots: usize,
        plan: Arc<Plan>,
        live: Arc<Live>,
    ) -> Result<Worker, EngineError> {
        let cfg = RingConfig {
            sq_entries: 4096,
            provided_bufs_count: 1024,
            provided_buf_size_bytes: 4096,
            // Data receives use each session's own reused Vec, not fixed buffers.
            fixed_bufs_count: 1,
            fixed_buf_size_bytes: 4096,
        };
        let ring = Ring::new(&cfg)?;
        let devnull = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/null")
            .ok();
        let now = Instant::now();
        Ok(Worker {
            id,
            plan,
            live,
            ring,
            slots: (0..slots).map(|_| Slot::default()).collect(),
            stats: Stats::new(),
            next_gen: 0,
            acts: Vec::new(),
            pending: VecDeque::new(),
            parked: VecDeque::new(),
            next_arrival: now,
            idle: Idle::Login,
            rearm_recv: Vec::new(),
            logging_in: 0,
            waiting_open: VecDeque::new(),
            devnull: devnull.map(|f| Rc::new(f.into())),
        })
    }

    pub fn gen(&mut self) -> u32 {
        self.next_gen = (self.next_gen + 1) & GEN_MASK;
        self.next_gen.max(1)
    }

    /// Runs the workload to its end; returns what was measured.
    pub fn run(mut self) -> Stats {
        for slot in 0..self.slots.len() {
            if self.plan.op != Op::Login || self.plan.take_ticket() {
                self.open(slot);
            }
        }
        let tick = if self.plan.rate_per_worker.is_some() {
            Duration::from_millis(1)
        } else {
            Duration::from_millis(50)
        };
        let mut cqes = Vec::with_capacity(1024);
        while !self.finished() {
            if let Err(e) = self.ring.submit_and_wait(1, Some(tick)) {
                eprintln!("ringftp-bench[w{}]: {e}", self.id);
                self.stats.error("ring");
                break;
            }
            self.ring.completions(&mut cqes);
            for c in cqes.drain(..) {
                self.on_completion(c);
            }
            self.tick(Instant::now());
        }
        self.ring.shutdown();
        self.stats
    }

    fn finished(&self) -> bool {
        if self.plan.op == Op::Idle {
            return self.idle == Idle::Over;
        }
        self.plan.expired(Instant::now())
            || (self.slots.iter().all(|s| s.sess.is_none()) && self.waiting_open.is_empty())
    }

    /// Starts a new control session in `slot`, or queues it behind the login window.
    pub fn open(&mut self, slot: usize) {
        if self.logging_in >= self.plan.login_window {
            self.waiting_open.push_back(slot);
            return;
        }
        self.logging_in += 1;
        self.open_now(slot);
    }

    /// A session logged in or ended before it did: let a queued one start.
    fn login_settled(&mut self) {
        self.logging_in = self.logging_in.saturating_sub(1);
        if let Some(slot) = self.waiting_open.pop_front() {
            self.open(slot);
        }
    }

    fn open_now(&mut self, slot: usize) {
        let plan = self.plan.clone();
        let n = plan.source_addrs.len();
        let s = &mut self.slots[slot];
        let src = (n > 0)
            .then(|| plan.source_addrs[(self.id + slot * plan.workers + s.opened as usize) % n]);
        s.opened += 1;
        let fd = match net::client_socket(plan.server.ip(), src) {
            Ok(fd) => Rc::new(fd),
            Err(e) => {
                self.local_error(slot, "socket", e);
                return self.login_settled();
            }
        };
        let gen = self.gen();
        let now = Instant::now();
        let cfg = ClientConfig {
            user: plan.user.clone(),
            pass: plan.pass.clone(),
            mode: plan.mode,
            server_ip: plan.server.ip(),
        };
        let sess = Sess {
            gen,
            client: Client::new(cfg),
            ctrl: fd.clone(),
            local_ip: src.unwrap_or(plan.server.ip()),
            sending: false,
            outq: Vec::new(),
            t: Times {
                connect: now,
                connected: now,
                greeted: now,
                data_addr: now,
                command: now,
                job_start: now,
            },
            data: None,
            last_progress: now,
            quitting: false,
            logged_in: false,
        };
        self.slots[slot].sess = Some(sess);
        self.stats.sessions_opened += 1;
        self.live.add(&self.live.sessions, 1);
        self.ring
            .connect(&fd, plan.server, tok(P::CtrlConnect, slot, gen));
    }

    /// A failure before there is a session to close (socket creation).
    fn local_error(&mut self, slot: usize, what: &str, e: Errno) {
        self.stats.error(&format!("{what}:{e}"));
        self.live.add(&self.live.errors, 1);
        self.slots[slot].retired = true;
    }

    fn on_completion(&mut self, c: Completion) {
        let Some((p, slot, gen)) = untok(c.token) else {
            return;
        };
        let live = self
            .slots
            .get(slot)
            .and_then(|s| s.sess.as_ref())
            .is_some_and(|s| match p {
                P::CtrlConnect | P::CtrlRecv | P::CtrlSend => s.gen == gen,
                _ => s.data.as_ref().is_some_and(|d| d.gen == gen),
            });
        if !live {
            return self.reclaim(slot, c.kind);
        }
        if let Some(s) = self.slots[slot].sess.as_mut() {
            s.last_progress = Instant::now();
        }
        match (p, c.kind) {
            (P::CtrlConnect, CompletionKind::Connect(r)) => self.on_connect(slot, r),
            (P::CtrlRecv, CompletionKind::Recv(r)) => self.on_recv(slot, r),
            (P::CtrlSend, CompletionKind::Send(r, buf)) => self.on_sent(slot, r, buf),
            (_, kind) => self.on_data(slot, p, c.more, kind),
        }
        self.flush(slot);
    }

    /// Gives back what a stale completion carries.
    fn reclaim(&mut self, slot: usize, kind: CompletionKind) {
        match kind {
            CompletionKind::Recv(Ok(Some(buf))) => self.ring.recycle(buf),
            CompletionKind::Read(_, buf) => {
                if let Some(s) = self.slots.get_mut(slot) {
                    s.read_buf.get_or_insert(buf);
                }
            }
            CompletionKind::Send(_, buf) => {
                if let Some(s) = self.slots.get_mut(slot) {
                    if buf.capacity() >= self.plan.buf_bytes {
                        s.up_buf.get_or_insert(buf);
                    }
                }
            }
            _ => {}
        }
    }

    fn sess(&mut self, slot: usize) -> Option<&mut Sess> {
        self.slots.get_mut(slot).and_then(|s| s.sess.as_mut())
    }

    fn on_connect(&mut self, slot: usize, r: Result<(), Errno>) {
        if let Err(e) = r {
            return self.fail(slot, &format!("connect:{e}"));
        }
        let Some(s) = self.sess(slot) else { return };
        s.t.connected = Instant::now();
        let d = s.t.connected - s.t.connect;
        s.client.connected();
        if let Some(a) = net::local_addr(&s.ctrl) {
            s.local_ip = a.ip();
        }
        let (fd, gen) = (s.ctrl.clone(), s.gen);
        self.stats.record(Metric::Connect, d);
        self.ring.recv_provided(&fd, tok(P::CtrlRecv, slot, gen));
    }

    fn on_recv(&mut self, slot: usize, r: Result<Option<crate::engine::ProvidedBuf>, Errno>) {
        let Some(s) = self.slots[slot].sess.as_mut() else {
            return;
        };
        match r {
            Ok(Some(buf)) => {
                s.client
                    .received(self.ring.provided_data(&buf), &mut self.acts);
                self.ring.recycle(buf);
                let (fd, gen) = (s.ctrl.clone(), s.gen);
                self.ring.recv_provided(&fd, tok(P::CtrlRecv, slot, gen));
            }
            Ok(None) => s.client.eof(&mut self.acts),
            // The provided-buffer pool was empty: try again on the next tick.
            Err(Errno::ENOBUFS) => self.rearm_recv.push(slot),
            Err(e) => self.fail(slot, &format!("ctrl-recv:{e}")),
        }
    }

    fn on_sent(&mut self, slot: usize, r: Result<usize, Errno>, mut buf: Vec<u8>) {
        let n = match r {
            Ok(n) => n,
            Err(e) => return self.fail(slot, &format!("ctrl-send:{e}")),
        };
        let Some(s) = self.slots[slot].sess.as_mut() else {
            return;
        };
        // A short send: the rest goes first, ahead of anything queued since.
        buf.drain(..n.min(buf.len()));
        buf.append(&mut s.outq);
        s.outq = buf;
        s.sending = false;
        self.send_queued(slot);
    }

    fn send_queued(&mut self, slot: usize) {
        let spare = self.slots[slot].send_buf.take();
        let Some(s) = self.slots[slot].sess.as_mut() else {
            return;
        };
        if s.sending || s.outq.is_empty() {
            self.slots[slot].send_buf = spare;
            return;
        }
        let next = spare.unwrap_or_default();
        let data = std::mem::replace(&mut s.outq, next);
        s.outq.clear();
        s.sending = true;
        let (fd, gen) = (s.ctrl.clone(), s.gen);
        self.ring.send(&fd, data, tok(P::CtrlSend, slot, gen));
    }

    /// Carries out the client's actions (which may make more).
    pub fn flush(&mut self, slot: usize) {
        while !self.acts.is_empty() {
            let acts = std::mem::take(&mut self.acts);
            for a in acts {
                self.act(slot, a);
            }
        }
    }

    fn act(&mut self, slot: usize, a: Action) {
        let now = Instant::now();
        match a {
            Action::Send(bytes) => {
                if let Some(s) = self.sess(slot) {
                    s.outq.extend_from_slice(&bytes);
                }
                self.send_queued(slot);
            }
            Action::Mark(m) => self.mark(slot, m, now),
            Action::Ready => self.ready(slot),
            Action::Done => self.done(slot, now),
            Action::Closed(f) => self.closed(slot, f),
            Action::Connect(addr) => self.data_connect(slot, addr),
            Action::Listen => self.data_listen(slot),
            Action::Upload => self.upload(slot),
        }
    }

    fn mark(&mut self, slot: usize, m: Mark, now: Instant) {
        let Some(s) = self.slots[slot].sess.as_mut() else {
            return;
        };
        match m {
            Mark::Greeted => {
                s.t.greeted = now;
                let d = now - s.t.connected;
                self.stats.record(Metric::Greeting, d);
            }
            Mark::LoggedIn => {
                let d = now - s.t.greeted;
                self.stats.record(Metric::Login, d);
            }
            Mark::DataAddress => s.t.data_addr = now,
            Mark::CommandSent => s.t.command = now,
        }
    }

    fn ready(&mut self, slot: usize) {
        let op = self.plan.op;
        let Some(s) = self.slots[slot].sess.as_mut() else {
            return;
        };
        let first = !s.logged_in;
        if first {
            s.logged_in = true;
        }
        let quitting = s.quitting;
        if first {
            self.login_settled();
            self.stats.logins += 1;
            self.live.add(&self.live.logged_in, 1);
        }
        if quitting {
            return;
        }
        match op {
            Op::Login => self.quit(slot),
            Op::Idle => {
                if !first && matches!(self.idle, Idle::Check(_)) {
                    self.stats.idle_kept += 1;
                    self.quit(slot);
                }
            }
            _ => self.next_job(slot),
        }
    }

    pub fn quit(&mut self, slot: usize) {
        let Some(s) = self.slots[slot].sess.as_mut() else {
            return;
        };
        s.quitting = true;
        s.client.quit(&mut self.acts);
    }

    fn next_job(&mut self, slot: usize) {
        if self.plan.expired(Instant::now()) {
            return self.quit(slot);
        }
        if self.plan.rate_per_worker.is_some() {
            match self.pending.pop_front() {
                Some(at) => self.start(slot, at),
                None => self.parked.push_back(slot),
            }
        } else if self.plan.take_ticket() {
            self.start(slot, Instant::now());
        } else {
            self.quit(slot);
        }
    }

    fn start(&mut self, slot: usize, at: Instant) {
        let job: Job = self.plan.job(self.id, slot, self.slots[slot].seq);
        let expect = if job.kind == super::client::Kind::Retr {
            self.plan.expect_for(&job.path)
        } else {
            None
        };
        let gen = self.gen();
        let Some(s) = self.slots[slot].sess.as_mut() else {
            return;
        };
        s.t.job_start = at;
        s.last_progress = Instant::now();
        s.data = Some(Data::new(gen, &job, expect));
        s.client.start(job, &mut self.acts);
    }

    fn done(&mut self, slot: usize, now: Instant) {
        let reuse = self.plan.reuse;
        let sl = &mut self.slots[slot];
        sl.seq += 1;
        let Some(s) = sl.sess.as_mut() else { return };
        let d = now - s.t.job_start;
        let data = s.data.take();
        self.stats.record(Metric::Transfer, d);
        self.stats.transfers += 1;
        self.live.add(&self.live.transfers, 1);
        if let Some(data) = data {
            if let Some(v) = data.verifier {
                match v.finish() {
                    Ok(()) => self.stats.verified += 1,
                    Err(why) => {
                        if self.stats.error_count() == 0 {
                            eprintln!("ringftp-bench: verify failed: {why}");
                        }
                        self.stats.error("verify");
                        self.live.add(&self.live.errors, 1);
                    }
                }
            }
            if data.kind == super::client::Kind::Stor {
                self.stats.bytes_up += data.size_bytes;
            }
        }
        if !reuse {
            self.quit(slot);
        }
    }

    /// A local failure: count it and end the session.
    pub fn fail(&mut self, slot: usize, what: &str) {
        self.stats.error(what);
        self.live.add(&self.live.errors, 1);
        self.end(slot, true);
    }

    fn closed(&mut self, slot: usize, f: Option<Failure>) {
        let failed = f.is_some();
        if let Some(f) = f {
            let name = match f {
                Failure::Code(c) => c.to_string(),
                Failure::Protocol => "protocol".into(),
                Failure::Eof => "server-closed".into(),
                Failure::SizeMismatch => "verify-size".into(),
            };
            self.stats.error(&name);
            self.live.add(&self.live.errors, 1);
        } else if self.plan.op == Op::Login {
            self.stats.transfers += 1;
            self.live.add(&self.live.transfers, 1);
        }
        self.end(slot, failed);
    }

    /// Closes the session's sockets and, if work remains, opens the next one.
    fn end(&mut self, slot: usize, failed: bool) {
        let Some(s) = self.slots[slot].sess.take() else {
            return;
        };
        if !s.logged_in {
            self.login_settled();
        }
        let sl = &mut self.slots[slot];
        self.live
            .sessions
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        net::shut(&s.ctrl, Shutdown::Both);
        if let Some(d) = s.data {
            d.close(&mut self.ring);
        }
        sl.fails_in_row = if failed { sl.fails_in_row + 1 } else { 0 };
        // Three failures in a row: the server is refusing; stop this slot
        // rather than spin (the errors are counted already).
        if sl.fails_in_row >= 3 {
            sl.retired = true;
        }
        let more = match self.plan.op {
            Op::Idle => false,
            Op::Login => self.plan.take_ticket(),
            _ if self.plan.rate_per_worker.is_some() => {
                self.plan.tickets_left() || !self.pending.is_empty()
            }
            _ => self.plan.tickets_left(),
        };
        if more && !sl.retired && !self.plan.expired(Instant::now()) {
            self.open(slot);
        }
    }

    fn tick(&mut self, now: Instant) {
        for slot in std::mem::take(&mut self.rearm_recv) {
            if let Some(s) = self.sess(slot) {
                let (fd, gen) = (s.ctrl.clone(), s.gen);
                self.ring.recv_provided(&fd, tok(P::CtrlRecv, slot, gen));
            }
        }
        if let Some(rate) = self.plan.rate_per_worker {
            self.arrivals(now, rate);
        }
        if self.plan.op == Op::Idle {
            self.idle_phase(now);
        }
        let stall = self.plan.stall;
        for slot in 0..self.slots.len() {
            let stalled = self.slots[slot].sess.as_ref().is_some_and(|s| {
                !s.client.is_ready() && now.saturating_duration_since(s.last_progress) > stall
            });
            if stalled {
                self.fail(slot, "timeout");
                self.flush(slot);
            }
        }
    }

    /// Open loop: adds the arrivals due by `now`, hands them to parked sessions.
    fn arrivals(&mut self, now: Instant, rate: f64) {
        let gap = Duration::from_secs_f64(1.0 / rate.max(1e-6));
        while self.next_arrival <= now && self.plan.take_ticket() {
            self.pending.push_back(self.next_arrival);
            self.next_arrival += gap;
        }
        while !self.pending.is_empty() {
            let Some(slot) = self.parked.pop_front() else {
                break;
            };
            if let Some(at) = self.pending.pop_front() {
                if self.slots[slot]
                    .sess
                    .as_ref()
                    .is_some_and(|s| s.client.is_ready())
                {
                    self.start(slot, at);
                    self.flush(slot);
                } else {
                    self.pending.push_front(at);
                }
            }
        }
        if !self.plan.tickets_left() && self.pending.is_empty() {
            while let Some(slot) = self.parked.pop_front() {
                self.quit(slot);
                self.flush(slot);
            }
        }
    }

    /// Idle: all logged in (or failed) → hold → NOOP each → count answers.
    fn idle_phase(&mut self, now: Instant) {
        let hold = self.plan.duration.unwrap_or(Duration::from_secs(10));
        match self.idle {
            Idle::Login => {
                let settled = self.waiting_open.is_empty()
                    && self
                        .slots
                        .iter()
                        .all(|s| s.sess.as_ref().is_none_or(|x| x.client.is_ready()));
                if settled {
                    self.idle = Idle::Hold(now + hold);
                }
            }
            Idle::Hold(until) if now >= until => {
                self.idle = Idle::Check(now + Duration::from_secs(10));
                for slot in 0..self.slots.len() {
                    if let Some(s) = self.slots[slot].sess.as_mut() {
                        s.last_progress = now;
                        s.client.noop(&mut self.acts);
                        self.flush(slot);
                    }
                }
            }
            Idle::Check(until) if now >= until || self.slots.iter().all(|s| s.sess.is_none()) => {
                self.idle = Idle::Over;
            }
            _ => {}
        }
    }
}
