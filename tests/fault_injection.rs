//! Faults from the machine and the network, on a live server (issue 8):
//! a full disk, running out of file descriptors, clients that reset data
//! connections mid-transfer, a reader that stops reading, and a flood of
//! data connections nobody uses. Each test checks the reply the faulty
//! transfer gets, that the same session goes on, that nothing leaks
//! (the server's fd count comes back), and that another client is served.

mod support;

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::ftp::{parse_229, Ftp};
use support::{users_file, Mode, Server, ServerOpts, TempDir, PASS, USER};

const PASV: (u16, u16) = (30400, 30499);

fn user_server(home: &Path, extra: &[&str]) -> Server {
    let users = users_file(home.parent().unwrap(), &[(USER, home, "all")]);
    let mut opts = ServerOpts::new(PASV).users(users).cores(1);
    for a in extra {
        opts = opts.arg(a);
    }
    Server::start(home, opts)
}

/// Descriptors held, pooled passive listeners not counted (bounded, and
/// closed when idle: not a leak).
fn fd_count(pid: u32) -> usize {
    support::fds_without_pooled(pid, PASV)
}

/// Waits (bounded) for the server's fd count to come back to `baseline`.
/// The server closes a socket when the ring reports the peer's close, which
/// /proc offers no event for, so this re-reads the count.
fn assert_fds_back(pid: u32, baseline: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut now = fd_count(pid);
    while now > baseline && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        now = fd_count(pid);
    }
    assert!(now <= baseline, "server fds {now}, baseline {baseline}");
}

/// Another client logs in, uploads and downloads a small file byte-exact.
fn assert_others_served(srv: &Server, name: &str) {
    let mut f = Ftp::login(srv.port, USER, PASS);
    f.upload(Mode::Epsv, &format!("STOR {name}"), b"still serving\n");
    assert_eq!(
        f.download(Mode::Pasv, &format!("RETR {name}")),
        b"still serving\n"
    );
    f.expect(&format!("DELE {name}"), 250);
    f.quit();
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

/// Closes `s` with a TCP reset (SO_LINGER 0).
fn reset(s: TcpStream) {
    nix::sys::socket::setsockopt(
        &s,
        nix::sys::socket::sockopt::Linger,
        &libc::linger {
            l_onoff: 1,
            l_linger: 0,
        },
    )
    .unwrap();
    drop(s);
}

// ---------------------------------------------------------------------------
// ENOSPC

/// A 1 MiB tmpfs, unmounted on drop.
struct SmallDisk {
    dir: TempDir,
}

impl SmallDisk {
    fn mount() -> SmallDisk {
        let dir = TempDir::new("enospc");
        let home = dir.join("home");
        fs::create_dir(&home).unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m,mode=0755", "ringftpd-test"])
            .arg(&home)
            .status()
            .expect("run mount");
        assert!(
            st.success(),
            "mounting a tmpfs needs root (the test suite runs as root, as CI does)"
        );
        SmallDisk { dir }
    }

    fn home(&self) -> std::path::PathBuf {
        self.dir.join("home")
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.home()).status();
    }
}

#[test]
fn a_full_disk_gets_452_or_552_and_the_session_goes_on() {
    let disk = SmallDisk::mount();
    let home = disk.home();
    let srv = user_server(&home, &[]);
    let mut f = Ftp::login(srv.port, USER, PASS);
    let baseline = fd_count(srv.pid());
    for mode in Mode::ALL {
        let mut s = f.start(mode, "STOR big");
        // 4 MiB into a 1 MiB disk: the server stops receiving at ENOSPC and
        // closes the data connection, so the write may fail; both are fine.
        let _ = s.write_all(&pattern(4 << 20));
        drop(s);
        let r = f.reply("STOR big");
        assert!(
            r.code == 452 || r.code == 552,
            "{mode:?}: STOR on a full disk → {:?}",
            r.text()
        );
        // The session goes on: the partial file is there, can be deleted,
        // and the space it held serves the next upload.
        f.expect("NOOP", 200);
        f.expect("DELE big", 250);
        f.upload(mode, "STOR small", b"fits\n");
        assert_eq!(f.download(mode, "RETR small"), b"fits\n");
        f.expect("DELE small", 250);
    }
    f.quit();
    assert_fds_back(srv.pid(), baseline);
    assert_others_served(&srv, "after-enospc");
}

