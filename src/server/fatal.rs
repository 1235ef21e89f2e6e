//! A worker's death is never silent. Every session of a worker lives on its
//! ring, so a worker that panics (or whose ring fails) has lost them all, and
//! a process that goes on with one worker fewer keeps its other listeners and
//! looks alive to a supervisor while serving fewer clients, or none with
//! `--cores 1`. Restarting a worker in place would need a new ring, new
//! listeners and the SO_REUSEPORT group rejoined, and would still lose its
//! sessions, so ringftpd takes the simpler, louder road: the whole process
//! exits with [`EXIT_WORKER_DIED`] and one line naming the worker and the
//! cause, and systemd (`Restart=always`, dist/ringftpd.service) or any other
//! supervisor starts a fresh one. The same holds for the helper threads: a
//! panic there is a bug whose answer some session would wait for forever.

use std::os::fd::OwnedFd;
use std::sync::{Mutex, Once};

/// Exit status when a worker or helper thread died (EX_SOFTWARE, sysexits.h).
pub const EXIT_WORKER_DIED: i32 = 70;

/// Thread names whose panic ends the process (workers and helpers).
const SERVER_THREAD_PREFIX: &str = "ringftpd-";

/// Duplicates of the control listeners, shut down before a fatal exit: the
/// rings' in-flight accepts hold the sockets open for a moment after the
/// process is gone, and a listener must not take connections nobody answers.
static LISTENERS: Mutex<Vec<OwnedFd>> = Mutex::new(Vec::new());

/// Remembers a control listener (a duplicate of its fd) for [`die`].
pub fn register_listener(fd: &OwnedFd) {
    if let (Ok(dup), Ok(mut l)) = (fd.try_clone(), LISTENERS.lock()) {
        l.push(dup);
    }
}

/// Forgets the listeners at a normal stop (the duplicates would keep them open).
pub fn forget_listeners() {
    if let Ok(mut l) = LISTENERS.lock() {
        l.clear();
    }
}

/// Drain (SIGTERM): shuts every control listener down at once, in all
/// workers, so no new connection is accepted (the kernel refuses it, or a
/// new process sharing the port with SO_REUSEPORT takes it), then forgets
/// the duplicates so the sockets close with the workers' last references.
pub fn shutdown_listeners() {
    if let Ok(mut l) = LISTENERS.lock() {
        for fd in l.iter() {
            let raw = std::os::fd::AsRawFd::as_raw_fd(fd);
            let _ = nix::sys::socket::shutdown(raw, nix::sys::socket::Shutdown::Both);
        }
        l.clear();
    }
}

/// Installs the panic hook (once per process): the default report, then, for
/// a server thread, one line and the exit.
pub fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            default(info);
            let thread = std::thread::current();
            let name = thread.name().unwrap_or("");
            if name.starts_with(SERVER_THREAD_PREFIX) {
                die(name, "panicked");
            }
        }));
    });
}

/// A worker's event loop returned without being asked to stop (its ring failed).
pub fn worker_ended_unexpectedly(id: usize) -> ! {
    die(&format!("ringftpd-w{id}"), "stopped (its ring failed)")
}

fn die(thread: &str, how: &str) -> ! {
    // try_lock: the panic may have happened while this thread held the lock.
    if let Ok(l) = LISTENERS.try_lock() {
        for fd in l.iter() {
            let raw = std::os::fd::AsRawFd::as_raw_fd(fd);
            let _ = nix::sys::socket::shutdown(raw, nix::sys::socket::Shutdown::Both);
        }
    }
    eprintln!(
        "ringftpd: fatal: thread {thread} {how}; its sessions are lost. Exiting with status \
         {EXIT_WORKER_DIED} so that a supervisor restarts the server."
    );
    std::process::exit(EXIT_WORKER_DIED)
}
