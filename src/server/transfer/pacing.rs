//! Bandwidth limits of a transfer: its session's [`Pace`] (held by the
//! [`Link`]) and its worker's share of the server-wide rate (in the worker's
//! context). Before a step the body asks [`Link::paced`]; when a pace is in
//! debt the transfer's one op in flight is a ring timeout, and the body's
//! `step` runs again when it fires. No thread sleeps; other sessions go on
//! meanwhile. A step moves at most [`Link::chunk`] bytes (1/50 s of the
//! rate), so throttled transfers move evenly.

use super::{Io, Link, Step};
use crate::proto::pace;
use crate::server::token::Purpose;

/// Which way a transfer's bytes go (which server-wide pace applies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dir {
    Down,
    Up,
    /// Listings are not paced.
    Unpaced,
}

impl Link {
    fn worker_pace<'a>(&self, io: &'a mut Io) -> Option<&'a mut pace::Pace> {
        io.ctx
            .pace_for(self.dir == Dir::Up, self.dir != Dir::Unpaced)
    }

    /// `n` bytes moved: both paces are charged.
    pub(super) fn spend(&mut self, n: u64, io: &mut Io) {
        let now = io.now();
        if let Some(p) = self.pace.as_mut() {
            p.spend(n, now);
        }
        if let Some(p) = self.worker_pace(io) {
            p.spend(n, now);
        }
    }

    /// Most bytes the next step may move: `max`, or less when paced.
    pub(super) fn chunk(&self, io: &mut Io, max: u64) -> u64 {
        let worker = self.worker_pace(io).map(|p| p.chunk_bytes());
        [self.pace.map(|p| p.chunk_bytes()), worker]
            .into_iter()
            .flatten()
            .fold(max, u64::min)
            .max(1)
    }

    /// When a pace is in debt: arms a ring timeout as the transfer's op in
    /// flight (the body's `step` runs again when it fires) and says so.
    pub(super) fn paced(&mut self, io: &mut Io) -> Option<Step> {
        let now = io.now();
        let dir = self.dir;
        let worker = io.ctx.pace_for(dir == Dir::Up, dir != Dir::Unpaced);
        let wait = pace::wait_all(&mut [self.pace.as_mut(), worker], now)?;
        let t = io.tags.op(Purpose::DataIo);
        self.submit(io.ctx.ring.timeout(wait, t));
        self.paused = true;
        Some(Step::Continue)
    }
}
