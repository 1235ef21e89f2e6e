//! AUTH TLS, PBSZ, PROT and `--tls-required` (RFC 4217), as scripts.

use super::tests::Script;
use super::*;
use crate::proto::perms::Perms;

fn cfg(required: TlsRequired) -> SessionConfig {
    SessionConfig {
        tls: TlsPolicy {
            available: true,
            required,
        },
        ..Default::default()
    }
}

fn script(required: TlsRequired) -> Script {
    Script::with(
        cfg(required),
        "127.0.0.1:40000".parse().unwrap(),
        "127.0.0.1:2121".parse().unwrap(),
    )
}

/// AUTH TLS answered 234 and the handshake asked for.
fn auth(s: &mut Script) {
    s.expect_code("AUTH TLS", "234");
    assert_eq!(s.action(), Some(Action::StartTls));
    assert!(s.s.control_secured());
}

fn retr_protected(s: &mut Script) -> bool {
    s.pasv(50_000);
    assert_eq!(s.send("RETR a"), "");
    match s.action() {
        Some(Action::Transfer(t)) => t.protected,
        other => panic!("expected a transfer, got {other:?}"),
    }
}

// RFC 4217 §6: FEAT lists AUTH TLS, PBSZ and PROT when TLS is offered.
#[test]
fn feat_lists_tls_only_when_offered() {
    let mut s = script(TlsRequired::Off);
    let f = s.expect_code("FEAT", "211");
    for line in [" AUTH TLS\r\n", " PBSZ\r\n", " PROT\r\n"] {
        assert!(f.contains(line), "{f}");
    }
    let mut plain = Script::new();
    let f = plain.expect_code("FEAT", "211");
    assert!(!f.contains("AUTH") && !f.contains("PROT"), "{f}");
    plain.expect_code("AUTH TLS", "502");
}

// RFC 4217 §4: 234, then the handshake; a second AUTH is 503.
#[test]
fn auth_tls_then_second_auth_refused() {
    let mut s = script(TlsRequired::Off);
    auth(&mut s);
    s.expect_code("AUTH TLS", "503");
    assert_eq!(s.action(), None);
    s.expect_code("AUTH KERBEROS_V4", "503");
    let mut s = script(TlsRequired::Off);
    s.expect_code("AUTH KERBEROS_V4", "504");
    s.expect_code("AUTH TLS-C", "234");
    assert_eq!(s.action(), Some(Action::StartTls));
}

// Lines pipelined behind AUTH in the clear are never run.
#[test]
fn lines_after_auth_in_the_same_packet_are_dropped() {
    let mut s = script(TlsRequired::Off);
    let r = s.send("AUTH TLS\r\nUSER anonymous");
    assert!(r.starts_with("234"), "{r}");
    assert!(!r.contains("331"), "{r}");
    assert_eq!(s.action(), Some(Action::StartTls));
    assert_eq!(s.action(), None);
}

// AUTH SSL: the old form, which also protects the data (PROT P implied).
#[test]
fn auth_ssl_implies_prot_p() {
    let mut s = script(TlsRequired::Off);
    s.expect_code("AUTH SSL", "234");
    assert_eq!(s.action(), Some(Action::StartTls));
    s.login_as("anonymous", Perms::READ_ONLY);
    assert!(retr_protected(&mut s));
}

// RFC 4217 §8, §9: PBSZ → 200 PBSZ=0; PROT C/P 200, S/E 536, others 504;
// neither before AUTH (503).
#[test]
fn pbsz_and_prot() {
    let mut s = script(TlsRequired::Off);
    s.expect_codes(&[("PBSZ 0", "503"), ("PROT P", "503"), ("PROT X", "504")]);
    auth(&mut s);
    assert_eq!(s.send("PBSZ 0"), "200 PBSZ=0\r\n");
    s.expect_codes(&[
        ("PROT S", "536"),
        ("PROT E", "536"),
        ("PROT Q", "504"),
        ("PROT P", "200"),
    ]);
    s.login_as("anonymous", Perms::READ_ONLY);
    assert!(retr_protected(&mut s));
    s.event(Event::TransferReady {
        size: Some(1),
        name: None,
    });
    s.event(Event::TransferDone(Ok(1)));
    s.expect_code("PROT C", "200");
    assert!(!retr_protected(&mut s));
}

// --tls-required users: named users must AUTH before USER (530 with a
// reason); anonymous may stay in the clear; PROT C refused (534) and a
// transfer without PROT P refused (521) for a named user.
#[test]
fn required_for_named_users() {
    let mut s = script(TlsRequired::Users);
    let r = s.expect_code("USER alice", "530");
    assert!(r.contains("AUTH TLS"), "{r}");
    s.login_as("anonymous", Perms::READ_ONLY);
    assert!(!retr_protected(&mut s));

    let mut s = script(TlsRequired::Users);
    auth(&mut s);
    s.login_as("alice", Perms::ALL);
    s.expect_codes(&[("PROT C", "534"), ("LIST", "521"), ("PROT P", "200")]);
    assert!(retr_protected(&mut s));
}

// --tls-required all: before AUTH only FEAT, AUTH, HOST, SYST, NOOP, QUIT.
#[test]
fn required_for_all() {
    let mut s = script(TlsRequired::All);
    for ok in ["FEAT", "SYST", "NOOP"] {
        let r = s.send(ok);
        assert!(!r.starts_with("530"), "{ok}: {r}");
    }
    for refused in [
        "USER anonymous",
        "PASS x",
        "PBSZ 0",
        "PROT P",
        "HELP",
        "PWD",
    ] {
        let r = s.expect_code(refused, "530");
        assert!(r.contains("TLS required"), "{refused}: {r}");
    }
    auth(&mut s);
    s.login_as("anonymous", Perms::READ_ONLY);
    s.expect_codes(&[("PROT C", "534"), ("RETR a", "521"), ("QUIT", "221")]);
}

// Off: PROT C stays allowed for everyone.
#[test]
fn not_required_when_off() {
    let mut s = script(TlsRequired::Off);
    s.login_as("alice", Perms::ALL);
    assert!(!retr_protected(&mut s));
}

// Implicit FTPS: the control connection is TLS already; PROT P implied;
// AUTH is 503.
#[test]
fn implicit_tls() {
    let mut s = script(TlsRequired::Users);
    s.s.set_implicit_tls();
    s.expect_code("AUTH TLS", "503");
    s.login_as("alice", Perms::ALL);
    assert!(retr_protected(&mut s));
}

// RFC 4217 §10: a refused data connection is 522; the session goes on.
#[test]
fn data_tls_refusals_are_522() {
    let mut s = script(TlsRequired::Off);
    auth(&mut s);
    s.expect_code("PROT P", "200");
    s.login_as("anonymous", Perms::READ_ONLY);
    for e in [TransferError::TlsNotResumed, TransferError::TlsHandshake] {
        assert!(retr_protected(&mut s));
        s.event(Event::TransferReady {
            size: Some(1),
            name: None,
        });
        let r = s.event(Event::TransferDone(Err(e)));
        assert!(r.starts_with("522"), "{r}");
        s.expect_code("NOOP", "200");
    }
}
