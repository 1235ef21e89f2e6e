//! A passive listener kept between transfers (issue 9: a bind per small
//! transfer cost a fifth of the server's CPU): the session's next EPSV/PASV
//! answers the same port, a connection made to the kept listener before that
//! reply is closed rather than taken as the next data connection, and the
//! session's end closes it.

mod support;

use std::fs;
use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use support::ftp::{parse_227, parse_229, Ftp};
use support::{users_file, Mode, Server, ServerOpts, TempDir, PASS, USER};

const PASV: (u16, u16) = (31000, 31499);

fn server(tag: &str) -> (TempDir, Server) {
    let root = TempDir::new(tag);
    let users = users_file(root.path(), &[(USER, root.path(), "all")]);
    let server = Server::start(
        root.path(),
        ServerOpts::new(PASV)
            .users(users)
            .cores(1)
            .arg("--pasv-reuse-listener"),
    );
    (root, server)
}

fn epsv_port(f: &mut Ftp) -> u16 {
    parse_229(&f.expect("EPSV", 229).lines[0])
}

fn retr_on(f: &mut Ftp, port: u16, name: &str) -> Vec<u8> {
    let mut data = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port))).unwrap();
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

    // The session's end closes it: a connection is refused, or closed
    // without data if it raced the close.
    f.quit();
    if let Ok(mut late) = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], p1))) {
        late.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut rest = Vec::new();
        if let Err(e) = late.read_to_end(&mut rest) {
            assert!(
                !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
                "the kept listener outlived its session"
            );
        }
        assert!(rest.is_empty(), "{rest:?}");
    }
}
