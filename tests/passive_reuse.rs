//! Passive listeners kept between transfers in the worker's pool (issue 9: a
//! bind per small transfer cost a fifth of the server's CPU; on by default):
//! the next EPSV/PASV answers a pooled port, a connection made to a pooled
//! listener before that reply is closed rather than taken as the next data
//! connection, another session may take it after this one ends, the pool
//! never turns a PASV away when the range runs out, an idle pooled listener
//! closes after --data-connect-timeout-secs, and `--pasv-reuse-listener off`
//! binds a new port each time.

mod support;

use std::fs;
use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use support::ftp::{parse_227, parse_229, Ftp};
use support::{users_file, Mode, Server, ServerOpts, TempDir, PASS, USER};

const PASV: (u16, u16) = (31000, 31499);

fn server_with(tag: &str, pasv: (u16, u16), args: &[&str]) -> (TempDir, Server) {
    let root = TempDir::new(tag);
    let users = users_file(root.path(), &[(USER, root.path(), "all")]);
    let mut opts = ServerOpts::new(pasv).users(users).cores(1);
    for a in args {
        opts = opts.arg(a);
    }
    let server = Server::start(root.path(), opts);
    (root, server)
}

fn server(tag: &str) -> (TempDir, Server) {
    server_with(tag, PASV, &[])
}

fn epsv_port(f: &mut Ftp) -> u16 {
    parse_229(&f.expect("EPSV", 229).lines[0])
}

fn retr_on(f: &mut Ftp, port: u16, name: &str) -> Vec<u8> {
    retr_on_ip(f, [127, 0, 0, 1].into(), port, name)
}

fn retr_on_ip(f: &mut Ftp, ip: std::net::IpAddr, port: u16, name: &str) -> Vec<u8> {
    let mut data = TcpStream::connect(SocketAddr::new(ip, port)).unwrap();
    f.expect(&format!("RETR {name}"), 150);
    let mut got = Vec::new();
    data.read_to_end(&mut got).unwrap();
    let r = f.reply("RETR");
    assert_eq!(r.code, 226, "{r:?}");
    got
}

#[test]
fn the_next_epsv_reuses_the_port_and_drops_early_connections() {
    let (root, server) = server("pasv-reuse");
    fs::write(root.join("a.txt"), b"first file").unwrap();
    fs::write(root.join("b.txt"), b"second file").unwrap();
    let mut f = Ftp::login(server.port, USER, PASS);
    let p1 = epsv_port(&mut f);
    assert_eq!(retr_on(&mut f, p1, "a.txt"), b"first file");

    // A connection to the kept listener before the next EPSV: it must not
    // become the next transfer's data connection.
    let mut early = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], p1))).unwrap();
    let p2 = epsv_port(&mut f);
    assert_eq!(p2, p1, "the kept listener answers the next EPSV");
    let mut rest = Vec::new();
    // Closed by the server (EOF or reset), without data.
    let _ = early.read_to_end(&mut rest);
    assert!(rest.is_empty(), "{rest:?}");
    assert_eq!(retr_on(&mut f, p2, "b.txt"), b"second file");

    // PASV after EPSV: also the kept port.
    let r = f.expect("PASV", 227);
    assert_eq!(parse_227(&r.lines[0]).port(), p1);
    assert_eq!(retr_on(&mut f, p1, "a.txt"), b"first file");

    // An active transfer in between: the kept listener stays for the
    // next PASV/EPSV (until idle for --data-connect-timeout-secs).
    assert_eq!(f.download(Mode::Port, "RETR b.txt"), b"second file");
    assert_eq!(epsv_port(&mut f), p1);
    assert_eq!(retr_on(&mut f, p1, "a.txt"), b"first file");

    // After the session ends the listener stays pooled: another session
    // of the worker takes it, and what connected meanwhile is dropped.
    f.quit();
    let mut stale = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], p1))).unwrap();
    let mut g = Ftp::login(server.port, USER, PASS);
    assert_eq!(
        epsv_port(&mut g),
        p1,
        "another session takes the pooled port"
    );
    let mut rest = Vec::new();
    let _ = stale.read_to_end(&mut rest);
    assert!(rest.is_empty(), "{rest:?}");
    assert_eq!(retr_on(&mut g, p1, "b.txt"), b"second file");
    g.quit();
}

