//! The PROXY protocol on real sockets (`--proxy-protocol`, `--proxy-from`):
//! raw connections from 127.0.0.2 (the "balancer") send v1 and v2 headers
//! claiming other loopback addresses, and the claimed address is the
//! session's peer everywhere: passive data connections are accepted only
//! from it, PORT/EPRT must name it, per-address limits count it, and the
//! logs show it. Headers missing, bad, late or from an untrusted source
//! close the connection without a greeting.
//!
//! Passive ports: 26200-26299.

mod support;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use support::ftp::{parse_227, parse_229, Ftp};
use support::{sha256_hex, wait_file, write_pattern_file, Server, ServerOpts, TempDir};

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, last)
}

/// A TCP connection from `src` (any port) to `to`.
fn connect_from(src: Ipv4Addr, to: SocketAddr) -> TcpStream {
    use nix::sys::socket::{bind, connect, socket, AddressFamily, SockFlag, SockType, SockaddrIn};
    let fd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .expect("socket");
    bind(fd.as_raw_fd(), &SockaddrIn::from(SocketAddrV4::new(src, 0))).expect("bind source");
    let SocketAddr::V4(to) = to else {
        panic!("IPv4 only")
    };
    connect(fd.as_raw_fd(), &SockaddrIn::from(to)).expect("connect");
    let s = TcpStream::from(fd);
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s
}

fn v1(client: Ipv4Addr, port: u16) -> Vec<u8> {
    format!("PROXY TCP4 {client} 127.0.0.1 {port} 21\r\n").into_bytes()
}

/// A v2 PROXY (TCP over IPv4) header.
fn v2(client: Ipv4Addr, port: u16) -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    h.extend_from_slice(&[0x21, 0x11, 0, 12]);
    h.extend_from_slice(&client.octets());
    h.extend_from_slice(&[127, 0, 0, 1]);
    h.extend_from_slice(&port.to_be_bytes());
    h.extend_from_slice(&21u16.to_be_bytes());
    h
}

/// A v2 LOCAL header (a balancer's health check).
fn v2_local() -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    h.extend_from_slice(&[0x20, 0x00, 0, 0]);
    h
}

/// A session through the "balancer" at 127.0.0.2 with `header` first.
fn via_balancer(port: u16, header: &[u8]) -> Ftp {
    let mut s = connect_from(ip(2), SocketAddr::from((ip(1), port)));
    s.write_all(header).unwrap();
    Ftp::from_stream(s)
}

