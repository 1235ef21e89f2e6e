//! Session scripts for the data side: PASV/EPSV/PORT forms and their
//! defences, RETR with REST and TYPE A, ABOR and the lines behind it, and
//! what the session does while a transfer runs. No sockets, exact codes.

use std::net::SocketAddr;

use super::tests::{vp, Script};
use super::*;
use crate::proto::error::FsError;
use crate::proto::perms::Perms;

// RFC 959 §4.1.2 / §4.2: 227 reply format; transfer replies 150 then 226.
#[test]
fn pasv_retr_226() {
    let mut s = Script::anon();
    s.pasv(50_000);
    assert_eq!(s.send("RETR a.bin"), "");
    let want = Transfer {
        endpoint: DataEndpoint::Passive,
        kind: TransferKind::Retr {
            path: vp("/a.bin"),
            offset: 0,
        },
        ascii: false,
        protected: false,
    };
    assert_eq!(s.action(), Some(Action::Transfer(want)));
    let r = s.event(Event::TransferReady {
        size: Some(10),
        name: None,
    });
    assert!(r.starts_with("150 ") && r.contains("(10 bytes)"), "{r}");
    assert!(s.event(Event::TransferDone(Ok(10))).starts_with("226"));
    // The passive setup is used up.
    s.expect_code("RETR a.bin", "425");
}

#[test]
fn missing_file_550_then_session_goes_on() {
    let mut s = Script::anon();
    s.pasv(50_001);
    s.send("RETR nope");
    assert!(matches!(s.action(), Some(Action::Transfer(_))));
    assert!(s
        .event(Event::TransferDone(Err(TransferError::Fs(
            FsError::NotFound
        ))))
        .starts_with("550"));
    s.expect_code("NOOP", "200");
}

// RFC 2428 §3: EPSV reply format; EPSV with the wrong protocol → 522; EPSV ALL.
#[test]
fn epsv_forms() {
    let mut s = Script::anon();
    s.send("EPSV");
    assert_eq!(s.action(), Some(Action::OpenPassive));
    assert_eq!(
        s.event(Event::PassiveOpened(Some(50_002))),
        "229 Entering Extended Passive Mode (|||50002|)\r\n"
    );
    s.expect_codes(&[
        ("EPSV 2", "522"),
        ("EPSV ALL", "200"),
        ("PASV", "503"),
        ("PORT 127,0,0,1,200,10", "503"),
    ]);
    s.send("EPSV 1");
    assert_eq!(s.action(), Some(Action::OpenPassive));
    assert!(s.event(Event::PassiveOpened(None)).starts_with("425"));
}

// RFC 2428 §1-2 on an IPv6 control connection: PASV refused, EPSV 2, EPRT |2|.
#[test]
fn ipv6_control_connection() {
    let p: SocketAddr = "[::1]:40000".parse().unwrap();
    let l: SocketAddr = "[::1]:2121".parse().unwrap();
    let mut s = Script::with(SessionConfig::default(), p, l);
    s.login_as("anonymous", Perms::READ_ONLY);
    s.expect_codes(&[
        ("PASV", "425"),
        ("EPSV 1", "522"),
        ("EPRT |2|::1|5000|", "200"),
        ("EPRT |1|127.0.0.1|5000|", "500"),
        ("EPRT |3|x|5000|", "522"),
    ]);
}

// RFC 2577 §3: no bounce to another host, no privileged port.
#[test]
fn port_defences() {
    let mut s = Script::anon();
    s.expect_codes(&[
        ("PORT 127,0,0,2,200,10", "500"),
        ("PORT 127,0,0,1,0,21", "504"),
        ("EPRT |1|10.0.0.1|6000|", "500"),
        ("EPRT |1|127.0.0.1|1023|", "504"),
        ("PORT 127,0,0,1,200,10", "200"),
    ]);
    assert_eq!(
        s.transfer_asked("LIST").endpoint,
        DataEndpoint::Active("127.0.0.1:51210".parse().unwrap())
    );
}

