//! Per-address admission: bans after repeated failed logins, sessions per
//! address, and the rate of new connections per address (proftpd's
//! `MaxConnectionsPerHost`, `MaxConnectionRate` and mod_ban, vsftpd's
//! `max_per_ip`). Checked at accept, before the greeting: a refused
//! connection gets one 421 line naming the limit and is closed.
//!
//! Both rates are token buckets ([`crate::proto::bucket`]): a mirror client
//! opening 50 connections at once, or a user mistyping a password a few
//! times, spends part of a burst and is not slowed; only an address that keeps
//! going faster than the sustained rate is refused or banned.
//!
//! One table for the whole process, behind a mutex. SO_REUSEPORT spreads one
//! client's connections over the workers by a hash of the 4-tuple, so a table
//! per worker would let an address have `workers × limit` sessions and
//! `workers × N` failed logins before a ban. The lock is taken once per
//! accept, close and failed login (never per command or per byte) and does
//! O(1) work, so it costs nothing next to the accept itself.
//!
//! Memory: an entry lives while its address has sessions, failures in the
//! window, a ban, or a connection in the current second; [`IpTable::prune`]
//! drops the rest, run lazily by [`IpTable::admit`] at most once a second
//! (the table is never locked on a timer). At most [`IP_TABLE_ENTRIES_MAX`] addresses are tracked; past
//! that, new addresses are admitted untracked (the global `--sessions-max`
//! still bounds them) and the event is logged once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

use crate::proto::bucket::{Rate, TokenBucket};
use crate::proto::reply;

/// Addresses tracked at most.
pub const IP_TABLE_ENTRIES_MAX: usize = 100_000;

/// The per-address limits, from the command line.
#[derive(Debug, Clone, Copy)]
pub struct IpLimits {
    /// 0: no limit.
    pub sessions_per_ip_max: u32,
    /// New connections: sustained rate per second and burst (rate 0: no limit).
    pub connections: Rate,
    /// Failed logins before a ban: a burst of `ban_after_failures`, forgiven
    /// at `ban_after_failures` per `ban_window_secs` (burst 0: never ban).
    pub failures: Rate,
    pub ban_secs: u64,
}

/// Why a connection was refused at the greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The address is banned after repeated failed logins.
    Banned,
    /// The address has `sessions_per_ip_max` sessions already.
    SessionsPerIp,
    /// The address opened too many connections this second.
    ConnectionRate,
}

impl Refusal {
    /// The one line sent before closing (RFC 959 §4.2: 421 service not available).
    pub fn reply(self) -> Vec<u8> {
        let text = match self {
            Refusal::Banned => "Too many failed logins from your address; try again later.",
            Refusal::SessionsPerIp => "Too many connections from your address.",
            Refusal::ConnectionRate => "Connecting too fast from your address; slow down.",
        };
        reply::encode(reply::SERVICE_NOT_AVAILABLE, text)
    }

    /// Its label in `ringftpd_refused_total` and the event log.
    pub fn reason(self) -> crate::obs::labels::RefusalReason {
        use crate::obs::labels::RefusalReason as R;
        match self {
            Refusal::Banned => R::Banned,
            Refusal::SessionsPerIp => R::SessionsPerIp,
            Refusal::ConnectionRate => R::ConnectionRate,
        }
    }
}

/// What is remembered of one address. A bucket that is `None` is full.
#[derive(Debug, Default)]
struct IpState {
    sessions: u32,
    connections: Option<TokenBucket>,
    failures: Option<TokenBucket>,
    banned_until: Option<Instant>,
}

/// Takes a token from `slot` (a missing bucket is a full one).
fn take(slot: &mut Option<TokenBucket>, rate: Rate, now: Instant) -> bool {
    slot.get_or_insert_with(|| TokenBucket::full(rate, now))
        .take(rate, now)
}

impl IpState {
    fn idle(&self, l: &IpLimits, now: Instant) -> bool {
        let full = |b: &Option<TokenBucket>, r| b.is_none_or(|b: TokenBucket| b.is_full(r, now));
        self.sessions == 0
            && self.banned_until.is_none_or(|t| t <= now)
            && full(&self.connections, l.connections)
            && full(&self.failures, l.failures)
    }
}

/// Per-address state of the whole server.
#[derive(Debug)]
pub struct IpTable {
    limits: IpLimits,
    ips: HashMap<IpAddr, IpState>,
    last_prune: Option<Instant>,
    overflow_logged: bool,
}

impl IpTable {
    pub fn new(limits: IpLimits) -> IpTable {
        IpTable {
            limits,
            ips: HashMap::new(),
            last_prune: None,
            overflow_logged: false,
        }
    }

    /// A new connection from `ip`: counts it, and admits it (then it holds a
    /// session until [`IpTable::release`]) or says why not.
    pub fn admit(&mut self, ip: IpAddr, now: Instant) -> Result<(), Refusal> {
        // Pruned lazily here, at most once a second, so no worker takes the
        // lock on a timer: an idle server never touches the table.
        self.prune(now);
        let ip = ip.to_canonical();
        if !self.ips.contains_key(&ip) && self.ips.len() >= IP_TABLE_ENTRIES_MAX {
            if !self.overflow_logged {
                eprintln!("ringftpd: {IP_TABLE_ENTRIES_MAX} client addresses tracked; new ones are not limited per address");
                self.overflow_logged = true;
            }
            return Ok(());
        }
        let l = self.limits;
        let st = self.ips.entry(ip).or_default();
        if st.banned_until.is_some_and(|t| t > now) {
            return Err(Refusal::Banned);
        }
        if l.connections.tokens > 0 && !take(&mut st.connections, l.connections, now) {
            return Err(Refusal::ConnectionRate);
        }
        if l.sessions_per_ip_max > 0 && st.sessions >= l.sessions_per_ip_max {
            return Err(Refusal::SessionsPerIp);
        }
        st.sessions += 1;
        Ok(())
    }

