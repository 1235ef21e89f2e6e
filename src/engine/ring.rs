//! The ring itself: setup, buffer registration, submission (never dropping
//! an op when the SQ is full), cancellation and shutdown. The op builders are
//! in `submit.rs`, completion handling in `complete.rs`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use io_uring::types::{SubmitArgs, Timespec};
use io_uring::{cqueue, opcode, squeue, IoUring};
use nix::errno::Errno;

use super::bufs::{FixedBuf, FixedPool, ProvidedPool, PROVIDED_GROUP};
use super::fixed::FileTable;
use super::ops::{decode, part2_of, OpState, OpTable, INTERNAL_UD};
use super::types::{EngineError, OpId, RingConfig};

/// How long `shutdown` waits for cancelled ops before leaking them.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(5);
/// How often `shutdown` re-sends cancels for ops that are still running.
const RECANCEL_EVERY: Duration = Duration::from_secs(1);

/// One io_uring instance and its in-flight ops. Not `Send`: it lives and dies
/// on the worker thread that made it.
pub struct Ring {
    // Field order is drop order: the io_uring fd closes before the buffer
    // memory is freed (and after `Drop::drop` has drained every op).
    pub(super) uring: IoUring,
    pub(super) ops: OpTable,
    pub(super) fixed: FixedPool,
    /// Shared with every `ProvidedBuf` handed out, which puts itself back.
    pub(super) provided: Option<Rc<RefCell<ProvidedPool>>>,
    /// SQE groups that did not fit in the SQ even after a submit; pushed
    /// first on the next submission, so no op is ever dropped.
    backlog: VecDeque<Vec<squeue::Entry>>,
    /// Reused scratch space for reaping CQEs.
    pub(super) cqes: Vec<cqueue::Entry>,
    setup: &'static str,
    pub(super) stale_logged: bool,
    /// Shutdown gave up: buffer memory must be leaked, not freed (U3).
    leaked: bool,
    /// The registered file table for direct descriptors, if registered.
    pub(super) files: Option<FileTable>,
    /// Why the file table could not be registered.
    pub(super) files_error: Option<Errno>,
}

/// Setup flag sets, most capable first.
type Setup = (&'static str, fn(&mut io_uring::Builder));

const SETUPS: [Setup; 3] = [
    (
        "single_issuer+defer_taskrun+coop_taskrun+taskrun_flag",
        |b| {
            b.setup_single_issuer()
                .setup_defer_taskrun()
                .setup_coop_taskrun()
                .setup_taskrun_flag();
        },
    ),
    ("coop_taskrun+taskrun_flag", |b| {
        b.setup_coop_taskrun().setup_taskrun_flag();
    }),
    ("plain", |_| {}),
];

fn errno_of(e: &io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

/// Enter results that only mean "come back later".
fn transient(e: Errno) -> bool {
    matches!(
        e,
        Errno::EINTR | Errno::ETIME | Errno::EBUSY | Errno::EAGAIN
    )
}

/// Creates the io_uring with the first flag set the kernel accepts; the
/// error reported is the one of the plainest setup.
fn build_uring(sq_entries: u32) -> Result<(IoUring, &'static str), EngineError> {
    let mut last = Errno::EINVAL;
    for (name, apply) in SETUPS {
        let mut builder = IoUring::builder();
        apply(&mut builder);
        builder
            .setup_clamp()
            .setup_cqsize(sq_entries.saturating_mul(2));
        match builder.build(sq_entries) {
            Ok(uring) => return Ok((uring, name)),
            Err(e) => last = errno_of(&e),
        }
    }
    Err(EngineError::Refused(last))
}

/// Serialises the open-files soft limit's raise around a registration (the
/// limit is per process; workers register at once).
static NOFILE_RAISE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Registers a sparse file table of `slots` entries. The kernel refuses a
/// table larger than the open-files *soft* limit at that moment (EMFILE),
/// though the slots never count against it afterwards: the soft limit is
/// raised to the hard one for the registration and put back at once.
fn register_file_table(uring: &IoUring, slots: u32) -> Result<(), Errno> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let _guard = NOFILE_RAISE.lock().unwrap_or_else(|p| p.into_inner());
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    let raise = u64::from(slots) > soft;
    if raise {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard)?;
    }
    let res = uring.submitter().register_files_sparse(slots);
    if raise {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, soft, hard);
    }
    res.map_err(|e| errno_of(&e))
}