#[test]
fn port_after_pasv_closes_the_listener() {
    let mut s = Script::anon();
    s.pasv(50_003);
    s.expect_code("EPRT |1|127.0.0.1|6000|", "200");
    assert_eq!(s.action(), Some(Action::ClosePassive));
}

// RFC 3659 §5: REST then RETR starts at the offset; REST then STOR writes at it.
#[test]
fn rest_applies_to_next_transfer_only() {
    let mut s = Script::writer();
    let a = || vp("/a");
    let cases = [
        (
            Some("REST 100"),
            50_004,
            "RETR a",
            TransferKind::Retr {
                path: a(),
                offset: 100,
            },
        ),
        (
            Some("REST 7"),
            50_005,
            "STOR a",
            TransferKind::Store {
                path: a(),
                mode: StoreMode::At(7),
            },
        ),
        (
            None,
            50_006,
            "APPE a",
            TransferKind::Store {
                path: a(),
                mode: StoreMode::Append,
            },
        ),
    ];
    for (rest, port, line, want) in cases {
        if let Some(rest) = rest {
            s.expect_code(rest, "350");
        }
        s.pasv(port);
        assert_eq!(s.transfer_asked(line).kind, want, "{line}");
        s.event(Event::TransferDone(Ok(0)));
    }
}

#[test]
fn type_a_is_passed_to_the_transfer() {
    let mut s = Script::anon();
    s.expect_code("TYPE A", "200");
    s.pasv(50_007);
    assert!(s.transfer_asked("RETR t.txt").ascii);
    assert!(s
        .event(Event::TransferReady {
            size: Some(3),
            name: None
        })
        .contains("ASCII"));
    s.event(Event::TransferDone(Ok(4)));
    s.expect_code("TYPE I", "200");
    s.expect_code("TYPE L 8", "200");
}

// RFC 959 §4.1.3: ABOR during a transfer → 426 for the transfer, then 226.
#[test]
fn abor_during_transfer() {
    let mut s = Script::running_retr(50_008, Some(1 << 30));
    // Telnet IP + Synch before ABOR, as clients send it.
    s.input_aborting(b"\xff\xf4\xff\xf2ABOR\r\n");
    let r = s.transfer_aborted();
    assert_eq!(r, "426 Transfer aborted.\r\n226 ABOR successful.\r\n");
    s.expect_code("ABOR", "225");
}

// Found by tests/fuzz_server.rs: a NOOP right behind ABOR was answered
// before the abort's 426/226, and a second ABOR got no reply at all.
#[test]
fn lines_after_abor_wait_for_the_abort_replies() {
    let mut s = Script::running_retr(50_009, Some(1 << 30));
    s.input_aborting(b"ABOR\r\nNOOP\r\nABOR\r\n");
    assert_eq!(s.action(), None, "one cancel only");
    let r = s.transfer_aborted();
    assert_eq!(
        r,
        "426 Transfer aborted.\r\n226 ABOR successful.\r\n200 NOOP ok.\r\n225 No transfer to abort.\r\n"
    );
}

#[test]
fn stat_noop_and_deferred_commands_during_transfer() {
    let mut s = Script::running_retr(50_009, None);
    assert_eq!(s.send("STAT"), "");
    assert_eq!(s.action(), Some(Action::QueryProgress));
    assert!(s
        .event(Event::Progress(1234))
        .starts_with("213 Status: 1234 bytes"));
    s.expect_code("NOOP", "200");
    // PWD waits until the transfer ends, then runs in order.
    assert_eq!(s.send("PWD"), "");
    let r = s.event(Event::TransferDone(Ok(5000)));
    assert_eq!(
        r,
        "226 Transfer complete.\r\n257 \"/\" is the current directory\r\n"
    );
}

#[test]
fn quit_during_transfer_waits_for_the_end() {
    let mut s = Script::anon();
    s.pasv(50_010);
    s.send("RETR big");
    s.action();
    assert_eq!(s.send("QUIT"), "");
    assert!(!s.s.is_closing());
    assert_eq!(
        s.event(Event::TransferDone(Ok(1))),
        "226 Transfer complete.\r\n221 Goodbye.\r\n"
    );
    assert!(s.s.is_closing());
}
