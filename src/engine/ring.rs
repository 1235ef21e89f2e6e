//! Skeleton of the engine's public API (the implementation may split this
//! file into several: one per op family, per STYLE.md).

use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::time::Duration;

use nix::errno::Errno;

/// The caller's tag for an op, handed back in its completions (the server
/// packs a session key and a purpose into it).
pub type Token = u64;

/// A file descriptor shared between its owner and the ops using it; the fd is
/// closed when the last clone drops, never while an op holds it.
pub type SharedFd = Rc<OwnedFd>;

/// Identifies one in-flight op, for [`Ring::cancel`].
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
}

impl Default for RingConfig {
    fn default() -> Self {
        RingConfig {
            sq_entries: 4096,
            provided_bufs_count: 1024,
            provided_buf_size_bytes: 4096,
            fixed_bufs_count: 64,
            fixed_buf_size_bytes: 256 * 1024,
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
        let _ = f;
        todo!("one line: cause + fix, e.g. 'io_uring is disabled (sysctl kernel.io_uring_disabled=2): set it to 0'")
    }
}

impl std::error::Error for EngineError {}

/// A provided buffer filled by a receive. Read it with [`Ring::provided_data`],
/// then give it back with [`Ring::recycle`] (dropping it without recycling
/// shrinks the pool; the ring logs it once).
#[derive(Debug)]
pub struct ProvidedBuf {
    _private: (),
}

/// A registered buffer owned by the caller between ops. Moves into a
/// `recv_fixed`/`write_fixed` op and comes back in its completion.
#[derive(Debug)]
pub struct FixedBuf {
    _private: (),
}

impl FixedBuf {
    /// The bytes `0..len` (valid data after a receive of `len` bytes).
    pub fn bytes(&self, len: usize) -> &[u8] {
        let _ = len;
        todo!()
    }

    /// Mutable access, e.g. to convert TYPE A data in place before a write.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        todo!()
    }

    /// Capacity in bytes.
    pub fn capacity(&self) -> usize {
        todo!()
    }
}

/// A pipe for the splice RETR path (both ends). Size set with F_SETPIPE_SZ.
#[derive(Debug)]
pub struct Pipe {
    pub read: SharedFd,
    pub write: SharedFd,
}

impl Pipe {
    /// A new pipe of (at least) `size_bytes` capacity, O_CLOEXEC.
    pub fn new(size_bytes: usize) -> Result<Pipe, Errno> {
        let _ = size_bytes;
        todo!()
    }
}

/// One completion, handed to the caller by [`Ring::completions`].
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
    /// `read_into`: bytes read into the Vec (its len is set to that).
    Read(Result<usize, Errno>, Vec<u8>),
}

/// One io_uring instance and its in-flight ops. Not `Send`: it lives and dies
/// on the worker thread that made it.
pub struct Ring {
    _private: (),
}

impl Ring {
    /// Creates the ring, trying SINGLE_ISSUER|DEFER_TASKRUN|COOP_TASKRUN first
    /// and falling back to plainer setups, then registers the fixed buffers and
    /// the provided-buffer group.
    pub fn new(cfg: &RingConfig) -> Result<Ring, EngineError> {
        let _ = cfg;
        todo!()
    }

    /// Which setup flags the kernel accepted, for the start-up log.
    pub fn setup_description(&self) -> &str {
        todo!()
    }

    /// Multishot accept on a listening socket: one `Accept` completion per
    /// connection (accepted fds are CLOEXEC and non-blocking).
    pub fn accept_multishot(&mut self, listener: &SharedFd, token: Token) -> OpId {
        let _ = (listener, token);
        todo!()
    }

    /// One receive into a provided buffer.
    pub fn recv_provided(&mut self, fd: &SharedFd, token: Token) -> OpId {
        let _ = (fd, token);
        todo!()
    }

    /// The received bytes of a provided buffer.
    pub fn provided_data(&self, buf: &ProvidedBuf) -> &[u8] {
        let _ = buf;
        todo!()
    }

    /// Gives a provided buffer back to the pool.
    pub fn recycle(&mut self, buf: ProvidedBuf) {
        let _ = buf;
        todo!()
    }