impl Ring {
    /// Creates the ring, trying SINGLE_ISSUER|DEFER_TASKRUN|COOP_TASKRUN first
    /// and falling back to plainer setups, then registers the fixed buffers and
    /// the provided-buffer group.
    pub fn new(cfg: &RingConfig) -> Result<Ring, EngineError> {
        let (uring, setup) = build_uring(cfg.sq_entries)?;
        let fixed = FixedPool::new(cfg.fixed_bufs_count, cfg.fixed_buf_size_bytes)
            .map_err(EngineError::Register)?;
        let iovecs = fixed.iovecs();
        if !iovecs.is_empty() {
            let submitter = uring.submitter();
            // SAFETY: U8: the iovecs cover the pool's allocation, which lives
            // (Rc) until the ring fd is closed, or is leaked (U3).
            let res = unsafe { submitter.register_buffers(&iovecs) };
            res.map_err(|e| EngineError::Register(errno_of(&e)))?;
        }
        let provided = ProvidedPool::new(cfg.provided_bufs_count, cfg.provided_buf_size_bytes)
            .map_err(EngineError::Register)?;
        let mut ring = Ring {
            uring,
            ops: OpTable::default(),
            fixed,
            provided: None,
            backlog: VecDeque::new(),
            cqes: Vec::new(),
            setup,
            stale_logged: false,
            leaked: false,
            files: None,
            files_error: None,
        };
        if cfg.fixed_files_count > 0 {
            // A kernel without sparse tables (< 5.19), a table larger than
            // the hard open-files limit, or a memory limit refuses: the
            // caller falls back to regular fds.
            match register_file_table(&ring.uring, cfg.fixed_files_count) {
                Ok(()) => ring.files = Some(FileTable::new(cfg.fixed_files_count)),
                Err(e) => ring.files_error = Some(e),
            }
        }
        if let Some(pool) = provided {
            ring.register_provided(pool)?;
        }
        Ok(ring)
    }

    fn register_provided(&mut self, mut pool: ProvidedPool) -> Result<(), EngineError> {
        let (addr, entries) = (pool.ring_addr(), pool.entries());
        let submitter = self.uring.submitter();
        // SAFETY: U8: the ring memory is owned by `pool`, which the Ring keeps
        // until after the io_uring fd is closed (field order), or leaks (U3).
        let res =
            unsafe { submitter.register_buf_ring_with_flags(addr, entries, PROVIDED_GROUP, 0) };
        res.map_err(|e| EngineError::Register(errno_of(&e)))?;
        pool.fill();
        self.provided = Some(Rc::new(RefCell::new(pool)));
        Ok(())
    }

    /// Which setup flags the kernel accepted, for the start-up log.
    pub fn setup_description(&self) -> &str {
        self.setup
    }

    /// Queues SQEs that must stay contiguous (a linked pair). When the SQ is
    /// full it submits to make room; if that is not enough, the group waits
    /// in the backlog. Never drops an op.
    pub(super) fn push(&mut self, entries: &[squeue::Entry]) {
        if self.backlog.is_empty() && self.try_push(entries) {
            return;
        }
        self.backlog.push_back(entries.to_vec());
        self.flush_backlog();
    }

    fn try_push(&mut self, entries: &[squeue::Entry]) -> bool {
        for attempt in 0..2 {
            if attempt > 0 {
                // Errors here resurface at the caller's next submit_and_wait.
                let _ = self.uring.submit();
            }
            let mut sq = self.uring.submission();
            if sq.capacity() - sq.len() >= entries.len() {
                // SAFETY: U1, U2: every pointer in these SQEs points into heap
                // memory owned by an op-table slot that lives until the op's
                // last completion (U3 if abandoned).
                let pushed = unsafe { sq.push_multiple(entries) };
                return pushed.is_ok();
            }
        }
        false
    }

