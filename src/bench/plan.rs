//! The checked plan of a run, shared read-only by every worker: what to
//! connect to, which transfers to make, how to check them, when to stop.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use super::cli::{parse_mix, parse_size, Cli, Op, Sink};
use super::client::{Job, Kind, Mode};
use super::verify::{parse_sha256, sha256_file, Expect};

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
    pub upload_dir: String,
    pub reuse: bool,
    pub duration: Option<Duration>,
    /// Transfers left to start (count mode); `i64::MAX` with a duration.
    pub tickets: AtomicI64,
    /// Arrivals per second per worker (open loop).
    pub rate_per_worker: Option<f64>,
    pub verify: bool,
    pub expects: HashMap<String, Expect>,
    pub pattern_seed: u8,
    pub sink: Sink,
    pub buf_bytes: usize,
    pub source_addrs: Vec<IpAddr>,
    pub stall: Duration,
    /// Per worker; `usize::MAX` when unlimited.
    pub login_window: usize,
    pub workers: usize,
    pub sessions: usize,
    pub start: Instant,
}

/// Fills `expects` from `--expect` for every path, or sets the pattern seed.
fn expectations(cli: &Cli, files: &FileSet) -> Result<(HashMap<String, Expect>, u8), String> {
    let mut map = HashMap::new();
    let e = cli.expect.as_str();
    if let Some(rest) = e.strip_prefix("pattern") {
        let seed = rest.strip_prefix(':').unwrap_or("0");
        let seed = seed
            .parse()
            .map_err(|_| format!("--expect {e}: seed 0..=255"))?;
        return Ok((map, seed));
    }
    if !cli.verify {
        return Ok((map, 0));
    }
    if let Some(dir) = e.strip_prefix("local:") {
        for p in &files.paths {
            let local = std::path::Path::new(dir).join(p.trim_start_matches('/'));
            let x = sha256_file(&local)
                .map_err(|err| format!("--expect: {}: {err}", local.display()))?;
            map.insert(p.clone(), x);
        }
    } else if let Some(rest) = e.strip_prefix("sha256:") {
        let (hex, len) = rest.split_once(':').unwrap_or((rest, ""));
        let digest = parse_sha256(hex).ok_or("--expect sha256:HEX needs 64 hex digits")?;
        let len_bytes = if len.is_empty() {
            None
        } else {
            Some(len.parse().map_err(|_| "bad LEN")?)
        };
        for p in &files.paths {
            let len_bytes = len_bytes.unwrap_or(u64::MAX);
            map.insert(p.clone(), Expect::Sha256 { digest, len_bytes });
        }
    } else {
        return Err(format!(
            "--expect {e}: use local:DIR, sha256:HEX[:LEN] or pattern[:SEED]"
        ));
    }
    Ok((map, 0))
}

impl Plan {
    pub fn from_cli(cli: &Cli) -> Result<Plan, String> {
        let files = parse_files(&cli.files)?;
        let weights = match cli.op {
            Op::Mixed => parse_mix(&cli.mix)?,
            Op::Stor => [0, 1, 0],
            Op::List => [0, 0, 1],
            _ => [1, 0, 0],
        };
        if weights[1] > 0 && files.gen_sizes.is_empty() {
            return Err("stor needs upload sizes: --files gen:SIZE[xN]".into());
        }
        if (weights[0] > 0 || weights[2] > 0)
            && files.paths.is_empty()
            && matches!(cli.op, Op::Retr | Op::Mixed)
        {
            return Err("retr needs paths in --files".into());
        }
        if cli.verify && cli.sink == Sink::Splice {
            return Err("--verify needs the bytes: use --sink read".into());
        }
        if cli.sessions == 0 || cli.workers == 0 || cli.buf_bytes < 4096 {
            return Err("--sessions and --workers at least 1, --buf-bytes at least 4096".into());
        }
        let (expects, pattern_seed) = expectations(cli, &files)?;
        let count = match (cli.count, cli.duration) {
            (Some(c), _) => i64::try_from(c).unwrap_or(i64::MAX),
            (None, Some(_)) => i64::MAX,
            (None, None) if cli.op == Op::Idle => i64::MAX,
            (None, None) => 1,
        };
        let workers = cli.workers.min(cli.sessions);
        Ok(Plan {
            server: cli.server,
            user: cli.user.clone(),
            pass: cli.pass.clone(),
            mode: cli.mode,
            op: cli.op,
            weights,
            files,
            upload_dir: cli.upload_dir.trim_end_matches('/').to_string(),
            reuse: cli.reuse,
            duration: cli.duration.map(Duration::from_secs_f64),
            tickets: AtomicI64::new(count),
            rate_per_worker: cli.rate.map(|r| r / workers as f64),
            verify: cli.verify,
            expects,
            pattern_seed,
            sink: cli.sink,
            buf_bytes: cli.buf_bytes,
            source_addrs: cli.source_addrs.clone().unwrap_or_default(),
            stall: Duration::from_secs(cli.stall_timeout_secs),
            login_window: if cli.login_window == 0 {
                usize::MAX
            } else {
                cli.login_window.div_ceil(workers)
            },
            workers,
            sessions: cli.sessions,
            start: Instant::now(),
        })
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
                let path = format!("{}/rb-w{worker}-s{slot}-{size}", self.upload_dir);
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
        Some(self.expects.get(path).cloned().unwrap_or(Expect::Pattern {
            seed: self.pattern_seed,
            len_bytes: u64::MAX,
        }))
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
}