// ---------------------------------------------------------------------------
// EMFILE

/// Sets the server's open-files limit (soft and hard stay as given).
fn set_nofile(pid: u32, soft: usize, hard: &str) {
    let st = Command::new("prlimit")
        .arg(format!("--pid={pid}"))
        .arg(format!("--nofile={soft}:{hard}"))
        .status()
        .expect("run prlimit (util-linux)");
    assert!(st.success(), "prlimit failed");
}

/// The lowest descriptor number not in use: with the soft limit set to it,
/// no descriptor can be made (numbers below it are all taken).
fn lowest_free_fd(pid: u32) -> usize {
    let mut used: Vec<usize> = fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    used.sort_unstable();
    used.iter()
        .enumerate()
        .find(|(i, &fd)| *i != fd)
        .map_or(used.len(), |(i, _)| i)
}

fn hard_nofile(pid: u32) -> String {
    let limits = fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    line.split_whitespace().nth(4).unwrap().to_string()
}

#[test]
fn out_of_descriptors_refuses_the_transfer_and_the_session_goes_on() {
    let root = TempDir::new("emfile-data");
    let home = root.join("home");
    fs::create_dir(&home).unwrap();
    fs::write(home.join("f"), b"some bytes\n").unwrap();
    let srv = user_server(&home, &[]);
    let pid = srv.pid();
    let hard = hard_nofile(pid);
    let mut f = Ftp::login(srv.port, USER, PASS);
    let baseline = fd_count(pid);
    let free = lowest_free_fd(pid);
    // Not one more descriptor: the passive listener, the active socket and
    // the file open (on a helper thread of the same process) all fail.
    set_nofile(pid, free, &hard);
    let r = f.cmd("EPSV");
    assert_eq!(r.code, 425, "EPSV with no descriptor left → {:?}", r.text());
    let r = f.cmd("PASV");
    assert_eq!(r.code, 425, "PASV with no descriptor left → {:?}", r.text());
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    f.expect(&format!("EPRT |1|127.0.0.1|{port}|"), 200);
    let r = f.cmd("RETR f");
    assert!(
        r.code == 425 || r.code == 451,
        "RETR in active mode with no descriptor left → {:?}",
        r.text()
    );
    f.expect("NOOP", 200);
    // Room for the data socket but not for the file (passive: the socket is
    // taken at EPSV, the file at RETR).
    set_nofile(pid, free + 1, &hard);
    let r = f.expect("EPSV", 229);
    let data = TcpStream::connect((Ipv4Addr::LOCALHOST, parse_229(&r.lines[0]))).unwrap();
    // The accepted data socket takes the last descriptor.
    let r = f.cmd("RETR f");
    assert_eq!(
        r.code,
        451,
        "RETR with no descriptor for the file → {:?}",
        r.text()
    );
    drop(data);
    set_nofile(pid, 20_000, &hard);
    // The same session goes on and nothing leaked.
    assert_eq!(f.download(Mode::Epsv, "RETR f"), b"some bytes\n");
    assert_eq!(f.download(Mode::Port, "RETR f"), b"some bytes\n");
    f.quit();
    assert_fds_back(pid, baseline - 1);
    assert_others_served(&srv, "after-emfile");
}

// ---------------------------------------------------------------------------
// Resets mid-transfer

