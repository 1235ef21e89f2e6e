//! The failed-login delay: a refused login's 530 is held back
//! `--login-fail-delay-ms` by a deadline in the worker's timer heap, not a
//! sleep, so the worker keeps serving every other session. The session reads no further command
//! while it waits for the answer (RFC 959 commands run one at a time), so a
//! client cannot pipeline guesses past the delay. Each failure also counts
//! towards its address's ban ([`crate::server::limits`]).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::server::ctx::Ctx;

/// A login was refused: counts the failure for the address and returns when
/// the delayed answer is due (`None`: no delay, answer now).
pub(super) fn login_refused(ctx: &mut Ctx, peer: SocketAddr) -> Option<Instant> {
    let now = ctx.now.mono;
    let banned = ctx
        .shared
        .ips
        .lock()
        .map(|mut t| t.login_failed(peer.ip(), now))
        .unwrap_or(false);
    if banned {
        eprintln!(
            "ringftpd[w{}]: {}: banned for {} s after {} failed logins",
            ctx.id,
            peer.ip(),
            ctx.shared.args.ban_secs,
            ctx.shared.args.ban_after_failures
        );
    }
    let ms = ctx.shared.args.login_fail_delay_ms;
    (ms > 0).then(|| now + Duration::from_millis(ms))
}
