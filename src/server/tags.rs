//! One connection's identity on its worker: the tokens its ops carry and the
//! tags its helper jobs carry, and the count of its ops still in flight (the
//! connection's slot is freed only when that count is zero after it closed,
//! so a completion can never reach a later connection in the same slot).

use super::pool::JobTag;
use super::token::{self, Purpose};

pub struct Tags {
    index: usize,
    gen: u32,
    in_flight: u32,
    seq: u64,
}

impl Tags {
    pub fn new(index: usize, gen: u32) -> Tags {
        Tags {
            index,
            gen,
            in_flight: 0,
            seq: 0,
        }
    }

    /// The connection's slab index and generation (for the buffer waiters).
    pub fn id(&self) -> (usize, u32) {
        (self.index, self.gen)
    }

    /// A token for a new op, counted in flight until [`Tags::completed`].
    pub fn op(&mut self, p: Purpose) -> u64 {
        self.in_flight += 1;
        token::pack(p, self.index, self.gen)
    }

    /// An op's last completion arrived.
    pub fn completed(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    pub fn in_flight(&self) -> u32 {
        self.in_flight
    }

    /// A tag for a new helper job (its sequence number tells answers apart).
    pub fn job(&mut self) -> JobTag {
        self.seq += 1;
        JobTag {
            conn: self.index,
            conn_gen: self.gen,
            seq: self.seq,
        }
    }
}
