//! The main thread's life after start-up: signals and sd_notify.
//!
//! | signal | effect | sd_notify |
//! | --- | --- | --- |
//! | SIGHUP | users and permissions rebuilt from their source; the TLS certificate re-read | `RELOADING=1`, then `READY=1` |
//! | SIGUSR1 | the xferlog and event log files reopened (logrotate) | |
//! | SIGTERM, SIGINT | drain: listeners shut at once; idle sessions get 421; transfers go on up to `--shutdown-grace-secs`, then 426 and 421; exit when the last session has ended | `STOPPING=1` |
//! | a second SIGTERM/SIGINT | stop at once (rings cancelled) | |
//!
//! The signals are blocked in every thread and taken by one thread with
//! `sigwait`, which hands them to the main thread over a channel, so the
//! main thread can wait for a signal, the workers' end and the grace
//! deadline at once.

use std::time::{Duration, Instant};

use crossbeam_channel::{select, Receiver};
use nix::sys::signal::{SigSet, Signal};

use super::fatal;
use super::running::Running;
use super::shared::Phase;

/// After the grace time, how long aborted transfers get to send their 426
/// and 421 before the rings are cancelled.
const ABORT_SECS_MAX: u64 = 5;

/// Blocks SIGINT, SIGTERM, SIGHUP and SIGUSR1 in this thread (and the
/// threads it starts after), so they can be taken with `sigwait`.
pub fn block_signals() -> SigSet {
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    set.add(Signal::SIGHUP);
    set.add(Signal::SIGUSR1);
    let _ = set.thread_block();
    set
}

/// A thread that takes the blocked signals and sends them on.
fn signal_channel(set: SigSet) -> Receiver<Signal> {
    let (tx, rx) = crossbeam_channel::unbounded();
    let _ = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            while let Ok(s) = set.wait() {
                if tx.send(s).is_err() {
                    return;
                }
            }
        });
    rx
}

/// Serves until SIGINT/SIGTERM, then drains (see the module doc) and
/// returns once every worker has stopped.
pub fn serve_until_signal(running: Running, set: &SigSet) {
    let sigs = signal_channel(*set);
    let _ = running.notify.ready();
    loop {
        match sigs.recv() {
            Ok(Signal::SIGINT | Signal::SIGTERM) | Err(_) => break,
            Ok(s) => other_signal(&running, s),
        }
    }
    drain(&running, &sigs);
    running.ops.flush();
    running.stop();
}

/// SIGHUP and SIGUSR1.
fn other_signal(running: &Running, s: Signal) {
    match s {
        Signal::SIGHUP => {
            let _ = running.notify.reloading();
            match running.reload_users() {
                Ok(()) => eprintln!("ringftpd: users and permissions reloaded"),
                Err(e) => {
                    eprintln!("ringftpd: reload failed, keeping the old users and permissions: {e}")
                }
            }
            match running.reload_tls() {
                Some(Ok(())) => eprintln!("ringftpd: TLS certificate reloaded"),
                Some(Err(e)) => eprintln!(
                    "ringftpd: TLS certificate reload failed, keeping the old certificate: {e}"
                ),
                None => {}
            }
            let _ = running.notify.ready();
        }
        Signal::SIGUSR1 => {
            if let Err(e) = running.ops.reopen_logs() {
                eprintln!("ringftpd: reopening the logs failed (still writing the old files): {e}");
            }
        }
        _ => {}
    }
}

/// Tells every worker the phase changed.
fn set_phase(running: &Running, p: Phase) {
    running.shared.set_phase(p);
    for w in &running.wakers {
        let _ = nix::unistd::write(&**w, &1u64.to_ne_bytes());
    }
}

/// The drain: returns when every worker has ended, or at once on a second
/// SIGTERM/SIGINT, or [`ABORT_SECS_MAX`] after the grace time.
fn drain(running: &Running, sigs: &Receiver<Signal>) {
    use crate::obs::notify::NotifyState;
    let grace = Duration::from_secs(running.shared.args.shutdown_grace_secs);
    let grace_us = u64::try_from(grace.as_micros())
        .unwrap_or(u64::MAX)
        .saturating_add(ABORT_SECS_MAX * 1_000_000);
    // Listeners first: once STOPPING=1 is out, no new connection reaches
    // this process (a successor on the same port gets them all).
    fatal::shutdown_listeners();
    set_phase(running, Phase::Draining);
    let _ = running.notify.notify(&[
        NotifyState::Stopping,
        NotifyState::Status("draining: listeners closed, waiting for transfers"),
        NotifyState::ExtendTimeoutUsec(grace_us),
    ]);
    // A grace too long for the clock to add is "forever" (a year will do).
    let far = Duration::from_secs(365 * 24 * 3600);
    let mut deadline = Instant::now() + grace.min(far);
    let mut phase = Phase::Draining;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        select! {
            recv(running.alive) -> _ => return,
            recv(sigs) -> s => match s {
                Ok(Signal::SIGINT | Signal::SIGTERM) | Err(_) => return,
                Ok(s) => other_signal(running, s),
            },
            default(left) => {
                if phase == Phase::GraceOver {
                    eprintln!("ringftpd: sessions still open {ABORT_SECS_MAX} s after the grace time; stopping");
                    return;
                }
                phase = Phase::GraceOver;
                let _ = running.notify.status("grace time over: aborting transfers");
                set_phase(running, Phase::GraceOver);
                deadline = Instant::now() + Duration::from_secs(ABORT_SECS_MAX);
            }
        }
    }
}
