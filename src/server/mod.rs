//! The server: one pinned worker per core, each with its own io_uring ring,
//! SO_REUSEPORT control listener and slice of the passive port range; a small
//! helper pool for blocking work; the main thread waits for signals.
//!
//! - [`config`]: flags and their checks.
//! - [`worker`]: the per-core event loop.
//! - [`ctx`]: what a worker's connections share (ring, clock, helper queue).
//! - [`conn`]: one control connection: session actions carried out; its
//!   control socket, passive listener and failed-login delay.
//! - [`transfer`]: one transfer as a state machine ([`transfer::Xfer`]);
//!   [`listing_stream`]: listings in bounded chunks.
//! - [`tags`]: a connection's op tokens and job tags, and its ops in flight.
//! - [`jobs`] / [`pool`]: blocking work off the cores; [`bulk`] runs the long
//!   ones ([`checksum`], [`copy`]) in steps.
//! - [`sockets`]: listener and data-socket set-up.
//! - [`token`]: what a completion is for.
//! - [`ops`]: metrics, the xferlog and the event log wired to the workers;
//!   [`signals`]: SIGHUP reload, SIGUSR1 log reopen, SIGTERM drain, sd_notify.

pub mod args;
mod bulk;
mod checksum;
pub mod config;
mod conn;
mod copy;
mod ctx;
pub mod fatal;
mod hardening;
mod jobs;
mod kept_listeners;
pub mod limits;
mod listing_stream;
mod ops;
pub mod policy;
mod pool;
mod privdrop;
pub mod quota;
mod running;
mod shared;
mod signals;
mod sockets;
mod tags;
mod timers;
mod token;
mod transfer;
mod worker;

pub use args::{Args, RetrPath};
pub use config::ServerConfig;
pub use policy::PolicySource;
pub use running::Running;
pub use shared::Shared;
pub use signals::{block_signals, serve_until_signal};

use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicU8};
use std::sync::{Arc, Mutex, RwLock};

use crate::fs::Root;
use crate::proto::session::SessionConfig;

/// Why the server could not start.
#[derive(Debug)]
pub enum StartError {
    /// Bad configuration (exit code 2).
    Config(String),
    /// The machine refused something (io_uring, a port): exit code 1.
    Runtime(String),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Config(s) | StartError::Runtime(s) => f.write_str(s),
        }
    }
}

/// Binds one listener per worker for each address (the first picks the port
/// when it is 0; the others join it with SO_REUSEPORT).
fn bind_listeners(
    addrs: &[SocketAddr],
    workers: usize,
) -> Result<(Vec<Vec<OwnedFd>>, Vec<SocketAddr>), String> {
    let mut per_worker: Vec<Vec<OwnedFd>> = (0..workers).map(|_| Vec::new()).collect();
    let mut actual = Vec::new();
    for &want in addrs {
        let first =
            sockets::control_listener(want, 1024).map_err(|e| format!("listen on {want}: {e}"))?;
        let addr = sockets::local_addr(&first)
            .ok_or_else(|| format!("listen on {want}: no local address"))?;
        fatal::register_listener(&first);
        per_worker[0].push(first);
        for list in per_worker.iter_mut().skip(1) {
            let l = sockets::control_listener(addr, 1024)
                .map_err(|e| format!("listen on {addr}: {e}"))?;
            fatal::register_listener(&l);
            list.push(l);
        }
        actual.push(addr);
    }
    Ok((per_worker, actual))
}

