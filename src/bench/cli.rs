//! Command-line options of `ringftp-bench`. Every option is documented here;
//! `ringftp-bench --help` prints these texts, and `cli_tests.rs` parses every
//! example of that text and every flag with a typical value.
//!
//! Defaults are only given where they are right for any RFC 959 server:
//! what must come from the server under test (the paths to download, what
//! they contain) has no default, and a run that lacks it is refused with one
//! line naming the choices ([`Cli::check`]).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

use super::client::Mode;
use super::verify::parse_sha256;

/// The workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Op {
    /// Download the `--files` paths (RETR).
    Retr,
    /// Upload generated content of the `--files gen:` sizes (STOR).
    Stor,
    /// List the `--files` paths (LIST), or the login directory.
    List,
    /// Connect, log in, QUIT; one "transfer" per login.
    Login,
    /// Hold `--sessions` logged-in sessions for `--duration`, then NOOP each
    /// and report how many the server kept.
    Idle,
    /// A weighted mix of retr/stor/list (`--mix`).
    Mixed,
}

/// Where downloaded bytes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Sink {
    /// read(2) through the ring into one reused buffer per session.
    Read,
    /// splice(2) socket → pipe → /dev/null: no copy to user space.
    Splice,
}

/// `--source-addrs`: the local addresses sessions connect from. A newtype so
/// clap stores one value (the whole list) for the one occurrence of the flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceAddrs(pub Vec<IpAddr>);

/// `--expect`: what every download must contain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectSpec {
    /// The file of the same path under this local directory (sha256 and length).
    Local(PathBuf),
    /// This sha256 for every file, and this length when given.
    Sha256 {
        digest: [u8; 32],
        len_bytes: Option<u64>,
    },
    /// The pattern `--op stor` uploads, with this seed.
    Pattern { seed: u8 },
}

/// `--mix`: weights of retr, stor, list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mix(pub [u32; 3]);

/// The choices of `--expect`, named in every error about it.
pub const EXPECT_CHOICES: &str = "local:DIR, sha256:HEX[:LEN] or pattern[:SEED]";

