//! What every worker of a server shares: the flags, the root, the session
//! settings, the login rules (replaced on SIGHUP) and the per-address table.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use super::args::Args;
use super::limits;
use super::quota::QuotaBook;
use crate::auth::AuthPolicy;
use crate::fs::Root;
use crate::proto::session::SessionConfig;

/// What every worker shares (read-only but for the users reload).
pub struct Shared {
    pub args: Args,
    pub root: Arc<Root>,
    pub session_cfg: Arc<SessionConfig>,
    pub(super) policy: RwLock<Arc<AuthPolicy>>,
    /// Per-address admission and bans, for every worker (see [`limits`]).
    pub ips: Mutex<limits::IpTable>,
    /// FTPS certificate and key (`--tls-cert`), if configured; replaced on SIGHUP.
    pub(super) tls: RwLock<Option<crate::tls::TlsConfigs>>,
    /// Every user's storage usage, kept across reloads (`server/quota.rs`).
    pub quotas: QuotaBook,
    /// Number of workers (the server-wide rates are split between them).
    pub workers: usize,
    /// [`Phase`] as a byte: set by the main thread, read by workers on wake.
    pub phase: AtomicU8,
}

/// Where the process is in its life (SIGTERM starts the drain).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Serving = 0,
    /// Listeners closed; idle sessions get 421; transfers go on.
    Draining = 1,
    /// `--shutdown-grace-secs` is over: transfers get 426, sessions 421.
    GraceOver = 2,
}

impl Shared {
    /// The login rules in force (replaced on SIGHUP).
    pub fn policy(&self) -> Arc<AuthPolicy> {
        self.policy
            .read()
            .map(|p| p.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }
}

impl Shared {
    /// The process's phase.
    pub fn phase(&self) -> Phase {
        match self.phase.load(Ordering::Acquire) {
            0 => Phase::Serving,
            1 => Phase::Draining,
            _ => Phase::GraceOver,
        }
    }

    /// Moves to `p` (never back).
    pub fn set_phase(&self, p: Phase) {
        self.phase.fetch_max(p as u8, Ordering::AcqRel);
    }

    /// Admits a new session from `ip` against the per-address limits
    /// (the proxied client's address behind a PROXY-protocol balancer).
    pub fn admit(&self, ip: IpAddr, now: Instant) -> Result<(), limits::Refusal> {
        match self.ips.lock() {
            Ok(mut t) => t.admit(ip, now),
            Err(_) => Ok(()),
        }
    }

    /// A session admitted by [`Shared::admit`] ended.
    pub fn release(&self, ip: IpAddr) {
        if let Ok(mut t) = self.ips.lock() {
            t.release(ip);
        }
    }
}

impl Shared {
    /// Puts new login rules in force; sessions keep the rights they logged in with.
    pub fn set_policy(&self, p: AuthPolicy) {
        self.quotas.keep_only(&p);
        if let Ok(mut slot) = self.policy.write() {
            *slot = Arc::new(p);
        }
    }
}

impl Shared {
    /// The TLS certificate and key in force (replaced on SIGHUP).
    pub fn tls(&self) -> Option<crate::tls::TlsConfigs> {
        self.tls
            .read()
            .map(|t| t.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// Puts a reloaded certificate and key in force for new control sessions.
    pub fn set_tls(&self, t: Option<crate::tls::TlsConfigs>) {
        if let Ok(mut slot) = self.tls.write() {
            *slot = t;
        }
    }
}
