//! `--processes P`: the run split over P child processes of this binary, so a
//! load can hold more sessions than one process's open-files limit allows.
//!
//! Each child gets `--child-share K/P`, takes its share of `--sessions`,
//! `--count` and `--rate` ([`child_cli`]), runs as usual and prints its
//! [`Stats`] on stdout in a line format ([`to_wire`]); the parent merges them
//! and measures the server (CPU, memory) around the whole run. Histograms
//! travel as exact (value, count) pairs, so the merged percentiles are the
//! same as one process's would be.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::cli::{Cli, Op};
use super::procstat::{self, Mem};
use super::run::Outcome;
use super::stats::Stats;

const MAGIC: &str = "ringftp-bench-stats 1";

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

/// Runs the P children and merges their results.
pub fn run(cli: &Cli, argv: &[String]) -> Result<Outcome, String> {
    let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
    let p = cli.processes;
    let cpu0 = cli.server_pid.and_then(procstat::cpu_secs);
    let start = Instant::now();
    let mut children = Vec::with_capacity(p);
    for k in 0..p {
        let child = Command::new(&exe)
            .args(child_args(argv, k, p))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("start child {k}: {e}"))?;
        children.push(child);
    }
    let mut mem: Option<Mem> = None;
    let mut total = Stats::new();
    let mut first_err = None;
    for (k, mut child) in children.into_iter().enumerate() {
        let mut out = String::new();
        let mut stdout = child.stdout.take().ok_or("child stdout")?;
        // While children hold idle sessions, sample the server's memory.
        if cli.op == Op::Idle && k == 0 {
            sample_while_running(&mut child, cli.server_pid, &mut mem);
        }
        stdout
            .read_to_string(&mut out)
            .map_err(|e| format!("child {k}: {e}"))?;
        let status = child.wait().map_err(|e| format!("child {k}: {e}"))?;
        match from_wire(&out) {
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
    let held = total.idle_kept;
    Ok(Outcome {
        stats: total,
        elapsed: start.elapsed(),
        server_cpu_secs: cpu0.zip(cpu1).map(|(a, b)| b - a),
        server_mem: mem.map(|m| (m, held)),
    })
}

/// Samples server memory once a second until `child` exits; keeps the largest.
fn sample_while_running(child: &mut std::process::Child, pid: Option<u32>, mem: &mut Option<Mem>) {
    let Some(pid) = pid else { return };
    while let Ok(None) = child.try_wait() {
        if let Some(m) = procstat::memory(pid) {
            if mem.as_ref().is_none_or(|old| m.pss_bytes >= old.pss_bytes) {
                *mem = Some(m);
            }
        }
        std::thread::sleep(Duration::from_secs(1));
    }
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
        for v in [10u64, 10, 2_000, 5_000_000] {
            s.hists[0].record(v).unwrap();
        }
        let back = from_wire(&to_wire(&s)).unwrap();
        assert_eq!(
            (back.bytes_down, back.transfers, back.idle_kept),
            (123, 7, 3)
        );
        assert_eq!(back.errors, s.errors);
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
}
