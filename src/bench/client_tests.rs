use super::*;
use std::net::Ipv4Addr;

fn client(mode: Mode) -> Client {
    Client::new(ClientConfig {
        user: "anonymous".into(),
        pass: "bench@".into(),
        mode,
        server_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        tls: None,
    })
}

fn sent(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        })
        .collect()
}

/// The actions one call of the client pushes.
fn actions(call: impl FnOnce(&mut Vec<Action>)) -> Vec<Action> {
    let mut out = Vec::new();
    call(&mut out);
    out
}

/// Feeds `reply` and returns the actions.
fn feed(c: &mut Client, reply: &str) -> Vec<Action> {
    actions(|out| c.received(reply.as_bytes(), out))
}

fn logged_in(mode: Mode) -> Client {
    let mut c = client(mode);
    c.connected();
    assert_eq!(
        sent(&feed(&mut c, "220-multi\r\n220 hi\r\n")),
        ["USER anonymous\r\n"]
    );
    assert_eq!(sent(&feed(&mut c, "331 pass\r\n")), ["PASS bench@\r\n"]);
    let out = feed(&mut c, "230 ok\r\n");
    assert!(out.contains(&Action::Mark(Mark::LoggedIn)));
    assert_eq!(sent(&out), ["TYPE I\r\n"]);
    assert_eq!(feed(&mut c, "200 binary\r\n"), vec![Action::Ready]);
    assert!(c.is_ready());
    c
}

fn retr(path: &str) -> Job {
    Job {
        kind: Kind::Retr,
        path: path.into(),
        size_bytes: 0,
        check_size: false,
    }
}

/// An upload of 10 bytes whose size is checked afterwards.
fn stor(path: &str) -> Job {
    Job {
        kind: Kind::Stor,
        path: path.into(),
        size_bytes: 10,
        check_size: true,
    }
}

#[test]
fn pasv_retr_then_quit() {
    let mut c = logged_in(Mode::Pasv);
    let out = actions(|out| c.start(retr("/1g.bin"), out));
    assert_eq!(sent(&out), ["PASV\r\n"]);
    let out = feed(&mut c, "227 Entering Passive Mode (127,0,0,1,199,56).\r\n");
    assert!(out.contains(&Action::Connect("127.0.0.1:51000".parse().unwrap())));
    // RETR goes out only once the data connection is up.
    assert!(sent(&out).is_empty());
    let out = actions(|out| c.data_connected(out));
    assert_eq!(sent(&out), ["RETR /1g.bin\r\n"]);
    assert!(feed(&mut c, "150 opening\r\n").is_empty());
    // Final reply before the data EOF: not done until both.
    assert!(feed(&mut c, "226 done\r\n").is_empty());
    let out = actions(|out| c.data_finished(out));
    assert_eq!(out, vec![Action::Done, Action::Ready]);
    let out = actions(|out| c.quit(out));
    assert_eq!(sent(&out), ["QUIT\r\n"]);
    assert_eq!(feed(&mut c, "221 bye\r\n"), vec![Action::Closed(None)]);
}

#[test]
fn epsv_uses_control_peer() {
    let mut c = logged_in(Mode::Epsv);
    let out = actions(|out| c.start(retr("x"), out));
    assert_eq!(sent(&out), ["EPSV\r\n"]);
    let out = feed(&mut c, "229 Entering Extended Passive Mode (|||40001|)\r\n");
    assert!(out.contains(&Action::Connect("127.0.0.1:40001".parse().unwrap())));
}

#[test]
fn port_and_eprt_send_command_after_200() {
    for (mode, cmd) in [
        (Mode::Port, "PORT 127,0,0,1,195,80\r\n"),
        (Mode::Eprt, "EPRT |1|127.0.0.1|50000|\r\n"),
    ] {
        let mut c = logged_in(mode);
        let out = actions(|out| c.start(retr("f"), out));
        assert_eq!(out, vec![Action::Listen]);
        let out = actions(|out| c.listening("127.0.0.1:50000".parse().unwrap(), out));
        assert_eq!(sent(&out), [cmd]);
        assert_eq!(sent(&feed(&mut c, "200 ok\r\n")), ["RETR f\r\n"]);
        feed(&mut c, "150 ok\r\n");
        assert!(actions(|out| c.data_connected(out)).is_empty());
        assert!(actions(|out| c.data_finished(out)).is_empty());
        assert_eq!(
            feed(&mut c, "226 ok\r\n"),
            vec![Action::Done, Action::Ready]
        );
    }
}

#[test]
fn stor_uploads_after_preliminary_and_checks_size() {
    let mut c = logged_in(Mode::Pasv);
    c.start(stor("up/a"), &mut Vec::new());
    feed(&mut c, "227 (127,0,0,1,1,1)\r\n");
    let out = actions(|out| c.data_connected(out));
    assert_eq!(sent(&out), ["STOR up/a\r\n"]);
    assert!(!out.contains(&Action::Upload));
    assert_eq!(feed(&mut c, "150 go\r\n"), vec![Action::Upload]);
    assert!(actions(|out| c.data_finished(out)).is_empty());
    assert_eq!(sent(&feed(&mut c, "226 ok\r\n")), ["SIZE up/a\r\n"]);
    assert_eq!(
        feed(&mut c, "213 10\r\n"),
        vec![Action::Done, Action::Ready]
    );
}

