//! Control connections as io_uring direct descriptors (issue 14): the
//! server holds more sessions than its open-files limit, and
//! `--no-direct-descriptors` falls back to regular fds, which that limit
//! bounds again.

mod support;

use support::ftp::Ftp;
use support::{spawn_until_started, Mode, Server, ServerOpts, Tree};

const PASV: (u16, u16) = (61000, 61999);

const NO_PER_ADDRESS_LIMITS: [&str; 6] = [
    "--sessions-per-ip-max",
    "0",
    "--connections-per-ip-per-sec-max",
    "0",
    "--commands-per-sec-max",
    "0",
];

fn args(extra: &[&str]) -> ServerOpts {
    ServerOpts::new(PASV)
        .cores(2)
        .args(&NO_PER_ADDRESS_LIMITS)
        .args(extra)
}

/// 1,000 logged-in sessions on a server whose open-files soft limit is 256:
/// every one answers NOOP, and the server's fd table stays small. (The
/// kernel sizes a ring's file table by the limit at registration, so the
/// hard limit stays as it was: the engine raises the soft one only for that.)
#[test]
fn a_thousand_sessions_under_an_open_files_limit_of_256() {
    let t = Tree::new("direct");
    let srv = Server::start_with_ulimit("-S -n 256", &t.root, args(&[]));
    let soft = std::fs::read_to_string(format!("/proc/{}/limits", srv.pid())).unwrap();
    let line = soft
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    assert_eq!(
        line.split_whitespace().nth(3),
        Some("256"),
        "the soft limit is back at 256: {line}"
    );
    assert!(
        srv.start_line.ends_with("per worker (direct descriptors)"),
        "{}",
        srv.start_line
    );
    let mut sessions = Vec::new();
    for i in 0..1000 {
        let mut f = Ftp::connect_from("127.0.0.1".parse().unwrap(), srv.addr());
        let (code, text) = (f.greeting.code, f.greeting.text());
        assert_eq!(code, 220, "session {i}: {text:?}");
        f.log_in("anonymous", "a@b");
        sessions.push(f);
    }
    for (i, f) in sessions.iter_mut().enumerate() {
        let r = f.cmd("NOOP");
        assert_eq!(r.code, 200, "session {i}: {:?}", r.text());
    }
    let fds = srv.fd_count();
    assert!(fds < 256, "the server holds {fds} fds for 1000 sessions");
    // A transfer still works (data connections are regular fds).
    let (code, data) = sessions[999].try_download(Mode::Pasv, "RETR pub/file.txt");
    assert_eq!((code, data.as_slice()), (226, &b"public data\n"[..]));
    for f in sessions.iter_mut().take(10) {
        f.expect("QUIT", 221);
    }
}

/// The fallback: with regular fds every session holds one of them.
#[test]
fn no_direct_descriptors_holds_sessions_as_regular_fds() {
    let t = Tree::new("nodirect");
    let srv = Server::start(&t.root, args(&["--no-direct-descriptors"]));
    assert!(
        srv.start_line.ends_with("per worker (regular fds)"),
        "{}",
        srv.start_line
    );
    let before = srv.fd_count();
    let mut sessions = Vec::new();
    for _ in 0..50 {
        let mut f = Ftp::connect_to(srv.addr());
        f.log_in("anonymous", "a@b");
        sessions.push(f);
    }
    for f in sessions.iter_mut() {
        f.expect("NOOP", 200);
    }
    let after = srv.fd_count();
    assert!(after >= before + 50, "fds {before} → {after}");
}

/// `--sessions-max N` bounds the sessions (and sizes the file table): the
/// next connection gets 421 at the greeting, and a freed slot is reused.
#[test]
fn sessions_max_refuses_the_next_and_a_freed_slot_serves_again() {
    let t = Tree::new("smax");
    let opts = ServerOpts::new(PASV)
        .cores(1)
        .args(&["--sessions-max", "5"])
        .args(&NO_PER_ADDRESS_LIMITS);
    let srv = Server::start(&t.root, opts);
    assert!(
        srv.start_line
            .ends_with("sessions-max 5 per worker (direct descriptors)"),
        "{}",
        srv.start_line
    );
    let mut held: Vec<Ftp> = (0..5).map(|_| Ftp::connect_to(srv.addr())).collect();
    let refused = Ftp::connect_from("127.0.0.1".parse().unwrap(), srv.addr());
    assert_eq!(refused.greeting.code, 421, "{:?}", refused.greeting.text());
    // QUIT's 221, then the server's close (EOF) is the event waited on. The
    // slot frees when the worker has reaped that close, which can come a
    // moment after the client sees EOF: a few 421s are allowed.
    let mut last = held.pop().unwrap();
    last.expect("QUIT", 221);
    assert!(last.try_reply("EOF after QUIT").is_none(), "EOF after QUIT");
    let served = (0..200).any(|_| {
        let mut f = Ftp::connect_from("127.0.0.1".parse().unwrap(), srv.addr());
        f.greeting.code == 220 && f.cmd("NOOP").code == 200
    });
    assert!(served, "a freed session slot is used again");
}

/// When the kernel refuses the file table (here: one larger than the hard
/// open-files limit), the server says so in one line and serves with
/// regular fds.
#[test]
fn a_refused_file_table_falls_back_with_one_line() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let t = Tree::new("fallback");
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("ulimit -n 256 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_ringftpd"))
        .arg("--root")
        .arg(&t.root)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--cores",
            "1",
            "--sessions-max",
            "1000",
        ])
        .stderr(Stdio::piped());
    let (mut child, line) = spawn_until_started(&mut cmd);
    assert!(
        line.trim_end()
            .ends_with("sessions-max 1000 per worker (regular fds)"),
        "{line:?}"
    );
    let addr: std::net::SocketAddr = line.split_whitespace().nth(3).unwrap().parse().unwrap();
    let mut f = Ftp::connect_to(addr);
    f.log_in("anonymous", "a@b");
    f.expect("NOOP", 200);
    child.kill().unwrap();
    child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("direct descriptors"))
        .collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains("EMFILE") && lines[0].contains("regular fds"),
        "{}",
        lines[0]
    );
}
