//! Fuzzing the live server, not only the session state machine (issue 8):
//! many clients run random sessions against one ringftpd over real sockets.
//!
//! Each session is generated from its own seed (printed on failure) and mixes
//! TYPE A/I switches, REST (0, inside, at and past the end, near 2^63,
//! 2^64-1, garbage), STOR/APPE/RETR of private files checked against a model,
//! STOR and RETR of one shared file from several sessions at once, ABOR at
//! random moments (plain and with Telnet IP + urgent DM), data connections
//! closed early or sending junk before the command, all four data modes,
//! HASH, listings, hostile command lines, and QUIT or a hang-up mid-transfer.
//!
//! Checked: every 226 RETR of a file nobody writes returns exactly its bytes
//! (converted for TYPE A); every 226 STOR/APPE leaves exactly what the model
//! says; every reply line is well formed; after all sessions the server is
//! alive, serves a new session, its fd count is back to the baseline and its
//! RSS is bounded.
//!
//! Budget: `FUZZ_SESSIONS` (default 3000) sessions on `FUZZ_CLIENTS` (8)
//! threads, base seed `FUZZ_SEED` (default: from the clock, printed).
//! `FUZZ_ONLY=N` runs session N alone. `scripts/fuzz-server.sh SECONDS`
//! runs seeds for as long as asked.

mod support;

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::ftp::{parse_227, parse_229};
use support::{Server, ServerOpts, TempDir};

const PASV: (u16, u16) = (21000, 21999);
const USER: &str = "fuzz";
const PASS: &str = "fuzz-pass";
const TIMEOUT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------
// A small seeded generator (xorshift64*), so a seed replays a session exactly.

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    /// Text-like bytes: letters, LF, CR, CRLF, and now and then any byte.
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            let r = self.next();
            out.push(match r % 16 {
                0 => b'\n',
                1 => b'\r',
                2 => (r >> 8) as u8,
                _ => b'a' + ((r >> 8) % 26) as u8,
            });
        }
        out
    }
}

// ---------------------------------------------------------------------------
// The TYPE A model, written independently of the server's converter.

