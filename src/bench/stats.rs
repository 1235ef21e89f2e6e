//! What a worker measures: one hdrhistogram per latency (microseconds), byte
//! and transfer counters, errors by reply code or local cause, and the local
//! address of every connected session. Workers merge theirs at the end; the
//! live line reads [`Live`] atomics meanwhile.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;

/// The latencies measured (in the order of [`METRICS`], which indexes
/// the histograms by discriminant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// connect() submitted → connected.
    Connect,
    /// Connected → 220.
    Greeting,
    /// 220 → 230 (USER/PASS round trips).
    Login,
    /// connect() submitted → 220: what a client waits for the greeting.
    ConnectToGreeting,
    /// connect() submitted → 230: the whole login.
    ConnectToLogin,
    /// 227/229 (or 200 to PORT/EPRT) → data connection up.
    DataSetup,
    /// RETR/LIST sent → first data byte.
    FirstByte,
    /// Transfer start (PASV/EPSV/PORT/EPRT sent, or the intended start in
    /// open loop) → final reply and data done.
    Transfer,
}

pub const METRICS: [Metric; 8] = [
    Metric::Connect,
    Metric::Greeting,
    Metric::Login,
    Metric::ConnectToGreeting,
    Metric::ConnectToLogin,
    Metric::DataSetup,
    Metric::FirstByte,
    Metric::Transfer,
];

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::Connect => "connect",
            Metric::Greeting => "greeting",
            Metric::Login => "login",
            Metric::DataSetup => "data_setup",
            Metric::FirstByte => "first_byte",
            Metric::Transfer => "transfer",
            Metric::ConnectToGreeting => "connect_to_220",
            Metric::ConnectToLogin => "connect_to_230",
        }
    }
}

/// Counters shared with the live line (relaxed: it is a progress display).
#[derive(Debug, Default)]
pub struct Live {
    pub bytes: AtomicU64,
    pub transfers: AtomicU64,
    pub errors: AtomicU64,
    pub sessions: AtomicU64,
    pub logged_in: AtomicU64,
    /// Idle: workers whose sessions have all logged in (or failed) and are held.
    pub holding: AtomicU64,
}

impl Live {
    pub fn add(&self, c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

/// One worker's (or the merged) measurements.
#[derive(Debug, Clone)]
pub struct Stats {
    pub hists: Vec<Histogram<u64>>,
    pub bytes_down: u64,
    pub bytes_up: u64,
    pub transfers: u64,
    pub logins: u64,
    pub sessions_opened: u64,
    pub verified: u64,
    /// Idle: sessions that answered the final NOOP.
    pub idle_kept: u64,
    /// `--tls`: the protocol version and cipher suite the server chose
    /// (from the first control connection that finished its handshake).
    pub tls: Option<String>,
    pub errors: BTreeMap<String, u64>,
    /// Connected sessions by local address (as the kernel bound them).
    pub local_addrs: BTreeMap<IpAddr, u64>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats::new()
    }
}

impl Stats {
    pub fn new() -> Stats {
        // 1 µs .. 1 h at 3 significant digits: small, and enough for any run.
        // Constant, valid bounds: creation cannot fail.
        let hist =
            || Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds");
        Stats {
            hists: METRICS.iter().map(|_| hist()).collect(),
            bytes_down: 0,
            bytes_up: 0,
            transfers: 0,
            logins: 0,
            sessions_opened: 0,
            verified: 0,
            idle_kept: 0,
            tls: None,
            errors: BTreeMap::new(),
            local_addrs: BTreeMap::new(),
        }
    }

    pub fn record(&mut self, m: Metric, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
        let h = &mut self.hists[m as usize];
        h.saturating_record(us);
    }

    pub fn error(&mut self, what: &str) {
        *self.errors.entry(what.to_string()).or_insert(0) += 1;
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    pub fn merge(&mut self, o: &Stats) {
        for (a, b) in self.hists.iter_mut().zip(&o.hists) {
            let _ = a.add(b);
        }
        self.bytes_down += o.bytes_down;
        self.bytes_up += o.bytes_up;
        self.transfers += o.transfers;
        self.logins += o.logins;
        self.sessions_opened += o.sessions_opened;
        self.verified += o.verified;
        self.idle_kept += o.idle_kept;
        if self.tls.is_none() {
            self.tls.clone_from(&o.tls);
        }
        for (k, v) in &o.errors {
            *self.errors.entry(k.clone()).or_insert(0) += v;
        }
        for (ip, n) in &o.local_addrs {
            *self.local_addrs.entry(*ip).or_insert(0) += n;
        }
    }

    pub fn local_addr(&mut self, ip: IpAddr) {
        *self.local_addrs.entry(ip).or_insert(0) += 1;
    }

    pub fn hist(&self, m: Metric) -> &Histogram<u64> {
        &self.hists[m as usize]
    }
}
