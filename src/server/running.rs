//! A started server: its workers, listeners' addresses and operations
//! handles, as [`super::start`] returns it and the main thread drives it
//! ([`super::signals`]).

use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::fatal;
use super::ops::Ops;
use super::policy::PolicySource;
use super::pool::Pool;
use super::shared::Shared;

/// A running server: its workers and the addresses it listens on.
pub struct Running {
    pub addrs: Vec<SocketAddr>,
    /// The implicit FTPS addresses (`--tls-implicit-listen`).
    pub implicit_addrs: Vec<SocketAddr>,
    pub(super) stop: Arc<AtomicBool>,
    pub(super) wakers: Vec<Arc<OwnedFd>>,
    pub(super) threads: Vec<std::thread::JoinHandle<()>>,
    pub(super) shared: Arc<Shared>,
    pub(super) policy: PolicySource,
    /// Disconnected once every worker thread has ended (drain finished).
    pub(super) alive: crossbeam_channel::Receiver<()>,
    pub(super) ops: Ops,
    pub(super) notify: crate::obs::notify::SdNotify,
    pub(super) _pool: Pool,
}

impl Running {
    /// Asks every worker to stop and waits for them (their rings drain first).
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for w in &self.wakers {
            let _ = nix::unistd::write(&**w, &1u64.to_ne_bytes());
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        fatal::forget_listeners();
    }

    /// Where `/metrics` is served (`--metrics-listen`), for the start line.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.ops.metrics_addr()
    }

    /// Rebuilds the login rules from their source (SIGHUP: the users file,
    /// or the config file's users, permissions and folders); sessions keep
    /// the rights they logged in with.
    pub fn reload_users(&self) -> Result<(), String> {
        let p = self.policy.load()?;
        self.shared.set_policy(p);
        Ok(())
    }

    /// Reads `--tls-cert` and `--tls-key` again (SIGHUP), when configured:
    /// new control sessions use the new certificate; running ones keep
    /// theirs (their data connections resume the session they made).
    pub fn reload_tls(&self) -> Option<Result<(), String>> {
        self.shared.args.tls_cert.as_ref()?;
        Some(super::config::load_tls(&self.shared.args).map(|t| self.shared.set_tls(t)))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.threads.is_empty() {
            self.stop_inner();
        }
    }
}
