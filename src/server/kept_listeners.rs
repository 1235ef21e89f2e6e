//! Passive listeners kept between transfers, one pool per worker
//! (`--pasv-reuse-listener`, on by default).
//!
//! A bind per PASV/EPSV is costly for a mirror client's thousands of small
//! transfers: the kernel's bind walks every TIME_WAIT connection left on the
//! port (a fifth of the server's CPU in the 4 KiB benchmark). So a transfer's
//! listener goes back to its worker's pool when the transfer ends, and the
//! next PASV/EPSV of any session on that worker and local address takes it
//! instead of binding (see `conn/passive.rs`, which also closes whatever
//! connected to it while it was pooled). The pool holds at most half the
//! worker's ports; when the slice runs out of free ports the oldest pooled
//! listener is closed to make room (for another local address), so keeping
//! listeners never turns a PASV away; and an entry idle for
//! `--data-connect-timeout-secs` is closed.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::engine::SharedFd;

/// A listener in the pool.
pub struct Kept {
    pub fd: SharedFd,
    pub port: u16,
    /// The local address it is bound to.
    pub ip: IpAddr,
    /// When its transfer ended.
    pub since: Instant,
}

/// One worker's pooled listeners, oldest first.
#[derive(Default)]
pub struct KeptListeners {
    pool: Vec<Kept>,
}

impl KeptListeners {
    /// The most recently pooled listener bound to `ip`.
    pub fn take(&mut self, ip: IpAddr) -> Option<Kept> {
        let i = self.pool.iter().rposition(|k| k.ip == ip)?;
        Some(self.pool.remove(i))
    }

    /// Pools `k` unless the pool holds `max` already (then `k` is closed);
    /// true when pooled.
    pub fn put(&mut self, k: Kept, max: usize) -> bool {
        if self.pool.len() >= max {
            return false;
        }
        self.pool.push(k);
        true
    }

    /// The oldest pooled listener (to close when the slice has no free port).
    pub fn evict_oldest(&mut self) -> Option<Kept> {
        (!self.pool.is_empty()).then(|| self.pool.remove(0))
    }

    /// Closes the listeners idle for `limit` or longer; returns how many.
    pub fn expire(&mut self, now: Instant, limit: Duration) -> usize {
        let idle = |k: &Kept| now.saturating_duration_since(k.since) >= limit;
        // Oldest first: the idle ones are a prefix.
        let n = self.pool.iter().take_while(|k| idle(k)).count();
        self.pool.drain(..n);
        n
    }

    /// When the oldest pooled listener expires, if any (the worker's loop
    /// wakes for it).
    pub fn next_expiry(&self, limit: Duration) -> Option<Instant> {
        self.pool.first().map(|k| k.since + limit)
    }

    /// Closes every pooled listener (the worker is stopping).
    pub fn clear(&mut self) -> usize {
        let n = self.pool.len();
        self.pool.clear();
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use std::rc::Rc;

    fn kept(port: u16, ip: IpAddr, since: Instant) -> Kept {
        let fd = std::fs::File::open("/dev/null").unwrap();
        Kept {
            fd: Rc::new(fd.into()),
            port,
            ip,
            since,
        }
    }

    #[test]
    fn takes_the_newest_of_its_address_and_keeps_the_bound() {
        let t0 = Instant::now();
        let a = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let b = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        let mut p = KeptListeners::default();
        assert!(p.put(kept(1, a, t0), 3));
        assert!(p.put(kept(2, b, t0), 3));
        assert!(p.put(kept(3, a, t0), 3));
        // Full: the fourth is closed.
        assert!(!p.put(kept(4, a, t0), 3));
        assert_eq!(p.take(a).map(|k| k.port), Some(3));
        assert_eq!(p.take(b).map(|k| k.port), Some(2));
        assert!(p.take(b).is_none());
        assert_eq!(p.evict_oldest().map(|k| k.port), Some(1));
        assert!(p.evict_oldest().is_none());
    }

    #[test]
    fn expires_the_idle_prefix() {
        let t0 = Instant::now();
        let a = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let mut p = KeptListeners::default();
        for (port, age) in [(1u16, 10u64), (2, 5), (3, 1)] {
            let since = t0.checked_sub(Duration::from_secs(age)).unwrap_or(t0);
            assert!(p.put(kept(port, a, since), 8));
        }
        let limit = Duration::from_secs(5);
        assert_eq!(p.expire(t0, limit), 2);
        assert!(p.next_expiry(limit).is_some_and(|at| at > t0));
        assert_eq!(p.clear(), 1);
        assert!(p.take(a).is_none());
    }
}
