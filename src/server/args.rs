//! The command line: every flag of `ringftpd` with its default and help text.
//! Every limit carries its unit in its name. Checked against each other and
//! the machine in [`super::config`].

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

use crate::proto::cidr::Cidr;

/// How RETR moves file bytes to the socket.
/// A feature switched on or off (`on` / `off`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RetrPath {
    /// sendfile(2) on a non-blocking socket, driven by ring polls.
    Sendfile,
    /// Linked io_uring splices file → pipe → socket.
    Splice,
}

/// The event log's line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    /// `time event key=value …`
    Text,
    /// One JSON object per line.
    Json,
}

/// Who must use TLS (`--tls-required`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TlsRequiredArg {
    /// TLS is offered, never demanded.
    Off,
    /// Named users must AUTH TLS before USER and use PROT P; anonymous may stay in the clear.
    Users,
    /// Everyone must, anonymous included.
    All,
}

/// ringftpd: a thread-per-core io_uring FTP server.
///
/// With no options it serves the current directory anonymously, read-only,
/// on 127.0.0.1:2121.
#[derive(Debug, Clone, Parser)]
#[command(name = "ringftpd", version, about, long_about = None)]
pub struct Args {
    /// Directory to serve (anonymous root).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Control address to listen on (may be given several times). Port 0 picks a free port.
    #[arg(long = "listen", default_value = "127.0.0.1:2121")]
    pub listen: Vec<SocketAddr>,
    /// Worker threads, one ring each, pinned one per CPU (default: all CPUs).
    #[arg(long)]
    pub cores: Option<usize>,
    /// Passive data port range LOW-HIGH, split into one slice per worker.
    /// Keep it outside the ephemeral range (net.ipv4.ip_local_port_range).
    #[arg(long = "pasv-ports", default_value = "61000-61999", value_parser = parse_range)]
    pub pasv_ports: (u16, u16),
    /// IPv4 address announced in 227 replies (for NAT); default: the control connection's local address.
    #[arg(long = "pasv-address")]
    pub pasv_address: Option<Ipv4Addr>,
    /// RETR data path. sendfile measured faster and cheaper per GiB here
    /// (docs/performance.md), but a page-cache miss blocks the worker for the
    /// read; splice never blocks it (io_uring runs it in its io-wq threads).
    #[arg(long = "retr-path", value_enum, default_value_t = RetrPath::Sendfile)]
    pub retr_path: RetrPath,
    /// Users file (name:hash:home:perms per line); see docs/users.md.
    #[arg(long)]
    pub users: Option<PathBuf>,
    /// Refuse anonymous logins.
    #[arg(long = "no-anonymous")]
    pub no_anonymous: bool,
    /// Control sessions per worker before new connections get 421 (0: what
    /// the rings allow: one direct-descriptor slot per session, at most 65536,
    /// the hard open-files limit and 64 KiB of RAM per session per worker;
    /// the start-up line shows it).
    #[arg(long = "sessions-max", default_value_t = 0)]
    pub sessions_max: usize,
    /// Keep control connections as regular fds instead of io_uring direct
    /// descriptors (then the open-files limit bounds the sessions).
    #[arg(long = "no-direct-descriptors")]
    pub no_direct_descriptors: bool,
    /// Longest command line in bytes (500 beyond it).
    #[arg(long = "line-len-max-bytes", default_value_t = 4096)]
    pub line_len_max_bytes: usize,
    /// Idle control connection timeout in seconds (421 and close).
    #[arg(long = "idle-timeout-secs", default_value_t = 300)]
    pub idle_timeout_secs: u64,
    /// Seconds to wait for a data connection (PASV accept or PORT connect) before 425.
    #[arg(long = "data-connect-timeout-secs", default_value_t = 30)]
    pub data_connect_timeout_secs: u64,
    /// Seconds a transfer may make no progress before 426.
    #[arg(long = "stall-timeout-secs", default_value_t = 120)]
    pub stall_timeout_secs: u64,
    /// Failed logins per session before 421 and close.
    #[arg(long = "login-failures-max", default_value_t = 3)]
    pub login_failures_max: u32,
    /// Directory entries listed at most per LIST/NLST/MLSD/STAT.
    #[arg(long = "list-entries-max", default_value_t = 100_000)]
    pub list_entries_max: usize,
    /// Helper threads for blocking work (file opens, metadata, listings, password hashes).
    #[arg(long = "helper-threads", default_value_t = 4)]
    pub helper_threads: usize,
    /// Registered receive buffers per worker for uploads (pinned memory:
    /// count × size). More concurrent uploads than this wait for a free one.
    #[arg(long = "upload-buffers-count", default_value_t = 16)]
    pub upload_buffers_count: u16,
    /// Size of each registered upload buffer in bytes.
    #[arg(long = "upload-buffer-size-bytes", default_value_t = 256 * 1024)]
    pub upload_buffer_size_bytes: u32,
    /// Provided receive buffers per worker for control connections (each
    /// --control-buffer-size-bytes); an idle session holds none, a busy one
    /// only while a receive is being handled.
    #[arg(long = "control-buffers-count", default_value_t = 512)]
    pub control_buffers_count: u16,
    /// Size of each control receive buffer. One receive takes at most this
    /// much of a client's pipelined lines; a longer line spans receives (the
    /// line limit is --line-len-max-bytes).
    #[arg(long = "control-buffer-size-bytes", default_value_t = 2048)]
    pub control_buffer_size_bytes: u32,
    /// Command lines held back while a transfer (or HASH/CPTO) runs; more
    /// than this get 503.
    #[arg(long = "deferred-commands-max", default_value_t = 16)]
    pub deferred_commands_max: usize,
    /// Bytes moved per RETR step before other sessions get a turn.
    #[arg(long = "retr-chunk-bytes", default_value_t = 1 << 20)]
    pub retr_chunk_bytes: u32,
    /// Keep a transfer's passive listener in the worker's pool for the next
    /// PASV/EPSV (saves a bind per small file: the kernel's bind walks every
    /// TIME_WAIT connection of the port). At most half a worker's ports are
    /// pooled; when the range runs out the oldest pooled one is closed, and
    /// one idle for --data-connect-timeout-secs is closed.
    #[arg(long = "pasv-reuse-listener", value_enum, default_value_t = OnOff::On)]
    pub pasv_reuse_listener: OnOff,
    /// Download rate of each session in bytes per second, 0 = unlimited
    /// (a [[user]] or [anonymous] `download_rate_bytes_per_sec` overrides it).
    #[arg(long = "download-rate-bytes-per-sec", default_value_t = 0)]
    pub download_rate_bytes_per_sec: u64,
    /// Upload rate of each session in bytes per second, 0 = unlimited
    /// (a [[user]] or [anonymous] `upload_rate_bytes_per_sec` overrides it).
    #[arg(long = "upload-rate-bytes-per-sec", default_value_t = 0)]
    pub upload_rate_bytes_per_sec: u64,
    /// Download rate of the whole server in bytes per second, 0 = unlimited;
    /// split evenly between the workers (each paces its own sessions).
    #[arg(long = "server-download-rate-bytes-per-sec", default_value_t = 0)]
    pub server_download_rate_bytes_per_sec: u64,
    /// Upload rate of the whole server in bytes per second, 0 = unlimited;
    /// split evenly between the workers (each paces its own sessions).
    #[arg(long = "server-upload-rate-bytes-per-sec", default_value_t = 0)]
    pub server_upload_rate_bytes_per_sec: u64,
    /// Text of the 220 greeting.
    #[arg(long, default_value = "ringftpd ready")]
    pub greeting: String,
    /// Log each session and transfer to stderr.
    #[arg(long)]
    pub verbose: bool,
    // --- Access control and hardening (docs/security.md) ---
    /// Milliseconds a failed login's 530 is held back (the worker keeps serving others).
    #[arg(long = "login-fail-delay-ms", default_value_t = 1000)]
    pub login_fail_delay_ms: u64,
    /// Failed logins from one address that get it banned: the burst of a
    /// token bucket that forgives --ban-after-failures per --ban-window-secs
    /// (10 per 600 s: one a minute) (0: never ban).
    #[arg(long = "ban-after-failures", default_value_t = 10)]
    pub ban_after_failures: u32,
    /// Seconds over which --ban-after-failures failed logins are forgiven.
    #[arg(long = "ban-window-secs", default_value_t = 600)]
    pub ban_window_secs: u64,
    /// Seconds a banned address gets 421 at the greeting.
    #[arg(long = "ban-secs", default_value_t = 600)]
    pub ban_secs: u64,
    /// Control sessions per client address (all workers) before 421 at the
    /// greeting (0: no limit). High enough for a mirror client's parallel
    /// connections (lftp --parallel=50, rclone --transfers 32) and an office
    /// behind one NAT address.
    #[arg(long = "sessions-per-ip-max", default_value_t = 128)]
    pub sessions_per_ip_max: u32,
    /// New control connections per client address per second, sustained,
    /// before 421 (0: no limit). A token bucket: see --connections-per-ip-burst.
    #[arg(long = "connections-per-ip-per-sec-max", default_value_t = 100)]
    pub connections_per_ip_per_sec_max: u32,
    /// New control connections one address may open at once before the
    /// sustained rate applies (the bucket size).
    #[arg(long = "connections-per-ip-burst", default_value_t = 200)]
    pub connections_per_ip_burst: u32,
    /// Seconds from the greeting to a successful login before 421 and close (0: off).
    #[arg(long = "login-timeout-secs", default_value_t = 60)]
    pub login_timeout_secs: u64,
    /// Command lines run per second per session, sustained; beyond the burst
    /// lines wait for tokens, nothing is refused (0: off).
    #[arg(long = "commands-per-sec-max", default_value_t = 1000)]
    pub commands_per_sec_max: u32,
    /// Command lines one session may run at once before the sustained rate
    /// applies (the bucket size).
    #[arg(long = "commands-burst", default_value_t = 2000)]
    pub commands_burst: u32,
    /// Anonymous drop-box: a directory (relative to --root) where anonymous users
    /// may upload new files but not list, read, overwrite, rename or delete.
    #[arg(long = "anon-dropbox")]
    pub anon_dropbox: Option<String>,
    /// After binding the listeners and opening the root, switch to this user
    /// (and its group); needs a root start. The root must be readable by USER.
    #[arg(long = "run-as")]
    pub run_as: Option<String>,
    // --- Operations (docs/operations.md) ---
    /// Append one wu-ftpd xferlog line per finished or failed transfer to
    /// FILE (reopened on SIGUSR1, for logrotate).
    #[arg(long = "xferlog", value_name = "FILE")]
    pub xferlog: Option<PathBuf>,
    /// Event log (sessions, logins, transfers, refusals; never a password):
    /// one line per event, as key=value text or one JSON object. Goes to
    /// stderr, or to --log-file. Off unless this or --log-file is given.
    #[arg(long = "log-format", value_enum)]
    pub log_format: Option<LogFormatArg>,
    /// Write the event log to FILE instead of stderr (reopened on SIGUSR1);
    /// text unless --log-format says json.
    #[arg(long = "log-file", value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// Serve Prometheus metrics on GET http://ADDR:PORT/metrics (no
    /// authentication: bind it to loopback or an internal address).
    #[arg(long = "metrics-listen", value_name = "ADDR:PORT")]
    pub metrics_listen: Option<SocketAddr>,
    /// Seconds running transfers may go on after SIGTERM/SIGINT (listeners
    /// close at once, idle sessions get 421); then they get 426 and 421.
    #[arg(long = "shutdown-grace-secs", default_value_t = 30)]
    pub shutdown_grace_secs: u64,
    /// Control connections start with a PROXY protocol header (v1 or v2,
    /// from HAProxy's send-proxy/send-proxy-v2); without one within 3 s the
    /// connection is closed. The client address in it is the session's peer
    /// for PORT/EPRT checks, passive connections, limits, bans and logs.
    #[arg(long = "proxy-protocol")]
    pub proxy_protocol: bool,
    /// Balancer address range (CIDR or one address) allowed to send a PROXY
    /// header; repeatable. Connections from elsewhere are closed. Implies
    /// --proxy-protocol. Without it, any source may send the header.
    #[arg(long = "proxy-from", value_name = "CIDR")]
    pub proxy_from: Vec<Cidr>,
    // --- FTPS (docs/tls.md) ---
    /// TLS certificate chain (PEM, leaf first); with --tls-key it enables
    /// AUTH TLS (explicit FTPS).
    #[arg(long = "tls-cert", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM: PKCS#8, PKCS#1 or SEC1) matching --tls-cert.
    #[arg(long = "tls-key", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Implicit FTPS address (TLS from the first byte, PROT P implied); may be
    /// given several times. Port 0 picks a free port. Needs --tls-cert.
    #[arg(long = "tls-implicit-listen", value_name = "ADDR:PORT")]
    pub tls_implicit_listen: Vec<SocketAddr>,
    /// Who must use TLS on control and data connections (default with a
    /// certificate: users).
    #[arg(long = "tls-required", value_enum)]
    pub tls_required: Option<TlsRequiredArg>,
    /// RISKY: accept PROT P data connections that do not resume the TLS
    /// session of their own control connection (for clients that cannot
    /// resume). Anyone who wins the race to the data port then gets or
    /// sends the file.
    #[arg(long = "tls-allow-data-without-resumption")]
    pub tls_allow_data_without_resumption: bool,
    /// Test hook, hidden: the worker that accepts its Nth control connection
    /// panics, so tests can check that a worker's death ends the process.
    #[arg(long = "test-panic-after-accepts", hide = true)]
    pub test_panic_after_accepts: Option<u64>,
}

fn parse_range(s: &str) -> Result<(u16, u16), String> {
    let (lo, hi) = s
        .split_once('-')
        .ok_or("expected LOW-HIGH, e.g. 61000-61999")?;
    let lo: u16 = lo.trim().parse().map_err(|_| format!("bad port '{lo}'"))?;
    let hi: u16 = hi.trim().parse().map_err(|_| format!("bad port '{hi}'"))?;
    if lo < 1024 || hi < lo {
        return Err(format!("range {lo}-{hi}: need 1024 <= LOW <= HIGH"));
    }
    Ok((lo, hi))
}