/// File → network: an LF not preceded by CR becomes CRLF.
fn to_network(file: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(file.len() * 2);
    let mut prev = 0u8;
    for &b in file {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    out
}

/// Network → file: CRLF becomes LF; a lone CR stays.
fn from_network(net: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(net.len());
    let mut i = 0;
    while i < net.len() {
        if net[i] == b'\r' && net.get(i + 1) == Some(&b'\n') {
            out.push(b'\n');
            i += 2;
        } else {
            out.push(net[i]);
            i += 1;
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The server and its fixed files

struct Fixture {
    _dir: TempDir,
    home: PathBuf,
    srv: Server,
    /// `ro/NAME` → content; nobody writes these.
    ro: Vec<(String, Vec<u8>)>,
}

fn sha512_crypt(password: &str) -> String {
    let out = Command::new("openssl")
        .args(["passwd", "-6", "-salt", "fuzzsalt", password])
        .output()
        .expect("openssl passwd (install openssl)");
    assert!(out.status.success(), "openssl passwd failed");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn fixture() -> Fixture {
    let dir = TempDir::new("fuzz-server");
    let home = dir.join("home");
    for d in ["ro", "p", "c"] {
        fs::create_dir_all(home.join(d)).unwrap();
    }
    let mut rng = Rng::new(0xF00D);
    let mut ro = Vec::new();
    for (i, size) in [0usize, 1, 2, 4095, 65_537, 262_144 + 3, 2 << 20]
        .iter()
        .enumerate()
    {
        let name = format!("r{i}");
        let data = rng.bytes(*size);
        fs::write(home.join("ro").join(&name), &data).unwrap();
        ro.push((name, data));
    }
    // A file of only LFs: TYPE A doubles it.
    let lfs = vec![b'\n'; 300_000];
    fs::write(home.join("ro/lf"), &lfs).unwrap();
    ro.push(("lf".to_string(), lfs));
    let users = dir.join("users");
    fs::write(
        &users,
        format!("{USER}:{}:{}:all\n", sha512_crypt(PASS), home.display()),
    )
    .unwrap();
    // Limits off that a test client from one address would trip; the
    // protocol limits (line length, deferred lines, timeouts) stay on.
    let opts = ServerOpts::new(PASV)
        .users(users)
        .cores(2)
        .arg("--sessions-per-ip-max")
        .arg("0")
        .arg("--connections-per-ip-per-sec-max")
        .arg("0")
        .arg("--commands-per-sec-max")
        .arg("0")
        .arg("--ban-after-failures")
        .arg("0")
        .arg("--login-fail-delay-ms")
        .arg("0");
    let srv = Server::start(&home, opts);
    Fixture {
        _dir: dir,
        home,
        srv,
        ro,
    }
}

/// Descriptors held, pooled passive listeners not counted (bounded, and
/// closed when idle: not a leak).
fn fd_count(pid: u32) -> usize {
    support::fds_without_pooled(pid, PASV)
}

fn rss_kib(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------
// One client session

/// Why a session stopped early: an invariant broke (a finding) or the
/// session ended as planned (QUIT, hang-up, 421).
enum Stop {
    Ended,
    Finding(String),
}

type Step = Result<(), Stop>;

fn finding<T>(msg: String) -> Result<T, Stop> {
    Err(Stop::Finding(msg))
}

struct Reply {
    code: u16,
    lines: Vec<String>,
}

struct Client<'a> {
    fx: &'a Fixture,
    rng: Rng,
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    ascii: bool,
    /// A REST sent by its own step, followed by other commands: whether the
    /// server still holds it is not modelled, so the next transfer is not
    /// checked.
    stale_rest: bool,
    /// Private files: name → content (None: unknown after a failed write).
    model: HashMap<String, Option<Vec<u8>>>,
    tag: String,
    log: Vec<String>,
}

#[derive(Clone, Copy, Debug)]
enum Mode {
    Pasv,
    Epsv,
    Port,
    Eprt,
}

enum Pending {
    Connected(TcpStream),
    Listening(TcpListener),
}

impl<'a> Client<'a> {
    fn send(&mut self, line: &[u8]) -> Step {
        self.log
            .push(format!("> {}", String::from_utf8_lossy(line).trim_end()));
        self.writer.write_all(line).map_err(|_| Stop::Ended)
    }

    fn reply(&mut self) -> Result<Reply, Stop> {
        let mut lines = Vec::new();
        loop {
            let mut raw = Vec::new();
            match self.reader.read_until(b'\n', &mut raw) {
                Ok(0) => {
                    return if lines.is_empty() {
                        Err(Stop::Ended)
                    } else {
                        finding(format!("connection closed inside a reply: {lines:?}"))
                    }
                }
                Ok(_) => {}
                Err(e) => return finding(format!("no reply within {TIMEOUT:?}: {e}")),
            }
            if !raw.ends_with(b"\r\n")
                || raw[..raw.len() - 2]
                    .iter()
                    .any(|&b| b == b'\r' || b == b'\n' || b == 0)
            {
                return finding(format!(
                    "malformed reply line {:?}",
                    String::from_utf8_lossy(&raw)
                ));
            }
            let line = String::from_utf8_lossy(&raw[..raw.len() - 2]).into_owned();
            let code = line.get(..3).and_then(|c| c.parse::<u16>().ok());
            let sep = line.as_bytes().get(3).copied();
            lines.push(line.clone());
            if lines.len() == 1 && code.is_none() {
                return finding(format!("reply without a code: {line:?}"));
            }
            let first: u16 = lines[0][..3].parse().unwrap();
            if code == Some(first) && sep != Some(b'-') && (lines.len() == 1 || sep == Some(b' ')) {
                self.log.push(format!("< {}", lines.last().unwrap()));
                if first == 421 {
                    return Err(Stop::Ended);
                }
                return Ok(Reply { code: first, lines });
            }
            if lines.len() > 10_000 {
                return finding("a reply of more than 10,000 lines".into());
            }
        }
    }

    fn cmd(&mut self, line: &str) -> Result<Reply, Stop> {
        self.send(format!("{line}\r\n").as_bytes())?;
        self.reply()
    }

    /// NOOP and read up to its reply: whatever came before belongs to the
    /// commands already sent.
    fn sync(&mut self) -> Step {
        self.send(b"NOOP\r\n")?;
        for _ in 0..64 {
            let r = self.reply()?;
            if r.code == 200 && r.lines[0].contains("NOOP") {
                return Ok(());
            }
        }
        finding("no NOOP reply after 64 replies".into())
    }

    fn data(&mut self, mode: Mode) -> Result<Option<Pending>, Stop> {
        match mode {
            Mode::Pasv => {
                let r = self.cmd("PASV")?;
                if r.code != 227 {
                    return Ok(None);
                }
                let addr = parse_227(&r.lines[0]);
                Ok(TcpStream::connect_timeout(&addr, TIMEOUT)
                    .ok()
                    .map(Pending::Connected))
            }
            Mode::Epsv => {
                let r = self.cmd("EPSV")?;
                if r.code != 229 {
                    return Ok(None);
                }
                let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, parse_229(&r.lines[0])));
                Ok(TcpStream::connect_timeout(&addr, TIMEOUT)
                    .ok()
                    .map(Pending::Connected))
            }
            Mode::Port | Mode::Eprt => {
                let l = TcpListener::bind("127.0.0.1:0").unwrap();
                let port = l.local_addr().unwrap().port();
                let line = match mode {
                    Mode::Port => format!("PORT 127,0,0,1,{},{}", port >> 8, port & 0xff),
                    _ => format!("EPRT |1|127.0.0.1|{port}|"),
                };
                let r = self.cmd(&line)?;
                Ok((r.code == 200).then_some(Pending::Listening(l)))
            }
        }
    }

    fn mode(&mut self) -> Mode {
        *self
            .rng
            .pick(&[Mode::Pasv, Mode::Epsv, Mode::Port, Mode::Eprt])
    }

    /// The data stream once the server answered 150 (active: it connects).
    fn stream(p: Pending) -> Option<TcpStream> {
        let s = match p {
            Pending::Connected(s) => s,
            Pending::Listening(l) => {
                l.set_nonblocking(true).ok()?;
                let deadline = Instant::now() + TIMEOUT;
                loop {
                    match l.accept() {
                        Ok((s, _)) => break s,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            if Instant::now() > deadline {
                                return None;
                            }
                            wait_readable(&l);
                        }
                        Err(_) => return None,
                    }
                }
            }
        };
        s.set_nonblocking(false).ok()?;
        s.set_read_timeout(Some(TIMEOUT)).ok()?;
        s.set_write_timeout(Some(TIMEOUT)).ok()?;
        Some(s)
    }

    fn set_type(&mut self, ascii: bool) -> Step {
        let r = self.cmd(if ascii { "TYPE A" } else { "TYPE I" })?;
        if r.code != 200 {
            return finding(format!("TYPE → {}", r.lines[0]));
        }
        self.ascii = ascii;
        Ok(())
    }

    /// REST with a random value; the offset when the server took it.
    fn do_rest(&mut self, len: u64) -> Result<Option<u64>, Stop> {
        let value: String = match self.rng.below(9) {
            0 => "0".into(),
            1 | 2 => self.rng.below(len + 1).to_string(),
            3 => len.to_string(),
            4 => (len + 1 + self.rng.below(1000)).to_string(),
            5 => (i64::MAX as u64 - self.rng.below(3)).to_string(),
            6 => (i64::MAX as u64 + 1 + self.rng.below(3)).to_string(),
            7 => u64::MAX.to_string(),
            _ => (*self.rng.pick(&["-1", "abc", "18446744073709551616", ""])).to_string(),
        };
        let r = self.cmd(&format!("REST {value}"))?;
        match r.code {
            350 => match value.parse::<u64>() {
                Ok(v) if v <= i64::MAX as u64 => Ok(Some(v)),
                _ => finding(format!("REST {value:?} accepted: {}", r.lines[0])),
            },
            501 | 500 | 504 => Ok(None),
            _ => finding(format!("REST {value} → {}", r.lines[0])),
        }
    }

    /// RETR `path`; `expect` is the file's content when nobody writes it.
    fn retr(&mut self, path: &str, expect: Option<Vec<u8>>, abort: bool) -> Step {
        let expect = expect.filter(|_| !std::mem::take(&mut self.stale_rest));
        let mode = self.mode();
        let Some(p) = self.data(mode)? else {
            return self.sync();
        };
        let len = expect.as_ref().map_or(1000, |e| e.len() as u64);
        let rest = if self.rng.chance(25) {
            self.do_rest(len)?
        } else {
            None
        };
        let r = self.cmd(&format!("RETR {path}"))?;
        if r.code != 150 && r.code != 125 {
            return Ok(());
        }
        let Some(mut s) = Client::stream(p) else {
            return finding(format!("{mode:?}: no data connection after 150"));
        };
        if abort {
            let mut buf = vec![0u8; self.rng.below(70_000) as usize + 1];
            let _ = s.read(&mut buf);
            self.abort()?;
            drop(s);
            return self.sync();
        }
        if self.rng.chance(5) {
            // Close the data connection early.
            let mut buf = vec![0u8; self.rng.below(10_000) as usize + 1];
            let _ = s.read(&mut buf);
            drop(s);
            let r = self.reply()?;
            return match r.code {
                226 | 426 | 451 => Ok(()),
                _ => finding(format!("RETR closed early → {}", r.lines[0])),
            };
        }
        if self.rng.chance(4) {
            // Hang up mid-transfer, or QUIT.
            if self.rng.chance(50) {
                return Err(Stop::Ended);
            }
            self.send(b"QUIT\r\n")?;
            loop {
                let r = self.reply()?;
                if r.code == 221 {
                    return Err(Stop::Ended);
                }
            }
        }
        let mut got = Vec::new();
        let read_ok = s.read_to_end(&mut got).is_ok();
        drop(s);
        let r = self.reply()?;
        if r.code != 226 {
            return match r.code {
                426 | 451 | 425 => Ok(()),
                _ => finding(format!("RETR {path} → {}", r.lines[0])),
            };
        }
        if !read_ok {
            return finding(format!("RETR {path}: 226 but the data connection failed"));
        }
        if let Some(file) = expect {
            let off = rest.unwrap_or(0) as usize;
            if self.ascii && off > 0 {
                return Ok(()); // REST in TYPE A counts file bytes; not modelled
            }
            if off > file.len() {
                return finding(format!("RETR {path} with REST {off} past the end → 226"));
            }
            let want = if self.ascii {
                to_network(&file)
            } else {
                file[off..].to_vec()
            };
            if got != want {
                return finding(format!(
                    "RETR {path} ({mode:?}, ascii {}, rest {off}): {} bytes, want {}; first difference at {:?}",
                    self.ascii,
                    got.len(),
                    want.len(),
                    got.iter().zip(&want).position(|(a, b)| a != b)
                ));
            }
        }
        Ok(())
    }

    /// ABOR while a transfer runs: plain, or Telnet IP + urgent DM.
    fn abort(&mut self) -> Step {
        if self.rng.chance(50) {
            self.send(b"ABOR\r\n")
        } else {
            self.log.push("> IAC IP IAC(urgent) DM ABOR".into());
            self.writer
                .write_all(&[0xff, 0xf4])
                .map_err(|_| Stop::Ended)?;
            let fd = self.writer.as_raw_fd();
            nix::sys::socket::send(fd, &[0xff], nix::sys::socket::MsgFlags::MSG_OOB)
                .map_err(|_| Stop::Ended)?;
            self.writer
                .write_all(b"\xf2ABOR\r\n")
                .map_err(|_| Stop::Ended)
        }
    }

    /// STOR or APPE of a private file, checked against the model.
    fn store(&mut self, name: &str, append: bool, abort: bool) -> Step {
        if std::mem::take(&mut self.stale_rest) {
            self.model.insert(name.to_string(), None);
        }
        let mode = self.mode();
        let path = format!("p/{}-{name}", self.tag);
        let size = *self
            .rng
            .pick(&[0usize, 1, 2, 4096, 65_536, 65_537, 262_145, 1 << 20]);
        let data = self.rng.bytes(size);
        let Some(p) = self.data(mode)? else {
            return self.sync();
        };
        let known_len = self
            .model
            .get(name)
            .cloned()
            .flatten()
            .map_or(0, |m| m.len() as u64);
        let rest = if !append && self.rng.chance(20) {
            self.do_rest(known_len + 10)?
        } else {
            None
        };
        // Junk before the command: on a passive connection it is file data.
        let mut sent = Vec::new();
        if let Pending::Connected(s) = &p {
            if self.rng.chance(10) {
                let n = self.rng.below(300) as usize + 1;
                let junk = self.rng.bytes(n);
                let mut s = s.try_clone().unwrap();
                if s.write_all(&junk).is_ok() {
                    sent.extend_from_slice(&junk);
                }
            }
        }
        let verb = if append { "APPE" } else { "STOR" };
        let before = self.model.get(name).cloned().unwrap_or(Some(Vec::new()));
        let r = self.cmd(&format!("{verb} {path}"))?;
        if r.code != 150 && r.code != 125 {
            return Ok(());
        }
        // From here the file's content is unknown until a 226.
        self.model.insert(name.to_string(), None);
        let Some(mut s) = Client::stream(p) else {
            return finding(format!("{mode:?}: no data connection after 150"));
        };
        if abort {
            let cut = self.rng.below(data.len() as u64 + 1) as usize;
            let _ = s.write_all(&data[..cut]);
            self.abort()?;
            drop(s);
            return self.sync();
        }
        if self.rng.chance(3) {
            let cut = self.rng.below(data.len() as u64 + 1) as usize;
            let _ = s.write_all(&data[..cut]);
            if self.rng.chance(50) {
                // Reset: SO_LINGER 0, then close.
                let _ = nix::sys::socket::setsockopt(
                    &s,
                    nix::sys::socket::sockopt::Linger,
                    &libc::linger {
                        l_onoff: 1,
                        l_linger: 0,
                    },
                );
            }
            drop(s);
            let r = self.reply()?;
            // 425: the reset reached the server before it took the
            // connection into use.
            return match r.code {
                226 | 425 | 426 | 451 | 452 | 552 => Ok(()),
                _ => finding(format!("{verb} cut short → {}", r.lines[0])),
            };
        }
        if s.write_all(&data).is_err() {
            drop(s);
            let _ = self.reply()?;
            return Ok(());
        }
        sent.extend_from_slice(&data);
        let _ = s.shutdown(Shutdown::Write);
        let mut tail = Vec::new();
        let _ = s.read_to_end(&mut tail);
        drop(s);
        let r = self.reply()?;
        if r.code != 226 {
            return match r.code {
                426 | 451 | 452 | 552 | 554 | 550 => Ok(()),
                _ => finding(format!("{verb} {path} → {}", r.lines[0])),
            };
        }
        let stored = if self.ascii {
            from_network(&sent)
        } else {
            sent
        };
        let Some(mut want) = before else {
            return Ok(()); // the old content was unknown
        };
        if append {
            want.extend_from_slice(&stored);
        } else if let Some(off) = rest.filter(|&o| o > 0) {
            if self.ascii {
                return Ok(());
            }
            // REST then STOR writes at the offset and truncates nothing
            // (as vsftpd): bytes past the written range stay, a gap reads
            // as zeros.
            if !stored.is_empty() {
                let too_far = usize::try_from(off).map_or(true, |o| o > 64 << 20);
                if too_far {
                    return finding(format!(
                        "STOR of {} bytes with REST {off} → 226",
                        stored.len()
                    ));
                }
                let off = off as usize;
                let end = off + stored.len();
                want.resize(want.len().max(end), 0);
                want[off..end].copy_from_slice(&stored);
            }
        } else {
            want = stored;
        }
        let on_disk = fs::read(self.fx.home.join(&path)).unwrap_or_default();
        if on_disk != want {
            return finding(format!(
                "{verb} {path} ({mode:?}, ascii {}, rest {rest:?}): {} bytes on disk, want {}; first difference at {:?}",
                self.ascii,
                on_disk.len(),
                want.len(),
                on_disk.iter().zip(&want).position(|(a, b)| a != b)
            ));
        }
        self.model.insert(name.to_string(), Some(want));
        Ok(())
    }

    fn listing(&mut self) -> Step {
        let verb = *self
            .rng
            .pick(&["LIST", "NLST", "MLSD", "LIST -la", "NLST ro"]);
        let target = if verb.contains(' ') { "" } else { " ro" };
        let mode = self.mode();
        let Some(p) = self.data(mode)? else {
            return self.sync();
        };
        let r = self.cmd(&format!("{verb}{target}"))?;
        if r.code != 150 && r.code != 125 {
            return Ok(());
        }
        let Some(mut s) = Client::stream(p) else {
            return finding(format!("{mode:?}: no data connection after 150"));
        };
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got);
        drop(s);
        let r = self.reply()?;
        let want = if target.is_empty() && verb != "NLST ro" {
            "ro"
        } else {
            "r4"
        };
        if r.code == 226 && !String::from_utf8_lossy(&got).contains(want) {
            return finding(format!(
                "{verb}{target}: {want} missing from {:?}",
                String::from_utf8_lossy(&got)
            ));
        }
        Ok(())
    }

    /// Hostile or odd lines; each gets one reply, checked by `sync`.
    fn junk(&mut self) -> Step {
        let n = self.rng.below(14);
        let line: Vec<u8> = match n {
            0 => b"PORT 127,0,0,1,0,21".to_vec(),
            1 => b"EPRT |2|::1|1025|".to_vec(),
            2 => b"EPRT |1|10.0.0.1|2000|".to_vec(),
            3 => b"PORT 1,2,3".to_vec(),
            4 => vec![b'A'; 5000],
            5 => b"SIZE ro/r4".to_vec(),
            6 => b"MDTM ro/../../etc/passwd".to_vec(),
            7 => b"CWD /ro/../..".to_vec(),
            8 => b"RETR \xff\xfe".to_vec(),
            9 => b"STAT".to_vec(),
            10 => b"HELP".to_vec(),
            11 => b"OPTS HASH SHA-1".to_vec(),
            12 => b"MLST ro/r2".to_vec(),
            _ => {
                let mut v = self.rng.bytes(40);
                v.retain(|&b| b != b'\r' && b != b'\n' && b != 0 && b != 0xff);
                v
            }
        };
        let mut full = line;
        full.extend_from_slice(b"\r\n");
        self.send(&full)?;
        self.sync()
    }

    fn hash(&mut self) -> Step {
        let (name, _) = self.fx.ro[self.rng.below(self.fx.ro.len() as u64) as usize].clone();
        self.send(format!("HASH ro/{name}\r\n").as_bytes())?;
        if self.rng.chance(30) {
            self.abort()?;
        } else if self.rng.chance(10) {
            return Err(Stop::Ended);
        }
        self.sync()
    }

    fn run(&mut self, steps: u64) -> Step {
        let r = self.reply()?;
        if r.code != 220 {
            return finding(format!("greeting {}", r.lines[0]));
        }
        let named = self.rng.chance(70);
        let (u, p) = if named {
            (USER, PASS)
        } else {
            ("anonymous", "fuzz@")
        };
        if self.cmd(&format!("USER {u}"))?.code != 331 {
            return finding("USER not 331".into());
        }
        let r = self.cmd(&format!("PASS {p}"))?;
        if r.code != 230 {
            return finding(format!("PASS → {}", r.lines[0]));
        }
        for _ in 0..steps {
            let pick = self.rng.below(100);
            match pick {
                0..=7 => {
                    let a = self.rng.chance(50);
                    self.set_type(a)?
                }
                8..=15 => {
                    let len = self.fx.ro[4].1.len() as u64;
                    if self.do_rest(len)?.is_some() {
                        self.stale_rest = true;
                    }
                }
                16..=35 => {
                    let i = self.rng.below(self.fx.ro.len() as u64) as usize;
                    let (name, data) = self.fx.ro[i].clone();
                    let abort = self.rng.chance(10);
                    self.retr(&format!("ro/{name}"), Some(data), abort)?
                }
                36..=55 if named => {
                    let name = format!("f{}", self.rng.below(3));
                    let append = self.rng.chance(25);
                    let abort = self.rng.chance(8);
                    self.store(&name, append, abort)?
                }
                56..=63 if named => {
                    let name = format!("f{}", self.rng.below(3));
                    let expect = self.model.get(&name).cloned().flatten();
                    if expect.is_some() {
                        let path = format!("p/{}-{name}", self.tag);
                        self.retr(&path, expect, false)?
                    }
                }
                64..=71 if named => {
                    // The shared file: written and read by many sessions.
                    if self.rng.chance(50) {
                        let mode = self.mode();
                        if let Some(p) = self.data(mode)? {
                            let r = self.cmd("STOR c/shared")?;
                            if r.code == 150 || r.code == 125 {
                                if let Some(mut s) = Client::stream(p) {
                                    let n = self.rng.below(200_000) as usize;
                                    let data = self.rng.bytes(n);
                                    let _ = s.write_all(&data);
                                }
                                let _ = self.reply()?;
                            }
                        } else {
                            self.sync()?;
                        }
                    } else {
                        let abort = self.rng.chance(10);
                        self.retr("c/shared", None, abort)?
                    }
                }
                72..=79 => self.listing()?,
                80..=89 => self.junk()?,
                90..=93 => self.hash()?,
                94..=96 => {
                    // A data connection opened and closed without a command.
                    let mode = self.mode();
                    if let Some(Pending::Connected(s)) = self.data(mode)? {
                        drop(s);
                    }
                    self.sync()?
                }
                _ => {
                    let r = self.cmd("QUIT")?;
                    if r.code != 221 {
                        return finding(format!("QUIT → {}", r.lines[0]));
                    }
                    return Err(Stop::Ended);
                }
            }
        }
        let _ = self.cmd("QUIT");
        Ok(())
    }
}

fn wait_readable(l: &TcpListener) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    let mut fds = [PollFd::new(l.as_fd(), PollFlags::POLLIN)];
    let _ = poll(&mut fds, PollTimeout::from(1000u16));
}