/// ringftp-bench: an io_uring FTP load generator for any RFC 959 server.
///
/// Examples:
///   ringftp-bench --server 127.0.0.1:2121 --op retr --files /1g.bin --count 3 --mode epsv
///   ringftp-bench --op retr --files 'small/f{0000..0999}' --sessions 50 --reuse --duration 10
///   ringftp-bench --op retr --files /1g.bin --verify --expect local:/srv/ftp
///   ringftp-bench --op stor --user bench --pass bench --files gen:1g --upload-dir incoming --count 1
///   ringftp-bench --op list --files pub,. --count 100 --reuse --mode pasv
///   ringftp-bench --op idle --sessions 2000 --duration 10 --server-pid 1234
///   ringftp-bench --op idle --sessions 30000 --processes 3 --source-addrs 127.0.0.1-127.0.0.8
#[derive(Debug, Clone, Parser)]
#[command(name = "ringftp-bench", version, verbatim_doc_comment)]
pub struct Cli {
    /// FTP server control address (the default is ringftpd's own default).
    #[arg(long, default_value = "127.0.0.1:2121")]
    pub server: SocketAddr,
    /// Login name (default: anonymous, RFC 1635).
    #[arg(long, default_value = "anonymous")]
    pub user: String,
    /// Password (for anonymous: an e-mail-like identity).
    #[arg(long, default_value = "ringftp-bench@")]
    pub pass: String,
    /// Workload.
    #[arg(long, value_enum, default_value_t = Op::Retr)]
    pub op: Op,
    /// Weights for `--op mixed`, e.g. `retr=8,stor=1,list=1` (retr and list
    /// use the `--files` paths, stor its `gen:` sizes).
    #[arg(long, default_value = "retr=8,stor=1,list=1", value_parser = parse_mix)]
    pub mix: Mix,
    /// Data connection mode.
    #[arg(long, value_enum, default_value_t = Mode::Epsv)]
    pub mode: Mode,
    /// Concurrent control sessions (over all workers and processes).
    #[arg(long, default_value_t = 1)]
    pub sessions: usize,
    /// Files: comma-separated paths (one `{A..B}` range each expands, zero
    /// padding kept: `small/f{0000..0999}`), `@FILE` for one path per line,
    /// and `gen:SIZE[xN]` entries (SIZE with k/m/g = KiB/MiB/GiB) giving the
    /// sizes of generated uploads. retr and mixed need paths, stor needs
    /// `gen:` sizes (no default: they depend on the server's content);
    /// list without paths lists the login directory.
    #[arg(long)]
    pub files: Option<String>,
    /// Directory that uploads go to (default: the login directory); names are
    /// `rb-p<process>-w<worker>-s<session>-<size>`, so repeated runs
    /// overwrite instead of filling the disk.
    #[arg(long = "upload-dir")]
    pub upload_dir: Option<String>,
    /// Many transfers per session (a mirror client); default: one login per transfer.
    #[arg(long)]
    pub reuse: bool,
    /// Run for this many seconds (decimals allowed). For `idle`: the hold
    /// time, 10 s when not given.
    #[arg(long)]
    pub duration: Option<f64>,
    /// Stop after this many transfers (logins for `login`). Default 1 unless --duration.
    #[arg(long)]
    pub count: Option<u64>,
    /// Open loop: start transfers at this rate per second (total), whatever
    /// the responses; latency then counts from the intended start. Default closed loop.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Check every download (length and content: needs --expect) and every
    /// upload's size (SIZE after 226).
    #[arg(long)]
    pub verify: bool,
    /// What downloads must contain (no default: it depends on the server's
    /// files): `local:DIR` (sha256 of DIR/<path>, the server's root seen
    /// locally), `sha256:HEX[:LEN]` (every file), or `pattern[:SEED]` (what
    /// `--op stor` uploads, seed 0 by default).
    #[arg(long, value_parser = parse_expect)]
    pub expect: Option<ExpectSpec>,
    /// How downloads are discarded.
    #[arg(long, value_enum, default_value_t = Sink::Read)]
    pub sink: Sink,
    /// FTPS: `explicit` (AUTH TLS on --server) or `implicit` (--server is the
    /// implicit FTPS port); PBSZ 0 and PROT P after login. TLS 1.2, each
    /// data connection resuming its session's TLS session; the certificate
    /// is not verified (docs/tls.md).
    #[arg(long, value_enum)]
    pub tls: Option<super::tls::TlsMode>,
    /// Receive and send buffer per session, bytes (reused for every transfer).
    #[arg(long = "buf-bytes", default_value_t = 256 * 1024)]
    pub buf_bytes: usize,
    /// Worker threads, one io_uring each; sessions are spread over them.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// Processes to split the sessions, the count, the rate and the login
    /// window over, each with its own open-files limit (20,000 per process
    /// here) and `--workers` threads; their results are merged exactly into
    /// one report (the histograms travel as value/count pairs).
    #[arg(long, default_value_t = 1)]
    pub processes: usize,
    /// Internal: this process runs share K of P (`K/P`), started by `--processes`.
    #[arg(long = "child-share", hide = true, value_parser = parse_share)]
    pub child_share: Option<(usize, usize)>,
    /// Local addresses to connect from, `A-B` (IPv4 range) or a comma list;
    /// sessions take them round-robin over all processes, each address with
    /// its own ephemeral port range (about 28,000 connections per address to
    /// one server port).
    #[arg(long = "source-addrs", value_parser = parse_addrs)]
    pub source_addrs: Option<SourceAddrs>,
    /// PID of the server: report its CPU seconds per GiB and, for idle, its
    /// PSS before the sessions and while they are held.
    #[arg(long = "server-pid")]
    pub server_pid: Option<u32>,
    /// At most this many sessions connecting or logging in at once, over all
    /// workers and processes (0: no limit). A burst of connects beyond a
    /// server's listen backlog (vsftpd: 32) costs 1 s SYN retries, which would
    /// be measured instead of the server; 32 stays within every common
    /// server's backlog.
    #[arg(long = "login-window", default_value_t = 32)]
    pub login_window: usize,
    /// Fail a session that makes no progress for this many seconds.
    #[arg(long = "stall-timeout-secs", default_value_t = 30)]
    pub stall_timeout_secs: u64,
    /// Write every figure and the full percentile distributions as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// A label stored in the JSON (server name, run number …).
    #[arg(long, default_value = "")]
    pub label: String,
    /// No live line on stderr.
    #[arg(long)]
    pub quiet: bool,
}

impl Cli {
    /// Checks the combination of options (no file is read): the first
    /// problem as one line, for the caller to print and exit 2.
    pub fn check(&self) -> Result<(), String> {
        let downloads = matches!(self.op, Op::Retr | Op::Mixed);
        if downloads && self.files.is_none() {
            return Err(format!(
                "--op {} needs --files: the paths to download",
                self.op_name()
            ));
        }
        if self.op == Op::Stor && self.files.is_none() {
            return Err("--op stor needs --files gen:SIZE[xN]: the sizes to upload".into());
        }
        if self.verify && downloads && self.expect.is_none() {
            return Err(format!(
                "--op {} --verify needs --expect: {EXPECT_CHOICES}",
                self.op_name()
            ));
        }
        if self.tls.is_some() && self.sink == Sink::Splice {
            return Err("--tls needs the bytes to decrypt them: use --sink read".into());
        }
        if self.verify && self.sink == Sink::Splice {
            return Err("--verify needs the bytes: use --sink read".into());
        }
        if self.sessions == 0 || self.workers == 0 || self.processes == 0 {
            return Err("--sessions, --workers and --processes: at least 1".into());
        }
        if self.processes > self.sessions {
            return Err("--processes: at most --sessions (each runs one session or more)".into());
        }
        if self.buf_bytes < 4096 {
            return Err("--buf-bytes: at least 4096".into());
        }
        let positive = |x: Option<f64>| x.is_none_or(|v| v.is_finite() && v > 0.0);
        if !positive(self.duration) || !positive(self.rate) {
            return Err("--duration and --rate: a number above 0".into());
        }
        Ok(())
    }

