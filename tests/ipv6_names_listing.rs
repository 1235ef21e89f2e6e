//! Real sockets: IPv6 control and data connections (RFC 2428), odd file
//! names (spaces, UTF-8 per RFC 2640, leading dashes; CR/LF/NUL refused), and
//! a 100,000-entry directory listed as a stream.

mod support;

use std::io::Read;

use support::ftp::Ftp;
use support::{ipv6_loopback, write_random, Mode, Server, ServerOpts, PASS, USER};

/// Passive ports of this file (no other test file uses 31xxx).
const PASV: (u16, u16) = (31000, 31999);

/// A server on a fresh root with [`USER`] (all permissions, [`PASS`]),
/// started with `opts` on top of this file's passive ports and 2 cores.
fn serve(tag: &str, opts: impl FnOnce(ServerOpts) -> ServerOpts) -> Server {
    Server::with_users(tag, &[(USER, "all")], opts(ServerOpts::new(PASV).cores(2)))
}

#[test]
fn ipv6_epsv_eprt_and_pasv_refused() {
    if !ipv6_loopback() {
        eprintln!("note: ::1 is not configured here; IPv6 test skipped");
        return;
    }
    let srv = serve("v6", |o| o.listen("[::1]:0").listen("127.0.0.1:0"));
    assert!(
        srv.addrs[0].is_ipv6() && srv.addrs[1].is_ipv4(),
        "{:?}",
        srv.addrs
    );
    let data = write_random(&srv.path("f"), 1_000_000, 1);
    let mut c = Ftp::connect_to(srv.addrs[0]);
    c.log_in(USER, PASS);
    // RFC 2428 §1: PASV cannot name an IPv6 address.
    c.expect("PASV", 425);
    c.expect("EPSV 1", 522);
    let (r, got) = c.try_download(Mode::Epsv, "RETR f");
    assert_eq!(got, data);
    assert_eq!(r, 226);
    c.expect("EPSV 2", 229);
    // EPRT |2|::1|port| (RFC 2428 §2): the server connects back over IPv6.
    let l = std::net::TcpListener::bind("[::1]:0").unwrap();
    let port = l.local_addr().unwrap().port();
    c.expect(&format!("EPRT |2|::1|{port}|"), 200);
    c.expect("STOR up", 150);
    let (mut s, _) = l.accept().unwrap();
    std::io::Write::write_all(&mut s, b"over v6").unwrap();
    drop(s);
    assert!(c.reply("STOR up").raw().starts_with("226"));
    assert_eq!(std::fs::read(srv.path("up")).unwrap(), b"over v6");
    c.expect("EPRT |3|x|1|", 522);
    c.expect("EPRT |1|127.0.0.1|5000|", 500); // not the client's address
                                              // The IPv4 listener of the same server still offers PASV.
    let mut c4 = Ftp::connect_to(srv.addrs[1]);
    c4.log_in(USER, PASS);
    c4.expect("PASV", 227);
}

#[test]
fn odd_names_round_trip() {
    let srv = serve("names", |o| o);
    let mut c = Ftp::login(srv.port, USER, PASS);
    for name in [
        "with space.txt",
        " leading space",
        "-rf",
        "--help",
        "Grüße 日本語.txt",
        "semi;colon",
        "q\"uote",
    ] {
        let body = format!("body of {name}");
        let r = c.try_upload(Mode::Epsv, &format!("STOR {name}"), body.as_bytes());
        assert_eq!(r, 226, "{name}: {r}");
        assert_eq!(
            std::fs::read(srv.path(name)).unwrap(),
            body.as_bytes(),
            "{name}"
        );
        let got = c.download(Mode::Epsv, &format!("RETR {name}"));
        assert_eq!(got, body.as_bytes());
        let list = c.download(Mode::Epsv, "NLST");
        assert!(
            String::from_utf8(list).unwrap().lines().any(|l| l == name),
            "{name} not in NLST"
        );
        let list = c.download(Mode::Epsv, "LIST");
        assert!(String::from_utf8(list)
            .unwrap()
            .lines()
            .any(|l| l.ends_with(&format!(" {name}"))));
        c.expect(&format!("RNFR {name}"), 350);
        c.expect(&format!("RNTO {name}.2"), 250);
        c.expect(&format!("SIZE {name}.2"), 213);
        c.expect(&format!("DELE {name}.2"), 250);
        c.expect(&format!("MKD {name}"), 257);
        c.expect(&format!("CWD {name}"), 250);
        c.expect("CDUP", 250);
        c.expect(&format!("RMD {name}"), 250);
    }
    // LIST of a name starting with '-' that is not an option lists the file.
    std::fs::write(srv.path("-notes"), b"n").unwrap();
    let l = c.download(Mode::Epsv, "LIST -notes");
    assert!(String::from_utf8(l).unwrap().contains("-notes"));
}

