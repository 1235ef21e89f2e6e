//! Shared by the `attack_*` tests: a server process on port 0 with its own
//! temporary tree (a root plus an `outside` directory holding sentinels the
//! server must never read or write), and a small blocking FTP client that can
//! bind its source address (127.0.0.2 is a second loopback source).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Content of the sentinel file outside the root.
pub const SECRET: &str = "TOP-SECRET-ringftpd-sentinel-7f3a";
/// Password of the `alice` user (all permissions) in the fixture's users file.
pub const ALICE_PASS: &str = "alice-pw";
/// A bound on every blocking read, so a broken server fails a test instead of hanging it.
const READ_TIMEOUT: Duration = Duration::from_secs(20);

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A temporary tree: `base/root` (served) and `base/outside` (sentinels).
pub struct Tree {
    pub base: PathBuf,
    pub root: PathBuf,
    pub outside: PathBuf,
}

impl Tree {
    /// A fresh tree with `root/pub/file.txt` and `outside/secret.txt`,
    /// `outside/dir/`; world-readable so a `--run-as` server can serve it.
    pub fn new(tag: &str) -> Tree {
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let base =
            std::env::temp_dir().join(format!("ringftpd-attack-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let root = base.join("root");
        let outside = base.join("outside");
        std::fs::create_dir_all(root.join("pub")).unwrap();
        std::fs::create_dir_all(outside.join("dir")).unwrap();
        std::fs::write(root.join("pub/file.txt"), b"public data\n").unwrap();
        std::fs::write(outside.join("secret.txt"), SECRET).unwrap();
        std::fs::write(outside.join("dir/secret2.txt"), SECRET).unwrap();
        for d in [&base, &root, &root.join("pub"), &outside] {
            chmod(d, 0o755);
        }
        Tree {
            base,
            root,
            outside,
        }
    }

    /// A users file with `alice` (all permissions, home = the root).
    pub fn users_file(&self) -> PathBuf {
        let hash = hash_of(ALICE_PASS);
        let p = self.base.join("users");
        std::fs::write(&p, format!("alice:{hash}:{}:all\n", self.root.display())).unwrap();
        p
    }

    /// Every file under `outside`, with its content and mtime, to compare
    /// before and after an attack.
    pub fn outside_snapshot(&self) -> Vec<(PathBuf, Vec<u8>, std::time::SystemTime)> {
        let mut out = Vec::new();
        walk(&self.outside, &mut out);
        out.sort();
        out
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>, std::time::SystemTime)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let m = std::fs::symlink_metadata(e.path()).unwrap();
        if m.is_dir() {
            walk(&e.path(), out);
        }
        let content = if m.is_file() {
            std::fs::read(e.path()).unwrap()
        } else {
            Vec::new()
        };
        out.push((e.path(), content, m.modified().unwrap()));
    }
}

pub fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `ringftpd passwd` of a password.
pub fn hash_of(pass: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ringftpd"))
        .arg("passwd")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{pass}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A running server process (killed on drop).
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    /// The start-up line ("ringftpd listening on …").
    pub start_line: String,
}

impl Server {
    /// Starts `ringftpd --root ROOT --listen 127.0.0.1:0 --cores 1` plus `extra`
    /// and waits for its "listening on" line.
    pub fn start(root: &Path, extra: &[&str]) -> Server {
        Self::start_with(Command::new(env!("CARGO_BIN_EXE_ringftpd")), root, extra)
    }

    /// Like [`Server::start`] through `sh -c 'ulimit -n N; exec ringftpd …'`
    /// (soft and hard limit).
    pub fn start_with_fd_limit(root: &Path, nofile: u32, extra: &[&str]) -> Server {
        Self::start_with_ulimit(&format!("-n {nofile}"), root, extra)
    }

    /// Like [`Server::start`] through `sh -c 'ulimit OPTS; exec ringftpd …'`.
    pub fn start_with_ulimit(opts: &str, root: &Path, extra: &[&str]) -> Server {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("ulimit {opts} && exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_ringftpd"));
        Self::start_with(cmd, root, extra)
    }