    /// A free registered buffer, if any.
    pub fn take_fixed_buf(&mut self) -> Option<FixedBuf> {
        todo!()
    }

    /// Returns a registered buffer to the free list.
    pub fn give_fixed_buf(&mut self, buf: FixedBuf) {
        let _ = buf;
        todo!()
    }

    /// Receives up to `buf.capacity()` bytes from a socket into a registered buffer.
    pub fn recv_fixed(&mut self, fd: &SharedFd, buf: FixedBuf, token: Token) -> OpId {
        let _ = (fd, buf, token);
        todo!()
    }

    /// Writes `buf[0..len]` to a file at `offset` (WRITE_FIXED).
    pub fn write_fixed(&mut self, file: &SharedFd, buf: FixedBuf, len: usize, offset: u64, token: Token) -> OpId {
        let _ = (file, buf, len, offset, token);
        todo!()
    }

    /// Sends `data` (the whole Vec) on a socket with MSG_NOSIGNAL.
    pub fn send(&mut self, fd: &SharedFd, data: Vec<u8>, token: Token) -> OpId {
        let _ = (fd, data, token);
        todo!()
    }

    /// Sends `data[offset..]` (for the rest after a short send).
    pub fn send_from(&mut self, fd: &SharedFd, data: Vec<u8>, offset: usize, token: Token) -> OpId {
        let _ = (fd, data, offset, token);
        todo!()
    }

    /// Connects a (non-blocking) socket to `addr`.
    pub fn connect(&mut self, fd: &SharedFd, addr: SocketAddr, token: Token) -> OpId {
        let _ = (fd, addr, token);
        todo!()
    }

    /// One-shot poll for `events` (libc::POLLIN/POLLOUT…) on `fd`.
    pub fn poll_once(&mut self, fd: &SharedFd, events: u32, token: Token) -> OpId {
        let _ = (fd, events, token);
        todo!()
    }

    /// Linked splice file→pipe (at `file_offset`, up to `len`) then pipe→socket
    /// (up to `len`): one `Splice` completion carrying both results.
    pub fn splice_pair(&mut self, file: &SharedFd, file_offset: u64, pipe: &Pipe, sock: &SharedFd, len: u32, token: Token) -> OpId {
        let _ = (file, file_offset, pipe, sock, len, token);
        todo!()
    }

    /// Splice pipe→socket only (draining what a short pipe→socket left).
    pub fn splice_out(&mut self, pipe: &Pipe, sock: &SharedFd, len: u32, token: Token) -> OpId {
        let _ = (pipe, sock, len, token);
        todo!()
    }

    /// Reads into `buf` (its capacity; len is set on completion) from `fd` at
    /// `offset` (`u64::MAX` = current position, for sockets and pipes).
    pub fn read_into(&mut self, fd: &SharedFd, buf: Vec<u8>, offset: u64, token: Token) -> OpId {
        let _ = (fd, buf, offset, token);
        todo!()
    }

    /// Reads an 8-byte counter (eventfd).
    pub fn read_u64(&mut self, fd: &SharedFd, token: Token) -> OpId {
        let _ = (fd, token);
        todo!()
    }

    /// A relative timeout.
    pub fn timeout(&mut self, after: Duration, token: Token) -> OpId {
        let _ = (after, token);
        todo!()
    }

    /// Asks the kernel to cancel `op`. Its completion still arrives (usually
    /// with ECANCELED); an id that already completed is ignored.
    pub fn cancel(&mut self, op: OpId) {
        let _ = op;
        todo!()
    }

    /// Submits queued entries and waits for at least `min_complete`
    /// completions, or until `timeout` passes when given. EINTR is not an error.
    pub fn submit_and_wait(&mut self, min_complete: usize, timeout: Option<Duration>) -> Result<(), EngineError> {
        let _ = (min_complete, timeout);
        todo!()
    }

    /// Moves every available completion into `out` (in kernel order).
    pub fn completions(&mut self, out: &mut Vec<Completion>) {
        let _ = out;
        todo!()
    }

    /// Ops submitted and not yet finally completed.
    pub fn in_flight(&self) -> usize {
        todo!()
    }

    /// Cancels every in-flight op and waits until all have completed.
    pub fn shutdown(&mut self) {
        todo!()
    }
}
