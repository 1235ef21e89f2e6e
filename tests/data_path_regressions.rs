//! Regression tests for the data-path bugs a hostile user could hit (issue 8):
//! each failed on the code before its fix.
//!
//! - TYPE A STOR: a CR held over from one receive made the converted output of
//!   the next full receive one byte longer than the registered buffer, and the
//!   worker panicked (every session on that core dropped).
//! - TYPE A RETR to a slow reader: after a second short send the rest was
//!   resent from the wrong offset, forever.
//! - REST values no file offset can hold reached the kernel (u64::MAX is
//!   io_uring's "current position"), and offsets wrapped.
//! - HASH could not be stopped: ABOR, QUIT and a disconnect left the helpers
//!   hashing to the end of a huge file.
//! - A file truncated during RETR was reported 226.

mod support;

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use support::ftp::{parse_227, Ftp};
use support::{users_file, Mode, Server, ServerOpts, TempDir, PASS, USER};

const PASV: (u16, u16) = (29000, 29999);

/// A root with a writable home for the test user, one worker (so a worker's
/// death is the whole server's).
fn user_server(tag: &str, extra: &[&str]) -> (TempDir, Server) {
    let root = TempDir::new(tag);
    let users = users_file(root.path(), &[(USER, root.path(), "all")]);
    let mut opts = ServerOpts::new(PASV).users(users).cores(1);
    for a in extra {
        opts = opts.arg(a);
    }
    let server = Server::start(root.path(), opts);
    (root, server)
}

/// The server still answers: a fresh session logs in and lists.
fn assert_still_serving(server: &Server) {
    let mut f = Ftp::login(server.port, USER, PASS);
    let listing = f.download(Mode::Epsv, "NLST");
    assert!(!listing.is_empty(), "listing after the attack");
    f.quit();
}

/// TYPE A network form → local form, the reference for the server's result.
fn from_network(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i] == b'\r' && data.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(data[i]);
        i += 1;
    }
    out
}

fn to_network(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() * 2);
    for (i, &b) in data.iter().enumerate() {
        if b == b'\n' && (i == 0 || data[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

#[test]
fn type_a_stor_lone_cr_then_a_full_buffer_keeps_the_worker_alive() {
    let (root, server) = user_server("ascii-cr", &[]);
    let mut f = Ftp::login(server.port, USER, PASS);
    f.expect("TYPE A", 200);
    let mut data = f.start(Mode::Pasv, "STOR lone-cr.txt");
    // The CR arrives alone and the server takes it in one receive (held back
    // until the next byte says whether it starts a CRLF), then 1 MiB without
    // a CR. The next test makes the receive after a held CR a full one,
    // which is what used to overflow.
    data.write_all(b"\r").unwrap();
    wait_server_consumed(&data);
    let body = vec![b'A'; 1 << 20];
    data.write_all(&body).unwrap();
    drop(data);
    let r = f.reply("STOR lone-cr.txt");
    assert_eq!(r.code, 226, "{r:?}");
    let mut want = b"\r".to_vec();
    want.extend_from_slice(&body);
    assert!(fs::read(root.join("lone-cr.txt")).unwrap() == want);
    f.quit();
    assert_still_serving(&server);
}

#[test]
fn type_a_stor_of_lone_crs_at_every_buffer_edge_is_exact() {
    // "AA\r" repeated: full receives (256 KiB, not a multiple of 3) end in a
    // held CR every third time, and the next full receive used to overflow.
    let (root, server) = user_server("ascii-crs", &[]);
    let mut f = Ftp::login(server.port, USER, PASS);
    f.expect("TYPE A", 200);
    let body: Vec<u8> = b"AA\r".repeat(6 << 20);
    let mut data = f.start(Mode::Epsv, "STOR crs.txt");
    data.write_all(&body).unwrap();
    drop(data);
    let r = f.reply("STOR crs.txt");
    assert_eq!(r.code, 226, "{r:?}");
    assert!(fs::read(root.join("crs.txt")).unwrap() == from_network(&body));
    f.quit();
    assert_still_serving(&server);
}

/// Waits (bounded) until the server's end of `data` has read everything we
/// sent: its receive queue in /proc/net/tcp is empty.
fn wait_server_consumed(data: &TcpStream) {
    let ours = data.local_addr().unwrap().port();
    let theirs = data.peer_addr().unwrap().port();
    // /proc/net/tcp: "sl local rem st tx_queue:rx_queue ...", ports in hex.
    let local = format!("0100007F:{theirs:04X}");
    let remote = format!("0100007F:{ours:04X}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let table = fs::read_to_string("/proc/net/tcp").unwrap();
        let rx = table.lines().find_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.len() > 4 && w[1] == local && w[2] == remote)
                .then(|| w[4].split_once(':').map(|(_, rx)| rx.to_string()))
                .flatten()
        });
        if rx
            .as_deref()
            .is_some_and(|rx| u64::from_str_radix(rx, 16) == Ok(0))
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "server never read the data ({rx:?})"
        );
        std::thread::yield_now();
    }
}

