//! The data path of one transfer, on the worker that owns its session.
//!
//! 1. A helper opens the file (or formats the listing); the session answers 150.
//! 2. The data connection comes from the passive listener or an active connect.
//! 3. Bytes move:
//!    - RETR binary ([`download`]): `--retr-path splice` links file→pipe→socket splices in the
//!      ring; `sendfile` calls sendfile(2) on the non-blocking socket and waits
//!      for POLLOUT in the ring when the socket is full.
//!    - RETR TYPE A: read into a buffer, LF→CRLF, send.
//!    - STOR ([`upload`]): receive into a registered buffer, write it to the file at its
//!      offset with WRITE_FIXED (TYPE A: CRLF→LF in place first).
//!    - LIST/NLST/MLSD: the formatted buffer is sent.
//! 4. The data socket closes and the session answers 226 (or 425/426/451).
//!
//! One data op is in flight at a time, so ABOR cancels exactly that op.

mod download;
mod upload;

use std::time::{Duration, Instant};

use nix::errno::Errno;

use super::config::RetrPath;
use super::conn::Conn;
use super::jobs;
use super::listing_stream::{ListChunk, ListCursor, ListSpec};
use super::pool::JobOutput;
use super::token::Purpose;
use super::worker::{reclaim, Ctx};
use crate::engine::{Completion, CompletionKind, OpId, Pipe, SharedFd};
use crate::proto::ascii::{FromNetwork, ToNetwork};
use crate::proto::session::{DataEndpoint, Event, Now, Transfer, TransferError, TransferKind};

/// Pipe size for the splice path.
const PIPE_SIZE_BYTES: usize = 1 << 20;
/// Read size for TYPE A downloads.
const ASCII_CHUNK_BYTES: usize = 64 * 1024;

/// Where a transfer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Opening,
    WaitingData,
    Moving,
}

/// What the transfer moves.
enum Body {
    Retr {
        end: u64,
    },
    Store,
    /// The chunk being sent, the cursor for the rest, and the sequence number
    /// of the chunk requested from the helper pool, if one is.
    List {
        data: Vec<u8>,
        more: Option<Box<ListCursor>>,
        waiting: Option<u64>,
    },
}

/// One running transfer.
pub struct Xfer {
    seq: u64,
    endpoint: DataEndpoint,
    ascii: bool,
    stage: Stage,
    body: Option<Body>,
    file: Option<SharedFd>,
    sock: Option<SharedFd>,
    /// File offset (RETR/STOR) or bytes of the listing sent.
    offset: u64,
    /// Bytes moved on the data connection so far.
    pub bytes: u64,
    op: Option<OpId>,
    aborting: bool,
    deadline: Option<Instant>,
    last_progress: Instant,
    pipe: Option<Pipe>,
    pipe_fill: u32,
    /// Bytes of the registered buffer still to write (STOR).
    pending: usize,
    eof: bool,
    to_net: ToNetwork,
    from_net: FromNetwork,
    /// A reusable send/read buffer for TYPE A.
    vec: Option<Vec<u8>>,
    /// Bytes of the TYPE A chunk in flight already sent (short sends).
    chunk_sent: usize,
}

impl Xfer {
    /// True while the transfer waits for the passive listener's connection.
    pub fn waiting_for_passive(&self) -> bool {
        self.stage == Stage::WaitingData && self.endpoint == DataEndpoint::Passive
    }
}

impl Conn {
    /// Starts a transfer: its source or target is opened on the helper pool.
    pub fn start_transfer(&mut self, ctx: &mut Ctx, t: Transfer) {
        let Some(root) = self.root.clone() else {
            return self.finish(
                ctx,
                Err(TransferError::Fs(crate::fs::FsError::PermissionDenied)),
            );
        };
        let tag = self.next_tag();
        let now = Instant::now();
        self.xfer = Some(Xfer {
            seq: tag.seq,
            endpoint: t.endpoint,
            ascii: t.ascii,
            stage: Stage::Opening,
            body: None,
            file: None,
            sock: None,
            offset: 0,
            bytes: 0,
            op: None,
            aborting: false,
            deadline: None,
            last_progress: now,
            pipe: None,
            pipe_fill: 0,
            pending: 0,
            eof: false,
            to_net: ToNetwork::default(),
            from_net: FromNetwork::default(),
            vec: None,
            chunk_sent: 0,
        });
        let work: Box<dyn FnOnce() -> JobOutput + Send> = match t.kind {
            TransferKind::Retr { path, offset } => {
                if let Some(x) = self.xfer.as_mut() {
                    x.offset = offset;
                }
                Box::new(move || jobs::open_read(&root, &path))
            }
            TransferKind::Store { path, mode } => {
                if let crate::proto::session::StoreMode::At(n) = mode {
                    if let Some(x) = self.xfer.as_mut() {
                        x.offset = n;
                    }
                }
                let seed = (ctx.now().unix_secs as u64) << 16 ^ tag.seq;
                Box::new(move || jobs::open_write(&root, &path, mode, seed))
            }
            TransferKind::List {
                path,
                format,
                glob,
                show_hidden,
                can_write,
            } => {
                let spec = ListSpec {
                    path,
                    format,
                    glob,
                    show_hidden,
                    can_write,
                    entries_max: ctx.shared.args.list_entries_max,
                    now_unix: ctx.now().unix_secs,
                };
                Box::new(move || jobs::listing(&root, spec))
            }
        };
        ctx.submit_job(tag, work);
    }

