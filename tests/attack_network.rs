//! Data-channel attacks (issue 5 item 8; RFC 2577 §3 bounce, §5 port
//! stealing): PORT/EPRT to another address or a privileged port, and a
//! connection to a session's passive port from another source address.

mod support;

use std::io::Read;

use support::ftp::Ftp;
use support::{connect_from, trap_listener, trap_untouched, Server, ServerOpts, Tree, SECRET};

/// The server's default passive ports.
const PASV: (u16, u16) = (61000, 61999);

#[test]
fn port_and_eprt_bounce_to_another_address_or_a_low_port_is_refused() {
    let t = Tree::new("bounce");
    let srv = Server::start(&t.root, ServerOpts::new(PASV));
    let mut f = Ftp::login(srv.port, "anonymous", "a@b");
    // A listener on another address that the server must never connect to.
    let trap = trap_listener("127.0.0.2");
    let port = trap.local_addr().unwrap().port();
    let (p1, p2) = (port / 256, port % 256);
    f.expect(&format!("PORT 127,0,0,2,{p1},{p2}"), 500);
    f.expect(&format!("EPRT |1|127.0.0.2|{port}|"), 500);
    f.expect("PORT 10,0,0,1,0,21", 500);
    // Our own address, but a privileged port (e.g. a mail or FTP server).
    f.expect("PORT 127,0,0,1,0,25", 504);
    f.expect("EPRT |1|127.0.0.1|21|", 504);
    f.expect("EPRT |1|127.0.0.1|1023|", 504);
    // No data connection was set up, so RETR cannot connect anywhere.
    f.expect("RETR pub/file.txt", 425);
    f.expect("NOOP", 200);
    assert!(
        trap_untouched(&trap),
        "the server connected to another address"
    );
}

#[test]
fn port_to_the_clients_own_unprivileged_port_still_works() {
    let t = Tree::new("port-ok");
    let srv = Server::start(&t.root, ServerOpts::new(PASV));
    let mut f = Ftp::login(srv.port, "anonymous", "a@b");
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    f.expect(&format!("EPRT |1|127.0.0.1|{port}|"), 200);
    f.expect("RETR pub/file.txt", 150);
    let (mut d, _) = l.accept().unwrap();
    let mut buf = Vec::new();
    d.read_to_end(&mut buf).unwrap();
    assert_eq!(buf, b"public data\n");
    assert_eq!(f.reply("RETR pub/file.txt").code, 226);
}

#[test]
fn a_passive_port_connection_from_another_address_is_dropped() {
    let t = Tree::new("steal");
    std::fs::write(t.root.join("pub/private.bin"), SECRET).unwrap();
    let srv = Server::start(&t.root, ServerOpts::new(PASV));
    let mut f = Ftp::login(srv.port, "anonymous", "a@b");
    let data_addr = f.pasv();
    // The thief (127.0.0.2) races to the port before the client does.
    let mut thief = connect_from("127.0.0.2".parse().unwrap(), data_addr).unwrap();
    let mut stolen = Vec::new();
    let n = thief.read_to_end(&mut stolen).unwrap_or(0);
    assert_eq!(n, 0, "the thief must be closed without data");
    // The real client still gets its file on the same passive port.
    f.expect("RETR pub/private.bin", 150);
    let mut d = connect_from("127.0.0.1".parse().unwrap(), data_addr).unwrap();
    let mut got = Vec::new();
    d.read_to_end(&mut got).unwrap();
    assert_eq!(got, SECRET.as_bytes());
    assert_eq!(f.reply("RETR pub/private.bin").code, 226);
}
