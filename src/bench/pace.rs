//! When things happen: sessions open within the login window, open-loop
//! arrivals go to parked sessions, the idle workload's hold and check, and
//! the stall timeout.

use std::time::{Duration, Instant};

use super::cli::Op;
use super::worker::{Idle, Worker};

/// How long the NOOP answers of the idle check are waited for.
const IDLE_CHECK: Duration = Duration::from_secs(10);

impl Worker {
    /// Starts a new control session in `slot`, or queues it behind the login window.
    pub(super) fn open(&mut self, slot: usize) {
        if self.logging_in >= self.plan.login_window {
            self.waiting_open.push_back(slot);
            return;
        }
        self.logging_in += 1;
        self.open_now(slot);
    }

    /// A session logged in or ended before it did: let a queued one start.
    pub(super) fn login_settled(&mut self) {
        self.logging_in = self.logging_in.saturating_sub(1);
        if let Some(slot) = self.waiting_open.pop_front() {
            self.open(slot);
        }
    }

    /// Once per loop pass: re-arms, arrivals, idle phases, stalls.
    pub(super) fn tick(&mut self, now: Instant) {
        for slot in std::mem::take(&mut self.rearm_recv) {
            self.rearm(slot);
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

    /// Idle: all logged in (or failed) → hold until the plan's release (the
    /// run loop's, after every worker and process holds for the hold time)
    /// → NOOP each → count answers.
    fn idle_phase(&mut self, now: Instant) {
        match self.idle {
            Idle::Login => {
                let settled = self.waiting_open.is_empty()
                    && self
                        .slots
                        .iter()
                        .all(|s| s.sess.as_ref().is_none_or(|x| x.client.is_ready()));
                if settled {
                    self.idle = Idle::Hold;
                    self.live.add(&self.live.holding, 1);
                }
            }
            Idle::Hold if self.plan.released() => {
                self.idle = Idle::Check(now + IDLE_CHECK);
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
