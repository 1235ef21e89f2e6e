//! Per-session pacing, all pure (time is passed in):
//!
//! - **Login timeout**: a session not logged in `login_timeout_secs` after its
//!   greeting gets 421 and is closed, so a half-open login cannot hold a slot.
//! - **Command rate**: a token bucket of `commands_burst` lines refilled at
//!   `commands_per_sec_max` a second. Beyond it the session *throttles*:
//!   further lines stay buffered and run when tokens are back (the server's
//!   tick calls [`Session::handle_tick`], which resumes them). No reply is lost
//!   and a pipelining client only slows down; a mirror client that sends
//!   bursts of commands never notices.
//! - **Input back-pressure**: while more than [`PENDING_LINES_MAX`] complete
//!   lines wait (throttled, or the session waits for a login check or a
//!   filesystem answer), [`Session::wants_input`] is false and the server stops
//!   reading the control socket, so a flood of short lines costs the server
//!   no memory beyond one receive buffer; TCP pushes back on the client.

use super::{Auth, Now, Session, SessionConfig};
use crate::proto::bucket::Rate;
use crate::proto::reply;

/// Complete lines held before the server stops reading the control socket.
pub const PENDING_LINES_MAX: usize = 64;

/// The command-line bucket's rate.
pub(super) fn command_rate(cfg: &SessionConfig) -> Rate {
    Rate::per_sec(cfg.commands_per_sec_max, cfg.commands_burst.max(1))
}

impl Session {
    /// True when one more command line may run now (and counts it).
    /// `commands_per_sec_max == 0` turns the limit off.
    pub(super) fn take_command_budget(&mut self, now: Now) -> bool {
        if self.cfg.commands_per_sec_max == 0 {
            return true;
        }
        let rate = command_rate(&self.cfg);
        self.budget.take(rate, now.mono)
    }

    /// Login timeout (RFC 959 §4.2 421: service closing the control connection).
    /// Returns true when the session was closed.
    pub(super) fn check_login_timeout(&mut self, now: Now) -> bool {
        let secs = self.cfg.login_timeout_secs;
        if secs == 0 || matches!(self.auth, Auth::LoggedIn(_)) {
            return false;
        }
        if now.mono.saturating_duration_since(self.created).as_secs() >= secs {
            self.reply(
                reply::SERVICE_NOT_AVAILABLE,
                "Login timeout: not logged in in time; closing control connection.",
            );
            self.close();
            return true;
        }
        false
    }

    /// False while enough complete lines wait that the server should stop
    /// reading the control connection (see the module doc).
    pub fn wants_input(&self) -> bool {
        !self.closing && self.lines.ready_lines() < PENDING_LINES_MAX
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::super::{Action, Event, Session, SessionConfig};
    use super::*;

    fn session(cfg: SessionConfig, now: Now) -> Session {
        let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let local: SocketAddr = "127.0.0.1:2121".parse().unwrap();
        let mut s = Session::new(Arc::new(cfg), peer, local, now);
        s.take_output();
        s
    }

    /// `secs` seconds after the start `t0`, on both clocks (the wall clock
    /// starting at 0).
    fn at(t0: Instant, secs: u64) -> Now {
        Now {
            mono: t0 + Duration::from_secs(secs),
            unix_secs: secs as i64,
        }
    }

    fn text(s: &mut Session) -> String {
        s.take_output()
            .map(|o| String::from_utf8(o).unwrap())
            .unwrap_or_default()
    }

    #[test]
    fn commands_beyond_the_burst_wait_for_tokens() {
        let t0 = at(Instant::now(), 0);
        let cfg = SessionConfig {
            commands_per_sec_max: 2,
            commands_burst: 3,
            ..SessionConfig::default()
        };
        let mut s = session(cfg, t0);
        s.handle_input(b"NOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\n", t0);
        assert_eq!(text(&mut s).matches("200 ").count(), 3);
        s.handle_tick(t0);
        assert_eq!(text(&mut s), "");
        let t1 = at(t0.mono, 1);
        s.handle_tick(t1);
        assert_eq!(text(&mut s).matches("200 ").count(), 2);
        assert!(!s.is_closing());
    }

    #[test]
    fn login_timeout_closes_with_421() {
        let t0 = at(Instant::now(), 0);
        let cfg = SessionConfig {
            login_timeout_secs: 5,
            ..SessionConfig::default()
        };
        let mut s = session(cfg, t0);
        s.handle_input(b"USER bob\r\n", t0);
        assert!(text(&mut s).starts_with("331"));
        let t4 = at(t0.mono, 4);
        s.handle_input(b"NOOP\r\n", t4);
        s.handle_tick(t4);
        assert!(!s.is_closing());
        let t5 = at(t0.mono, 5);
        s.handle_tick(t5);
        assert!(text(&mut s).contains("421 Login timeout"));
        assert!(s.is_closing());
    }

    #[test]
    fn a_flood_of_lines_while_waiting_stops_input() {
        let t0 = at(Instant::now(), 0);
        let mut s = session(SessionConfig::default(), t0);
        s.handle_input(b"USER anonymous\r\nPASS x\r\n", t0);
        while s.poll_action().is_some() {}
        text(&mut s);
        assert!(s.wants_input());
        s.handle_input("NOOP\r\n".repeat(PENDING_LINES_MAX).as_bytes(), t0);
        assert!(!s.wants_input(), "the server must stop reading");
        s.handle_event(Event::Login(None), t0);
        assert!(s.wants_input());
        assert!(!matches!(s.poll_action(), Some(Action::Close)));
    }
}
