//! A whole run in this process: workers on their threads, the live line once
//! a second, the server's CPU around the run and, for idle, its memory
//! before the sessions and while all of them are held.
//!
//! The idle hold starts when every worker's sessions have logged in (or
//! failed) and lasts `--duration`; then the run releases the workers, which
//! send their NOOPs at once. A child of `--processes` does not time the hold
//! itself: it prints [`HELD`] and its session count when all its workers hold,
//! and its parent releases it by closing the child's stdin, so all processes
//! hold together and are sampled together.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cli::Op;
use super::plan::Plan;
use super::procstat::{self, Mem};
use super::stats::{Live, Stats};
use super::worker::Worker;

/// The line a child prints when all its sessions are held, then the count.
pub const HELD: &str = "ringftp-bench-held ";

/// The server's memory of an idle run.
#[derive(Debug, Clone, Copy)]
pub struct IdleMem {
    /// Before the first session connected.
    pub before: Mem,
    /// At the end of the hold, with `sessions` sessions open.
    pub held: Mem,
    pub sessions: u64,
}

impl IdleMem {
    /// PSS the held sessions added, per session the server kept.
    pub fn pss_per_session_bytes(&self, kept: u64) -> Option<f64> {
        (kept > 0)
            .then(|| (self.held.pss_bytes as f64 - self.before.pss_bytes as f64) / kept as f64)
    }
}

/// Everything a run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub stats: Stats,
    pub elapsed: Duration,
    /// Server CPU seconds over the run.
    pub server_cpu_secs: Option<f64>,
    /// Idle with `--server-pid`: the server's memory before and with the sessions.
    pub server_mem: Option<IdleMem>,
}

/// Lifts the soft open-files limit to the hard one (sessions need 1–3 fds).
fn raise_nofile() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}

fn live_line(live: &Live, last: &mut (u64, u64, Instant), start: Instant) {
    let now = Instant::now();
    let bytes = Live::get(&live.bytes);
    let xfers = Live::get(&live.transfers);
    let dt = now.duration_since(last.2).as_secs_f64().max(1e-3);
    let mbs = (bytes - last.0) as f64 / dt / 1e6;
    eprintln!(
        "[{:>6.1}s] {:>9.1} MB/s {:>7.2} Gbit/s {:>8.0} xfers/s  total {} xfers, {} errors, {} sessions ({} logged in)",
        now.duration_since(start).as_secs_f64(),
        mbs,
        mbs * 8.0 / 1000.0,
        (xfers - last.1) as f64 / dt,
        xfers,
        Live::get(&live.errors),
        Live::get(&live.sessions),
        Live::get(&live.logged_in),
    );
    *last = (bytes, xfers, now);
}

/// A child's hold ends when its parent closes our stdin (or dies).
fn release_on_stdin_eof(plan: Arc<Plan>) {
    let _ = std::thread::Builder::new()
        .name("bench-hold".into())
        .spawn(move || {
            let mut sink = [0u8; 64];
            while matches!(std::io::stdin().read(&mut sink), Ok(n) if n > 0) {}
            plan.release_hold();
        });
}

/// The idle hold of this process, driven from the run loop.
struct Hold {
    since: Option<Instant>,
    before: Option<Mem>,
    mem: Option<IdleMem>,
}

impl Hold {
    /// `settled` workers hold (or have ended) out of `n`.
    fn step(&mut self, plan: &Plan, live: &Live, settled: u64, n: usize, pid: Option<u32>) {
        if plan.released() || settled < n as u64 {
            return;
        }
        let now = Instant::now();
        let held = Live::get(&live.sessions);
        if self.since.is_none() && plan.is_child() {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{HELD}{held}");
            let _ = out.flush();
        }
        let since = *self.since.get_or_insert(now);
        if plan.is_child() || now < since + plan.hold {
            return;
        }
        if let (Some(before), Some(m)) = (self.before, pid.and_then(procstat::memory)) {
            self.mem = Some(IdleMem {
                before,
                held: m,
                sessions: held,
            });
        }
        plan.release_hold();
    }
}

/// Runs `plan` on its workers; `quiet` drops the live line.
pub fn run(plan: Arc<Plan>, quiet: bool, server_pid: Option<u32>) -> Result<Outcome, String> {
    raise_nofile();
    let idle = plan.op == Op::Idle;
    let live = Arc::new(Live::default());
    let cpu0 = server_pid.and_then(procstat::cpu_secs);
    let mut hold = Hold {
        since: None,
        before: server_pid.filter(|_| idle).and_then(procstat::memory),
        mem: None,
    };
    if idle && plan.is_child() {
        release_on_stdin_eof(plan.clone());
    }
    let start = Instant::now();
    let (tx, rx) = crossbeam_channel::unbounded::<Result<Stats, String>>();
    let n = plan.workers;
    for k in 0..n {
        let slots = plan.sessions / n + usize::from(k < plan.sessions % n);
        let (plan, live, tx) = (plan.clone(), live.clone(), tx.clone());
        std::thread::Builder::new()
            .name(format!("bench-w{k}"))
            .spawn(move || {
                let r = Worker::new(k, slots, plan, live)
                    .map(Worker::run)
                    .map_err(|e| e.to_string());
                let _ = tx.send(r);
            })
            .map_err(|e| format!("thread: {e}"))?;
    }
    drop(tx);
    let mut total = Stats::new();
    let mut done = 0;
    let mut last = (0, 0, start);
    let mut first_err = None;
    while done < n {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Ok(s)) => {
                total.merge(&s);
                done += 1;
            }
            Ok(Err(e)) => {
                first_err.get_or_insert(e);
                done += 1;
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        }
        if !quiet && last.2.elapsed() >= Duration::from_secs(1) {
            live_line(&live, &mut last, start);
        }
        if idle {
            let settled = Live::get(&live.holding) + done as u64;
            hold.step(&plan, &live, settled, n, server_pid);
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    let elapsed = start.elapsed();
    let cpu1 = server_pid.and_then(procstat::cpu_secs);
    let server_cpu_secs = cpu0.zip(cpu1).map(|(a, b)| b - a);
    Ok(Outcome {
        stats: total,
        elapsed,
        server_cpu_secs,
        server_mem: hold.mem,
    })
}