    /// The helper opened the source/target (or failed to).
    pub fn on_transfer_opened(&mut self, ctx: &mut Ctx, seq: u64, out: JobOutput) {
        let Some(x) = self
            .xfer
            .as_mut()
            .filter(|x| x.seq == seq && x.stage == Stage::Opening)
        else {
            return;
        };
        let (body, size, name) = match out {
            JobOutput::OpenRead(Ok((_, size))) if x.offset > size => {
                return self.finish(ctx, Err(TransferError::RestartBeyondEnd));
            }
            JobOutput::OpenRead(Ok((fd, size))) => {
                x.file = Some(std::rc::Rc::new(fd));
                (Body::Retr { end: size }, Some(size), None)
            }
            JobOutput::OpenWrite(Ok((fd, name))) => {
                x.file = Some(std::rc::Rc::new(fd));
                (Body::Store, None, name)
            }
            JobOutput::Listing(Ok(c)) => {
                let body = Body::List {
                    data: c.data,
                    more: c.more,
                    waiting: None,
                };
                (body, None, None)
            }
            JobOutput::OpenRead(Err(e))
            | JobOutput::OpenWrite(Err(e))
            | JobOutput::Listing(Err(e)) => {
                return self.finish(ctx, Err(TransferError::Fs(e)));
            }
            _ => return,
        };
        x.body = Some(body);
        x.stage = Stage::WaitingData;
        x.deadline =
            Some(Instant::now() + Duration::from_secs(ctx.shared.args.data_connect_timeout_secs));
        let now = ctx.now();
        self.session
            .handle_event(Event::TransferReady { size, name }, now);
        self.connect_data(ctx);
    }

    fn connect_data(&mut self, ctx: &mut Ctx) {
        let Some(x) = self.xfer.as_ref() else { return };
        match x.endpoint {
            DataEndpoint::Passive => {
                let accepted = self.pasv.as_mut().and_then(|p| p.accepted.take());
                let listening = self.pasv.as_ref().is_some_and(|p| p.listener.is_some());
                match accepted {
                    Some(fd) => self.data_connected(ctx, fd),
                    None if listening => {}
                    None => self.finish(ctx, Err(TransferError::DataConnection)),
                }
            }
            DataEndpoint::Active(addr) => match super::sockets::active_socket(self.local.ip()) {
                Ok(fd) => {
                    let fd: SharedFd = std::rc::Rc::new(fd);
                    let t = self.token(Purpose::DataConnect);
                    let op = ctx.ring.connect(&fd, addr, t);
                    if let Some(x) = self.xfer.as_mut() {
                        x.sock = Some(fd);
                        x.op = Some(op);
                    }
                }
                Err(_) => self.finish(ctx, Err(TransferError::DataConnection)),
            },
        }
    }

    /// The data connection is up: start moving bytes.
    pub fn data_connected(&mut self, ctx: &mut Ctx, fd: SharedFd) {
        self.close_passive(ctx);
        let Some(x) = self.xfer.as_mut() else { return };
        x.sock = Some(fd);
        x.stage = Stage::Moving;
        x.deadline = None;
        x.last_progress = Instant::now();
        self.step(ctx);
    }

    /// Submits the next data op (or finishes).
    fn step(&mut self, ctx: &mut Ctx) {
        let Some(x) = self.xfer.as_ref() else { return };
        if x.aborting {
            return self.finish(ctx, Err(TransferError::Aborted));
        }
        match x.body {
            Some(Body::Retr { .. }) if x.ascii => self.retr_ascii_step(ctx),
            Some(Body::Retr { .. }) => match ctx.shared.args.retr_path {
                RetrPath::Splice => self.splice_step(ctx),
                RetrPath::Sendfile => self.sendfile_step(ctx),
            },
            Some(Body::Store) => self.store_step(ctx),
            Some(Body::List { .. }) => self.list_step(ctx),
            None => {}
        }
    }

    fn set_op(&mut self, op: OpId) {
        if let Some(x) = self.xfer.as_mut() {
            x.op = Some(op);
        }
    }

