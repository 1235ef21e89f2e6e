//! Login attacks (issue 5 item 3): brute force against one session (421
//! after `--login-failures-max`), across sessions (per-address ban at the
//! greeting, other addresses unaffected), the failed-login delay not blocking
//! other sessions, and the login timeout.

mod support;

use support::ftp::Ftp;
use support::{Mode, Server, ServerOpts, Tree, PASS, USER};

/// The server's default passive ports.
const PASV: (u16, u16) = (61000, 61999);

#[test]
fn brute_force_gets_421_per_session_then_the_address_is_banned() {
    let t = Tree::new("brute");
    let srv = t.serve_users(ServerOpts::new(PASV).args(&[
        "--login-fail-delay-ms",
        "10",
        "--login-failures-max",
        "3",
        "--ban-after-failures",
        "5",
        "--ban-secs",
        "600",
    ]));
    let mut f = Ftp::connect(srv.port);
    for _ in 0..2 {
        f.expect(&format!("USER {USER}"), 331);
        f.expect("PASS wrong", 530);
    }
    f.expect(&format!("USER {USER}"), 331);
    let t3 = f.expect("PASS wrong", 421).text();
    assert!(t3.contains("Too many failed logins"), "{t3}");
    assert_eq!(
        f.try_reply("(close)").map(|r| r.code),
        None,
        "the session is closed after 421"
    );
    // Unknown users count too.
    let mut g = Ftp::connect(srv.port);
    g.expect("USER mallory", 331);
    g.expect("PASS x", 530);
    g.expect("USER root", 331);
    g.expect("PASS x", 530);
    // Five failures from 127.0.0.1: banned, even with the right password.
    let mut h = Ftp::connect_from("127.0.0.1".parse().unwrap(), srv.addr());
    let (code, text) = (h.greeting.code, h.greeting.text());
    assert_eq!(code, 421, "{text}");
    assert!(text.contains("failed logins"), "{text}");
    assert_eq!(h.try_reply("(close)").map(|r| r.code), None);
    // Another address is not affected.
    let mut ok = Ftp::connect_from("127.0.0.2".parse().unwrap(), srv.addr());
    assert_eq!(ok.greeting.code, 220);
    ok.log_in(USER, PASS);
}

#[test]
fn a_failed_login_delay_does_not_block_other_sessions() {
    let t = Tree::new("delay");
    let srv = t.serve_users(ServerOpts::new(PASV).args(&["--login-fail-delay-ms", "3000"]));
    let mut slow = Ftp::connect(srv.port);
    slow.expect(&format!("USER {USER}"), 331);
    slow.send_raw(b"PASS wrong\r\n");
    // While that 530 is held back, another session on the same worker logs
    // in and downloads.
    let mut other = Ftp::connect_from("127.0.0.2".parse().unwrap(), srv.addr());
    other.log_in("anonymous", "a@b");
    let (code, data) = other.try_download(Mode::Pasv, "RETR pub/file.txt");
    assert_eq!((code, data.as_slice()), (226, &b"public data\n"[..]));
    // Only now is the 530 still pending (the other session finished first).
    slow.stream().set_nonblocking(true).unwrap();
    let mut b = [0u8; 1];
    let pending =
        matches!(slow.stream().peek(&mut b), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
    assert!(
        pending,
        "the 530 came before the other session's download finished"
    );
    slow.stream().set_nonblocking(false).unwrap();
    // Pipelined guesses wait behind the delay: each answer comes in order.
    slow.send_raw(format!("USER {USER}\r\nPASS wrong2\r\n").as_bytes());
    assert_eq!(slow.reply("PASS wrong").code, 530);
    assert_eq!(slow.reply("USER").code, 331);
    assert_eq!(slow.reply("PASS wrong2").code, 530);
}

#[test]
fn not_logging_in_in_time_gets_421() {
    let t = Tree::new("logintimeout");
    let srv = Server::start(
        &t.root,
        ServerOpts::new(PASV).args(&["--login-timeout-secs", "1"]),
    );
    let mut f = Ftp::connect(srv.port);
    f.expect("USER anonymous", 331);
    // No PASS: the server closes with 421 at its next tick after the timeout.
    let r = f.reply("(login timeout)");
    let (code, text) = (r.code, r.text());
    assert_eq!(code, 421, "{text}");
    assert!(text.contains("Login timeout"), "{text}");
    assert_eq!(f.try_reply("(close)").map(|r| r.code), None);
}
