//! Shared harness for the real-socket tests: a server launcher guard, temp
//! directories, a users file, child processes with a time limit, sha256
//! helpers and a small raw FTP control client ([`ftp`]).
//!
//! Everything waits on events (the server's start line, a process exit, a
//! socket reply), each wait bounded by a timeout so a hung server fails the
//! test instead of hanging it. Nothing sleeps to synchronise.

#![allow(dead_code)]

pub mod ftp;

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use sha2::{Digest, Sha256};

/// Path of the server binary built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_ringftpd");

/// How long the server may take to print its start line.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Password of the named test user.
pub const USER: &str = "alice";
pub const PASS: &str = "s3cret-pass";

/// Sizes every transfer mode is checked with (bytes).
pub const SIZES: [u64; 6] = [0, 1, 4095, 65536, (1 << 20) + 7, 64 << 20];

/// The four ways to set up a data connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Pasv,
    Epsv,
    Port,
    Eprt,
}

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::Pasv, Mode::Epsv, Mode::Port, Mode::Eprt];

    /// The verb that sets the mode up (also the name passed to the Python scripts).
    pub fn verb(self) -> &'static str {
        match self {
            Mode::Pasv => "PASV",
            Mode::Epsv => "EPSV",
            Mode::Port => "PORT",
            Mode::Eprt => "EPRT",
        }
    }
}

// ---------------------------------------------------------------------------
// Temp directories

/// A directory under the system temp dir, removed on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "ringftpd-test-{tag}-{}-{}-{nanos}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        fs::create_dir_all(&path).expect("create temp dir");
        // Canonical, so it compares equal to what the server prints.
        let path = fs::canonicalize(&path).expect("canonicalize temp dir");
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.path.join(rel)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

// ---------------------------------------------------------------------------
// Test data

/// Deterministic, position-dependent bytes: a reordered, dropped or repeated
/// block changes the hash.
pub fn pattern(size: u64, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(size as usize);
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while (out.len() as u64) < size {
        // xorshift64
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let take = ((size - out.len() as u64) as usize).min(8);
        out.extend_from_slice(&x.to_le_bytes()[..take]);
    }
    out
}

/// Writes `size` bytes of [`pattern`] to `path`; returns their sha256 (hex).
pub fn write_pattern_file(path: &Path, size: u64, seed: u64) -> String {
    let data = pattern(size, seed);
    fs::write(path, &data).expect("write pattern file");
    sha256_hex(&data)
}

/// Writes a big file in 1 MiB blocks: one pseudo-random block, each copy
/// stamped with its block number so blocks differ. Returns the sha256 (hex).
pub fn write_big_file(path: &Path, size: u64) -> String {
    const BLOCK: usize = 1 << 20;
    let base = pattern(BLOCK as u64, 7);
    let mut block = base.clone();
    let mut file = std::io::BufWriter::with_capacity(BLOCK, fs::File::create(path).unwrap());
    let mut hasher = Sha256::new();
    let mut written = 0u64;
    let mut index = 0u64;
    while written < size {
        block[..8].copy_from_slice(&index.to_le_bytes());
        block[BLOCK - 8..].copy_from_slice(&(!index).to_le_bytes());
        let n = ((size - written) as usize).min(BLOCK);
        file.write_all(&block[..n]).unwrap();
        hasher.update(&block[..n]);
        written += n as u64;
        index += 1;
    }
    file.flush().unwrap();
    hex(&hasher.finalize())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// sha256 (hex) of everything `r` yields, and how many bytes that was.
pub fn sha256_reader(mut r: impl Read) -> std::io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok((hex(&hasher.finalize()), total));
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
}

pub fn sha256_file(path: &Path) -> String {
    let f = fs::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    sha256_reader(f).expect("read file").0
}

// ---------------------------------------------------------------------------
// Child processes with a time limit

/// What a finished child process left behind.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn ok(&self) -> bool {
        self.status.success()
    }

    /// Panics with everything the process said unless it exited 0.
    pub fn assert_ok(&self, what: &str) {
        assert!(
            self.ok(),
            "{what} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
    }
}

fn read_all_in_thread(r: Option<impl Read + Send + 'static>) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(mut r) = r {
            let _ = r.read_to_end(&mut s);
        }
        let _ = tx.send(String::from_utf8_lossy(&s).into_owned());
    });
    rx
}

