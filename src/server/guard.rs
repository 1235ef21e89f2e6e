//! Connection-side defences that need the ring or the clock, kept out of the
//! data path:
//!
//! - **Failed-login delay**: a refused login's 530 is held back
//!   `--login-fail-delay-ms` by a ring timeout, not a sleep, so the worker
//!   keeps serving every other session. The session reads no further command
//!   while it waits for the answer (RFC 959 commands run one at a time), so a
//!   client cannot pipeline guesses past the delay. Each failure also counts
//!   towards its address's ban ([`super::limits`]).
//! - **Unused passive listeners** expire after `--data-connect-timeout-secs`
//!   when no transfer is waiting on them, so a PASV that is never connected
//!   holds its port for a bounded time; the next transfer then gets 425.

use std::time::{Duration, Instant};

use super::conn::Conn;
use super::token::Purpose;
use super::worker::Ctx;
use crate::engine::Completion;
use crate::proto::session::Event;

impl Conn {
    /// A login was refused: counts the failure for the address and, when a
    /// delay is configured, arms it. Returns true when the answer is delayed
    /// (it is delivered by [`Conn::on_login_delay`]).
    pub fn login_refused(&mut self, ctx: &mut Ctx) -> bool {
        let now = Instant::now();
        let banned = ctx
            .shared
            .ips
            .lock()
            .map(|mut t| t.login_failed(self.peer.ip(), now))
            .unwrap_or(false);
        if banned {
            eprintln!(
                "ringftpd[w{}]: {}: banned for {} s after {} failed logins",
                ctx.id,
                self.peer.ip(),
                ctx.shared.args.ban_secs,
                ctx.shared.args.ban_after_failures
            );
        }
        let ms = ctx.shared.args.login_fail_delay_ms;
        if ms == 0 {
            return false;
        }
        let t = self.token(Purpose::LoginDelay);
        ctx.ring.timeout(Duration::from_millis(ms), t);
        true
    }

    /// The failed-login delay ran out: the session answers 530 (or 421).
    pub fn on_login_delay(&mut self, ctx: &mut Ctx, c: Completion) {
        let _ = c;
        let now = ctx.now();
        self.session.handle_event(Event::Login(None), now);
    }

    /// Closes a passive listener nobody used within the data-connect timeout.
    pub fn expire_unused_passive(&mut self, ctx: &mut Ctx, now: Instant) {
        let limit = Duration::from_secs(ctx.shared.args.data_connect_timeout_secs);
        let expired = self
            .pasv
            .as_ref()
            .is_some_and(|p| now.saturating_duration_since(p.opened_at) >= limit);
        if expired && self.xfer.is_none() {
            ctx.log(format_args!(
                "{}: unused passive listener closed",
                self.peer
            ));
            self.close_passive(ctx);
        }
    }
}
