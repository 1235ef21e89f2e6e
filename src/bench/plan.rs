//! The checked plan of a run, shared read-only by every worker: what to
//! connect to, which transfers to make, how to check them, when to stop.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use super::cli::{parse_size, Cli, ExpectSpec, Op, Sink};
use super::client::{Job, Kind, Mode};
use super::verify::{sha256_file, Expect};

/// Paths (downloads, listings) and sizes (generated uploads).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FileSet {
    pub paths: Vec<String>,
    pub gen_sizes: Vec<u64>,
}

/// Expands one `{A..B}` range, keeping A's zero padding.
fn expand(entry: &str, out: &mut Vec<String>) -> Result<(), String> {
    let (Some(open), Some(close)) = (entry.find('{'), entry.find('}')) else {
        out.push(entry.to_string());
        return Ok(());
    };
    let inner = entry.get(open + 1..close).ok_or("bad {A..B}")?;
    let (a, b) = inner
        .split_once("..")
        .ok_or(format!("'{entry}': expected {{A..B}}"))?;
    let (lo, hi): (u64, u64) = match (a.parse(), b.parse()) {
        (Ok(lo), Ok(hi)) if lo <= hi && hi - lo < 10_000_000 => (lo, hi),
        _ => return Err(format!("'{entry}': bad range")),
    };
    let width = a.len();
    for n in lo..=hi {
        out.push(format!(
            "{}{n:0width$}{}",
            &entry[..open],
            &entry[close + 1..]
        ));
    }
    Ok(())
}

/// Parses `--files`.
pub fn parse_files(spec: &str) -> Result<FileSet, String> {
    let mut set = FileSet::default();
    if let Some(list) = spec.strip_prefix('@') {
        let text = std::fs::read_to_string(list).map_err(|e| format!("--files {list}: {e}"))?;
        set.paths = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect();
        return Ok(set);
    }
    for entry in spec.split(',').filter(|e| !e.is_empty()) {
        if let Some(g) = entry.strip_prefix("gen:") {
            let (size, n) = g.split_once('x').unwrap_or((g, "1"));
            let size = parse_size(size).ok_or(format!("--files {entry}: bad size"))?;
            let n: usize = n
                .parse()
                .map_err(|_| format!("--files {entry}: bad count"))?;
            set.gen_sizes.extend(std::iter::repeat_n(size, n));
        } else {
            expand(entry, &mut set.paths)?;
        }
    }
    Ok(set)
}

/// The run, checked.
#[derive(Debug)]
pub struct Plan {
    pub server: SocketAddr,
    pub user: String,
    pub pass: String,
    pub mode: Mode,
    pub op: Op,
    /// Weights of retr, stor, list for mixed (one of them for the others).
    pub weights: [u32; 3],
    pub files: FileSet,
    /// `DIR/` of `--upload-dir`, or empty: upload names are relative to the login directory.
    pub upload_prefix: String,
    pub reuse: bool,
    pub duration: Option<Duration>,
    /// Idle: how long the sessions are held before the NOOP check.
    pub hold: Duration,
    /// Transfers left to start (count mode); `i64::MAX` with a duration.
    pub tickets: AtomicI64,
    /// Arrivals per second per worker (open loop).
    pub rate_per_worker: Option<f64>,
    pub verify: bool,
    pub expect: Option<ExpectSpec>,
    /// `--expect local:DIR`: each path's sha256 and length, read before the run.
    pub expects: HashMap<String, Expect>,
    pub pattern_seed: u8,
    pub sink: Sink,
    /// `--tls`, and the client config every session's own is made from.
    pub tls: Option<super::tls::TlsMode>,
    pub tls_base: Option<std::sync::Arc<rustls::ClientConfig>>,
    pub buf_bytes: usize,
    pub source_addrs: Vec<IpAddr>,
    pub stall: Duration,
    /// Per worker; `usize::MAX` when unlimited.
    pub login_window: usize,
    pub workers: usize,
    pub sessions: usize,
    /// This process's share K of P (0 of 1 unless started by `--processes`).
    pub process: (usize, usize),
    /// Idle: set when the hold is over (by the run loop, or for a child
    /// process when its parent says so); workers then send the NOOPs.
    pub release: AtomicBool,
    pub start: Instant,
}

/// `--expect local:DIR`: the sha256 and length of every path, read now.
fn local_expectations(
    dir: &std::path::Path,
    files: &FileSet,
) -> Result<HashMap<String, Expect>, String> {
    let mut map = HashMap::new();
    for p in &files.paths {
        let local = dir.join(p.trim_start_matches('/'));
        let x =
            sha256_file(&local).map_err(|err| format!("--expect: {}: {err}", local.display()))?;
        map.insert(p.clone(), x);
    }
    Ok(map)
}