    /// A session admitted by [`IpTable::admit`] ended.
    pub fn release(&mut self, ip: IpAddr) {
        if let Some(st) = self.ips.get_mut(&ip.to_canonical()) {
            st.sessions = st.sessions.saturating_sub(1);
        }
    }

    /// A failed login from `ip`; returns true when it just got banned (the
    /// failure that emptied the bucket).
    pub fn login_failed(&mut self, ip: IpAddr, now: Instant) -> bool {
        let l = self.limits;
        if l.failures.burst == 0 {
            return false;
        }
        let Some(st) = self.ips.get_mut(&ip.to_canonical()) else {
            return false;
        };
        let taken = take(&mut st.failures, l.failures, now);
        let left = st
            .failures
            .is_some_and(|b| b.next_token_at(l.failures, now) == Some(now));
        if taken && left {
            return false;
        }
        st.failures = None;
        st.banned_until = Some(now + std::time::Duration::from_secs(l.ban_secs));
        true
    }

    /// Forgets addresses with nothing to remember; does the sweep at most
    /// once a second whichever worker asks.
    pub fn prune(&mut self, now: Instant) {
        if self
            .last_prune
            .is_some_and(|t| now.saturating_duration_since(t).as_secs() < 1)
        {
            return;
        }
        self.last_prune = Some(now);
        let l = self.limits;
        self.ips.retain(|_, st| !st.idle(&l, now));
    }

    /// Addresses tracked (for tests).
    pub fn len(&self) -> usize {
        self.ips.len()
    }

    /// True when no address is tracked.
    pub fn is_empty(&self) -> bool {
        self.ips.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::time::Duration;

    fn limits() -> IpLimits {
        IpLimits {
            sessions_per_ip_max: 2,
            connections: Rate::per_sec(3, 3),
            failures: Rate::per_window(2, 60),
            ban_secs: 30,
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn sessions_per_ip_are_counted_across_release() {
        let mut t = IpTable::new(limits());
        let now = Instant::now();
        assert_eq!(t.admit(ip("10.0.0.1"), now), Ok(()));
        assert_eq!(t.admit(ip("10.0.0.1"), now), Ok(()));
        assert_eq!(t.admit(ip("10.0.0.1"), now), Err(Refusal::SessionsPerIp));
        assert_eq!(
            t.admit(ip("10.0.0.2"), now),
            Ok(()),
            "other addresses are not affected"
        );
        t.release(ip("10.0.0.1"));
        let later = now + Duration::from_secs(1);
        assert_eq!(t.admit(ip("10.0.0.1"), later), Ok(()));
    }

    #[test]
    fn connection_rate_is_a_burst_then_the_sustained_rate() {
        let mut t = IpTable::new(IpLimits {
            sessions_per_ip_max: 0,
            connections: Rate::per_sec(10, 50),
            ..limits()
        });
        let now = Instant::now();
        let a = ip("10.0.0.1");
        for _ in 0..50 {
            assert_eq!(t.admit(a, now), Ok(()), "the burst is admitted at once");
        }
        assert_eq!(t.admit(a, now), Err(Refusal::ConnectionRate));
        assert_eq!(t.admit(ip("10.0.0.2"), now), Ok(()), "per address");
        // 10 a second: one more every 100 ms.
        assert_eq!(t.admit(a, now + Duration::from_millis(100)), Ok(()));
        assert_eq!(
            t.admit(a, now + Duration::from_millis(100)),
            Err(Refusal::ConnectionRate)
        );
    }

    #[test]
    fn failures_ban_then_the_ban_expires() {
        let mut t = IpTable::new(limits());
        let now = Instant::now();
        let a = ip("::ffff:10.0.0.1");
        assert_eq!(t.admit(a, now), Ok(()));
        assert!(!t.login_failed(a, now));
        assert!(
            t.login_failed(ip("10.0.0.1"), now),
            "mapped and plain IPv4 are one address"
        );
        assert_eq!(
            t.admit(a, now + Duration::from_secs(2)),
            Err(Refusal::Banned)
        );
        t.release(a);
        assert_eq!(t.admit(a, now + Duration::from_secs(31)), Ok(()));
    }

    #[test]
    fn slow_failures_are_forgiven_and_idle_entries_go() {
        let mut t = IpTable::new(limits());
        let now = Instant::now();
        let a = ip("10.0.0.1");
        t.admit(a, now).unwrap();
        assert!(!t.login_failed(a, now));
        // Two per 60 s: one is forgiven every 30 s.
        assert!(!t.login_failed(a, now + Duration::from_secs(30)));
        assert!(!t.login_failed(a, now + Duration::from_secs(60)));
        assert!(t.login_failed(a, now + Duration::from_secs(61)));
        t.release(a);
        t.prune(now + Duration::from_secs(200));
        assert!(t.is_empty());
    }
}