/// True once nothing listens on `port` any more (a connection is refused,
/// or closed without data if it raced the close); waits at most `secs`.
fn closed_within(port: u16, secs: u64) -> bool {
    let until = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < until {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => return true,
            // A full backlog drops the SYN: still listening.
            Err(e) if e.kind() == ErrorKind::TimedOut => {}
            Err(e) => panic!("connect: {e}"),
            // Still pooled: this connection is dropped at its next reuse or
            // close; try again.
            Ok(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    false
}

#[test]
fn an_idle_pooled_listener_closes_after_the_data_connect_timeout() {
    let (root, server) = server_with(
        "pasv-pool-expiry",
        (31500, 31599),
        &["--data-connect-timeout-secs", "1"],
    );
    fs::write(root.join("a.txt"), b"first file").unwrap();
    let mut f = Ftp::login(server.port, USER, PASS);
    let p1 = epsv_port(&mut f);
    assert_eq!(retr_on(&mut f, p1, "a.txt"), b"first file");
    // The session stays logged in (NOOPs keep it alive), the pool entry
    // expires on its own.
    assert!(
        closed_within(p1, 30),
        "the pooled listener outlived its timeout"
    );
    f.expect("NOOP", 200);
    f.quit();
}

#[test]
fn a_full_range_evicts_pooled_listeners_instead_of_refusing() {
    // Four ports, two of which may be pooled; two local addresses. Two
    // sessions on 127.0.0.1 end transfers at the same time (both listeners
    // pooled for 127.0.0.1). Four sessions on 127.0.0.2 then get all four
    // ports (a listener on 127.0.0.1 does not hold the port for 127.0.0.2);
    // a fifth finds the range full: the pool is emptied trying to make room,
    // and it gets 425 while its session goes on.
    let root = TempDir::new("pasv-pool-evict");
    let users = users_file(root.path(), &[(USER, root.path(), "all")]);
    let server = Server::start(
        root.path(),
        ServerOpts::new((31600, 31603))
            .users(users)
            .cores(1)
            .listen("127.0.0.1:0")
            .listen("127.0.0.2:0"),
    );
    fs::write(root.join("a.txt"), b"first file").unwrap();
    let one = server.addrs[0];
    let two = server.addrs[1];
    let mut first: Vec<(Ftp, u16)> = (0..2)
        .map(|_| {
            let mut f = Ftp::connect_to(one);
            f.log_in(USER, PASS);
            let p = epsv_port(&mut f);
            (f, p)
        })
        .collect();
    for (f, p) in &mut first {
        assert_eq!(retr_on_ip(f, one.ip(), *p, "a.txt"), b"first file");
    }
    let pooled: Vec<u16> = first.iter().map(|(_, p)| *p).collect();
    for (f, _) in first {
        f.quit();
    }
    let mut held: Vec<(Ftp, u16)> = (0..4)
        .map(|_| {
            let mut f = Ftp::connect_to(two);
            f.log_in(USER, PASS);
            let p = epsv_port(&mut f);
            (f, p)
        })
        .collect();
    let mut ports: Vec<u16> = held.iter().map(|(_, p)| *p).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports, vec![31600, 31601, 31602, 31603]);
    // A fifth finds every port in use: 425, and its session goes on.
    let mut f = Ftp::connect_to(two);
    f.log_in(USER, PASS);
    f.expect("EPSV", 425);
    f.expect("NOOP", 200);
    for p in pooled {
        assert!(closed_within(p, 30), "pooled listener {p} not evicted");
    }
    // Every holder transfers on its port.
    for (g, p) in &mut held {
        assert_eq!(retr_on_ip(g, two.ip(), *p, "a.txt"), b"first file");
    }
}

#[test]
fn reuse_off_binds_a_new_port_each_time() {
    let (root, server) = server_with(
        "pasv-pool-off",
        (31700, 31799),
        &["--pasv-reuse-listener", "off"],
    );
    fs::write(root.join("a.txt"), b"first file").unwrap();
    let mut f = Ftp::login(server.port, USER, PASS);
    let p1 = epsv_port(&mut f);
    assert_eq!(retr_on(&mut f, p1, "a.txt"), b"first file");
    let p2 = epsv_port(&mut f);
    assert_ne!(p1, p2, "off: no pooled listener answers");
    assert_eq!(retr_on(&mut f, p2, "a.txt"), b"first file");
    // The first listener was closed with its transfer.
    assert!(closed_within(p1, 30));
    f.quit();
}