/// A passive data connection with a tiny receive buffer (set before connect,
/// so the window stays small and the server's sends come back short).
fn small_window_pasv(f: &mut Ftp) -> TcpStream {
    let r = f.expect("PASV", 227);
    let addr = parse_227(&r.lines[0]);
    let sock = nix::sys::socket::socket(
        nix::sys::socket::AddressFamily::Inet,
        nix::sys::socket::SockType::Stream,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        None,
    )
    .unwrap();
    nix::sys::socket::setsockopt(&sock, nix::sys::socket::sockopt::RcvBuf, &4096).unwrap();
    let sa = nix::sys::socket::SockaddrIn::from(match addr {
        SocketAddr::V4(a) => a,
        SocketAddr::V6(_) => unreachable!("PASV is IPv4"),
    });
    nix::sys::socket::connect(sock.as_raw_fd(), &sa).unwrap();
    let s = TcpStream::from(sock);
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s
}

#[test]
fn type_a_retr_to_a_slow_reader_is_exact_and_ends() {
    let (root, server) = user_server("ascii-slow", &[]);
    let mut text = Vec::new();
    for i in 0..400_000u32 {
        text.extend_from_slice(format!("line {i}\n").as_bytes());
    }
    fs::write(root.join("text.txt"), &text).unwrap();
    let want = to_network(&text);
    let mut f = Ftp::login(server.port, USER, PASS);
    f.expect("TYPE A", 200);
    let mut data = small_window_pasv(&mut f);
    f.expect("RETR text.txt", 150);
    // Read in small pieces; stop as soon as more than the right length came
    // (the old code resent forever).
    let mut got = Vec::with_capacity(want.len());
    let mut buf = [0u8; 4096];
    loop {
        let n = data.read(&mut buf).expect("read data");
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        assert!(got.len() <= want.len(), "more bytes than the file has");
    }
    assert_eq!(got.len(), want.len());
    assert!(got == want, "TYPE A bytes differ");
    let r = f.reply("RETR text.txt");
    assert_eq!(r.code, 226, "{r:?}");
    f.quit();
}

