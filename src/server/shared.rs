//! What every worker of a server shares: the flags, the root, the session
//! settings, the login rules (replaced on SIGHUP) and the per-address table.

use std::sync::{Arc, Mutex, RwLock};

use super::args::Args;
use super::limits;
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
    /// Puts new login rules in force; sessions keep the rights they logged in with.
    pub fn set_policy(&self, p: AuthPolicy) {
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
