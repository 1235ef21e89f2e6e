//! The server under test: `ringftpd` on port 0, started with a bounded wait
//! for its start line, SIGTERM and reaped on drop.

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::{spawn_until_started, users_file, wait_with_limit, TempDir, BIN};

/// Where a server listens unless told otherwise ([`ServerOpts::listen`]).
const DEFAULT_LISTEN: &str = "127.0.0.1:0";

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
            env: Vec::new(),
        }
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

    /// Several flags at once (each word one argument).
    pub fn args(self, args: &[&str]) -> Self {
        args.iter().fold(self, |o, a| o.arg(a))
    }

    /// One `--listen addr` each call, in order (the server's addresses in
    /// [`Server::addrs`]); without any, the server listens on 127.0.0.1:0.
    pub fn listen(self, addr: &str) -> Self {
        self.arg("--listen").arg(addr)
    }

    /// Sends the server's stderr (its log) to `file`.
    pub fn stderr_to(mut self, file: PathBuf) -> Self {
        self.stderr = Some(file);
        self
    }

    /// The `--listen` addresses asked for.
    fn listens(&self) -> Vec<&str> {
        self.extra
            .windows(2)
            .filter(|w| w[0] == "--listen")
            .map(|w| w[1].as_str())
            .collect()
    }
}

/// A running `ringftpd`; SIGTERM and reaped on drop.
pub struct Server {
    child: Option<Child>,
    /// The port of the first listening address.
    pub port: u16,
    pub root: PathBuf,
    pub start_line: String,
    /// Every listening address, in `--listen` order.
    pub addrs: Vec<SocketAddr>,
    /// The temp dir of [`Server::with_users`], removed after the server stops.
    _dir: Option<TempDir>,
}

impl Server {
    /// Starts `ringftpd --root root --listen 127.0.0.1:0 …` (or the
    /// addresses of [`ServerOpts::listen`]) and waits for its start line.
    pub fn start(root: &Path, opts: ServerOpts) -> Server {
        Server::launch(Command::new(BIN), root, opts)
    }

    /// Like [`Server::start`], with at most `nofile` open file descriptors
    /// (`sh -c 'ulimit -n N && exec ringftpd …'`: soft and hard limit).
    pub fn start_with_fd_limit(root: &Path, nofile: u32, opts: ServerOpts) -> Server {
        Server::start_with_ulimit(&format!("-n {nofile}"), root, opts)
    }

    /// Like [`Server::start`] through `sh -c 'ulimit ULIMIT && exec ringftpd …'`.
    pub fn start_with_ulimit(ulimit: &str, root: &Path, opts: ServerOpts) -> Server {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("ulimit {ulimit} && exec \"$0\" \"$@\""))
            .arg(BIN);
        Server::launch(cmd, root, opts)
    }

    /// A server on a fresh temp root, with a users file beside the root
    /// holding each `(name, perms)` of `users` (home = the root, password
    /// [`super::PASS`]). The temp dir lives as long as the server.
    pub fn with_users(tag: &str, users: &[(&str, &str)], opts: ServerOpts) -> Server {
        let dir = TempDir::new(tag);
        let root = dir.join("root");
        fs::create_dir(&root).expect("create root");
        let lines: Vec<(&str, &Path, &str)> = users
            .iter()
            .map(|(n, p)| (*n, root.as_path(), *p))
            .collect();
        let file = users_file(dir.path(), &lines);
        let mut server = Server::start(&root, opts.users(file));
        server._dir = Some(dir);
        server
    }

    fn launch(mut cmd: Command, root: &Path, opts: ServerOpts) -> Server {
        let mut listens = opts.listens();
        cmd.arg("--root")
            .arg(root)
            .arg("--pasv-ports")
            .arg(format!("{}-{}", opts.pasv_ports.0, opts.pasv_ports.1));
        if listens.is_empty() {
            cmd.arg("--listen").arg(DEFAULT_LISTEN);
            listens.push(DEFAULT_LISTEN);
        }
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
        cmd.stdin(Stdio::null()).stderr(stderr);
        let (child, line) = spawn_until_started(&mut cmd);
        let mut server = Server {
            child: Some(child),
            port: 0,
            root: root.to_path_buf(),
            start_line: line,
            addrs: Vec::new(),
            _dir: None,
        };
        server.addrs = parse_start_line(&server.start_line, root, &listens);
        server.port = server.addrs[0].port();
        server
    }

    pub fn anonymous(root: &Path, pasv_ports: (u16, u16)) -> Server {
        Server::start(root, ServerOpts::new(pasv_ports))
    }

    /// The first listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// `root/rel`.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, |c| c.id())
    }

    /// Open file descriptors of the server process.
    pub fn fd_count(&self) -> usize {
        fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// `ftp://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("ftp://127.0.0.1:{}", self.port)
    }

    /// The `/metrics` address the start line names (`--metrics-listen`).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
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

/// `ringftpd listening on A[,B…] root DIR workers N passive LO-HI retr-path X`
/// → the addresses (checked against the `--listen` ones asked for, and the
/// root against the one given).
fn parse_start_line(line: &str, root: &Path, listens: &[&str]) -> Vec<SocketAddr> {
    let words: Vec<&str> = line.split_whitespace().collect();
    assert!(
        words.len() >= 11 && words[..3] == ["ringftpd", "listening", "on"] && words[4] == "root",
        "unexpected start line {line:?}"
    );
    let addrs: Vec<SocketAddr> = words[3]
        .split(',')
        .map(|a| {
            a.parse()
                .unwrap_or_else(|e| panic!("start line {line:?}: address {a:?}: {e}"))
        })
        .collect();
    assert_eq!(addrs.len(), listens.len(), "start line {line:?}");
    for (got, asked) in addrs.iter().zip(listens) {
        let asked: SocketAddr = asked.parse().expect("--listen address");
        assert_eq!(got.ip(), asked.ip(), "start line {line:?}");
        assert_ne!(got.port(), 0, "start line {line:?}");
    }
    let want_root = fs::canonicalize(root).unwrap();
    assert_eq!(Path::new(words[5]), want_root, "start line {line:?}");
    addrs
}
