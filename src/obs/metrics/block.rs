//! One worker's counters: a block only its worker writes and the scraper
//! reads.
//!
//! Why there is no lock and no shared cache line per event: each worker
//! owns its block (cache-line aligned, so no other allocation shares its
//! lines), and only that worker's thread writes it. A single writer needs no
//! read-modify-write instruction: [`Count::add`] is a relaxed load and a
//! relaxed store, which compile to two plain `mov`s on x86-64 and aarch64,
//! no `lock` prefix. The atomics are there only so a scraper on another
//! thread may read while the worker writes (a torn 64-bit read is
//! impossible, and a relaxed read may be a few events old, which a scrape
//! tolerates). The scrape itself touches every line of every block once.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Reply codes counted: every code RFC 959 can give (100..=599).
pub(crate) const REPLY_CODE_MIN: u16 = 100;
pub(crate) const REPLY_CODES: usize = 500;

/// Bucket upper bounds of a histogram, plus the implicit `+Inf`.
pub(crate) const BOUNDS: usize = 16;

/// One value with a single writer.
#[derive(Debug, Default)]
pub(crate) struct Count(AtomicU64);

impl Count {
    pub(crate) const fn new() -> Count {
        Count(AtomicU64::new(0))
    }

    /// Adds `n`. Only the owning worker may call this (a second writer
    /// would lose increments: load and store are not one atomic step).
    #[inline]
    pub(crate) fn add(&self, n: u64) {
        self.0.store(self.0.load(Relaxed).wrapping_add(n), Relaxed);
    }

    /// Takes `n` away (gauges). Wraps, so a gauge summed over workers is
    /// right even if one worker's part is transiently "negative".
    #[inline]
    pub(crate) fn sub(&self, n: u64) {
        self.0.store(self.0.load(Relaxed).wrapping_sub(n), Relaxed);
    }

    #[inline]
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

/// Fixed histogram buckets: upper bounds in microseconds, and the same
/// bounds in seconds as the text of the `le` label.
pub(crate) struct Buckets {
    pub(crate) bounds_micros: [u64; BOUNDS],
    pub(crate) le: [&'static str; BOUNDS],
}

/// Data-connection set-up: from the transfer command to the data socket
/// being connected (accept or connect); loopback is ~50 µs, a far client
/// a few RTTs, a firewall dropping PASV ports hits the 10 s end.
pub(crate) const SETUP_BUCKETS: Buckets = Buckets {
    bounds_micros: [
        100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
        1_000_000, 2_500_000, 5_000_000, 10_000_000,
    ],
    le: [
        "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
        "0.25", "0.5", "1", "2.5", "5", "10",
    ],
};

/// Transfer duration: a listing takes milliseconds, a mirror's ISO image
/// can take an hour or two.
pub(crate) const DURATION_BUCKETS: Buckets = Buckets {
    bounds_micros: [
        1_000,
        10_000,
        50_000,
        100_000,
        500_000,
        1_000_000,
        5_000_000,
        10_000_000,
        30_000_000,
        60_000_000,
        120_000_000,
        300_000_000,
        600_000_000,
        1_800_000_000,
        3_600_000_000,
        7_200_000_000,
    ],
    le: [
        "0.001", "0.01", "0.05", "0.1", "0.5", "1", "5", "10", "30", "60", "120", "300", "600",
        "1800", "3600", "7200",
    ],
};

/// Per-bucket (not cumulative) counts and the sum; the renderer makes them
/// cumulative, and derives `_count` from the buckets so `+Inf == _count`
/// holds in every scrape.
#[derive(Debug)]
pub(crate) struct Histogram {
    pub(crate) buckets: [Count; BOUNDS + 1],
    pub(crate) sum_micros: Count,
}

impl Histogram {
    pub(crate) const fn new() -> Histogram {
        Histogram {
            buckets: [const { Count::new() }; BOUNDS + 1],
            sum_micros: Count::new(),
        }
    }

    #[inline]
    pub(crate) fn observe(&self, buckets: &Buckets, d: Duration) {
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let i = buckets
            .bounds_micros
            .iter()
            .position(|&b| micros <= b)
            .unwrap_or(BOUNDS);
        self.buckets[i].add(1);
        self.sum_micros.add(micros);
    }
}

/// Everything one worker counts. Aligned to 128 bytes: two 64-byte lines,
/// since x86's adjacent-line prefetcher pairs lines (crossbeam's
/// `CachePadded` uses 128 on x86-64 for the same reason).
#[derive(Debug)]
#[repr(C, align(128))]
pub(crate) struct Block {
    pub(crate) sessions: Count,
    pub(crate) passive_ports: Count,
    /// Indexed `[ok, failed]`.
    pub(crate) logins: [Count; 2],
    /// Indexed `[direction][mode][result]`.
    pub(crate) transfers: [[[Count; 3]; 4]; 3],
    pub(crate) transfer_bytes: [Count; 3],
    pub(crate) replies: [Count; REPLY_CODES],
    pub(crate) refused: [Count; 7],
    pub(crate) setup: Histogram,
    pub(crate) duration: [Histogram; 3],
}

impl Block {
    pub(crate) fn new() -> Block {
        Block {
            sessions: Count::new(),
            passive_ports: Count::new(),
            logins: [const { Count::new() }; 2],
            transfers: [const { [const { [const { Count::new() }; 3] }; 4] }; 3],
            transfer_bytes: [const { Count::new() }; 3],
            replies: [const { Count::new() }; REPLY_CODES],
            refused: [const { Count::new() }; 7],
            setup: Histogram::new(),
            duration: [const { Histogram::new() }; 3],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_is_aligned_to_its_own_lines() {
        assert_eq!(std::mem::align_of::<Block>(), 128);
        assert_eq!(std::mem::size_of::<Block>() % 128, 0);
    }

    #[test]
    fn bucket_bounds_ascend_and_match_their_labels() {
        for b in [&SETUP_BUCKETS, &DURATION_BUCKETS] {
            assert!(b.bounds_micros.windows(2).all(|w| w[0] < w[1]));
            for (micros, le) in b.bounds_micros.iter().zip(b.le) {
                let secs: f64 = le.parse().unwrap();
                assert!((secs * 1e6 - *micros as f64).abs() < 1e-6, "{le}");
            }
        }
    }

    #[test]
    fn observe_picks_the_first_bucket_at_or_above() {
        let h = Histogram::new();
        h.observe(&SETUP_BUCKETS, Duration::from_micros(100));
        h.observe(&SETUP_BUCKETS, Duration::from_micros(101));
        h.observe(&SETUP_BUCKETS, Duration::from_secs(3600));
        assert_eq!(h.buckets[0].get(), 1);
        assert_eq!(h.buckets[1].get(), 1);
        assert_eq!(h.buckets[BOUNDS].get(), 1);
        assert_eq!(h.sum_micros.get(), 100 + 101 + 3_600_000_000);
    }

    #[test]
    fn gauge_wraps_back() {
        let c = Count::new();
        c.sub(1);
        c.add(3);
        assert_eq!(c.get(), 2);
    }
}