/// Waits for `child` to exit, killing it (SIGKILL) after `limit`.
/// Returns `None` when it had to be killed.
pub fn wait_with_limit(mut child: Child, limit: Duration) -> (Option<ExitStatus>, Child) {
    let pid = child.id() as i32;
    let (tx, rx) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let status = child.wait();
        let _ = tx.send(());
        (status, child)
    });
    let timed_out = rx.recv_timeout(limit).is_err();
    if timed_out {
        // Our own child, not reaped yet: the waiter thread has not returned.
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    let (status, child) = waiter.join().expect("waiter thread");
    let status = status.expect("wait for child");
    (if timed_out { None } else { Some(status) }, child)
}

/// Runs `cmd` to completion with captured output, killed after `limit`.
pub fn run_limited(cmd: &mut Command, limit: Duration) -> Finished {
    let desc = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {desc}: {e}"));
    let out = read_all_in_thread(child.stdout.take());
    let err = read_all_in_thread(child.stderr.take());
    let (status, _) = wait_with_limit(child, limit);
    let stdout = out.recv().unwrap_or_default();
    let stderr = err.recv().unwrap_or_default();
    let Some(status) = status else {
        panic!(
            "{desc} did not finish within {limit:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
        );
    };
    Finished {
        status,
        stdout,
        stderr,
    }
}

/// Directory of the Python client scripts.
pub fn python_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python")
}

/// Runs `python3 tests/python/<script> args…`, killed after `limit`.
pub fn run_python(script: &str, args: &[String], limit: Duration) -> Finished {
    let mut cmd = Command::new("python3");
    cmd.arg("-u").arg(python_dir().join(script)).args(args);
    run_limited(&mut cmd, limit)
}

// ---------------------------------------------------------------------------
// Users file

/// The argon2id hash of [`PASS`], made once per test binary by `ringftpd passwd`.
pub fn pass_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_with_passwd_cmd(PASS))
}

/// Runs `ringftpd passwd` with `password` on stdin and returns the hash line.
pub fn hash_with_passwd_cmd(password: &str) -> String {
    let mut child = Command::new(BIN)
        .arg("passwd")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ringftpd passwd");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{password}\n").as_bytes()).unwrap();
    drop(stdin);
    let out = read_all_in_thread(child.stdout.take());
    let err = read_all_in_thread(child.stderr.take());
    let (status, _) = wait_with_limit(child, Duration::from_secs(60));
    let stdout = out.recv().unwrap_or_default();
    let stderr = err.recv().unwrap_or_default();
    assert_eq!(
        status.map(|s| s.code()),
        Some(Some(0)),
        "ringftpd passwd: {stderr}"
    );
    let hash = stdout.trim().to_string();
    assert!(
        hash.starts_with("$argon2id$"),
        "ringftpd passwd printed {stdout:?}, expected an argon2id hash"
    );
    assert_eq!(stdout.lines().count(), 1, "one line: {stdout:?}");
    hash
}

/// Writes a users file into `dir` with one line per `(name, home, perms)`,
/// all with password [`PASS`]. Returns its path.
pub fn users_file(dir: &Path, users: &[(&str, &Path, &str)]) -> PathBuf {
    let mut text = String::from("# test users\n");
    for (name, home, perms) in users {
        text.push_str(&format!(
            "{name}:{}:{}:{perms}\n",
            pass_hash(),
            home.display()
        ));
    }
    let path = dir.join("users");
    fs::write(&path, text).expect("write users file");
    path
}

// ---------------------------------------------------------------------------
// The server

/// How to start a server.
#[derive(Debug, Clone)]
pub struct ServerOpts {
    pub pasv_ports: (u16, u16),
    pub retr_path: Option<&'static str>,
    pub users: Option<PathBuf>,
    pub cores: Option<usize>,
    pub extra: Vec<String>,
    /// Where the server's stderr goes (inherited when `None`).
    pub stderr: Option<PathBuf>,
    /// The control address (default `127.0.0.1:0`).
    pub listen: Option<String>,
    /// Environment variables set for the server.
    pub env: Vec<(String, String)>,
}

impl ServerOpts {
    pub fn new(pasv_ports: (u16, u16)) -> ServerOpts {
        ServerOpts {
            pasv_ports,
            retr_path: None,
            users: None,
            cores: None,
            extra: Vec::new(),
            stderr: None,
            listen: None,
            env: Vec::new(),
        }
    }

    /// Listens on `addr` instead of `127.0.0.1:0`.
    pub fn listen(mut self, addr: &str) -> Self {
        self.listen = Some(addr.to_string());
        self
    }

    /// Sets `key=value` in the server's environment.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    pub fn retr_path(mut self, p: &'static str) -> Self {
        self.retr_path = Some(p);
        self
    }

    pub fn users(mut self, file: PathBuf) -> Self {
        self.users = Some(file);
        self
    }

    pub fn cores(mut self, n: usize) -> Self {
        self.cores = Some(n);
        self
    }

    pub fn arg(mut self, a: &str) -> Self {
        self.extra.push(a.to_string());
        self
    }

    /// Sends the server's stderr (its log) to `file`.
    pub fn stderr_to(mut self, file: PathBuf) -> Self {
        self.stderr = Some(file);
        self
    }
}

