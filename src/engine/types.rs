//! The engine's public value types: ids, config, errors and completions.
//! The buffer handles live in `bufs.rs`, the ring itself in `ring.rs`.

use std::os::fd::OwnedFd;
use std::rc::Rc;

use nix::errno::Errno;

use super::bufs::{FixedBuf, ProvidedBuf};

/// The caller's tag for an op, handed back in its completions (the server
/// packs a session key and a purpose into it).
pub type Token = u64;

/// A file descriptor shared between its owner and the ops using it; the fd is
/// closed when the last clone drops, never while an op holds it.
pub type SharedFd = Rc<OwnedFd>;

/// Identifies one in-flight op, for [`Ring::cancel`](super::Ring::cancel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpId(pub u64);

/// Ring sizes, set once at start-up.
#[derive(Debug, Clone)]
pub struct RingConfig {
    /// Submission queue entries (completion queue is twice this).
    pub sq_entries: u32,
    /// Provided buffers for control-channel receives, and their size.
    pub provided_bufs_count: u16,
    pub provided_buf_size_bytes: u32,
    /// Registered (fixed) buffers for data receives, and their size.
    pub fixed_bufs_count: u16,
    pub fixed_buf_size_bytes: u32,
    /// Slots of the registered file table for direct descriptors (0: none).
    pub fixed_files_count: u32,
}

impl Default for RingConfig {
    fn default() -> Self {
        RingConfig {
            sq_entries: 4096,
            provided_bufs_count: 1024,
            provided_buf_size_bytes: 4096,
            fixed_bufs_count: 64,
            fixed_buf_size_bytes: 256 * 1024,
            fixed_files_count: 0,
        }
    }
}

/// Why the engine could not start or go on. The `Display` text of
/// `Refused` names the cause and the fix in one line (for the server's exit).
#[non_exhaustive]
#[derive(Debug)]
pub enum EngineError {
    /// io_uring_setup failed: ENOSYS (kernel without io_uring), EPERM
    /// (kernel.io_uring_disabled or seccomp), ENOMEM (memlock limit), ….
    Refused(Errno),
    /// Registering buffers failed.
    Register(Errno),
    /// io_uring_enter failed with something other than EINTR/EBUSY.
    Enter(Errno),
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            EngineError::Refused(e) => write!(f, "io_uring refused ({e:?}): {}", refused_hint(e)),
            EngineError::Register(e) => write!(
                f,
                "io_uring buffer registration failed ({e:?}): {}",
                register_hint(e)
            ),
            EngineError::Enter(e) => write!(
                f,
                "io_uring_enter failed ({e:?}): {}: the ring is unusable, restart the worker",
                e.desc()
            ),
        }
    }
}

/// Cause and fix of an io_uring_setup failure, as one line.
fn refused_hint(e: Errno) -> String {
    match e {
        Errno::EPERM | Errno::EACCES => "kernel.io_uring_disabled is set or a seccomp profile blocks it: \
             run `sysctl kernel.io_uring_disabled=0` or allow io_uring_setup in the container profile"
            .into(),
        Errno::ENOSYS => "this kernel lacks io_uring (CONFIG_IO_URING off or too old): \
             run on Linux 6.1 or newer built with io_uring"
            .into(),
        Errno::ENOMEM => "RLIMIT_MEMLOCK is too low for the rings: raise it with `ulimit -l` \
             (LimitMEMLOCK= under systemd) or lower sq_entries"
            .into(),
        Errno::EINVAL => "the kernel rejected the ring parameters: \
             use a sq_entries between 1 and 32768 on Linux 6.1 or newer"
            .into(),
        other => format!(
            "{}: check kernel io_uring support and RingConfig.sq_entries",
            other.desc()
        ),
    }
}

/// Cause and fix of a buffer registration failure, as one line.
fn register_hint(e: Errno) -> String {
    match e {
        Errno::ENOMEM => "RLIMIT_MEMLOCK is too low for the buffers: raise it with `ulimit -l` \
             or lower fixed_bufs_count / fixed_buf_size_bytes"
            .into(),
        Errno::EINVAL => "the kernel rejected the buffer setup: buffer rings need Linux 5.19+, \
             keep fixed_bufs_count <= 16384 and buffer sizes <= 1 GiB"
            .into(),
        other => format!(
            "{}: lower the buffer counts and sizes in RingConfig",
            other.desc()
        ),
    }
}

impl std::error::Error for EngineError {}

/// One completion, handed to the caller by [`Ring::completions`](super::Ring::completions).
#[derive(Debug)]
pub struct Completion {
    pub token: Token,
    pub op: OpId,
    /// More completions will follow for this op (multishot).
    pub more: bool,
    pub kind: CompletionKind,
}

/// The result of each op family, with the resources the op held given back.
#[derive(Debug)]
pub enum CompletionKind {
    /// A connection from `accept_multishot` (or the error).
    Accept(Result<OwnedFd, Errno>),
    /// `recv_provided`: `Ok(None)` is EOF; `Err(ENOBUFS)` means the pool was
    /// empty (the caller re-arms later).
    Recv(Result<Option<ProvidedBuf>, Errno>),
    /// `recv_fixed`: bytes received (0 = EOF) and the buffer back.
    RecvFixed(Result<usize, Errno>, FixedBuf),
    /// `write_fixed`: bytes written and the buffer back.
    WriteFixed(Result<usize, Errno>, FixedBuf),
    /// `send`: bytes sent (may be short) and the Vec back for reuse.
    Send(Result<usize, Errno>, Vec<u8>),
    /// `connect`.
    Connect(Result<(), Errno>),
    /// `poll_once`: the returned event mask.
    Poll(Result<u32, Errno>),
    /// `splice_pair`: bytes file→pipe and pipe→socket (the second is
    /// `Err(ECANCELED)` when the first failed or was short and broke the link).
    Splice {
        into_pipe: Result<usize, Errno>,
        out_of_pipe: Result<usize, Errno>,
    },
    /// `splice_out`: bytes pipe→socket.
    SpliceOut(Result<usize, Errno>),
    /// `timeout`: `Ok(())` when it expired, `Err(ECANCELED)` when cancelled.
    Timeout(Result<(), Errno>),
    /// `read_u64` (eventfd): the counter value.
    ReadU64(Result<u64, Errno>),
    /// `shutdown_sock`.
    Shutdown(Result<(), Errno>),
    /// `read_into`: bytes read into the Vec (its len is set to that).
    Read(Result<usize, Errno>, Vec<u8>),
}

/// A CQE result as a byte count or the errno the kernel returned.
pub(super) fn res_len(res: i32) -> Result<usize, Errno> {
    if res < 0 {
        Err(Errno::from_raw(-res))
    } else {
        // res >= 0 was checked, so the conversion is lossless.
        Ok(res as usize)
    }
}