/// Starts the workers; returns once every ring is up (or the first error).
pub fn start(cfg: ServerConfig) -> Result<Running, StartError> {
    fatal::install_panic_hook();
    let root = Root::open(&cfg.root)
        .map_err(|e| StartError::Config(format!("root {}: {e}", cfg.root.display())))?;
    let policy = cfg.policy.load().map_err(StartError::Config)?;
    let session_cfg = SessionConfig {
        greeting: cfg.args.greeting.clone(),
        line_len_max_bytes: cfg.args.line_len_max_bytes,
        idle_timeout_secs: cfg.args.idle_timeout_secs,
        login_failures_max: cfg.args.login_failures_max,
        deferred_commands_max: cfg.args.deferred_commands_max,
        pasv_address: cfg.args.pasv_address,
        login_timeout_secs: cfg.args.login_timeout_secs,
        commands_per_sec_max: cfg.args.commands_per_sec_max,
        commands_burst: cfg.args.commands_burst,
        tls: crate::proto::session::TlsPolicy {
            available: cfg.tls.is_some(),
            required: match cfg.args.tls_required {
                Some(args::TlsRequiredArg::Off) => crate::proto::session::TlsRequired::Off,
                Some(args::TlsRequiredArg::All) => crate::proto::session::TlsRequired::All,
                Some(args::TlsRequiredArg::Users) | None => {
                    crate::proto::session::TlsRequired::Users
                }
            },
        },
    };
    let shared = Arc::new(Shared {
        args: cfg.args.clone(),
        root: Arc::new(root),
        session_cfg: Arc::new(session_cfg),
        policy: RwLock::new(Arc::new(policy)),
        ips: Mutex::new(limits::IpTable::new(hardening::ip_limits(&cfg.args))),
        phase: AtomicU8::new(0),
        quotas: quota::QuotaBook::default(),
        workers: cfg.workers,
        tls: RwLock::new(cfg.tls.clone()),
    });
    let notify = crate::obs::notify::SdNotify::from_env()
        .map_err(|e| StartError::Config(format!("NOTIFY_SOCKET: {e}")))?;
    let (ops, worker_obs) = ops::Ops::start(&cfg.args, cfg.workers).map_err(StartError::Config)?;
    // Implicit FTPS listeners come after the plain ones: a worker knows a
    // listener's kind by its index.
    let all: Vec<SocketAddr> = cfg
        .args
        .listen
        .iter()
        .chain(&cfg.args.tls_implicit_listen)
        .copied()
        .collect();
    let (listeners, mut addrs) = bind_listeners(&all, cfg.workers).map_err(StartError::Runtime)?;
    let implicit_addrs = addrs.split_off(cfg.args.listen.len());
    let pool = pool::Pool::start(cfg.args.helper_threads);
    let stop = Arc::new(AtomicBool::new(false));
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let (ready_tx, ready_rx) = crossbeam_channel::unbounded();
    let (go_tx, go_rx) = crossbeam_channel::unbounded::<()>();
    let mut threads = Vec::new();
    let mut wakers = Vec::new();
    let (alive_tx, alive_rx) = crossbeam_channel::bounded::<()>(0);
    for ((k, ls), obs) in listeners.into_iter().enumerate().zip(worker_obs) {
        let wake: OwnedFd =
            nix::sys::eventfd::EventFd::from_flags(nix::sys::eventfd::EfdFlags::EFD_CLOEXEC)
                .map_err(|e| StartError::Runtime(format!("eventfd: {e}")))?
                .into();
        let wake_write = Arc::new(
            wake.try_clone()
                .map_err(|e| StartError::Runtime(format!("dup eventfd: {e}")))?,
        );
        wakers.push(wake_write.clone());
        let init = worker::WorkerInit {
            id: k,
            shared: shared.clone(),
            listeners: ls,
            wake_read: wake,
            wake_write,
            jobs: pool.sender(),
            stop: stop.clone(),
            pasv_slice: cfg.pasv_slice(k),
            go: go_rx.clone(),
            obs,
            alive: alive_tx.clone(),
        };
        let core = if cores.is_empty() {
            None
        } else {
            Some(cores[k % cores.len()])
        };
        threads.push(worker::spawn(init, core, ready_tx.clone()));
    }
    let mut running = Running {
        addrs,
        sessions_max: cfg.args.sessions_max,
        control_fds: if cfg.args.no_direct_descriptors {
            "regular fds (--no-direct-descriptors)".to_string()
        } else {
            "direct descriptors".to_string()
        },
        implicit_addrs,
        stop,
        wakers,
        threads,
        shared,
        policy: cfg.policy.clone(),
        alive: alive_rx,
        ops,
        notify,
        _pool: pool,
    };
    drop(alive_tx);
    for _ in 0..cfg.workers {
        match ready_rx.recv() {
            Ok(Ok(None)) => {}
            Ok(Ok(Some(why))) => {
                running.control_fds = format!("regular fds: {why}");
            }
            Ok(Err(e)) => {
                drop(go_tx);
                running.stop();
                return Err(StartError::Runtime(e));
            }
            Err(_) => {
                drop(go_tx);
                running.stop();
                return Err(StartError::Runtime(
                    "a worker exited during start-up".into(),
                ));
            }
        }
    }
    // The rings were set up (and their buffers pinned) with root's rights;
    // now give them up, before any worker accepts a connection.
    let dropped = match &cfg.args.run_as {
        Some(user) => privdrop::drop_to(user, &running.shared.root),
        None => Ok(()),
    };
    drop(go_tx);
    if let Err(e) = dropped {
        running.stop();
        return Err(StartError::Config(e));
    }
    Ok(running)
}