/// A running `ringftpd`; SIGTERM and reaped on drop.
pub struct Server {
    child: Option<Child>,
    pub port: u16,
    pub root: PathBuf,
    pub start_line: String,
}

impl Server {
    /// Starts `ringftpd --root root --listen 127.0.0.1:0 …` and waits for
    /// its start line.
    pub fn start(root: &Path, opts: ServerOpts) -> Server {
        let mut cmd = Command::new(BIN);
        cmd.arg("--root")
            .arg(root)
            .arg("--listen")
            .arg(opts.listen.as_deref().unwrap_or("127.0.0.1:0"))
            .arg("--pasv-ports")
            .arg(format!("{}-{}", opts.pasv_ports.0, opts.pasv_ports.1));
        if let Some(p) = opts.retr_path {
            cmd.arg("--retr-path").arg(p);
        }
        if let Some(u) = &opts.users {
            cmd.arg("--users").arg(u);
        }
        if let Some(n) = opts.cores {
            cmd.arg("--cores").arg(n.to_string());
        }
        cmd.args(&opts.extra);
        cmd.envs(opts.env.iter().map(|(k, v)| (k, v)));
        let stderr = match &opts.stderr {
            Some(f) => Stdio::from(fs::File::create(f).expect("create server log")),
            None => Stdio::inherit(),
        };
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn ringftpd");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut line = String::new();
            let res = r.read_line(&mut line).map(|_| line);
            let _ = tx.send(res);
            // Keep draining so the server never blocks on a full pipe.
            let _ = std::io::copy(&mut r, &mut std::io::sink());
        });
        let mut server = Server {
            child: Some(child),
            port: 0,
            root: root.to_path_buf(),
            start_line: String::new(),
        };
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(Ok(l)) if !l.is_empty() => l,
            other => {
                let status = server
                    .child
                    .as_mut()
                    .and_then(|c| c.try_wait().ok().flatten());
                panic!("ringftpd printed no start line ({other:?}); exit status {status:?}");
            }
        };
        server.port = parse_start_line(&line, root);
        server.start_line = line.trim_end().to_string();
        server
    }

    pub fn anonymous(root: &Path, pasv_ports: (u16, u16)) -> Server {
        Server::start(root, ServerOpts::new(pasv_ports))
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, |c| c.id())
    }

    /// `ftp://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("ftp://127.0.0.1:{}", self.port)
    }

    /// The `/metrics` address the start line names (`--metrics-listen`).
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        let words: Vec<&str> = self.start_line.split_whitespace().collect();
        let i = words.iter().position(|w| *w == "metrics")?;
        words.get(i + 1)?.parse().ok()
    }

    /// Sends `sig` to the server.
    pub fn signal(&self, sig: Signal) {
        if let Some(c) = &self.child {
            kill(Pid::from_raw(c.id() as i32), sig).expect("signal the server");
        }
    }

    /// Waits (bounded by `limit`) for the server to exit by itself; `None`
    /// when it had to be killed.
    pub fn wait_exit(mut self, limit: Duration) -> Option<ExitStatus> {
        let child = self.child.take()?;
        wait_with_limit(child, limit).0
    }

    /// SIGTERM, then waits (bounded) for the exit; returns its status.
    pub fn stop(mut self) -> Option<ExitStatus> {
        self.terminate()
    }

    fn terminate(&mut self) -> Option<ExitStatus> {
        let child = self.child.take()?;
        let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
        let (status, _) = wait_with_limit(child, Duration::from_secs(20));
        status
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.terminate();
    }
}

/// `ringftpd listening on 127.0.0.1:PORT root DIR workers N passive LO-HI retr-path X`
/// → PORT (and checks the root is the one given).
fn parse_start_line(line: &str, root: &Path) -> u16 {
    let words: Vec<&str> = line.split_whitespace().collect();
    assert!(
        words.len() >= 11 && words[..3] == ["ringftpd", "listening", "on"] && words[4] == "root",
        "unexpected start line {line:?}"
    );
    let addr: std::net::SocketAddr = words[3]
        .parse()
        .unwrap_or_else(|e| panic!("start line {line:?}: address: {e}"));
    assert!(addr.ip().is_loopback(), "start line {line:?}");
    assert_ne!(addr.port(), 0, "start line {line:?}");
    let want_root = fs::canonicalize(root).unwrap();
    assert_eq!(Path::new(words[5]), want_root, "start line {line:?}");
    addr.port()
}
