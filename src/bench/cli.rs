//! Command-line options of `ringftp-bench`. Every option is documented here;
//! `ringftp-bench --help` prints these texts.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

use super::client::Mode;

/// The workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Op {
    /// Download the `--files` paths (RETR).
    Retr,
    /// Upload generated content of the `--files gen:` sizes (STOR).
    Stor,
    /// List the `--files` paths (LIST).
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

/// ringftp-bench: an io_uring FTP load generator for any RFC 959 server.
///
/// Examples:
///   ringftp-bench --server 127.0.0.1:2121 --op retr --files /1g.bin --count 3 --mode epsv
///   ringftp-bench --op retr --files 'small/f{0000..0999}' --sessions 50 --reuse --duration 10
///   ringftp-bench --op stor --user bench --pass bench --files gen:1g --upload-dir incoming --count 1
///   ringftp-bench --op idle --sessions 2000 --duration 10 --server-pid 1234
#[derive(Debug, Clone, Parser)]
#[command(name = "ringftp-bench", version, verbatim_doc_comment)]
pub struct Cli {
    /// FTP server control address.
    #[arg(long, default_value = "127.0.0.1:2121")]
    pub server: SocketAddr,
    /// Login name.
    #[arg(long, default_value = "anonymous")]
    pub user: String,
    /// Password.
    #[arg(long, default_value = "ringftp-bench@")]
    pub pass: String,
    /// Workload.
    #[arg(long, value_enum, default_value_t = Op::Retr)]
    pub op: Op,
    /// Weights for `--op mixed`, e.g. `retr=8,stor=1,list=1`.
    #[arg(long, default_value = "retr=8,stor=1,list=1")]
    pub mix: String,
    /// Data connection mode.
    #[arg(long, value_enum, default_value_t = Mode::Epsv)]
    pub mode: Mode,
    /// Concurrent control sessions (over all workers).
    #[arg(long, default_value_t = 1)]
    pub sessions: usize,
    /// Files: comma-separated paths (one `{A..B}` range each expands, zero
    /// padding kept: `small/f{0000..0999}`), `@FILE` for one path per line,
    /// and `gen:SIZE[xN]` entries (SIZE with k/m/g = KiB/MiB/GiB) giving the
    /// sizes of generated uploads. retr/list use the paths, stor the sizes.
    #[arg(long, default_value = "/")]
    pub files: String,
    /// Directory that uploads go to; names are `rb-w<worker>-s<session>-<size>`
    /// so repeated runs overwrite instead of filling the disk.
    #[arg(long = "upload-dir", default_value = "incoming")]
    pub upload_dir: String,
    /// Many transfers per session (a mirror client); default: one login per transfer.
    #[arg(long)]
    pub reuse: bool,
    /// Run for this many seconds (decimals allowed). For `idle`: the hold time.
    #[arg(long)]
    pub duration: Option<f64>,
    /// Stop after this many transfers (logins for `login`). Default 1 unless --duration.
    #[arg(long)]
    pub count: Option<u64>,
    /// Open loop: start transfers at this rate per second (total), whatever
    /// the responses; latency then counts from the intended start. Default closed loop.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Check every download (length and content, see --expect) and every
    /// upload's size (SIZE after 226).
    #[arg(long)]
    pub verify: bool,
    /// What downloads must contain: `local:DIR` (sha256 of DIR/<path>, the
    /// server's root seen locally), `sha256:HEX[:LEN]` (every file), or
    /// `pattern[:SEED]` (what `--op stor` uploads, seed 0 by default).
    #[arg(long, default_value = "pattern:0")]
    pub expect: String,
    /// How downloads are discarded.
    #[arg(long, value_enum, default_value_t = Sink::Read)]
    pub sink: Sink,
    /// Receive and send buffer per session, bytes (reused for every transfer).
    #[arg(long = "buf-bytes", default_value_t = 256 * 1024)]
    pub buf_bytes: usize,
    /// Worker threads, one io_uring each; sessions are spread over them.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// Processes to split the sessions, the count and the rate over, each with
    /// its own open-files limit (20,000 per process here) and `--workers`
    /// threads; their results are merged into one report.
    #[arg(long, default_value_t = 1)]
    pub processes: usize,
    /// Internal: this process runs share K of P (`K/P`), started by `--processes`.
    #[arg(long = "child-share", hide = true, value_parser = parse_share)]
    pub child_share: Option<(usize, usize)>,
    /// Local addresses to connect from, `A-B` (IPv4 range) or a comma list;
    /// sessions take them round-robin, each with its own ephemeral port range.
    #[arg(long = "source-addrs", value_parser = parse_addrs)]
    pub source_addrs: Option<Vec<IpAddr>>,
    /// PID of the server: report its CPU seconds per GiB and, for idle, its memory.
    #[arg(long = "server-pid")]
    pub server_pid: Option<u32>,
    /// At most this many sessions connecting or logging in at once (0: no
    /// limit). A burst of connects beyond a server's listen backlog (vsftpd: 32)
    /// costs 1 s SYN retries, which would be measured instead of the server.
    #[arg(long = "login-window", default_value_t = 0)]
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

/// `127.0.0.1-127.0.0.8` or `10.0.0.1,10.0.0.2`.
pub fn parse_addrs(s: &str) -> Result<Vec<IpAddr>, String> {
    if let Some((a, b)) = s.split_once('-') {
        let a: std::net::Ipv4Addr = a.trim().parse().map_err(|_| format!("bad address '{a}'"))?;
        let b: std::net::Ipv4Addr = b.trim().parse().map_err(|_| format!("bad address '{b}'"))?;
        let (lo, hi) = (u32::from(a), u32::from(b));
        if hi < lo || hi - lo > 65_535 {
            return Err(format!(
                "range {a}-{b}: need A <= B, at most 65536 addresses"
            ));
        }
        return Ok((lo..=hi).map(|n| IpAddr::V4(n.into())).collect());
    }
    s.split(',')
        .map(|p| p.trim().parse().map_err(|_| format!("bad address '{p}'")))
        .collect()
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
pub fn parse_mix(s: &str) -> Result<[u32; 3], String> {
    let mut w = [0u32; 3];
    for part in s.split(',').filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or(format!("--mix: '{part}' is not NAME=WEIGHT"))?;
        let v: u32 = v.parse().map_err(|_| format!("--mix: bad weight '{v}'"))?;
        match k {
            "retr" => w[0] = v,
            "stor" => w[1] = v,
            "list" => w[2] = v,
            _ => return Err(format!("--mix: unknown op '{k}' (retr, stor, list)")),
        }
    }
    if w.iter().all(|&x| x == 0) {
        return Err("--mix: all weights are 0".into());
    }
    Ok(w)
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
mod tests {
    use super::*;

    #[test]
    fn sizes_addrs_mix() {
        assert_eq!(parse_size("4k"), Some(4096));
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("12"), Some(12));
        assert_eq!(parse_size("x"), None);
        let a = parse_addrs("127.0.0.1-127.0.0.8").unwrap();
        assert_eq!(a.len(), 8);
        assert_eq!(a[7], "127.0.0.8".parse::<IpAddr>().unwrap());
        assert!(parse_addrs("127.0.0.2-127.0.0.1").is_err());
        assert_eq!(parse_addrs("::1,127.0.0.1").unwrap().len(), 2);
        assert_eq!(parse_mix("retr=3,list=1"), Ok([3, 0, 1]));
        assert!(parse_mix("foo=1").is_err());
        Cli::try_parse_from(["ringftp-bench", "--mode", "eprt", "--sink", "splice"]).unwrap();
    }
}
