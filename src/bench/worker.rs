//! One worker: one ring, a fixed number of session slots, each slot running
//! control sessions one after the other. This file owns the loop and routes
//! every completion: control ones to `control.rs`, data ones to the slot's
//! [`DataChannel`], whose [`Step`] becomes client events here. Sessions'
//! lifecycle is in `lifecycle.rs`, pacing (login window, open loop, idle
//! hold, stalls) in `pace.rs`.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cli::{Op, Sink};
use super::client::Action;
use super::data::DataChannel;
use super::data_io::{DataCfg, Io, Step};
use super::plan::Plan;
use super::session::Slot;
use super::stats::{Live, Stats};
use super::token::{self, Purpose};
use crate::engine::{Completion, CompletionKind, EngineError, Ring, RingConfig};

/// The idle workload's phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Idle {
    /// Sessions are connecting and logging in.
    Login,
    /// All settled; held until the plan releases the hold.
    Hold,
    /// NOOPs sent; answers counted until this deadline.
    Check(Instant),
    Over,
}

pub struct Worker {
    pub(super) id: usize,
    pub(super) plan: Arc<Plan>,
    pub(super) live: Arc<Live>,
    pub(super) ring: Ring,
    pub(super) slots: Vec<Slot>,
    pub(super) stats: Stats,
    pub(super) next_gen: u32,
    pub(super) acts: Vec<Action>,
    /// Open loop: intended starts not yet taken by a session, and idle slots.
    pub(super) pending: VecDeque<Instant>,
    pub(super) parked: VecDeque<usize>,
    pub(super) next_arrival: Instant,
    pub(super) idle: Idle,
    /// Slots whose control receive found the provided-buffer pool empty.
    pub(super) rearm_recv: Vec<usize>,
    /// Sessions not yet logged in, and slots waiting for the login window.
    pub(super) logging_in: usize,
    pub(super) waiting_open: VecDeque<usize>,
    pub(super) data_cfg: DataCfg,
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
            fixed_files_count: 0,
        };
        let ring = Ring::new(&cfg)?;
        let devnull = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/null")
            .ok();
        let data_cfg = DataCfg {
            buf_bytes: plan.buf_bytes,
            splice: plan.sink == Sink::Splice,
            pattern_seed: plan.pattern_seed,
            devnull: devnull.map(|f| Rc::new(f.into())),
        };
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
            data_cfg,
        })
    }

    pub(super) fn gen(&mut self) -> u32 {
        self.next_gen = token::next_gen(self.next_gen);
        self.next_gen
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

    fn on_completion(&mut self, c: Completion) {
        let Some((p, slot, gen)) = token::unpack::<Purpose>(c.token) else {
            return;
        };
        let live = self
            .slots
            .get(slot)
            .and_then(|s| s.sess.as_ref())
            .is_some_and(|s| {
                if p.is_data() {
                    s.data.as_ref().is_some_and(|d| d.gen == gen)
                } else {
                    s.gen == gen
                }
            });
        if !live {
            return self.reclaim(slot, c.kind);
        }
        if let Some(s) = self.slots[slot].sess.as_mut() {
            s.last_progress = Instant::now();
        }
        match (p, c.kind) {
            (Purpose::CtrlConnect, CompletionKind::Connect(r)) => self.on_connect(slot, r),
            (Purpose::CtrlRecv, CompletionKind::Recv(r)) => self.on_recv(slot, r),
            (Purpose::CtrlSend, CompletionKind::Send(r, buf)) => self.on_sent(slot, r, buf),
            (p, kind) if p.is_data() => {
                let more = c.more;
                if let Some(step) =
                    self.data_step(slot, |d, io, _| d.on_completion(io, p, more, kind))
                {
                    self.route(slot, step);
                }
            }
            _ => {}
        }
        self.flush(slot);
    }

    /// Gives back what a stale completion carries.
    fn reclaim(&mut self, slot: usize, kind: CompletionKind) {
        match kind {
            // A provided buffer goes back to the kernel as it drops.
            CompletionKind::Recv(Ok(Some(buf))) => drop(buf),
            other => {
                if let Some(s) = self.slots.get_mut(slot) {
                    s.spare.take_back(other, self.plan.buf_bytes);
                }
            }
        }
    }

    /// Runs `f` on the slot's data channel with this worker's ring, counters
    /// and the slot's spare buffers (and the control's local address).
    pub(super) fn data_step<R>(
        &mut self,
        slot: usize,
        f: impl FnOnce(&mut DataChannel, &mut Io, IpAddr) -> R,
    ) -> Option<R> {
        let sl = self.slots.get_mut(slot)?;
        let s = sl.sess.as_mut()?;
        let local = s.local_ip;
        let d = s.data.as_mut()?;
        let mut io = Io {
            ring: &mut self.ring,
            stats: &mut self.stats,
            live: &self.live,
            spare: &mut sl.spare,
            cfg: &self.data_cfg,
        };
        Some(f(d, &mut io, local))
    }

    /// Tells the client what the data channel's step means.
    pub(super) fn route(&mut self, slot: usize, step: Step) {
        let Some(s) = self.slots[slot].sess.as_mut() else {
            return;
        };
        match step {
            Step::Continue => {}
            Step::Opened => s.client.data_connected(&mut self.acts),
            Step::Done(Ok(())) => s.client.data_finished(&mut self.acts),
            Step::Done(Err(why)) => self.fail(slot, &why),
        }
    }

    /// Carries out the client's actions (which may make more).
    pub(super) fn flush(&mut self, slot: usize) {
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
            Action::Send(bytes) => self.queue(slot, &bytes),
            Action::StartTls => self.start_tls(slot),
            Action::Mark(m) => self.mark(slot, m, now),
            Action::Ready => self.ready(slot),
            Action::Done => self.done(slot, now),
            Action::Closed(f) => self.closed(slot, f),
            Action::Connect(addr) => {
                if let Some(Err(why)) = self.data_step(slot, |d, io, ip| d.connect(io, addr, ip)) {
                    self.fail(slot, &why);
                }
            }
            Action::Listen => match self.data_step(slot, |d, io, ip| d.listen(io, ip)) {
                Some(Ok(addr)) => {
                    if let Some(s) = self.slots[slot].sess.as_mut() {
                        s.client.listening(addr, &mut self.acts);
                    }
                }
                Some(Err(why)) => self.fail(slot, &why),
                None => {}
            },
            Action::Upload => {
                if let Some(step) = self.data_step(slot, |d, io, _| d.upload(io)) {
                    self.route(slot, step);
                }
            }
        }
    }
}