#[test]
fn cr_lf_nul_in_names_are_refused_and_never_injected() {
    let srv = serve("inject", |o| o);
    // A file whose name has a newline, made behind the server's back: it is
    // left out of listings so it cannot forge a line.
    std::fs::write(srv.path("evil\r\n226 forged"), b"x").unwrap();
    std::fs::write(srv.path("evil2\nfake"), b"x").unwrap();
    std::fs::write(srv.path("fine"), b"x").unwrap();
    let mut c = Ftp::login(srv.port, USER, PASS);
    c.send_raw(b"MKD a\0b\r\n");
    assert!(c.reply("MKD a NUL b").raw().starts_with("501"));
    c.send_raw(b"STOR a\rb\r\n");
    assert!(c.reply("STOR a CR b").raw().starts_with("501"));
    // A LF ends the line: "DELE a" then "b" (unknown, 500/502), no injection.
    c.send_raw(b"RNFR a\nb\r\n");
    assert!(c.reply("RNFR a").raw().starts_with("550"));
    assert!(c.reply("b").raw().starts_with("50"));
    for cmd in ["NLST", "LIST", "MLSD"] {
        let (r, l) = c.try_download(Mode::Epsv, cmd);
        let text = String::from_utf8(l).unwrap();
        assert_eq!(r, 226);
        assert!(
            text.contains("fine") && !text.contains("evil") && !text.contains("forged"),
            "{cmd}: {text:?}"
        );
    }
    let s = c.expect("STAT /", 213).raw();
    assert!(!s.contains("forged") && !s.contains("fake"), "{s}");
    assert!(!srv.path("a").exists());
}

#[test]
fn a_100k_entry_directory_streams_while_others_are_served() {
    let srv = serve("huge", |o| {
        o.cores(1).args(&["--list-entries-max", "200000"])
    });
    let dir = srv.path("huge");
    std::fs::create_dir(&dir).unwrap();
    for i in 0..100_000 {
        std::fs::File::create(dir.join(format!("f{i:06}.dat"))).unwrap();
    }
    for i in 0..50 {
        std::fs::File::create(dir.join(format!("g{i:02}.iso"))).unwrap();
    }
    let mut c = Ftp::login(srv.port, USER, PASS);
    let mut other = Ftp::login(srv.port, USER, PASS);
    // LIST, read slowly: the one worker must keep answering another session.
    let mut d = c.data(Mode::Epsv).stream();
    c.expect("LIST huge", 150);
    let mut first = vec![0u8; 4096];
    d.read_exact(&mut first).unwrap();
    for _ in 0..10 {
        other.expect("NOOP", 200);
        other.expect("SIZE huge/f000001.dat", 213);
    }
    let mut rest = Vec::new();
    d.read_to_end(&mut rest).unwrap();
    first.extend_from_slice(&rest);
    assert!(c.reply("LIST huge").raw().starts_with("226"));
    let text = String::from_utf8(first).unwrap();
    assert_eq!(text.lines().count(), 100_050);
    assert!(text
        .lines()
        .all(|l| l.ends_with(".dat") || l.ends_with(".iso")));
    let n = c.download(Mode::Epsv, "NLST huge");
    assert_eq!(String::from_utf8(n).unwrap().lines().count(), 100_050);
    let m = c.download(Mode::Epsv, "MLSD huge");
    assert_eq!(String::from_utf8(m).unwrap().lines().count(), 100_050);
    // NLST with a glob: only the matches.
    let g = c.download(Mode::Epsv, "NLST huge/*.iso");
    assert_eq!(String::from_utf8(g).unwrap().lines().count(), 50);
}

#[test]
fn listing_and_glob_stop_at_the_entries_limit() {
    let srv = serve("cap", |o| o.args(&["--list-entries-max", "100"]));
    for i in 0..300 {
        std::fs::File::create(srv.path(&format!("f{i:03}.iso"))).unwrap();
    }
    let mut c = Ftp::login(srv.port, USER, PASS);
    let (r, l) = c.try_download(Mode::Epsv, "NLST");
    assert_eq!(r, 226);
    assert_eq!(String::from_utf8(l).unwrap().lines().count(), 100);
    let l = c.download(Mode::Epsv, "NLST *.iso");
    assert_eq!(String::from_utf8(l).unwrap().lines().count(), 100);
}