    fn start_with(mut cmd: Command, root: &Path, extra: &[&str]) -> Server {
        let mut child = cmd
            .arg("--root")
            .arg(root)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .split_whitespace()
            .nth(3)
            .and_then(|a| a.split(',').next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no listening line: {line:?}"));
        let start_line = line.trim_end().to_string();
        Server {
            child,
            addr,
            start_line,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Open file descriptors of the server process.
    pub fn fd_count(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP connection from `src` (port 0) to `dst`.
pub fn connect_from(src: IpAddr, dst: SocketAddr) -> std::io::Result<TcpStream> {
    use nix::sys::socket::{bind, connect, socket, AddressFamily, SockFlag, SockType, SockaddrIn};
    let IpAddr::V4(ip) = src else {
        panic!("IPv4 only")
    };
    let fd: OwnedFd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
    bind(raw, &SockaddrIn::from(std::net::SocketAddrV4::new(ip, 0)))?;
    let SocketAddr::V4(d) = dst else {
        panic!("IPv4 only")
    };
    connect(raw, &SockaddrIn::from(d))?;
    let s = TcpStream::from(fd);
    s.set_read_timeout(Some(READ_TIMEOUT))?;
    Ok(s)
}

/// A control connection.
pub struct Ftp {
    r: BufReader<TcpStream>,
    w: TcpStream,
    pub src: IpAddr,
    /// Every reply text seen (to check that no secret leaked).
    pub transcript: String,
}

impl Ftp {
    /// Connects from 127.0.0.1 and reads the greeting.
    pub fn connect(addr: SocketAddr) -> (Ftp, u16, String) {
        Self::connect_from("127.0.0.1".parse().unwrap(), addr)
    }

    pub fn connect_from(src: IpAddr, addr: SocketAddr) -> (Ftp, u16, String) {
        let s = connect_from(src, addr).unwrap();
        let mut f = Ftp {
            r: BufReader::new(s.try_clone().unwrap()),
            w: s,
            src,
            transcript: String::new(),
        };
        let (c, t) = f.reply();
        (f, c, t)
    }

    /// Reads one (possibly multi-line) reply; code 0 on EOF.
    pub fn reply(&mut self) -> (u16, String) {
        let mut first = String::new();
        if self.r.read_line(&mut first).unwrap_or(0) == 0 {
            return (0, String::new());
        }
        self.transcript.push_str(&first);
        let code: u16 = first.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
        let mut text = first.clone();
        if first.as_bytes().get(3) == Some(&b'-') {
            let end = format!("{code} ");
            loop {
                let mut l = String::new();
                if self.r.read_line(&mut l).unwrap_or(0) == 0 {
                    break;
                }
                self.transcript.push_str(&l);
                text.push_str(&l);
                if l.starts_with(&end) {
                    break;
                }
            }
        }
        (code, text)
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.w.write_all(bytes).unwrap();
    }

    pub fn cmd(&mut self, line: &str) -> (u16, String) {
        self.send_raw(format!("{line}\r\n").as_bytes());
        self.reply()
    }

    /// Asserts the code of one command.
    pub fn expect(&mut self, line: &str, code: u16) -> String {
        let (c, t) = self.cmd(line);
        assert_eq!(c, code, "{line:?} → {t:?}");
        t
    }

    pub fn login(&mut self, user: &str, pass: &str) {
        self.expect(&format!("USER {user}"), 331);
        self.expect(&format!("PASS {pass}"), 230);
    }

    /// PASV → the data address.
    pub fn pasv(&mut self) -> SocketAddr {
        let t = self.expect("PASV", 227);
        pasv_addr(&t)
    }

    /// PASV, then `cmd`, reading the data connection to its end. Returns
    /// the final code and the data.
    pub fn download(&mut self, cmd: &str) -> (u16, Vec<u8>) {
        let data_addr = self.pasv();
        let (c, t) = self.cmd(cmd);
        if c != 150 && c != 125 {
            return (c, Vec::new());
        }
        let mut d = connect_from(self.src, data_addr).unwrap();
        let mut buf = Vec::new();
        d.read_to_end(&mut buf).unwrap();
        let _ = t;
        let (c, _) = self.reply();
        (c, buf)
    }

    /// PASV, then `cmd` (STOR…), sending `data`. Returns the final code.
    pub fn upload(&mut self, cmd: &str, data: &[u8]) -> u16 {
        let data_addr = self.pasv();
        let (c, _) = self.cmd(cmd);
        if c != 150 && c != 125 {
            return c;
        }
        let mut d = connect_from(self.src, data_addr).unwrap();
        d.write_all(data).unwrap();
        drop(d);
        self.reply().0
    }

    /// The raw stream (for tests that must not read replies).
    pub fn stream(&self) -> &TcpStream {
        &self.w
    }
}

/// `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2).` → address.
pub fn pasv_addr(text: &str) -> SocketAddr {
    let inner = text
        .split(['(', ')'])
        .nth(1)
        .unwrap_or_else(|| panic!("bad 227: {text:?}"));
    let n: Vec<u16> = inner
        .split(',')
        .map(|x| x.trim().parse().unwrap())
        .collect();
    let ip = std::net::Ipv4Addr::new(n[0] as u8, n[1] as u8, n[2] as u8, n[3] as u8);
    SocketAddr::new(ip.into(), n[4] * 256 + n[5])
}

/// A listener on `ip` (port 0) that the test checks for unwanted connections.
pub fn trap_listener(ip: &str) -> TcpListener {
    let l = TcpListener::bind((ip, 0)).unwrap();
    l.set_nonblocking(true).unwrap();
    l
}

/// True when nothing connected to `l`.
pub fn trap_untouched(l: &TcpListener) -> bool {
    matches!(l.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}
