//! `--processes P`: the run split over P child processes of this binary, so a
//! load can hold more sessions than one process's open-files limit allows.
//!
//! Each child gets `--child-share K/P`, takes its share of `--sessions`,
//! `--count`, `--rate` and `--login-window` ([`child_cli`]), runs as usual
//! and prints its [`Stats`] on stdout in a line format ([`to_wire`]); the
//! parent merges them and measures the server (CPU, memory) around the whole
//! run. Histograms travel as exact (value, count) pairs, so the merged
//! percentiles are the same as one process's would be.
//!
//! Idle: each child prints [`HELD`] when all its sessions are held; when
//! every child has, the parent holds for `--duration`, samples the server's
//! memory, and closes every child's stdin, which releases them all at once
//! (`run.rs`).

use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use super::cli::{Cli, Op};
use super::procstat;
use super::run::{IdleMem, Outcome, HELD};
use super::stats::Stats;

const MAGIC: &str = "ringftp-bench-stats 2";

/// `n` split into `p` shares: share `k` (the first `n % p` get one more).
fn share(n: u64, k: usize, p: usize) -> u64 {
    n / p as u64 + u64::from((k as u64) < n % p as u64)
}

/// The options a child runs with: its share of sessions, count and rate.
pub fn child_cli(cli: &Cli) -> Cli {
    let mut c = cli.clone();
    if let Some((k, p)) = cli.child_share {
        c.sessions = (share(cli.sessions as u64, k, p) as usize).max(1);
        c.count = cli.count.map(|n| share(n, k, p));
        c.rate = cli.rate.map(|r| r / p as f64);
        if cli.login_window > 0 {
            c.login_window = (share(cli.login_window as u64, k, p) as usize).max(1);
        }
        c.json = None;
        c.server_pid = None;
    }
    c
}

/// Serialises `s` for the parent.
pub fn to_wire(s: &Stats) -> String {
    let mut out = format!("{MAGIC}\n");
    out += &format!(
        "counters {} {} {} {} {} {} {}\n",
        s.bytes_down, s.bytes_up, s.transfers, s.logins, s.sessions_opened, s.verified, s.idle_kept
    );
    for (code, n) in &s.errors {
        out += &format!("error {n} {code}\n");
    }
    for (ip, n) in &s.local_addrs {
        out += &format!("local {n} {ip}\n");
    }
    for (i, h) in s.hists.iter().enumerate() {
        for v in h.iter_recorded() {
            out += &format!(
                "hist {i} {} {}\n",
                v.value_iterated_to(),
                v.count_at_value()
            );
        }
    }
    out + "end\n"
}

/// Parses a child's output back into [`Stats`].
pub fn from_wire(text: &str) -> Result<Stats, String> {
    let mut lines = text.lines();
    if lines.next() != Some(MAGIC) {
        return Err("child printed no statistics".into());
    }
    let mut s = Stats::new();
    let num = |w: Option<&str>| w.and_then(|x| x.parse::<u64>().ok()).ok_or("bad number");
    for line in lines {
        let mut w = line.splitn(4, ' ');
        match w.next() {
            Some("counters") => {
                let v: Vec<u64> = line
                    .split(' ')
                    .skip(1)
                    .filter_map(|x| x.parse().ok())
                    .collect();
                let [d, u, t, l, o, vf, k] = v[..] else {
                    return Err("bad counters".into());
                };
                (s.bytes_down, s.bytes_up, s.transfers, s.logins) = (d, u, t, l);
                (s.sessions_opened, s.verified, s.idle_kept) = (o, vf, k);
            }
            Some("error") => {
                let n = num(w.next())?;
                let code = line.splitn(3, ' ').nth(2).unwrap_or("?").to_string();
                *s.errors.entry(code).or_insert(0) += n;
            }
            Some("local") => {
                let n = num(w.next())?;
                let ip = w.next().and_then(|a| a.parse().ok()).ok_or("bad address")?;
                *s.local_addrs.entry(ip).or_insert(0) += n;
            }
            Some("hist") => {
                let i = num(w.next())? as usize;
                let (v, n) = (num(w.next())?, num(w.next())?);
                let h = s.hists.get_mut(i).ok_or("bad histogram index")?;
                h.record_n(v, n).map_err(|e| format!("histogram: {e}"))?;
            }
            Some("end") => return Ok(s),
            _ => return Err(format!("bad line: {line}")),
        }
    }
    Err("truncated statistics".into())
}