    fn flush_backlog(&mut self) {
        while let Some(group) = self.backlog.pop_front() {
            if !self.try_push(&group) {
                self.backlog.push_front(group);
                return;
            }
        }
    }

    /// Submits queued entries and waits for at least `min_complete`
    /// completions, or until `timeout` passes when given. EINTR is not an error.
    pub fn submit_and_wait(
        &mut self,
        min_complete: usize,
        timeout: Option<Duration>,
    ) -> Result<(), EngineError> {
        self.reclaim_fixed();
        self.flush_backlog();
        let res = match timeout {
            Some(after) => {
                let ts = Timespec::from(after);
                let args = SubmitArgs::new().timespec(&ts);
                self.uring.submitter().submit_with_args(min_complete, &args)
            }
            None => self.uring.submit_and_wait(min_complete),
        };
        match res.map_err(|e| errno_of(&e)) {
            Ok(_) => Ok(()),
            Err(e) if transient(e) => Ok(()),
            Err(e) => Err(EngineError::Enter(e)),
        }
    }

    /// Asks the kernel to cancel `op`. Its completion still arrives (usually
    /// with ECANCELED); an id that already completed is ignored.
    pub fn cancel(&mut self, op: OpId) {
        let Some(slot) = self.ops.get_mut(decode(op.0)) else {
            return;
        };
        let pair = matches!(slot.state, OpState::Splice { .. });
        let first = opcode::AsyncCancel::new(op.0)
            .build()
            .user_data(INTERNAL_UD);
        self.push(&[first]);
        if pair {
            let second = opcode::AsyncCancel::new(part2_of(op.0))
                .build()
                .user_data(INTERNAL_UD);
            self.push(&[second]);
        }
    }

    /// Ops submitted and not yet finally completed.
    pub fn in_flight(&self) -> usize {
        self.ops.len()
    }

    /// Cancels every in-flight op and waits until all have completed.
    pub fn shutdown(&mut self) {
        let deadline = Instant::now() + SHUTDOWN_LIMIT;
        let mut next_cancel = Instant::now();
        let mut done = Vec::new();
        while self.in_flight() > 0 {
            let now = Instant::now();
            if now >= deadline {
                return self.abandon();
            }
            if now >= next_cancel {
                // Re-sent periodically: an op may have been started by the
                // kernel (io-wq) after the previous cancel missed it.
                for ud in self.ops.live() {
                    self.cancel(OpId(ud));
                }
                next_cancel = now + RECANCEL_EVERY;
            }
            let wait = (deadline - now).min(RECANCEL_EVERY);
            if let Err(e) = self.submit_and_wait(1, Some(wait)) {
                eprintln!("engine: shutdown: {e}");
                return self.abandon();
            }
            self.completions(&mut done);
            // Nobody reads these: their buffers go back as they drop.
            done.clear();
        }
        self.flush_backlog();
    }

    /// Shutdown could not drain the kernel: leak, never free (U3).
    fn abandon(&mut self) {
        eprintln!(
            "engine: shutdown gave up after {:?} with {} op(s) still in flight; leaking their memory",
            SHUTDOWN_LIMIT,
            self.in_flight()
        );
        self.ops.leak_all();
        self.leaked = true;
    }

    /// A free registered buffer, if any; it goes back when dropped.
    pub fn take_fixed_buf(&mut self) -> Option<FixedBuf> {
        self.fixed.take()
    }

    /// Registered buffers free right now.
    pub fn fixed_bufs_free(&self) -> usize {
        self.fixed.free_count()
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        if self.in_flight() > 0 {
            self.shutdown();
        }
        if self.leaked {
            // The kernel may still write into these (U3).
            std::mem::forget(self.provided.take());
            std::mem::forget(std::mem::replace(&mut self.fixed, FixedPool::empty()));
        }
    }
}