/// Everything the server says before it closes `s` (bounded wait).
fn read_until_closed(mut s: TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

#[test]
fn the_proxied_client_is_the_peer_for_data_limits_and_logs() {
    let dir = TempDir::new("proxy");
    let root = dir.join("root");
    std::fs::create_dir_all(&root).unwrap();
    let hash = write_pattern_file(&root.join("f.bin"), 200_003, 9);
    let events = dir.join("events.log");
    let xferlog = dir.join("xferlog");
    let server = Server::start(
        &root,
        ServerOpts::new((26200, 26219))
            .cores(1)
            .arg("--proxy-protocol")
            .arg("--proxy-from")
            .arg("127.0.0.2")
            .arg("--proxy-from")
            .arg("127.0.0.3/32")
            .arg("--sessions-per-ip-max")
            .arg("1")
            .arg("--log-format")
            .arg("json")
            .arg("--log-file")
            .arg(events.to_str().unwrap())
            .arg("--xferlog")
            .arg(xferlog.to_str().unwrap()),
    );
    let port = server.port;

    // v1, claiming 127.0.0.5.
    let mut f = via_balancer(port, &v1(ip(5), 40000));
    f.expect("USER anonymous", 331);
    f.expect("PASS guest@", 230);
    let r = f.expect("PASV", 227);
    let addr = parse_227(&r.lines[0]);
    // The balancer's address is not the client's: its data connection is
    // closed unanswered (RFC 2577 §5); the claimed client's is taken.
    let foreign = connect_from(ip(1), addr);
    assert!(read_until_closed(foreign).is_empty());
    let mut data = connect_from(ip(5), addr);
    f.expect("RETR f.bin", 150);
    let mut got = Vec::new();
    data.read_to_end(&mut got).unwrap();
    assert_eq!(sha256_hex(&got), hash);
    assert_eq!(f.reply("RETR").code, 226);
    // Active mode: only to the claimed address.
    f.expect("PORT 127,0,0,1,100,100", 500);
    let l = TcpListener::bind((ip(5), 0)).unwrap();
    let lport = l.local_addr().unwrap().port();
    f.expect(&format!("EPRT |1|127.0.0.5|{lport}|"), 200);
    f.expect("RETR f.bin", 150);
    let (mut data, from) = l.accept().unwrap();
    assert_eq!(from.ip(), ip(1), "the server connects from its own address");
    let mut got = Vec::new();
    data.read_to_end(&mut got).unwrap();
    assert_eq!(sha256_hex(&got), hash);
    assert_eq!(f.reply("RETR").code, 226);

    // --sessions-per-ip-max 1 counts the claimed address, not the balancer's.
    let mut s = connect_from(ip(2), SocketAddr::from((ip(1), port)));
    s.write_all(&v1(ip(5), 40001)).unwrap();
    let refused = String::from_utf8(read_until_closed(s)).unwrap();
    assert!(
        refused.starts_with("421 Too many connections from your address"),
        "{refused:?}"
    );

    // v2, claiming 127.0.0.6: a passive connection from it is accepted.
    let mut g = via_balancer(port, &v2(ip(6), 40002));
    g.expect("USER anonymous", 331);
    g.expect("PASS guest@", 230);
    let r = g.expect("EPSV", 229);
    let mut data = connect_from(ip(6), SocketAddr::from((ip(1), parse_229(&r.lines[0]))));
    g.expect("NLST", 150);
    let mut names = String::new();
    data.read_to_string(&mut names).unwrap();
    assert_eq!(names, "f.bin\r\n");
    assert_eq!(g.reply("NLST").code, 226);

    // v2 LOCAL (a health check) from 127.0.0.3: the real peer is used.
    let mut s = connect_from(ip(3), SocketAddr::from((ip(1), port)));
    s.write_all(&v2_local()).unwrap();
    let mut h = Ftp::from_stream(s);
    h.expect("USER anonymous", 331);
    h.expect("PASS guest@", 230);
    let r = h.expect("PASV", 227);
    let mut data = connect_from(ip(3), parse_227(&r.lines[0]));
    h.expect("NLST", 150);
    let mut names = String::new();
    data.read_to_string(&mut names).unwrap();
    assert_eq!(names, "f.bin\r\n");
    assert_eq!(h.reply("NLST").code, 226);

    // A header in two pieces, with the first command right behind it.
    let mut s = connect_from(ip(2), SocketAddr::from((ip(1), port)));
    s.write_all(b"PROXY TCP4 127.0.0.7 ").unwrap();
    s.flush().unwrap();
    s.write_all(b"127.0.0.1 40003 21\r\nUSER anonymous\r\n")
        .unwrap();
    let mut k = Ftp::from_stream(s);
    assert_eq!(k.reply("USER").code, 331);
    k.quit();

    // No header: closed without a greeting.
    let mut s = connect_from(ip(2), SocketAddr::from((ip(1), port)));
    s.write_all(b"USER anonymous\r\n").unwrap();
    assert!(read_until_closed(s).is_empty());
    // A valid header from a source outside --proxy-from: closed at once.
    let mut s = connect_from(ip(1), SocketAddr::from((ip(1), port)));
    let _ = s.write_all(&v1(ip(8), 40004));
    assert!(read_until_closed(s).is_empty());
    // Nothing at all: closed after the header time limit (3 s).
    let started = Instant::now();
    let s = connect_from(ip(2), SocketAddr::from((ip(1), port)));
    assert!(read_until_closed(s).is_empty());
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    f.quit();
    g.quit();
    h.quit();

    // Logs name the client, and the balancer as `proxy`.
    let x = wait_file(&xferlog, |t| t.lines().count() >= 2);
    for l in x.lines() {
        assert!(
            l.contains(" 127.0.0.5 200003 /f.bin b _ o a anonymous ftp 0 * c"),
            "{l}"
        );
    }
    let text = wait_file(&events, |t| t.matches("\"event\":\"refusal\"").count() >= 4);
    let evs: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let open5 = evs
        .iter()
        .find(|e| e["event"] == "session_open" && e["client"] == "127.0.0.5:40000")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(open5["proxy"].as_str().unwrap().starts_with("127.0.0.2:"));
    let mut reasons: Vec<&str> = evs
        .iter()
        .filter(|e| e["event"] == "refusal")
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            "proxy_header",
            "proxy_header",
            "proxy_untrusted",
            "sessions_per_ip"
        ]
    );
    let refused = evs
        .iter()
        .find(|e| e["reason"] == "sessions_per_ip")
        .unwrap();
    assert_eq!(refused["client"], "127.0.0.5:40001");
    let local = evs
        .iter()
        .find(|e| {
            e["event"] == "session_open" && e["client"].as_str().unwrap().starts_with("127.0.0.3:")
        })
        .unwrap_or_else(|| panic!("{text}"));
    assert!(local.get("proxy").is_none(), "LOCAL: no proxy field");
    drop(server);
}