impl Plan {
    pub fn from_cli(cli: &Cli) -> Result<Plan, String> {
        cli.check()?;
        let files = parse_files(cli.files.as_deref().unwrap_or(""))?;
        let weights = match cli.op {
            Op::Mixed => cli.mix.0,
            Op::Stor => [0, 1, 0],
            Op::List => [0, 0, 1],
            _ => [1, 0, 0],
        };
        if weights[1] > 0 && files.gen_sizes.is_empty() {
            return Err("stor needs upload sizes: --files gen:SIZE[xN]".into());
        }
        if weights[0] > 0 && files.paths.is_empty() && matches!(cli.op, Op::Retr | Op::Mixed) {
            return Err("retr needs paths in --files".into());
        }
        let expects = match &cli.expect {
            Some(ExpectSpec::Local(dir)) if cli.verify => local_expectations(dir, &files)?,
            _ => HashMap::new(),
        };
        let pattern_seed = match cli.expect {
            Some(ExpectSpec::Pattern { seed }) => seed,
            _ => 0,
        };
        let count = match (cli.count, cli.duration) {
            (Some(c), _) => i64::try_from(c).unwrap_or(i64::MAX),
            (None, Some(_)) => i64::MAX,
            (None, None) if cli.op == Op::Idle => i64::MAX,
            (None, None) => 1,
        };
        let workers = cli.workers.min(cli.sessions);
        let upload_prefix = match cli.upload_dir.as_deref().map(|d| d.trim_end_matches('/')) {
            None | Some("") => String::new(),
            Some(d) => format!("{d}/"),
        };
        Ok(Plan {
            server: cli.server,
            user: cli.user.clone(),
            pass: cli.pass.clone(),
            mode: cli.mode,
            op: cli.op,
            weights,
            files,
            upload_prefix,
            reuse: cli.reuse,
            duration: cli.duration.map(Duration::from_secs_f64),
            hold: Duration::from_secs_f64(cli.duration.unwrap_or(10.0)),
            tickets: AtomicI64::new(count),
            rate_per_worker: cli.rate.map(|r| r / workers as f64),
            verify: cli.verify,
            expect: cli.expect.clone(),
            expects,
            pattern_seed,
            sink: cli.sink,
            tls: cli.tls,
            tls_base: cli.tls.map(|_| super::tls::base_config()),
            buf_bytes: cli.buf_bytes,
            source_addrs: cli.source_addrs.clone().map(|a| a.0).unwrap_or_default(),
            stall: Duration::from_secs(cli.stall_timeout_secs),
            login_window: if cli.login_window == 0 {
                usize::MAX
            } else {
                cli.login_window.div_ceil(workers)
            },
            workers,
            sessions: cli.sessions,
            process: cli.child_share.unwrap_or((0, 1)),
            release: AtomicBool::new(false),
            start: Instant::now(),
        })
    }

    /// This process was started by a parent's `--processes`.
    pub fn is_child(&self) -> bool {
        self.process.1 > 1
    }

    /// Idle: the hold is over.
    pub fn released(&self) -> bool {
        self.release.load(Ordering::Relaxed)
    }

    /// Ends the idle hold.
    pub fn release_hold(&self) {
        self.release.store(true, Ordering::Relaxed);
    }

    /// The local address for the `opened`-th session of `worker`'s `slot`:
    /// round-robin over all sessions of all workers and processes, so every
    /// address gets an equal share of the run.
    pub fn source_for(&self, worker: usize, slot: usize, opened: u64) -> Option<IpAddr> {
        let n = self.source_addrs.len();
        if n == 0 {
            return None;
        }
        let (k, p) = self.process;
        let session = (slot * self.workers + worker) * p + k;
        let pick = (session as u64).wrapping_add(opened) % n as u64;
        Some(self.source_addrs[pick as usize])
    }

    /// Takes one transfer ticket; `false` when the count is used up.
    pub fn take_ticket(&self) -> bool {
        self.tickets.fetch_sub(1, Ordering::Relaxed) > 0
    }

    /// Whether tickets remain (without taking one).
    pub fn tickets_left(&self) -> bool {
        self.tickets.load(Ordering::Relaxed) > 0
    }

    /// Past `--duration`.
    pub fn expired(&self, now: Instant) -> bool {
        self.duration.is_some_and(|d| now >= self.start + d)
    }