#[test]
fn rest_values_no_file_offset_can_hold_are_refused() {
    let (root, server) = user_server("rest-huge", &[]);
    fs::write(root.join("f.txt"), b"0123456789\n").unwrap();
    let mut f = Ftp::login(server.port, USER, PASS);
    // Kernel file offsets are signed 64-bit: anything above i64::MAX is 501.
    for n in ["18446744073709551615", "9223372036854775808"] {
        f.expect(&format!("REST {n}"), 501);
    }
    // A refused REST leaves no marker behind: STOR writes from 0.
    f.upload(Mode::Epsv, "STOR up.txt", b"abc");
    assert_eq!(fs::read(root.join("up.txt")).unwrap(), b"abc");
    // TYPE A RETR after a refused REST is the whole file, once.
    f.expect("TYPE A", 200);
    f.expect("REST 18446744073709551615", 501);
    let got = f.download(Mode::Epsv, "RETR f.txt");
    assert_eq!(got, b"0123456789\r\n");
    // The largest offset is accepted, and a write there fails cleanly.
    f.expect("TYPE I", 200);
    f.expect("REST 9223372036854775807", 350);
    let mut d = f.start(Mode::Epsv, "STOR far.bin");
    let _ = d.write_all(b"x");
    drop(d);
    let r = f.reply("STOR far.bin");
    assert!(
        r.code == 552 || r.code == 451 || r.code == 452,
        "write at i64::MAX: {r:?}"
    );
    // REST past the end of a file is refused by RETR (RFC 1123 §4.1.3.4: 554).
    f.expect("REST 12", 350);
    let pending = f.data(Mode::Epsv);
    let r = f.cmd("RETR f.txt");
    assert_eq!(r.code, 554, "{r:?}");
    drop(pending);
    // REST at the end is an empty, successful transfer.
    f.expect("REST 11", 350);
    assert!(f.download(Mode::Epsv, "RETR f.txt").is_empty());
    f.quit();
    assert_still_serving(&server);
}

/// State letters of the server's helper threads (`/proc/PID/task/*/stat`).
fn helper_states(pid: u32) -> Vec<char> {
    let mut out = Vec::new();
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in tasks.flatten() {
        let comm = fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        if !comm.starts_with("ringftpd-helper") {
            continue;
        }
        let stat = fs::read_to_string(t.path().join("stat")).unwrap_or_default();
        // The state follows the ")" that closes the command name.
        if let Some(s) = stat
            .rsplit_once(')')
            .and_then(|(_, r)| r.trim().chars().next())
        {
            out.push(s);
        }
    }
    out
}

/// Waits (bounded) until no helper thread is running or in disk wait.
fn wait_helpers_idle(pid: u32, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let states = helper_states(pid);
        if !states.is_empty() && states.iter().all(|&s| s == 'S') {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: helpers still busy {states:?}"
        );
        std::thread::yield_now();
    }
}

/// A sparse file that takes minutes to hash.
fn huge_sparse(root: &TempDir, name: &str) {
    let f = fs::File::create(root.join(name)).unwrap();
    f.set_len(1 << 40).unwrap();
}

fn hash_then(kind: &str) {
    let (root, server) = user_server(&format!("hash-{kind}"), &["--helper-threads", "2"]);
    huge_sparse(&root, "huge.bin");
    let pid = server.pid();
    let mut f = Ftp::login(server.port, USER, PASS);
    f.send("HASH huge.bin");
    // The hash is under way once a helper is busy.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !helper_states(pid).iter().any(|&s| s == 'R' || s == 'D') {
        assert!(Instant::now() < deadline, "HASH never started");
        std::thread::yield_now();
    }
    match kind {
        "abor" => {
            f.send("ABOR");
            let r = f.reply("HASH huge.bin");
            assert_eq!(r.code, 426, "{r:?}");
            let r = f.reply("ABOR");
            assert_eq!(r.code, 226, "{r:?}");
            f.expect("NOOP", 200);
            wait_helpers_idle(pid, "after ABOR");
            f.quit();
        }
        "telnet-abor" => {
            // IAC IP, then IAC DM as urgent data, then ABOR (RFC 959 §4.1.3).
            f.send_raw(&[255, 244, 255, 242]);
            f.send("ABOR");
            let r = f.reply("HASH huge.bin");
            assert_eq!(r.code, 426, "{r:?}");
            let r = f.reply("ABOR");
            assert_eq!(r.code, 226, "{r:?}");
            wait_helpers_idle(pid, "after Telnet ABOR");
            f.quit();
        }
        "quit" => {
            f.send("QUIT");
            let r = f.reply("QUIT");
            assert_eq!(r.code, 221, "{r:?}");
            wait_helpers_idle(pid, "after QUIT");
        }
        _ => {
            drop(f);
            wait_helpers_idle(pid, "after disconnect");
        }
    }
    assert_still_serving(&server);
}