/// Runs session `index` of base seed `seed`; `Err` with the session's log
/// on a finding.
fn session(fx: &Fixture, seed: u64, index: usize) -> Result<(), String> {
    let s = match TcpStream::connect(("127.0.0.1", fx.srv.port)) {
        Ok(s) => s,
        Err(e) => return Err(format!("connect: {e}")),
    };
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    s.set_write_timeout(Some(TIMEOUT)).unwrap();
    let writer = s.try_clone().unwrap();
    let mut rng = Rng::new(seed ^ (index as u64).wrapping_mul(0xA24B_AED4_963E_E407));
    let steps = 1 + rng.below(25);
    let mut c = Client {
        fx,
        rng,
        reader: BufReader::new(s),
        writer,
        ascii: false,
        stale_rest: false,
        model: HashMap::new(),
        tag: format!("s{index}"),
        log: Vec::new(),
    };
    match c.run(steps) {
        Ok(()) | Err(Stop::Ended) => Ok(()),
        Err(Stop::Finding(f)) => {
            let tail: Vec<&String> = c.log.iter().rev().take(30).rev().collect();
            Err(format!("{f}\nlast lines of the session:\n{tail:#?}"))
        }
    }
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn random_sessions_against_a_live_server() {
    let seed = env_num(
        "FUZZ_SEED",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    );
    let sessions = env_num("FUZZ_SESSIONS", 3000) as usize;
    let clients = env_num("FUZZ_CLIENTS", 8) as usize;
    let only = std::env::var("FUZZ_ONLY")
        .ok()
        .and_then(|v| v.parse::<usize>().ok());
    eprintln!("fuzz_server: FUZZ_SEED={seed} FUZZ_SESSIONS={sessions} FUZZ_CLIENTS={clients}");

    let fx = Arc::new(fixture());
    let pid = fx.srv.pid();
    // Baseline: the server as started, before any session.
    let base_fds = fd_count(pid);
    let base_rss = rss_kib(pid);

    let next = Arc::new(AtomicUsize::new(0));
    let findings = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (fx, next, findings) = (fx.clone(), next.clone(), findings.clone());
            std::thread::spawn(move || loop {
                let i = match only {
                    Some(k) => {
                        if next.fetch_add(1, Ordering::Relaxed) > 0 {
                            return;
                        }
                        k
                    }
                    None => next.fetch_add(1, Ordering::Relaxed),
                };
                if i >= sessions && only.is_none() {
                    return;
                }
                if let Err(e) = session(&fx, seed, i) {
                    findings
                        .lock()
                        .unwrap()
                        .push(format!("FUZZ_SEED={seed} FUZZ_ONLY={i}: {e}"));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("client thread");
    }
    let elapsed = started.elapsed();
    let findings = findings.lock().unwrap().clone();
    assert!(
        findings.is_empty(),
        "{} findings; first:\n{}",
        findings.len(),
        findings[0]
    );

    // The server is alive and serves a new session on each worker.
    for k in 0..8 {
        session(&fx, seed ^ 0x5555, usize::MAX - 1 - k).expect("a session after the run");
    }
    let fds = settle_fds(pid, base_fds);
    let rss = rss_kib(pid);
    eprintln!(
        "fuzz_server: {sessions} sessions in {:.1} s; fds {base_fds} → {fds}; RSS {base_rss} → {rss} KiB",
        elapsed.as_secs_f64()
    );
    assert!(
        fds <= base_fds,
        "fd count {fds} after the run, baseline {base_fds}"
    );
    assert!(
        rss < base_rss + 256 * 1024,
        "RSS grew from {base_rss} to {rss} KiB"
    );
}

/// Waits (bounded) until the server's fd count is at most `target` and
/// returns it. The server closes a session's sockets when the ring reports
/// the hang-up, after our side has gone, and /proc offers no event for it, so
/// this re-reads the count every 50 ms for up to 20 s.
fn settle_fds(pid: u32, target: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = fd_count(pid);
        if now <= target || Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
