//! Engine tests against the real kernel: loopback sockets on 127.0.0.1:0,
//! temp files, no sleeps (every wait is on a completion).

mod data;
mod fixed;
mod lifecycle;
mod net;
mod ops;

use std::net::{TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::{Completion, OpId, Ring, RingConfig, SharedFd};

/// Small sizes: many rings run in parallel test threads.
fn small_cfg() -> RingConfig {
    RingConfig {
        sq_entries: 32,
        provided_bufs_count: 8,
        provided_buf_size_bytes: 4096,
        fixed_bufs_count: 4,
        fixed_buf_size_bytes: 64 * 1024,
        fixed_files_count: 0,
    }
}

/// A ring plus the completions not yet claimed by a `wait`.
struct Harness {
    ring: Ring,
    pending: Vec<Completion>,
}

impl Harness {
    fn new(cfg: &RingConfig) -> Harness {
        let ring = Ring::new(cfg).unwrap_or_else(|e| panic!("{e}"));
        Harness {
            ring,
            pending: Vec::new(),
        }
    }

    fn small() -> Harness {
        Harness::new(&small_cfg())
    }

    /// The next completion of `op` (others stay pending).
    fn wait(&mut self, op: OpId) -> Completion {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(i) = self.pending.iter().position(|c| c.op == op) {
                return self.pending.remove(i);
            }
            assert!(Instant::now() < deadline, "timed out waiting for {op:?}");
            self.ring
                .submit_and_wait(1, Some(Duration::from_millis(200)))
                .unwrap();
            self.ring.completions(&mut self.pending);
        }
    }

    /// Cancels `op`, the last op in flight, and returns its completion once
    /// nothing is left in flight.
    fn cancel_last(&mut self, op: OpId) -> Completion {
        self.ring.cancel(op);
        let c = self.wait(op);
        assert_eq!(self.ring.in_flight(), 0);
        c
    }
}

/// A connected loopback pair: the server end (non-blocking, as a SharedFd)
/// and the std client end (blocking).
fn tcp_pair() -> (SharedFd, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    server.set_nonblocking(true).unwrap();
    (Rc::new(OwnedFd::from(server)), client)
}

/// A unique path in the temp dir (removed by the test).
fn temp_path(tag: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("ringftpd-engine-{}-{tag}-{n}", std::process::id()))
}
