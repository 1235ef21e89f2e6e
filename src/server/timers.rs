//! A worker's deadlines: one min-heap of (deadline, connection index,
//! generation) with lazy deletion, in place of a sweep of every connection
//! every second (STYLE 13: ask the core for its next deadline).
//!
//! Each connection remembers in an [`Armed`] the deadline of its live heap
//! entry. When its wanted deadline moves *earlier* a new entry is pushed and
//! the old one becomes stale; when it moves *later* (a command reset the idle
//! timer) nothing is pushed: the old, earlier entry fires, the connection finds
//! nothing due, and schedules its new deadline then. So a busy session costs
//! no heap work per command, and an idle one costs nothing until its deadline.
//! Stale entries (the connection is gone, its slot has a new generation, or it
//! pushed an earlier one since) are dropped when they reach the top; the
//! worker compacts the heap when they outnumber the live ones.
//!
//! The worker waits on its ring with the earliest deadline as the timeout of
//! `io_uring_enter` (one timer per worker, re-computed on every pass, so an
//! earlier deadline is honoured at once); see docs/architecture.md.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// One heap entry: when, and for which connection (slab index, generation).
pub type Entry = (Instant, usize, u32);

/// The heap of deadlines.
#[derive(Debug, Default)]
pub struct Timers {
    heap: BinaryHeap<Reverse<Entry>>,
}

impl Timers {
    pub fn new() -> Timers {
        Timers::default()
    }

    /// Adds a deadline for connection `index` of generation `gen`.
    pub fn schedule(&mut self, at: Instant, index: usize, gen: u32) {
        self.heap.push(Reverse((at, index, gen)));
    }

    /// The earliest deadline held (possibly a stale one: waking for it is harmless).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Takes the earliest entry if it is due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<Entry> {
        if self.next_deadline()? > now {
            return None;
        }
        self.heap.pop().map(|Reverse(e)| e)
    }

    /// Entries held, live and stale.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Keeps only the entries `live` says are live (compaction).
    pub fn retain(&mut self, mut live: impl FnMut(&Entry) -> bool) {
        self.heap.retain(|Reverse(e)| live(e));
    }

    /// True when stale entries are worth dropping: more than twice the live
    /// connections (plus slack, so a small worker never compacts).
    pub fn needs_compaction(&self, live: usize) -> bool {
        self.heap.len() > 2 * live + 1024
    }
}

/// A connection's side of the heap: the deadline of its live entry.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Armed(Option<Instant>);

impl Armed {
    /// The connection now wants to be woken at `want`: returns the deadline
    /// to push when it is earlier than the live entry (or there is none).
    pub fn update(&mut self, want: Option<Instant>) -> Option<Instant> {
        let want = want?;
        if self.0.is_some_and(|armed| armed <= want) {
            return None;
        }
        self.0 = Some(want);
        Some(want)
    }

    /// An entry for `at` reached the top: true when it is the live one
    /// (which is then spent), false for a stale one.
    pub fn fire(&mut self, at: Instant) -> bool {
        if self.0 == Some(at) {
            self.0 = None;
            true
        } else {
            false
        }
    }

    /// True when `at` is the live entry's deadline (compaction keeps it).
    pub fn is(&self, at: Instant) -> bool {
        self.0 == Some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn entries_come_out_in_deadline_order_and_only_when_due() {
        let t0 = Instant::now();
        let mut t = Timers::new();
        t.schedule(t0 + secs(30), 1, 1);
        t.schedule(t0 + secs(10), 2, 1);
        t.schedule(t0 + secs(20), 3, 1);
        assert_eq!(t.next_deadline(), Some(t0 + secs(10)));
        assert_eq!(t.pop_due(t0 + secs(9)), None, "nothing due yet");
        assert_eq!(t.pop_due(t0 + secs(25)), Some((t0 + secs(10), 2, 1)));
        assert_eq!(t.pop_due(t0 + secs(25)), Some((t0 + secs(20), 3, 1)));
        assert_eq!(t.pop_due(t0 + secs(25)), None);
        assert_eq!(t.pop_due(t0 + secs(30)), Some((t0 + secs(30), 1, 1)));
        assert!(t.is_empty());
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn a_later_deadline_pushes_nothing_an_earlier_one_pushes_and_stales_the_old() {
        let t0 = Instant::now();
        let mut a = Armed::default();
        assert_eq!(a.update(None), None, "no deadline: nothing armed");
        assert_eq!(a.update(Some(t0 + secs(300))), Some(t0 + secs(300)));
        // A command moved the idle deadline later: the old entry stays live.
        assert_eq!(a.update(Some(t0 + secs(310))), None);
        assert!(a.is(t0 + secs(300)));
        // A transfer's stall deadline is earlier: pushed, the old one is stale.
        assert_eq!(a.update(Some(t0 + secs(120))), Some(t0 + secs(120)));
        assert!(!a.fire(t0 + secs(300)), "stale entry");
        assert!(a.fire(t0 + secs(120)), "live entry");
        assert!(!a.fire(t0 + secs(120)), "spent");
        assert_eq!(a.update(Some(t0 + secs(310))), Some(t0 + secs(310)));
    }

    #[test]
    fn lazy_deletion_drops_stale_entries_and_compaction_keeps_the_live() {
        let t0 = Instant::now();
        let mut t = Timers::new();
        let mut armed = [Armed::default(), Armed::default()];
        for (i, s) in [(0, 50), (0, 40), (0, 30), (1, 45)] {
            if let Some(at) = armed[i].update(Some(t0 + secs(s))) {
                t.schedule(at, i, 7);
            }
        }
        assert_eq!(t.len(), 4);
        assert!(!t.needs_compaction(2));
        t.retain(|&(at, i, _)| armed[i].is(at));
        assert_eq!(t.len(), 2, "only the live entry of each connection");
        let mut fired = Vec::new();
        while let Some((at, i, _)) = t.pop_due(t0 + secs(60)) {
            if armed[i].fire(at) {
                fired.push((i, at));
            }
        }
        assert_eq!(fired, vec![(0, t0 + secs(30)), (1, t0 + secs(45))]);
    }

    #[test]
    fn many_stale_entries_ask_for_compaction() {
        let t0 = Instant::now();
        let mut t = Timers::new();
        for s in 0..3000 {
            t.schedule(t0 + secs(s), 0, 1);
        }
        assert!(t.needs_compaction(10));
        assert!(!t.needs_compaction(1500));
    }
}