    fn list_step(&mut self, ctx: &mut Ctx) {
        let Some(x) = self.xfer.as_mut() else { return };
        let Some(sock) = x.sock.clone() else { return };
        let Some(Body::List { data, more, .. }) = x.body.as_mut() else {
            return;
        };
        if x.offset as usize >= data.len() {
            return match more.take() {
                Some(cursor) => self.request_list_chunk(ctx, cursor),
                None => self.finish_ok(ctx),
            };
        }
        let data = std::mem::take(data);
        let offset = x.offset as usize;
        let t = self.token(Purpose::DataIo);
        let op = ctx.ring.send_from(&sock, data, offset, t);
        self.set_op(op);
    }

    /// Asks the helper pool for the listing's next chunk (the worker never
    /// reads the directory itself).
    fn request_list_chunk(&mut self, ctx: &mut Ctx, cursor: Box<ListCursor>) {
        let tag = self.next_tag();
        if let Some(Body::List { waiting, .. }) = self.xfer.as_mut().and_then(|x| x.body.as_mut()) {
            *waiting = Some(tag.seq);
        }
        ctx.submit_job(tag, Box::new(move || jobs::listing_more(cursor)));
    }

    /// The helper formatted the next chunk of the listing.
    pub fn on_list_more(
        &mut self,
        ctx: &mut Ctx,
        seq: u64,
        r: Result<ListChunk, crate::fs::FsError>,
    ) {
        let Some(x) = self.xfer.as_mut() else { return };
        let Some(Body::List {
            data,
            more,
            waiting,
        }) = x.body.as_mut()
        else {
            return;
        };
        if *waiting != Some(seq) {
            return;
        }
        *waiting = None;
        match r {
            Ok(chunk) => {
                *data = chunk.data;
                *more = chunk.more;
                x.offset = 0;
                self.list_step(ctx);
            }
            Err(e) => self.finish(ctx, Err(TransferError::Read(e))),
        }
    }

    /// Completions of data ops.
    pub fn on_data(&mut self, ctx: &mut Ctx, purpose: Purpose, c: Completion) {
        let current = self.xfer.as_ref().is_some_and(|x| x.op == Some(c.op));
        if !current {
            return reclaim(ctx, c.kind);
        }
        if let Some(x) = self.xfer.as_mut() {
            x.op = None;
        }
        let aborting = self.xfer.as_ref().is_some_and(|x| x.aborting);
        if aborting {
            reclaim(ctx, c.kind);
            return self.finish(ctx, Err(TransferError::Aborted));
        }
        if purpose == Purpose::DataConnect {
            return match c.kind {
                CompletionKind::Connect(Ok(())) => {
                    let fd = self.xfer.as_mut().and_then(|x| x.sock.take());
                    match fd {
                        Some(fd) => self.data_connected(ctx, fd),
                        None => self.finish(ctx, Err(TransferError::DataConnection)),
                    }
                }
                _ => self.finish(ctx, Err(TransferError::DataConnection)),
            };
        }
        self.on_data_io(ctx, c.kind);
    }

    fn on_data_io(&mut self, ctx: &mut Ctx, kind: CompletionKind) {
        match kind {
            CompletionKind::Splice {
                into_pipe,
                out_of_pipe,
            } => self.on_splice(ctx, into_pipe, Some(out_of_pipe)),
            CompletionKind::SpliceOut(out) => self.on_splice(ctx, Ok(0), Some(out)),
            CompletionKind::Poll(Ok(_)) => self.step(ctx),
            CompletionKind::Poll(Err(e)) => self.finish(ctx, Err(net_or_read_error(e))),
            CompletionKind::Read(r, buf) => self.on_ascii_read(ctx, r, buf),
            CompletionKind::Send(r, data) => self.on_data_sent(ctx, r, data),
            CompletionKind::RecvFixed(r, buf) => self.on_store_recv(ctx, r, buf),
            CompletionKind::WriteFixed(r, buf) => self.on_store_written(ctx, r, buf),
            other => {
                reclaim(ctx, other);
                self.finish(ctx, Err(TransferError::ConnectionLost));
            }
        }
    }

    fn on_data_sent(&mut self, ctx: &mut Ctx, r: Result<usize, Errno>, data: Vec<u8>) {
        let n = match r {
            // A stream socket that takes nothing of a non-empty send is gone.
            Ok(0) if !data.is_empty() => {
                return self.finish(ctx, Err(TransferError::ConnectionLost))
            }
            Ok(n) => n,
            Err(e) => return self.finish(ctx, Err(net_or_read_error(e))),
        };
        let Some(x) = self.xfer.as_mut() else { return };
        x.bytes += n as u64;
        x.last_progress = Instant::now();
        match x.body.as_mut() {
            Some(Body::List { data: slot, .. }) => {
                x.offset += n as u64;
                *slot = data;
                self.list_step(ctx);
            }
            _ => {
                // TYPE A download: `n` counts from where this send started, so
                // the rest starts after everything sent of the chunk so far.
                x.chunk_sent += n;
                if x.chunk_sent < data.len() {
                    let Some(sock) = x.sock.clone() else { return };
                    let from = x.chunk_sent;
                    let t = self.token(Purpose::DataIo);
                    let op = ctx.ring.send_from(&sock, data, from, t);
                    return self.set_op(op);
                }
                x.chunk_sent = 0;
                x.vec = Some(data);
                self.retr_ascii_step(ctx);
            }
        }
    }

