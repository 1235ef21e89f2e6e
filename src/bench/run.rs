//! A whole run: workers on their threads, the live line once a second, the
//! server's CPU and memory around it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cli::Op;
use super::driver::Worker;
use super::plan::Plan;
use super::procstat::{self, Mem};
use super::stats::{Live, Stats};

/// Everything a run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub stats: Stats,
    pub elapsed: Duration,
    /// Server CPU seconds over the run.
    pub server_cpu_secs: Option<f64>,
    /// Server memory at the most sessions seen (idle), and that count.
    pub server_mem: Option<(Mem, u64)>,
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

/// Runs `plan` on its workers; `quiet` drops the live line.
pub fn run(plan: Arc<Plan>, quiet: bool, server_pid: Option<u32>) -> Result<Outcome, String> {
    raise_nofile();
    let live = Arc::new(Live::default());
    let cpu0 = server_pid.and_then(procstat::cpu_secs);
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
    let mut mem: Option<(Mem, u64)> = None;
    let mut first_err = None;
    while done < n {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(Ok(s)) => {
                total.merge(&s);
                done += 1;
            }
            Ok(Err(e)) => {
                first_err.get_or_insert(e);
                done += 1;
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                if !quiet {
                    live_line(&live, &mut last, start);
                }
                if plan.op == Op::Idle {
                    let held = Live::get(&live.sessions);
                    if let Some(m) = server_pid.and_then(procstat::memory) {
                        if mem.is_none_or(|(_, h)| held >= h) {
                            mem = Some((m, held));
                        }
                    }
                }
            }
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
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
        server_mem: mem,
    })
}
