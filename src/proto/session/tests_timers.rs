//! Session scripts for the deadlines the server schedules from
//! [`Session::poll_timeout`]: each RFC timer moves as a client would see it.
//! The server-side data deadlines (data connect, stall) are tested with the
//! transfer's stages (`server/transfer`); here the session hands them over
//! while a transfer runs and takes the idle timer back after it.

use std::time::Duration;

use super::tests::Script;
use super::*;
use crate::proto::perms::Perms;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn cfg() -> SessionConfig {
    SessionConfig {
        idle_timeout_secs: 300,
        login_timeout_secs: 60,
        ..SessionConfig::default()
    }
}

fn script(cfg: SessionConfig) -> Script {
    Script::with(
        cfg,
        "127.0.0.1:40000".parse().unwrap(),
        "127.0.0.1:2121".parse().unwrap(),
    )
}

// A client that never logs in is cut at the login timeout however busy it
// keeps the connection (attack_login.rs checks the same on a socket).
#[test]
fn login_deadline_runs_from_the_greeting_and_commands_do_not_move_it() {
    let mut s = script(cfg());
    let t0 = s.now.mono;
    assert_eq!(s.s.poll_timeout(), Some(t0 + secs(60)));
    s.now.mono = t0 + secs(30);
    s.expect_code("NOOP", "200");
    assert_eq!(s.s.poll_timeout(), Some(t0 + secs(60)), "NOOP is no login");
    s.now.mono = t0 + secs(59);
    s.s.handle_tick(s.now);
    assert_eq!(s.out(), "", "not yet");
    s.now.mono = t0 + secs(60);
    s.s.handle_tick(s.now);
    assert!(s.out().starts_with("421"));
    assert!(s.s.is_closing());
    assert_eq!(s.s.poll_timeout(), None, "a closing session has no timer");
}

#[test]
fn a_login_ends_the_login_deadline_and_starts_the_idle_one() {
    let mut s = script(cfg());
    let t0 = s.now.mono;
    s.now.mono = t0 + secs(20);
    s.login_as("alice", Perms::ALL);
    assert_eq!(s.s.poll_timeout(), Some(t0 + secs(20 + 300)));
    s.now.mono = t0 + secs(61);
    s.s.handle_tick(s.now);
    assert_eq!(s.out(), "", "the login timeout no longer applies");
}

// RFC 959 §5.4 (421 service closing): the idle timer restarts with every command.
#[test]
fn idle_deadline_is_reset_by_a_command() {
    let mut s = script(cfg());
    let t0 = s.now.mono;
    s.login_as("alice", Perms::ALL);
    assert_eq!(s.s.poll_timeout(), Some(t0 + secs(300)));
    s.now.mono = t0 + secs(100);
    s.expect_code("NOOP", "200");
    assert_eq!(s.s.poll_timeout(), Some(t0 + secs(400)));
    // The old deadline falls (the server's heap entry was not moved): nothing.
    s.now.mono = t0 + secs(300);
    s.s.handle_tick(s.now);
    assert_eq!(s.out(), "");
    assert_eq!(s.s.poll_timeout(), Some(t0 + secs(400)));
    s.now.mono = t0 + secs(400);
    s.s.handle_tick(s.now);
    assert!(s.out().starts_with("421 Timeout"));
    assert_eq!(s.s.poll_timeout(), None);
}

// While a transfer runs the data deadlines (data connect, stall) are the
// server's; the session's idle timer starts again when it ends.
#[test]
fn a_transfer_hands_the_deadline_to_the_data_side_and_takes_it_back() {
    let mut s = script(cfg());
    let t0 = s.now.mono;
    s.login_as("alice", Perms::ALL);
    s.pasv(50_000);
    assert_eq!(s.send("RETR a"), "");
    assert!(matches!(s.action(), Some(Action::Transfer(_))));
    s.now.mono = t0 + secs(5);
    s.event(Event::TransferReady {
        size: Some(1),
        name: None,
    });
    assert!(s.s.is_transferring());
    assert_eq!(
        s.s.poll_timeout(),
        None,
        "no idle timeout during a transfer"
    );
    s.now.mono = t0 + secs(1000);
    s.s.handle_tick(s.now);
    assert_eq!(s.out(), "", "a long transfer is not idle");
    assert!(s.event(Event::TransferDone(Ok(1))).starts_with("226"));
    assert_eq!(s.s.poll_timeout(), Some(t0 + secs(1300)));
}

// Lines held back by --commands-per-sec-max run when the bucket refills:
// that moment is a deadline too.
#[test]
fn held_back_lines_have_a_deadline_when_the_budget_refills() {
    let mut s = script(SessionConfig {
        commands_per_sec_max: 1,
        commands_burst: 1,
        ..cfg()
    });
    let t0 = s.now.mono;
    s.s.handle_input(b"NOOP\r\nNOOP\r\n", s.now);
    let first = s.out();
    assert!(
        first.starts_with("200") && first.matches("\r\n").count() == 1,
        "{first:?}"
    );
    let due = s.s.poll_timeout().expect("a deadline for the held line");
    assert!(due > t0 && due <= t0 + secs(1), "{:?}", due - t0);
    s.now.mono = due;
    s.s.handle_tick(s.now);
    assert!(s.out().starts_with("200"));
    assert_eq!(
        s.s.poll_timeout(),
        Some(t0 + secs(60)),
        "back to the login deadline"
    );
}
