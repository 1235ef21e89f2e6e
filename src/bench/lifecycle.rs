//! A session's life in its slot: logged in, one job after another, QUIT,
//! failure, and whether the slot opens another session after it ends.

use std::time::Instant;

use nix::sys::socket::Shutdown;

use super::cli::Op;
use super::client::{Failure, Kind};
use super::data::DataChannel;
use super::net;
use super::stats::Metric;
use super::worker::{Idle, Worker};

impl Worker {
    /// The client is logged in and idle (after login, a transfer or a NOOP).
    pub(super) fn ready(&mut self, slot: usize) {
        let op = self.plan.op;
        let Some(s) = self.slots[slot].sess.as_mut() else {
            return;
        };
        let first = !s.logged_in;
        s.logged_in = true;
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

    pub(super) fn quit(&mut self, slot: usize) {
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

    /// Starts the slot's next transfer, intended to start `at`.
    pub(super) fn start(&mut self, slot: usize, at: Instant) {
        let job = self.plan.job(self.id, slot, self.slots[slot].seq);
        let expect = if job.kind == Kind::Retr {
            self.plan.expect_for(&job.path)
        } else {
            None
        };
        let gen = self.gen();
        let Some(s) = self.slots[slot].sess.as_mut() else {
            return;
        };
        let now = Instant::now();
        s.t.job_start = at;
        s.last_progress = now;
        let mut d = DataChannel::new(slot, gen, &job, expect, now);
        if let Some(cfg) = s.tls_cfg.as_ref() {
            if let Err(why) = d.set_tls(cfg) {
                self.stats.error(&why);
            }
        }
        s.data = Some(d);
        s.client.start(job, &mut self.acts);
    }

    pub(super) fn done(&mut self, slot: usize, now: Instant) {
        let reuse = self.plan.reuse;
        let sl = &mut self.slots[slot];
        sl.seq += 1;
        let Some(s) = sl.sess.as_mut() else { return };
        let d = now - s.t.job_start;
        let data = s.data.take();
        self.stats.record(Metric::Transfer, d);
        self.stats.transfers += 1;
        self.live.add(&self.live.transfers, 1);
        if let Some(summary) = data.map(DataChannel::finish) {
            match summary.verify {
                Some(Ok(())) => self.stats.verified += 1,
                Some(Err(why)) => {
                    if self.stats.error_count() == 0 {
                        eprintln!("ringftp-bench: verify failed: {why}");
                    }
                    self.stats.error("verify");
                    self.live.add(&self.live.errors, 1);
                }
                None => {}
            }
            self.stats.bytes_up += summary.bytes_up;
        }
        if !reuse {
            self.quit(slot);
        }
    }

    /// A local failure: count it and end the session.
    pub(super) fn fail(&mut self, slot: usize, what: &str) {
        self.stats.error(what);
        self.live.add(&self.live.errors, 1);
        self.end(slot, true);
    }

    pub(super) fn closed(&mut self, slot: usize, f: Option<Failure>) {
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
        self.live
            .sessions
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        net::shut(&s.ctrl, Shutdown::Both);
        if let Some(d) = s.data {
            d.close(&mut self.ring);
        }
        let sl = &mut self.slots[slot];
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
        if more && !self.slots[slot].retired && !self.plan.expired(Instant::now()) {
            self.open(slot);
        }
    }
}