#[test]
fn stor_size_mismatch_fails() {
    let mut c = logged_in(Mode::Pasv);
    c.start(stor("a"), &mut Vec::new());
    feed(&mut c, "227 (127,0,0,1,1,1)\r\n");
    c.data_connected(&mut Vec::new());
    feed(&mut c, "150 go\r\n");
    c.data_finished(&mut Vec::new());
    feed(&mut c, "226 ok\r\n");
    assert_eq!(
        feed(&mut c, "213 9\r\n"),
        vec![Action::Closed(Some(Failure::SizeMismatch))]
    );
}

#[test]
fn error_codes_and_garbage_close_the_session() {
    let mut c = client(Mode::Pasv);
    c.connected();
    assert_eq!(
        feed(&mut c, "421 busy\r\n"),
        vec![Action::Closed(Some(Failure::Code(421)))]
    );
    // Nothing more happens after close.
    assert!(feed(&mut c, "220 late\r\n").is_empty());

    let mut c = logged_in(Mode::Pasv);
    c.start(retr("missing"), &mut Vec::new());
    assert_eq!(
        feed(&mut c, "227 no address\r\n"),
        vec![Action::Closed(Some(Failure::Protocol))]
    );

    let mut c = logged_in(Mode::Pasv);
    c.start(retr("missing"), &mut Vec::new());
    feed(&mut c, "227 (127,0,0,1,1,1)\r\n");
    c.data_connected(&mut Vec::new());
    assert_eq!(
        feed(&mut c, "550 no such file\r\n"),
        vec![Action::Closed(Some(Failure::Code(550)))]
    );

    let mut c = logged_in(Mode::Pasv);
    assert_eq!(
        feed(&mut c, "garbage\r\n"),
        vec![Action::Closed(Some(Failure::Protocol))]
    );
    let mut c = logged_in(Mode::Pasv);
    let out = actions(|out| c.eof(out));
    assert_eq!(out, vec![Action::Closed(Some(Failure::Eof))]);
}

#[test]
fn login_without_password_and_noop() {
    let mut c = client(Mode::Epsv);
    c.connected();
    feed(&mut c, "220 hi\r\n");
    assert_eq!(
        sent(&feed(&mut c, "230 no password needed\r\n")),
        ["TYPE I\r\n"]
    );
    feed(&mut c, "200 ok\r\n");
    let out = actions(|out| c.noop(out));
    assert_eq!(sent(&out), ["NOOP\r\n"]);
    assert_eq!(feed(&mut c, "200 ok\r\n"), vec![Action::Ready]);
}

// RFC 4217: AUTH TLS → 234 → TLS, then USER/PASS, PBSZ 0, PROT P, TYPE I.
#[test]
fn explicit_tls_login() {
    let mut c = Client::new(ClientConfig {
        user: "u".into(),
        pass: "p".into(),
        mode: Mode::Epsv,
        server_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        tls: Some(crate::bench::tls::TlsMode::Explicit),
    });
    c.connected();
    let mut out = Vec::new();
    c.received(b"220 hi\r\n", &mut out);
    assert_eq!(sent(&out), ["AUTH TLS\r\n"]);
    out.clear();
    c.received(b"234 go\r\n", &mut out);
    assert_eq!(out.first(), Some(&Action::StartTls), "{out:?}");
    assert_eq!(sent(&out), ["USER u\r\n"]);
    for (reply, next) in [
        (&b"331 pass\r\n"[..], "PASS p\r\n"),
        (b"230 in\r\n", "PBSZ 0\r\n"),
        (b"200 PBSZ=0\r\n", "PROT P\r\n"),
        (b"200 P\r\n", "TYPE I\r\n"),
    ] {
        out.clear();
        c.received(reply, &mut out);
        assert_eq!(sent(&out), [next]);
    }
    out.clear();
    c.received(b"200 binary\r\n", &mut out);
    assert!(c.is_ready());
    // A refused PROT P fails the session.
    let mut c = Client::new(ClientConfig {
        user: "u".into(),
        pass: "p".into(),
        mode: Mode::Epsv,
        server_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        tls: Some(crate::bench::tls::TlsMode::Implicit),
    });
    c.connected();
    out.clear();
    c.received(b"220 hi\r\n", &mut out);
    assert_eq!(sent(&out), ["USER u\r\n"], "implicit: no AUTH");
    for r in [&b"331 p\r\n"[..], b"230 in\r\n", b"200 PBSZ=0\r\n"] {
        c.received(r, &mut out);
    }
    out.clear();
    c.received(b"534 no\r\n", &mut out);
    assert!(matches!(
        out.last(),
        Some(Action::Closed(Some(Failure::Code(534))))
    ));
}