#[test]
fn a_client_reset_mid_retr_or_mid_stor_gets_426_and_the_session_goes_on() {
    let root = TempDir::new("reset");
    let home = root.join("home");
    fs::create_dir(&home).unwrap();
    let big = pattern(32 << 20);
    fs::write(home.join("big"), &big).unwrap();
    let srv = user_server(&home, &[]);
    let mut f = Ftp::login(srv.port, USER, PASS);
    let baseline = fd_count(srv.pid());
    for mode in Mode::ALL {
        // RETR: read a little, then reset.
        let mut s = f.start(mode, "RETR big");
        let mut first = vec![0u8; 64 * 1024];
        s.read_exact(&mut first).unwrap();
        assert_eq!(first, big[..first.len()]);
        reset(s);
        let r = f.reply("RETR big");
        assert!(
            r.code == 426 || r.code == 451,
            "{mode:?}: RETR reset by the client → {:?}",
            r.text()
        );
        f.expect("NOOP", 200);
        // STOR: send a part, then reset. Whatever arrived is kept; the
        // reply says the transfer did not complete.
        let mut s = f.start(mode, "STOR part");
        s.write_all(&big[..3 << 20]).unwrap();
        reset(s);
        let r = f.reply("STOR part");
        assert!(
            r.code == 426 || r.code == 451,
            "{mode:?}: STOR reset by the client → {:?}",
            r.text()
        );
        let kept = fs::metadata(home.join("part")).unwrap().len();
        assert!(kept <= 3 << 20, "{mode:?}: {kept} bytes kept of 3 MiB sent");
        assert_eq!(
            fs::read(home.join("part")).unwrap(),
            big[..kept as usize],
            "{mode:?}: the bytes kept are the bytes sent"
        );
        // The session goes on, in the same mode.
        assert_eq!(f.download(mode, "RETR big").len(), big.len());
        f.expect("DELE part", 250);
    }
    f.quit();
    assert_fds_back(srv.pid(), baseline);
    assert_others_served(&srv, "after-reset");
}

// ---------------------------------------------------------------------------
// A reader that stops reading

#[test]
fn a_reader_that_stops_reading_is_cut_at_the_stall_timeout() {
    let root = TempDir::new("stall");
    let home = root.join("home");
    fs::create_dir(&home).unwrap();
    fs::write(home.join("big"), pattern(64 << 20)).unwrap();
    let srv = user_server(&home, &["--stall-timeout-secs", "1"]);
    let mut f = Ftp::login(srv.port, USER, PASS);
    let baseline = fd_count(srv.pid());
    for mode in [Mode::Epsv, Mode::Port] {
        // Never read: the socket buffers fill and the server can send no
        // more. The reply is the event waited on. The clock starts before
        // the transfer: the stall deadline runs from the last byte the
        // server moved, which may be before `start` returns.
        let started = Instant::now();
        let s = f.start(mode, "RETR big");
        let r = f.reply("RETR big (stalled)");
        assert_eq!(r.code, 426, "{mode:?}: stalled RETR → {:?}", r.text());
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "cut before the stall timeout"
        );
        drop(s);
        f.expect("NOOP", 200);
        // A reader that does read is not cut.
        assert_eq!(f.download(mode, "RETR big").len(), 64 << 20);
    }
    f.quit();
    assert_fds_back(srv.pid(), baseline);
    assert_others_served(&srv, "after-stall");
}

// ---------------------------------------------------------------------------
// Data connections nobody uses

#[test]
fn a_flood_of_unused_data_connections_leaves_others_served_and_leaks_nothing() {
    let root = TempDir::new("half-open");
    let home = root.join("home");
    fs::create_dir(&home).unwrap();
    fs::write(home.join("f"), b"data\n").unwrap();
    let srv = user_server(&home, &["--data-connect-timeout-secs", "2"]);
    let baseline = fd_count(srv.pid());
    let mut attacker = Ftp::login(srv.port, USER, PASS);
    let mut held = Vec::new();
    // 200 passive ports opened, each connected to (several times) and never
    // used for a transfer; the connections send nothing.
    for _ in 0..200 {
        let r = attacker.expect("EPSV", 229);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, parse_229(&r.lines[0])));
        for _ in 0..3 {
            if let Ok(s) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
                held.push(s);
            }
        }
    }
    // Meanwhile another client is served in every mode.
    let mut other = Ftp::login(srv.port, USER, PASS);
    for mode in Mode::ALL {
        assert_eq!(other.download(mode, "RETR f"), b"data\n");
    }
    other.quit();
    // The attacker's session still works; its unused data connections are
    // dropped (the server reads EOF on each or closes it at the timeout).
    assert_eq!(attacker.download(Mode::Pasv, "RETR f"), b"data\n");
    attacker.quit();
    for mut s in held {
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut buf = [0u8; 16];
        // The server closes (0) or resets (error) every one of them.
        let n = s.read(&mut buf).unwrap_or(0);
        assert_eq!(n, 0, "an unused data connection received bytes");
    }
    assert_fds_back(srv.pid(), baseline);
    assert_others_served(&srv, "after-flood");
}