#[test]
fn hash_is_stopped_by_abor() {
    hash_then("abor");
}

#[test]
fn hash_is_stopped_by_telnet_abor() {
    hash_then("telnet-abor");
}

#[test]
fn hash_is_stopped_by_quit() {
    hash_then("quit");
}

#[test]
fn hash_is_stopped_by_disconnect() {
    hash_then("disconnect");
}

fn truncated_during_retr(retr_path: &str) {
    let (root, server) = user_server(&format!("trunc-{retr_path}"), &["--retr-path", retr_path]);
    let path = root.join("big.bin");
    fs::write(&path, vec![7u8; 64 << 20]).unwrap();
    let mut f = Ftp::login(server.port, USER, PASS);
    let mut data = small_window_pasv(&mut f);
    f.expect("RETR big.bin", 150);
    let mut buf = vec![0u8; 4096];
    data.read_exact(&mut buf).unwrap();
    // Most of the file is still to send: the socket buffers hold a few MiB.
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(1 << 20)
        .unwrap();
    let mut rest = Vec::new();
    let _ = data.read_to_end(&mut rest);
    let r = f.reply("RETR big.bin");
    assert_eq!(r.code, 451, "file shrank during RETR: {r:?}");
    f.quit();
}

#[test]
fn a_file_truncated_during_sendfile_retr_is_reported_451() {
    truncated_during_retr("sendfile");
}

#[test]
fn a_file_truncated_during_splice_retr_is_reported_451() {
    truncated_during_retr("splice");
}

/// Starts `ringftpd` with `args` (stdout and stderr piped) and returns it with
/// the control port from its start line.
fn spawn_raw(root: &TempDir, args: &[&str]) -> (std::process::Child, u16) {
    let (child, line) = support::spawn_until_started(
        std::process::Command::new(support::BIN)
            .arg("--root")
            .arg(root.path())
            .args(["--listen", "127.0.0.1:0", "--pasv-ports", "29000-29999"])
            .args(args)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped()),
    );
    let port = line
        .split_whitespace()
        .nth(3)
        .and_then(|a| a.parse::<SocketAddr>().ok())
        .map(|a| a.port())
        .unwrap_or_else(|| panic!("start line {line:?}"));
    (child, port)
}

fn a_worker_panic_ends_the_process(cores: &str, nth: u64) {
    let root = TempDir::new("worker-death");
    let nth_s = nth.to_string();
    let (mut child, port) = spawn_raw(
        &root,
        &["--cores", cores, "--test-panic-after-accepts", &nth_s],
    );
    let mut stderr = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    for i in 1..=nth {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).unwrap_or(0);
        if i < nth {
            assert!(buf[..n].starts_with(b"220"), "greeting {i}");
        } else {
            assert!(!buf[..n].starts_with(b"220"), "the dying worker greeted");
        }
    }
    let (status, _) = support::wait_with_limit(child, Duration::from_secs(30));
    let status = status.expect("the process must exit when a worker dies");
    assert_eq!(status.code(), Some(70), "exit status {status:?}");
    let err = err_reader.join().unwrap();
    assert!(
        err.contains("fatal: thread ringftpd-w") && err.contains("panicked"),
        "stderr names the dead worker: {err}"
    );
    // Nothing listens any more: no connection is accepted and left unanswered.
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn a_worker_panic_ends_a_one_worker_server() {
    a_worker_panic_ends_the_process("1", 2);
}

#[test]
fn a_worker_panic_ends_a_two_worker_server() {
    a_worker_panic_ends_the_process("2", 1);
}
