//! A token bucket: a sustained rate with a burst. Every rate limit of the
//! server (connections per address, command lines per session, failed logins
//! per address) is one, so a client that does a lot at once and then little
//! (a mirror opening 50 connections, a pipelining client sending 60 commands)
//! runs at full speed, while one that keeps going faster than the rate is
//! held to it. Pure: time is passed in.

use std::time::{Duration, Instant};

/// A token is `MICRO × period_secs` units: a microsecond of refill adds
/// `tokens` units, so refills over any split of time add up exactly.
const MICRO: u128 = 1_000_000;

/// A bucket of up to `burst` tokens, refilled continuously.
#[derive(Debug, Clone, Copy)]
pub struct TokenBucket {
    /// Tokens (in units of 1 / (MICRO × period_secs)) at `at`.
    units: u128,
    at: Instant,
}

/// The limits of one kind of bucket, set at start-up: `tokens` added every
/// `period_secs` (spread evenly), at most `burst` kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub tokens: u32,
    pub period_secs: u32,
    pub burst: u32,
}

impl Rate {
    /// `per_sec` tokens a second (0: no refill), at most `burst` at once.
    pub fn per_sec(per_sec: u32, burst: u32) -> Rate {
        Rate {
            tokens: per_sec,
            period_secs: 1,
            burst,
        }
    }

    /// `count` per `secs` seconds with a burst of `count`: the bucket form
    /// of "at most `count` in `secs` seconds", which forgives one every
    /// `secs / count` seconds instead of all at once when a window ends.
    pub fn per_window(count: u32, secs: u64) -> Rate {
        Rate {
            tokens: count,
            period_secs: u32::try_from(secs).unwrap_or(u32::MAX).max(1),
            burst: count,
        }
    }

    fn period(self) -> u128 {
        u128::from(self.period_secs.max(1))
    }

    /// Units of one token.
    fn one(self) -> u128 {
        MICRO * self.period()
    }

    /// Units refilled over `elapsed`.
    fn refill_units(self, elapsed: Duration) -> u128 {
        elapsed.as_micros().saturating_mul(u128::from(self.tokens))
    }

    fn full_units(self) -> u128 {
        u128::from(self.burst) * self.one()
    }
}

impl TokenBucket {
    /// A full bucket.
    pub fn full(rate: Rate, now: Instant) -> TokenBucket {
        TokenBucket {
            units: rate.full_units(),
            at: now,
        }
    }

    fn refill(&mut self, rate: Rate, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at);
        let add = rate.refill_units(elapsed);
        self.units = self.units.saturating_add(add).min(rate.full_units());
        self.at = now;
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, rate: Rate, now: Instant) -> bool {
        self.refill(rate, now);
        if self.units >= rate.one() {
            self.units -= rate.one();
            true
        } else {
            false
        }
    }

    /// True when the bucket is full again (nothing to remember about it).
    pub fn is_full(&self, rate: Rate, now: Instant) -> bool {
        let mut b = *self;
        b.refill(rate, now);
        b.units >= rate.full_units()
    }

    /// When the next token will be there (now if one is). `None` when the
    /// bucket never refills.
    pub fn next_token_at(&self, rate: Rate, now: Instant) -> Option<Instant> {
        let mut b = *self;
        b.refill(rate, now);
        b.next_token(rate).map(|t| t.max(now))
    }

    /// When the next token will be there, from the last time the bucket was
    /// used (no clock needed). `None` when the bucket never refills.
    pub fn next_token(&self, rate: Rate) -> Option<Instant> {
        if self.units >= rate.one() {
            return Some(self.at);
        }
        if rate.tokens == 0 {
            return None;
        }
        // Microseconds until the missing units have been refilled.
        let us = (rate.one() - self.units).div_ceil(u128::from(rate.tokens));
        Some(self.at + Duration::from_micros(u64::try_from(us).unwrap_or(u64::MAX)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> Instant {
        Instant::now()
    }

    /// Takes the whole burst at `at`: every token of it must be there.
    fn take_burst(b: &mut TokenBucket, rate: Rate, at: Instant) {
        for i in 0..rate.burst {
            assert!(b.take(rate, at), "token {i}");
        }
    }

    /// A bucket filled at `now` whose burst was then all taken.
    fn drained(rate: Rate, now: Instant) -> TokenBucket {
        let mut b = TokenBucket::full(rate, now);
        take_burst(&mut b, rate, now);
        b
    }

    #[test]
    fn a_burst_then_the_sustained_rate() {
        let rate = Rate::per_sec(10, 50);
        let now = t0();
        let mut b = drained(rate, now);
        assert!(!b.take(rate, now), "the burst is used up");
        // 10 per second: one token every 100 ms.
        assert!(!b.take(rate, now + Duration::from_millis(99)));
        assert!(b.take(rate, now + Duration::from_millis(100)));
        assert_eq!(
            b.next_token_at(rate, now + Duration::from_millis(100)),
            Some(now + Duration::from_millis(200))
        );
        // A long pause refills to the burst, not beyond.
        let later = now + Duration::from_secs(3600);
        assert!(b.is_full(rate, later));
        take_burst(&mut b, rate, later);
        assert!(!b.take(rate, later));
    }

    #[test]
    fn a_window_rate_is_exact_for_slow_refills() {
        // 10 per 600 s: one back every minute.
        let rate = Rate::per_window(10, 600);
        let now = t0();
        let mut b = drained(rate, now);
        assert!(!b.take(rate, now + Duration::from_secs(59)));
        assert!(b.take(rate, now + Duration::from_secs(60)));
        assert!(!b.take(rate, now + Duration::from_secs(60)));
        assert_eq!(
            b.next_token_at(rate, now + Duration::from_secs(60)),
            Some(now + Duration::from_secs(120))
        );
    }

    #[test]
    fn zero_rate_never_refills() {
        let rate = Rate::per_sec(0, 2);
        let now = t0();
        let mut b = TokenBucket::full(rate, now);
        assert!(b.take(rate, now) && b.take(rate, now));
        assert!(!b.take(rate, now + Duration::from_secs(1_000_000)));
        assert_eq!(b.next_token_at(rate, now), None);
    }
}
