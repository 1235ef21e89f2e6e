//! Shared by the protocol and interop tests: a ringftpd on loopback (port 0,
//! killed on drop), a temporary tree with a users file, and a small raw FTP
//! client that reads whole (multi-line) replies. No fixed ports, no sleeps:
//! the server's one stdout line says when it listens.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Password of the `bob` user every test server has (perms: all).
pub const PASSWORD: &str = "secret";

static NEXT_RANGE: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let n = NEXT_RANGE.fetch_add(1, Ordering::SeqCst);
        let p = std::env::temp_dir().join(format!("ringftpd-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running ringftpd.
pub struct Server {
    child: Child,
    pub addrs: Vec<SocketAddr>,
    /// The anonymous root, which is also bob's home.
    pub root: PathBuf,
    _dir: TempDir,
}

impl Server {
    /// Serves a fresh root on 127.0.0.1 with a `bob` user (all rights).
    pub fn start(tag: &str) -> Server {
        Server::start_with(tag, &["127.0.0.1:0"], &[])
    }

    /// `listen`: one `--listen` each; `extra`: more flags.
    pub fn start_with(tag: &str, listen: &[&str], extra: &[&str]) -> Server {
        let dir = TempDir::new(tag);
        let root = dir.0.join("root");
        std::fs::create_dir_all(&root).unwrap();
        let users = dir.0.join("users");
        std::fs::write(
            &users,
            format!(
                "bob:{}:{}:all\nreader:{}:{}:list,read\n",
                hash(),
                root.display(),
                hash(),
                root.display()
            ),
        )
        .unwrap();
        // Passive ranges below the ephemeral range, a different slice per server.
        let slot = NEXT_RANGE.fetch_add(1, Ordering::SeqCst) % 40;
        let lo = 23000 + slot * 100;
        let range = format!("{}-{}", lo, lo + 99);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ringftpd"));
        cmd.arg("--root")
            .arg(&root)
            .arg("--users")
            .arg(&users)
            .arg("--pasv-ports")
            .arg(&range);
        if !extra.contains(&"--cores") {
            cmd.args(["--cores", "2"]);
        }
        for l in listen {
            cmd.arg("--listen").arg(l);
        }
        cmd.args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("spawn ringftpd");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(
            line.starts_with("ringftpd listening on "),
            "start-up line: {line:?}"
        );
        let addrs = parse_addrs(&line);
        assert_eq!(addrs.len(), listen.len(), "{line}");
        Server {
            child,
            addrs,
            root,
            _dir: dir,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    pub fn port(&self) -> u16 {
        self.addrs[0].port()
    }

    /// A logged-in raw client (bob).
    pub fn login(&self) -> Ftp {
        let mut c = Ftp::connect(self.addr());
        c.login("bob", PASSWORD);
        c
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ringftpd listening on A[, B…] root …` → the addresses.
fn parse_addrs(line: &str) -> Vec<SocketAddr> {
    let rest = line.trim_start_matches("ringftpd listening on ");
    let list = rest.split(" root ").next().unwrap_or("");
    list.split([',', ' '])
        .filter(|w| !w.is_empty())
        .filter_map(|w| w.parse().ok())
        .collect()
}

/// The password hash of [`PASSWORD`], made once by `ringftpd passwd`.
fn hash() -> String {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
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
            .write_all(format!("{PASSWORD}\n").as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    })
    .clone()
}

/// A raw FTP control connection.
pub struct Ftp {
    pub r: BufReader<TcpStream>,
    pub w: TcpStream,
}

impl Ftp {
    pub fn connect(addr: SocketAddr) -> Ftp {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut c = Ftp {
            r: BufReader::new(s.try_clone().unwrap()),
            w: s,
        };
        let g = c.reply();
        assert!(g.starts_with("220"), "{g}");
        c
    }

    pub fn login(&mut self, user: &str, pass: &str) {
        self.expect(&format!("USER {user}"), "331");
        self.expect(&format!("PASS {pass}"), "230");
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.w.write_all(bytes).unwrap();
    }

    /// Sends a command, returns the whole reply (all lines, CRLF kept).
    pub fn cmd(&mut self, line: &str) -> String {
        self.send_raw(format!("{line}\r\n").as_bytes());
        self.reply()
    }

    pub fn expect(&mut self, line: &str, code: &str) -> String {
        let r = self.cmd(line);
        assert!(r.starts_with(code), "{line:?}: expected {code}, got {r:?}");
        r
    }

    /// One reply: `ddd text` or `ddd-` … `ddd text` (RFC 959 §4.2).
    pub fn reply(&mut self) -> String {
        let mut all = String::new();
        let mut first = String::new();
        self.r.read_line(&mut first).unwrap();
        assert!(first.len() >= 4, "short reply {first:?}");
        all.push_str(&first);
        if first.as_bytes()[3] == b'-' {
            let end = format!("{} ", &first[..3]);
            loop {
                let mut l = String::new();
                if self.r.read_line(&mut l).unwrap() == 0 {
                    break;
                }
                all.push_str(&l);
                if l.starts_with(&end) {
                    break;
                }
            }
        }
        all
    }

    /// EPSV → a connected data socket (works on IPv4 and IPv6).
    pub fn epsv(&mut self) -> TcpStream {
        let r = self.expect("EPSV", "229");
        let port: u16 = r
            .split("|||")
            .nth(1)
            .and_then(|p| p.split('|').next())
            .unwrap()
            .parse()
            .unwrap();
        let ip = self.w.peer_addr().unwrap().ip();
        TcpStream::connect(SocketAddr::new(ip, port)).unwrap()
    }

    /// Runs a download-like command on a fresh EPSV data connection; returns
    /// (data, final reply).
    pub fn get(&mut self, line: &str) -> (Vec<u8>, String) {
        let mut d = self.epsv();
        let r = self.cmd(line);
        assert!(r.starts_with("150"), "{line}: {r}");
        let mut data = Vec::new();
        d.read_to_end(&mut data).unwrap();
        (data, self.reply())
    }

    /// Uploads `data` with STOR/APPE/STOU; returns (150 reply, final reply).
    pub fn put(&mut self, line: &str, data: &[u8]) -> (String, String) {
        let mut d = self.epsv();
        let r = self.cmd(line);
        assert!(r.starts_with("150"), "{line}: {r}");
        d.write_all(data).unwrap();
        drop(d);
        (r, self.reply())
    }
}

/// True when `::1` can be bound here.
pub fn ipv6_loopback() -> bool {
    TcpListener::bind("[::1]:0").is_ok()
}

/// True when `tool` is on PATH.
pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Writes `len` pseudo-random bytes to `p`.
pub fn write_random(p: &Path, len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let data: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(p, &data).unwrap();
    data
}