/// The arguments for child `k`: the parent's own, less what only the parent
/// does (`--processes`, `--json`, `--server-pid`), plus `--child-share`.
/// `--quiet` comes along with the parent's own arguments when it was given.
fn child_args(argv: &[String], k: usize, p: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = argv.iter().skip(1);
    while let Some(a) = it.next() {
        let flag = a.split('=').next().unwrap_or("");
        if matches!(flag, "--processes" | "--json" | "--server-pid") {
            if !a.contains('=') {
                it.next();
            }
            continue;
        }
        out.push(a.clone());
    }
    out.push(format!("--child-share={k}/{p}"));
    out
}

/// What a child's stdout reader reports.
enum Msg {
    /// Child `k` holds this many idle sessions.
    Held(usize, u64),
    /// Child `k` closed its stdout; the rest of what it printed.
    Exited(usize, String),
}

/// Reads child `k`'s stdout: [`HELD`] lines become messages, the rest is its
/// statistics, sent when it closes.
fn read_child(k: usize, out: impl std::io::Read, tx: crossbeam_channel::Sender<Msg>) {
    let mut text = String::new();
    for line in BufReader::new(out).lines() {
        let Ok(line) = line else { break };
        match line.strip_prefix(HELD).and_then(|n| n.parse().ok()) {
            Some(n) => {
                let _ = tx.send(Msg::Held(k, n));
            }
            None => text += &(line + "\n"),
        }
    }
    let _ = tx.send(Msg::Exited(k, text));
}

/// The parent's side of the idle hold over all children.
struct Hold {
    held: Vec<Option<u64>>,
    since: Option<Instant>,
    stdins: Vec<Option<ChildStdin>>,
    mem: Option<IdleMem>,
}

impl Hold {
    /// Starts the hold when every child holds or has exited; ends it (sample,
    /// then release) after `hold`.
    fn step(
        &mut self,
        exited: &[bool],
        hold: Duration,
        before: Option<procstat::Mem>,
        pid: Option<u32>,
    ) {
        let all = (0..exited.len()).all(|k| exited[k] || self.held[k].is_some());
        if !all || self.stdins.iter().all(Option::is_none) {
            return;
        }
        let since = *self.since.get_or_insert_with(Instant::now);
        if since.elapsed() < hold {
            return;
        }
        if let (Some(before), Some(m)) = (before, pid.and_then(procstat::memory)) {
            self.mem = Some(IdleMem {
                before,
                held: m,
                sessions: self.held.iter().flatten().sum(),
            });
        }
        self.release();
    }

    /// Closing a child's stdin ends its hold.
    fn release(&mut self) {
        for s in &mut self.stdins {
            if let Some(mut s) = s.take() {
                let _ = s.flush();
            }
        }
    }
}

