//! Pacing a byte stream to a rate (bandwidth limits). Pure: time is passed in.
//!
//! A [`Pace`] is a byte bucket that may go into debt: a transfer asks
//! [`Pace::wait`] before each step, moves at most [`Pace::chunk_bytes`], and
//! reports what it moved with [`Pace::spend`]. While the bucket is in debt
//! the transfer waits (the server arms a ring timeout for the time `wait`
//! returns; no thread sleeps). Steps are about 1/50 s of the rate, so a
//! throttled transfer moves in small, even steps rather than in bursts, and
//! the average rate over any span longer than a step is the rate itself.
//! Up to 1/10 s may be saved up, so a timeout that fires late on a busy
//! machine is made up by the steps after it.

use std::time::{Duration, Instant};

/// Units per byte: one byte is refilled every `1 / rate` s, counted in
/// microseconds, so refills over any split of time add up exactly.
const MICRO: i128 = 1_000_000;

/// Steps per second of a paced transfer.
const STEPS_PER_SEC: u64 = 50;

/// The smallest step, bytes (below it the per-step cost dominates).
const CHUNK_MIN_BYTES: u64 = 512;

/// What a stream may save up while it is late or idle: 1/10 s of the rate.
/// A step whose timeout fires late (a busy machine) is made up by the next
/// steps going at once, so the average holds; and an idle stream gets no
/// bigger burst than this.
const SAVED_PER_SEC: u64 = 10;

/// A paced byte stream: `rate` bytes a second.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    rate: u64,
    /// Bytes × MICRO available (negative: owed) at `at`.
    level: i128,
    at: Instant,
    /// Largest step, bytes.
    chunk: u64,
    /// Most bytes saved up (× MICRO).
    saved_max: i128,
}

impl Pace {
    /// A pace of `rate_bytes_per_sec`; `None` for 0 (unlimited). `chunk_max`
    /// caps a step (the transfer's own largest step).
    pub fn new(rate_bytes_per_sec: u64, chunk_max: u64, now: Instant) -> Option<Pace> {
        if rate_bytes_per_sec == 0 {
            return None;
        }
        let chunk = (rate_bytes_per_sec / STEPS_PER_SEC)
            .max(CHUNK_MIN_BYTES)
            .min(chunk_max.max(1));
        let saved = (rate_bytes_per_sec / SAVED_PER_SEC).max(chunk);
        Some(Pace {
            rate: rate_bytes_per_sec,
            level: 0,
            at: now,
            chunk,
            saved_max: i128::from(saved) * MICRO,
        })
    }

    /// The rate, bytes per second.
    pub fn rate(&self) -> u64 {
        self.rate
    }

    /// Most bytes one step should move.
    pub fn chunk_bytes(&self) -> u64 {
        self.chunk
    }

    fn refill(&mut self, now: Instant) {
        let us = now.saturating_duration_since(self.at).as_micros() as i128;
        self.level = (self.level + us * i128::from(self.rate)).min(self.saved_max);
        self.at = now;
    }

    /// How long to wait before the next step; `None`: go now.
    pub fn wait(&mut self, now: Instant) -> Option<Duration> {
        self.refill(now);
        if self.level >= 0 {
            return None;
        }
        let us = (-self.level).div_euclid(i128::from(self.rate)) + 1;
        Some(Duration::from_micros(u64::try_from(us).unwrap_or(u64::MAX)))
    }

    /// `n` bytes moved.
    pub fn spend(&mut self, n: u64, now: Instant) {
        self.refill(now);
        self.level -= i128::from(n) * MICRO;
    }
}

/// The wait of the longest of several paces (`None`: all may go).
pub fn wait_all(paces: &mut [Option<&mut Pace>], now: Instant) -> Option<Duration> {
    paces
        .iter_mut()
        .filter_map(|p| p.as_mut().and_then(|p| p.wait(now)))
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_unlimited() {
        assert!(Pace::new(0, 1 << 20, Instant::now()).is_none());
    }

    #[test]
    fn steps_are_a_fiftieth_of_a_second_within_bounds() {
        let now = Instant::now();
        let chunk = |rate, max| Pace::new(rate, max, now).unwrap().chunk_bytes();
        assert_eq!(chunk(1_000_000, 1 << 20), 20_000);
        assert_eq!(chunk(1000, 1 << 20), 512, "at least 512 bytes");
        assert_eq!(
            chunk(1 << 40, 1 << 20),
            1 << 20,
            "at most the transfer's step"
        );
    }

    /// Moves at least `bytes` at `rate` in steps, sleeping each wait plus
    /// `late`; returns the seconds it took, the bytes moved and the step.
    fn run(rate: u64, bytes: u64, late: Duration) -> (f64, u64, u64) {
        let t0 = Instant::now();
        let mut p = Pace::new(rate, 1 << 20, t0).unwrap();
        let mut now = t0;
        let mut moved = 0u64;
        while moved < bytes {
            if let Some(d) = p.wait(now) {
                now += d + late;
                continue;
            }
            let n = p.chunk_bytes();
            p.spend(n, now);
            moved += n;
        }
        ((now - t0).as_secs_f64(), moved, p.chunk_bytes())
    }

    #[test]
    fn the_average_rate_is_the_rate() {
        // 100 kB/s, 1 MB moved in steps: it takes 10 s less the first step.
        let (secs, moved, step) = run(100_000, 1_000_000, Duration::ZERO);
        let expect = (moved - step) as f64 / 100_000.0;
        assert!((secs - expect).abs() < 0.001, "{secs} vs {expect}");
    }

    #[test]
    fn an_idle_stream_saves_up_a_tenth_of_a_second_only() {
        let t0 = Instant::now();
        let mut p = Pace::new(100_000, 1 << 20, t0).unwrap();
        let later = t0 + Duration::from_secs(60);
        assert_eq!(p.wait(later), None);
        // 10 000 bytes were saved (0.1 s), the other 2 000 are owed.
        p.spend(12_000, later);
        let w = p.wait(later).unwrap();
        assert!(
            w >= Duration::from_millis(20) && w <= Duration::from_micros(20_010),
            "{w:?}"
        );
    }

    #[test]
    fn late_wakeups_are_made_up() {
        // Every timeout fires 5 ms late: the steps after go at once, so the
        // rate holds.
        let (secs, _, _) = run(1_000_000, 5_000_000, Duration::from_millis(5));
        assert!((4.9..5.05).contains(&secs), "{secs}");
    }

    #[test]
    fn the_slowest_pace_decides() {
        let now = Instant::now();
        let mut a = Pace::new(1000, 1 << 20, now).unwrap();
        let mut b = Pace::new(2000, 1 << 20, now).unwrap();
        a.spend(1000, now);
        b.spend(1000, now);
        let w = wait_all(&mut [Some(&mut a), None, Some(&mut b)], now).unwrap();
        assert!(w >= Duration::from_millis(1000) && w < Duration::from_millis(1001));
        assert_eq!(wait_all(&mut [None], now), None);
    }
}
