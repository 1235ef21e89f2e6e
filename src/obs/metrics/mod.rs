//! Prometheus metrics: one counter block per worker, summed at scrape time.
//!
//! - [`Registry::new`] makes one [`WorkerMetrics`] per worker; each worker
//!   moves its own into its thread and calls its methods at each event.
//!   `WorkerMetrics` is `Send` but neither `Sync` nor `Clone`, so the
//!   compiler holds the single-writer rule the lock-free counting relies on
//!   (see `block.rs`).
//! - [`Registry::render`] sums every block into a [`Snapshot`] and writes
//!   the text exposition format (`render.rs`); the HTTP endpoint
//!   ([`super::http::MetricsServer`]) calls it on its own thread.
//!
//! No label carries a user, a path or an address: label values come from the
//! closed sets in [`super::labels`] and the reply codes 100..=599, so the
//! number of series is fixed.

mod block;
mod render;

#[cfg(test)]
mod tests;

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use block::{Block, Count, BOUNDS, DURATION_BUCKETS, REPLY_CODES, REPLY_CODE_MIN, SETUP_BUCKETS};

use super::labels::{DataMode, Direction, RefusalReason, TransferResult};

/// A value read at scrape time from outside the workers (log lines dropped
/// by a log writer, …): a `(name label value, reader)` pair.
type Probe = (&'static str, Box<dyn Fn() -> u64 + Send + Sync>);

/// Every worker's block, for the scraper.
pub struct Registry {
    blocks: Vec<Arc<Block>>,
    version: &'static str,
    log_drops: Vec<Probe>,
}

/// One worker's writing end. Only its owner writes; see the module doc.
#[derive(Debug)]
pub struct WorkerMetrics {
    block: Arc<Block>,
    /// Not `Sync`: two threads must never write one block.
    _single_writer: PhantomData<std::cell::Cell<()>>,
}

impl Registry {
    /// A registry for `workers` workers and their writing ends, in worker
    /// order.
    pub fn new(workers: usize) -> (Registry, Vec<WorkerMetrics>) {
        let blocks: Vec<Arc<Block>> = (0..workers).map(|_| Arc::new(Block::new())).collect();
        let handles = blocks
            .iter()
            .map(|b| WorkerMetrics {
                block: b.clone(),
                _single_writer: PhantomData,
            })
            .collect();
        let reg = Registry {
            blocks,
            version: env!("CARGO_PKG_VERSION"),
            log_drops: Vec::new(),
        };
        (reg, handles)
    }

    /// Exports `ringftpd_log_lines_dropped_total{log="<log>"}`, read from
    /// `read` at each scrape (e.g. `move || xferlog.dropped_total()`).
    pub fn add_log_drops(
        &mut self,
        log: &'static str,
        read: impl Fn() -> u64 + Send + Sync + 'static,
    ) {
        self.log_drops.push((log, Box::new(read)));
    }

    /// Sums every worker's block.
    pub fn snapshot(&self) -> Snapshot {
        let mut s = Snapshot::zero(self.blocks.len());
        for b in &self.blocks {
            s.add(b);
        }
        s.log_drops = self.log_drops.iter().map(|(n, f)| (*n, f())).collect();
        s
    }

    /// The text exposition format (version 0.0.4) of a fresh snapshot.
    pub fn render(&self) -> String {
        render::render(&self.snapshot(), self.version)
    }
}

/// The two methods that move one gauge of the block: `$up` counts one
/// more, `$down` takes away one that `$up` counted.
macro_rules! gauge_methods {
    ($gauge:ident, $(#[$up_doc:meta])* $up:ident, $(#[$down_doc:meta])* $down:ident) => {
        $(#[$up_doc])*
        #[inline]
        pub fn $up(&self) {
            self.block.$gauge.add(1);
        }

        $(#[$down_doc])*
        #[inline]
        pub fn $down(&self) {
            self.block.$gauge.sub(1);
        }
    };
}

impl WorkerMetrics {
    gauge_methods!(
        sessions,
        /// A control connection was accepted and got its greeting.
        session_opened,
        /// A session that [`WorkerMetrics::session_opened`] counted has closed.
        session_closed
    );

    gauge_methods!(
        passive_ports,
        /// A passive listener was opened (PASV/EPSV).
        passive_port_opened,
        /// A passive listener counted by
        /// [`WorkerMetrics::passive_port_opened`] was closed.
        passive_port_closed
    );

    /// A login was decided (after the hash check).
    #[inline]
    pub fn login(&self, ok: bool) {
        self.block.logins[usize::from(!ok)].add(1);
    }

    /// A reply was sent (every reply line's code, 100..=599; others are
    /// not counted).
    #[inline]
    pub fn reply(&self, code: u16) {
        if let Some(c) = code
            .checked_sub(REPLY_CODE_MIN)
            .and_then(|i| self.block.replies.get(usize::from(i)))
        {
            c.add(1);
        }
    }

    /// A connection was turned away.
    #[inline]
    pub fn refused(&self, reason: RefusalReason) {
        self.block.refused[reason.index()].add(1);
    }

    /// A data connection is up, `setup` after the transfer command.
    #[inline]
    pub fn data_connection_ready(&self, setup: Duration) {
        self.block.setup.observe(&SETUP_BUCKETS, setup);
    }

    /// `bytes` moved on a data connection (call per completion, so the
    /// byte counters rise during long transfers, not only at their end).
    #[inline]
    pub fn transfer_bytes(&self, direction: Direction, bytes: u64) {
        self.block.transfer_bytes[direction.index()].add(bytes);
    }

    /// A transfer ended, `duration` after its command.
    #[inline]
    pub fn transfer_done(
        &self,
        direction: Direction,
        mode: DataMode,
        result: TransferResult,
        duration: Duration,
    ) {
        let d = direction.index();
        self.block.transfers[d][mode.index()][result.index()].add(1);
        self.block.duration[d].observe(&DURATION_BUCKETS, duration);
    }
}

/// Plain copies of the summed counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub workers: usize,
    pub sessions: u64,
    pub passive_ports: u64,
    /// `[ok, failed]`.
    pub logins: [u64; 2],
    /// `[direction][mode][result]`, in the order of the `ALL` arrays.
    pub transfers: [[[u64; 3]; 4]; 3],
    pub transfer_bytes: [u64; 3],
    /// Index `code - 100`.
    pub replies: Box<[u64; REPLY_CODES]>,
    pub refused: [u64; 7],
    pub setup: HistogramSnapshot,
    pub duration: [HistogramSnapshot; 3],
    pub log_drops: Vec<(&'static str, u64)>,
}

/// Per-bucket counts (the last is `+Inf`) and the sum in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HistogramSnapshot {
    pub buckets: [u64; BOUNDS + 1],
    pub sum_micros: u64,
}

impl HistogramSnapshot {
    fn add(&mut self, h: &block::Histogram) {
        for (s, c) in self.buckets.iter_mut().zip(&h.buckets) {
            *s += c.get();
        }
        self.sum_micros += h.sum_micros.get();
    }

    /// Observations: the sum of the buckets.
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }
}

fn sum_into(dst: &mut [u64], src: &[Count]) {
    for (d, c) in dst.iter_mut().zip(src) {
        *d = d.wrapping_add(c.get());
    }
}

impl Snapshot {
    fn zero(workers: usize) -> Snapshot {
        Snapshot {
            workers,
            sessions: 0,
            passive_ports: 0,
            logins: [0; 2],
            transfers: [[[0; 3]; 4]; 3],
            transfer_bytes: [0; 3],
            replies: Box::new([0; REPLY_CODES]),
            refused: [0; 7],
            setup: HistogramSnapshot::default(),
            duration: [HistogramSnapshot::default(); 3],
            log_drops: Vec::new(),
        }
    }

    fn add(&mut self, b: &Block) {
        // Gauges wrap per worker (see `Count::sub`); the sum is exact.
        self.sessions = self.sessions.wrapping_add(b.sessions.get());
        self.passive_ports = self.passive_ports.wrapping_add(b.passive_ports.get());
        sum_into(&mut self.logins, &b.logins);
        for (sd, bd) in self.transfers.iter_mut().zip(&b.transfers) {
            for (sm, bm) in sd.iter_mut().zip(bd) {
                sum_into(sm, bm);
            }
        }
        sum_into(&mut self.transfer_bytes, &b.transfer_bytes);
        sum_into(&mut self.replies[..], &b.replies);
        sum_into(&mut self.refused, &b.refused);
        self.setup.add(&b.setup);
        for (s, h) in self.duration.iter_mut().zip(&b.duration) {
            s.add(h);
        }
    }

    /// Replies sent with `code`.
    pub fn replies_with(&self, code: u16) -> u64 {
        code.checked_sub(REPLY_CODE_MIN)
            .and_then(|i| self.replies.get(usize::from(i)))
            .copied()
            .unwrap_or(0)
    }
}