/// Runs the P children and merges their results.
pub fn run(cli: &Cli, argv: &[String]) -> Result<Outcome, String> {
    let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
    let p = cli.processes;
    let idle = cli.op == Op::Idle;
    let cpu0 = cli.server_pid.and_then(procstat::cpu_secs);
    let before = cli.server_pid.filter(|_| idle).and_then(procstat::memory);
    let start = Instant::now();
    let (tx, rx) = crossbeam_channel::unbounded();
    let mut children = Vec::with_capacity(p);
    let mut hold = Hold {
        held: vec![None; p],
        since: None,
        stdins: Vec::with_capacity(p),
        mem: None,
    };
    for k in 0..p {
        let mut child = Command::new(&exe)
            .args(child_args(argv, k, p))
            .stdin(if idle { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("start child {k}: {e}"))?;
        let out = child.stdout.take().ok_or("child stdout")?;
        let tx = tx.clone();
        std::thread::spawn(move || read_child(k, out, tx));
        hold.stdins.push(child.stdin.take());
        children.push(child);
    }
    drop(tx);
    let hold_secs = Duration::from_secs_f64(cli.duration.unwrap_or(10.0));
    let mut outputs = vec![None; p];
    let mut exited = vec![false; p];
    while exited.iter().any(|e| !e) {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Msg::Held(k, n)) => hold.held[k] = Some(n),
            Ok(Msg::Exited(k, text)) => {
                exited[k] = true;
                outputs[k] = Some(text);
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        }
        if idle {
            hold.step(&exited, hold_secs, before, cli.server_pid);
        }
    }
    hold.release();
    let mut total = Stats::new();
    let mut first_err = None;
    for (k, (mut child, out)) in children.into_iter().zip(outputs).enumerate() {
        let status = child.wait().map_err(|e| format!("child {k}: {e}"))?;
        match from_wire(out.as_deref().unwrap_or("")) {
            Ok(s) => total.merge(&s),
            Err(e) => {
                first_err.get_or_insert(format!("child {k} ({status}): {e}"));
            }
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    let cpu1 = cli.server_pid.and_then(procstat::cpu_secs);
    Ok(Outcome {
        stats: total,
        elapsed: start.elapsed(),
        server_cpu_secs: cpu0.zip(cpu1).map(|(a, b)| b - a),
        server_mem: hold.mem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::stats::METRICS;

    #[test]
    fn shares_add_up() {
        for (n, p) in [(10u64, 3usize), (2, 5), (2000, 2), (0, 4)] {
            assert_eq!((0..p).map(|k| share(n, k, p)).sum::<u64>(), n);
        }
    }

    #[test]
    fn stats_survive_the_wire() {
        let mut s = Stats::new();
        s.bytes_down = 123;
        s.transfers = 7;
        s.idle_kept = 3;
        s.errors.insert("425".into(), 2);
        s.errors.insert("connect: refused".into(), 1);
        s.local_addrs.insert("127.0.0.2".parse().unwrap(), 5);
        for v in [10u64, 10, 2_000, 5_000_000] {
            s.hists[0].record(v).unwrap();
        }
        let back = from_wire(&to_wire(&s)).unwrap();
        assert_eq!(
            (back.bytes_down, back.transfers, back.idle_kept),
            (123, 7, 3)
        );
        assert_eq!(back.errors, s.errors);
        assert_eq!(back.local_addrs, s.local_addrs);
        assert_eq!(back.hists[0].len(), 4);
        assert_eq!(
            back.hists[0].value_at_quantile(0.99),
            s.hists[0].value_at_quantile(0.99)
        );
        assert_eq!(back.hists.len(), METRICS.len());
        assert!(from_wire("nonsense").is_err());
        assert!(from_wire(&to_wire(&s).replace("end\n", "")).is_err());
    }

    #[test]
    fn child_args_drop_parent_only_flags() {
        let argv: Vec<String> = [
            "b",
            "--processes",
            "4",
            "--json=x.json",
            "--server-pid",
            "9",
            "--quiet",
            "--sessions",
            "8",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let a = child_args(&argv, 1, 4);
        assert_eq!(a, ["--quiet", "--sessions", "8", "--child-share=1/4"]);
    }

    #[test]
    fn children_get_the_source_addresses_and_their_shares() {
        use clap::Parser;
        let argv: Vec<String> = [
            "b",
            "--op",
            "idle",
            "--sessions",
            "30000",
            "--processes",
            "3",
            "--source-addrs",
            "127.0.0.1-127.0.0.8",
            "--login-window",
            "32",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut sessions = 0;
        let mut window = 0;
        for k in 0..3 {
            let mut args = vec!["b".to_string()];
            args.extend(child_args(&argv, k, 3));
            let child = child_cli(&Cli::try_parse_from(&args).unwrap());
            let addrs = child.source_addrs.as_ref().unwrap();
            assert_eq!(addrs.0.len(), 8);
            assert_eq!(child.child_share, Some((k, 3)));
            sessions += child.sessions;
            window += child.login_window;
        }
        assert_eq!((sessions, window), (30000, 32));
    }
}