    /// ABOR: cancel the op in flight; its completion finishes the transfer.
    pub fn abort_transfer(&mut self, ctx: &mut Ctx) {
        let Some(x) = self.xfer.as_mut() else {
            let now = ctx.now();
            return self
                .session
                .handle_event(Event::TransferDone(Err(TransferError::Aborted)), now);
        };
        x.aborting = true;
        if let Some(sock) = x.sock.as_ref() {
            let _ = nix::sys::socket::shutdown(
                std::os::fd::AsRawFd::as_raw_fd(&**sock),
                nix::sys::socket::Shutdown::Both,
            );
        }
        match x.op {
            Some(op) => ctx.ring.cancel(op),
            None => {
                ctx.buf_waiters.retain(|w| *w != (self.index, self.gen));
                self.finish(ctx, Err(TransferError::Aborted));
            }
        }
    }

    /// Connection closed: forget the transfer (its op completions are reclaimed).
    pub fn drop_transfer(&mut self, ctx: &mut Ctx) {
        if let Some(mut x) = self.xfer.take() {
            if let Some(op) = x.op.take() {
                ctx.ring.cancel(op);
            }
            if let Some(sock) = x.sock.as_ref() {
                let _ = nix::sys::socket::shutdown(
                    std::os::fd::AsRawFd::as_raw_fd(&**sock),
                    nix::sys::socket::Shutdown::Both,
                );
            }
        }
        ctx.buf_waiters.retain(|w| *w != (self.index, self.gen));
    }

    /// Data-connection and stall timeouts.
    pub fn check_transfer_deadlines(&mut self, ctx: &mut Ctx, now: Now) {
        let Some(x) = self.xfer.as_ref() else { return };
        if x.aborting {
            return;
        }
        let stall = Duration::from_secs(ctx.shared.args.stall_timeout_secs);
        if x.deadline.is_some_and(|d| now.mono >= d) {
            self.abort_with(ctx, TransferError::DataConnection);
        } else if x.stage == Stage::Moving && now.mono.duration_since(x.last_progress) >= stall {
            self.abort_with(ctx, TransferError::Stalled);
        }
    }

    fn abort_with(&mut self, ctx: &mut Ctx, e: TransferError) {
        self.drop_transfer(ctx);
        self.close_passive(ctx);
        let now = ctx.now();
        self.session.handle_event(Event::TransferDone(Err(e)), now);
    }

    fn finish_ok(&mut self, ctx: &mut Ctx) {
        let bytes = self.xfer.as_ref().map_or(0, |x| x.bytes);
        self.finish(ctx, Ok(bytes));
    }

    /// Ends the transfer: closes the data socket and the file, tells the session.
    pub fn finish(&mut self, ctx: &mut Ctx, r: Result<u64, TransferError>) {
        if let Some(mut x) = self.xfer.take() {
            // Only a pipe known to be empty goes back to the pool: after an
            // abort or error the last splice's bytes were never counted, and a
            // pipe holding them would block or corrupt the next transfer.
            let drained = r.is_ok() && x.pipe_fill == 0 && x.op.is_none();
            if let Some(p) = x.pipe.take().filter(|_| drained) {
                ctx.pipes.push(p);
            }
            if let Some(op) = x.op.take() {
                ctx.ring.cancel(op);
            }
            ctx.log(format_args!(
                "{} transfer done: {:?} ({} bytes)",
                self.peer, r, x.bytes
            ));
        }
        ctx.buf_waiters.retain(|w| *w != (self.index, self.gen));
        let now = ctx.now();
        self.session.handle_event(Event::TransferDone(r), now);
    }
}

/// A send-side errno: the peer went away (426), else a local read error (451).
fn net_or_read_error(e: Errno) -> TransferError {
    match e {
        Errno::EPIPE
        | Errno::ECONNRESET
        | Errno::ENOTCONN
        | Errno::ECANCELED
        | Errno::ESHUTDOWN => TransferError::ConnectionLost,
        Errno::EIO => TransferError::Read(crate::fs::FsError::Io(Errno::EIO as i32)),
        _ => TransferError::ConnectionLost,
    }
}