    fn op_name(&self) -> String {
        format!("{:?}", self.op).to_lowercase()
    }
}

/// `127.0.0.1-127.0.0.8` or `10.0.0.1,10.0.0.2`.
pub fn parse_addrs(s: &str) -> Result<SourceAddrs, String> {
    let bad = |a: &str| format!("bad address '{a}'");
    if let Some((a, b)) = s.split_once('-') {
        let a: std::net::Ipv4Addr = a.trim().parse().map_err(|_| bad(a))?;
        let b: std::net::Ipv4Addr = b.trim().parse().map_err(|_| bad(b))?;
        let (lo, hi) = (u32::from(a), u32::from(b));
        if hi < lo || hi - lo > 65_535 {
            return Err(format!(
                "range {a}-{b}: need A <= B, at most 65536 addresses"
            ));
        }
        return Ok(SourceAddrs(
            (lo..=hi).map(|n| IpAddr::V4(n.into())).collect(),
        ));
    }
    let addrs: Result<Vec<IpAddr>, String> = s
        .split(',')
        .map(|p| p.trim().parse().map_err(|_| bad(p)))
        .collect();
    addrs.map(SourceAddrs)
}

/// `local:DIR`, `sha256:HEX[:LEN]`, `pattern[:SEED]`.
pub fn parse_expect(s: &str) -> Result<ExpectSpec, String> {
    if let Some(rest) = s.strip_prefix("pattern") {
        let seed = match rest.strip_prefix(':') {
            Some(seed) => seed.parse().map_err(|_| "pattern:SEED: seed 0..=255")?,
            None if rest.is_empty() => 0,
            None => return Err(format!("use {EXPECT_CHOICES}")),
        };
        return Ok(ExpectSpec::Pattern { seed });
    }
    if let Some(dir) = s.strip_prefix("local:").filter(|d| !d.is_empty()) {
        return Ok(ExpectSpec::Local(PathBuf::from(dir)));
    }
    if let Some(rest) = s.strip_prefix("sha256:") {
        let (hex, len) = rest.split_once(':').unwrap_or((rest, ""));
        let digest = parse_sha256(hex).ok_or("sha256:HEX needs 64 hex digits")?;
        let len_bytes = match len {
            "" => None,
            n => Some(n.parse().map_err(|_| "sha256:HEX:LEN: LEN in bytes")?),
        };
        return Ok(ExpectSpec::Sha256 { digest, len_bytes });
    }
    Err(format!("use {EXPECT_CHOICES}"))
}

/// `64k`, `1m`, `1g`, `4096`: bytes (binary units).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim().to_ascii_lowercase();
    let (num, mult) = match s.as_bytes().last()? {
        b'k' => (&s[..s.len() - 1], 1u64 << 10),
        b'm' => (&s[..s.len() - 1], 1 << 20),
        b'g' => (&s[..s.len() - 1], 1 << 30),
        _ => (&s[..], 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mult)
}

/// `retr=8,stor=1,list=1` → weights (retr, stor, list).
pub fn parse_mix(s: &str) -> Result<Mix, String> {
    let mut w = [0u32; 3];
    for part in s.split(',').filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or(format!("'{part}' is not NAME=WEIGHT"))?;
        let v: u32 = v.parse().map_err(|_| format!("bad weight '{v}'"))?;
        match k {
            "retr" => w[0] = v,
            "stor" => w[1] = v,
            "list" => w[2] = v,
            _ => return Err(format!("unknown op '{k}' (retr, stor, list)")),
        }
    }
    if w.iter().all(|&x| x == 0) {
        return Err("all weights are 0".into());
    }
    Ok(Mix(w))
}

/// `K/P` with K < P.
fn parse_share(s: &str) -> Result<(usize, usize), String> {
    let (k, p) = s.split_once('/').ok_or("expected K/P")?;
    let k: usize = k.parse().map_err(|_| "bad K")?;
    let p: usize = p.parse().map_err(|_| "bad P")?;
    if p == 0 || k >= p {
        return Err("need K < P".into());
    }
    Ok((k, p))
}

#[cfg(test)]
#[path = "cli_tests.rs"]
mod tests;