    /// Transfer number `seq` of a worker's session `slot`: kinds by weight
    /// (deterministic weighted round-robin), paths round-robin.
    pub fn job(&self, worker: usize, slot: usize, seq: u64) -> Job {
        let total: u64 = self.weights.iter().map(|&w| u64::from(w)).sum();
        let mut pick = (seq + slot as u64) % total.max(1);
        let mut kind = Kind::Retr;
        for (k, w) in [Kind::Retr, Kind::Stor, Kind::List]
            .into_iter()
            .zip(self.weights)
        {
            if pick < u64::from(w) {
                kind = k;
                break;
            }
            pick -= u64::from(w);
        }
        // Each session walks the whole list from its own starting point, so a
        // count-limited run mixes every file into every session.
        let spread = seq.wrapping_add((worker + slot * self.workers) as u64);
        match kind {
            Kind::Stor => {
                let sizes = &self.files.gen_sizes;
                let size = sizes[(spread % sizes.len() as u64) as usize];
                let path = format!(
                    "{}rb-p{}-w{worker}-s{slot}-{size}",
                    self.upload_prefix, self.process.0
                );
                Job {
                    kind,
                    path,
                    size_bytes: size,
                    check_size: self.verify,
                }
            }
            _ => {
                let paths = &self.files.paths;
                let path = if paths.is_empty() {
                    ".".into()
                } else {
                    paths[(spread % paths.len() as u64) as usize].clone()
                };
                Job {
                    kind,
                    path,
                    size_bytes: 0,
                    check_size: false,
                }
            }
        }
    }

    /// What a download of `path` must contain (only with `--verify`).
    pub fn expect_for(&self, path: &str) -> Option<Expect> {
        if !self.verify {
            return None;
        }
        match self.expect.as_ref()? {
            ExpectSpec::Local(_) => self.expects.get(path).cloned(),
            ExpectSpec::Sha256 { digest, len_bytes } => Some(Expect::Sha256 {
                digest: *digest,
                len_bytes: len_bytes.unwrap_or(u64::MAX),
            }),
            ExpectSpec::Pattern { seed } => Some(Expect::Pattern {
                seed: *seed,
                len_bytes: u64::MAX,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_spec() {
        let s = parse_files("small/f{0000..0002},/1g.bin,gen:4kx2,gen:1m").unwrap();
        assert_eq!(
            s.paths,
            ["small/f0000", "small/f0001", "small/f0002", "/1g.bin"]
        );
        assert_eq!(s.gen_sizes, [4096, 4096, 1 << 20]);
        assert!(parse_files("a{3..1}").is_err());
        assert!(parse_files("gen:zz").is_err());
    }

    fn plan(args: &[&str]) -> Plan {
        use clap::Parser;
        let cli = Cli::parse_from(std::iter::once("b").chain(args.iter().copied()));
        Plan::from_cli(&cli).unwrap()
    }

    #[test]
    fn source_addresses_round_robin_over_processes() {
        let addrs = "--source-addrs=127.0.0.1,127.0.0.2,127.0.0.3";
        let mut seen = HashMap::new();
        for k in 0..2 {
            let share = format!("--child-share={k}/2");
            let p = plan(&[
                "--op",
                "idle",
                "--sessions",
                "6",
                "--workers",
                "2",
                addrs,
                &share,
            ]);
            for w in 0..2 {
                for slot in 0..3 {
                    *seen.entry(p.source_for(w, slot, 0).unwrap()).or_insert(0) += 1;
                }
            }
        }
        // 12 (process, worker, slot) triples, 4 on each address.
        assert_eq!(seen.len(), 3);
        assert!(seen.values().all(|&n| n == 4), "{seen:?}");
        assert_eq!(plan(&["--op", "idle"]).source_for(0, 0, 0), None);
    }

    #[test]
    fn upload_names_differ_between_processes_and_default_to_the_login_dir() {
        let a = plan(&["--op", "stor", "--files", "gen:1k", "--child-share=0/2"]);
        let b = plan(&["--op", "stor", "--files", "gen:1k", "--child-share=1/2"]);
        assert_eq!(a.job(0, 0, 0).path, "rb-p0-w0-s0-1024");
        assert_eq!(b.job(0, 0, 0).path, "rb-p1-w0-s0-1024");
        let c = plan(&["--op", "stor", "--files", "gen:1k", "--upload-dir", "in/"]);
        assert_eq!(c.job(0, 1, 0).path, "in/rb-p0-w0-s1-1024");
    }
}
