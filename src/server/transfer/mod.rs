//! One transfer as a state machine, on the worker that owns its session.
//!
//! ```text
//!   start ──helper opens the file / formats the first listing chunk──▶ Opening
//!   Opening ──on_opened: Ready (150)──▶ Connecting (deadline: --data-connect-timeout-secs)
//!   Connecting ──passive accept or active connect──▶ Moving
//!   Moving ──each completion of its one data op: on_completion──▶ Moving | Done
//!   any stage ──abort / deadline / error──▶ Done(Err)
//! ```
//!
//! In `Moving`, the [`Body`] says how bytes move:
//! - [`retr::FileSend`] (RETR, `--retr-path sendfile`): sendfile(2) on the
//!   non-blocking socket, a ring POLLOUT when it is full.
//! - [`retr::SpliceSend`] (RETR, `--retr-path splice`): linked ring splices
//!   file → pipe → socket.
//! - [`ascii::AsciiSend`] (RETR TYPE A): read into a buffer, LF → CRLF, send.
//! - [`store::Receive`] (STOR/APPE/STOU): receive into a registered buffer
//!   (TYPE A: CRLF → LF) while the previous one is written at its file
//!   offset (two buffers per upload, the only body that uses both lanes).
//! - [`list::ListSend`] (LIST/NLST/MLSD): send formatted chunks, asking the
//!   helper pool for the next.
//!
//! Bandwidth limits ([`pacing`]): a paced transfer's op in flight is a ring
//! timeout while its rate is used up. Quotas: an upload counts each chunk
//! before writing it (`store.rs`); past the limit it stops, and [`undo`]
//! removes the partial file before the 552.
//!
//! Under PROT P the body is the same; its sends and receives go through
//! [`Link::send`] and [`Link::recv_fixed`], which [`secure`] encrypts and
//! decrypts after the data connection's handshake (binary RETR then takes
//! the read-and-send path of [`ascii::AsciiSend`] without conversion).
//!
//! Invariant: at most one op per [`Lane`] is in flight per transfer — one on
//! the network (receive, send, connect, poll, a pacing timeout, TLS) and one
//! on the file (an upload's write) — checked in one place,
//! [`Link::submit_on`]. ABOR cancels both, and the transfer ends when the
//! last of them has completed, so no write lands after the reply; any
//! completion whose op is not one of the current ones belongs to a transfer
//! that has ended and is dropped (its buffers go back to their pools as they
//! drop).

mod ascii;
mod list;
mod open;
mod pacing;
mod retr;
mod secure;
mod store;
mod undo;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::errno::Errno;

use super::ctx::Ctx;
use super::listing_stream::ListChunk;
use super::tags::Tags;
use super::token::Purpose;
use crate::engine::{CompletionKind, FixedBuf, OpId, SharedFd};
use crate::fs::{FsError, Root};
use crate::proto::pace::Pace;
use crate::proto::path::VPath;
use crate::proto::quota::{Quota, Rates};
use crate::proto::session::{DataEndpoint, TransferError, TransferKind};
use crate::tls::SessionTls;

/// What a login's transfers are limited by.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    pub quota: Option<Quota>,
    pub rates: Rates,
}

/// What transfer code may use: the worker's context and the connection's tags.
pub struct Io<'a> {
    pub ctx: &'a mut Ctx,
    pub tags: &'a mut Tags,
}

impl Io<'_> {
    fn now(&self) -> Instant {
        self.ctx.now.mono
    }
}

/// What a completion (or any event) did to the transfer.
#[derive(Debug)]
pub enum Step {
    /// Still running (an op is in flight, or it waits for a buffer, a
    /// listing chunk or the data connection).
    Continue,
    /// Ended: the bytes moved, or why not. The connection tells the session.
    Done(Result<u64, TransferError>),
}

/// The helper's answer to the transfer's opening.
pub enum Opened {
    /// Open: the session answers 150, then the data connection is made.
    Ready {
        size: Option<u64>,
        name: Option<String>,
    },
    Failed(TransferError),
    /// An answer to an older request: ignored.
    NotOurs,
}

/// Where an op of a transfer runs: each lane has at most one in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    /// The data connection (and file reads that alternate with sends).
    Net = 0,
    /// An upload's write to its file, overlapping the next receive.
    File = 1,
}

/// The data connection of a transfer and its ops in flight (one per lane).
pub(super) struct Link {
    sock: Option<SharedFd>,
    ops: [Option<OpId>; 2],
    /// Bytes moved on the data connection so far.
    bytes: u64,
    last_progress: Instant,
    dir: pacing::Dir,
    /// The session's rate for this transfer (`None`: unlimited).
    pace: Option<Pace>,
    /// The op in flight is a pacing timeout.
    paused: bool,
    /// PROT P: the data connection's TLS (after the data connection is up).
    tls: Option<Box<secure::DataTls>>,
}

impl Link {
    /// Records an op on the network lane (see [`Link::submit_on`]).
    fn submit(&mut self, op: OpId) {
        self.submit_on(Lane::Net, op);
    }

    /// Records an op on the file lane (see [`Link::submit_on`]).
    fn submit_write(&mut self, op: OpId) {
        self.submit_on(Lane::File, op);
    }

    /// Records the transfer's op in flight on `lane`. The one place the
    /// invariant is checked: a second op on a lane would make ABOR miss one
    /// and the transfer end with an op still writing.
    fn submit_on(&mut self, lane: Lane, op: OpId) {
        let slot = &mut self.ops[lane as usize];
        assert!(
            slot.is_none(),
            "a transfer submitted a second {lane:?} op while one was in flight"
        );
        *slot = Some(op);
    }

    fn busy(&self, lane: Lane) -> bool {
        self.ops[lane as usize].is_some()
    }

    fn in_flight(&self) -> bool {
        self.ops.iter().any(Option::is_some)
    }

    /// Forgets `op`, which has completed: its lane, or `None` if not ours.
    fn completed(&mut self, op: OpId) -> Option<Lane> {
        let i = self.ops.iter().position(|o| *o == Some(op))?;
        self.ops[i] = None;
        Some(if i == 0 { Lane::Net } else { Lane::File })
    }

    /// Cancels every op in flight (each still completes, and is forgotten then).
    fn cancel_all(&self, io: &mut Io) {
        for op in self.ops.iter().flatten() {
            io.ctx.ring.cancel(*op);
        }
    }

    fn sock(&self) -> Option<SharedFd> {
        self.sock.clone()
    }

    fn moved(&mut self, n: usize, io: &mut Io) {
        self.bytes = self.bytes.saturating_add(n as u64);
        self.last_progress = io.now();
        self.spend(n as u64, io);
    }

    fn done_ok(&self) -> Step {
        Step::Done(Ok(self.bytes))
    }

    /// Shuts the data socket down (the fd itself closes when the last op
    /// holding it completes).
    fn shutdown(&self) {
        if let Some(sock) = self.sock.as_ref() {
            let _ = nix::sys::socket::shutdown(
                std::os::fd::AsRawFd::as_raw_fd(&**sock),
                nix::sys::socket::Shutdown::Both,
            );
        }
    }
}

/// Where a transfer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The helper is opening the file or formatting the listing.
    Opening,
    /// Waiting for the data connection until the deadline.
    Connecting { deadline: Instant },
    /// Bytes are moving.
    Moving,
    /// An upload went past the quota: a helper removes its partial file
    /// (the answer to request `seq`), then 552.
    Undoing { seq: u64 },
}

impl Stage {
    /// The data-connection deadline while connecting; the stall deadline
    /// (`stall` after the last progress) while bytes move.
    fn deadline(self, last_progress: Instant, stall: Duration) -> Option<Instant> {
        match self {
            Stage::Opening | Stage::Undoing { .. } => None,
            Stage::Connecting { deadline } => Some(deadline),
            Stage::Moving => Some(last_progress + stall),
        }
    }
}

/// How the bytes of a transfer move (see the module doc).
enum Body {
    /// Until the helper has answered.
    Pending,
    Sendfile(retr::FileSend),
    Splice(retr::SpliceSend),
    Ascii(ascii::AsciiSend),
    Store(store::Receive),
    List(list::ListSend),
}

impl Body {
    fn step(&mut self, l: &mut Link, io: &mut Io) -> Step {
        match self {
            Body::Pending => Step::Continue,
            Body::Sendfile(b) => b.step(l, io),
            Body::Splice(b) => b.step(l, io),
            Body::Ascii(b) => b.step(l, io),
            Body::Store(b) => b.step(l, io),
            Body::List(b) => b.step(l, io),
        }
    }

    fn on_io(&mut self, l: &mut Link, io: &mut Io, kind: CompletionKind) -> Step {
        match self {
            Body::Pending => Step::Done(Err(TransferError::ConnectionLost)),
            Body::Sendfile(b) => b.on_io(l, io, kind),
            Body::Splice(b) => b.on_io(l, io, kind),
            Body::Ascii(b) => b.on_io(l, io, kind),
            Body::Store(b) => b.on_io(l, io, kind),
            Body::List(b) => b.on_io(l, io, kind),
        }
    }
}

/// One running transfer.
pub struct Xfer {
    /// The helper request that opens it.
    seq: u64,
    endpoint: DataEndpoint,
    kind: TransferKind,
    ascii: bool,
    stage: Stage,
    body: Body,
    link: Link,
    aborting: bool,
    /// The transfer has ended (this result) but an op is still in flight:
    /// it is cancelled, and the result waits for its completion.
    ending: Option<Result<u64, TransferError>>,
    /// When the transfer command arrived (set-up and duration metrics).
    started: Instant,
    root: Arc<Root>,
    /// The upload's target once open (STOU: with the name chosen).
    target: Option<VPath>,
    /// PROT P: the control session's TLS, for the data connection's handshake.
    protected: Option<SessionTls>,
}

impl Xfer {
    /// What the transfer moves.
    pub fn kind(&self) -> &TransferKind {
        &self.kind
    }

    /// TYPE A.
    pub fn is_ascii(&self) -> bool {
        self.ascii
    }

    /// When its command arrived.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// True once ABOR (or shutdown) has asked it to stop.
    pub fn is_aborting(&self) -> bool {
        self.aborting
    }

    pub fn endpoint(&self) -> DataEndpoint {
        self.endpoint
    }

    /// True while the transfer waits for the passive listener's connection.
    pub fn waiting_for_passive(&self) -> bool {
        matches!(self.stage, Stage::Connecting { .. }) && self.endpoint == DataEndpoint::Passive
    }

    /// Active mode: connects from the control connection's local address.
    pub fn connect_active(&mut self, io: &mut Io, local_ip: IpAddr, to: SocketAddr) -> Step {
        match super::sockets::active_socket(local_ip) {
            Ok(fd) => {
                let fd: SharedFd = std::rc::Rc::new(fd);
                let t = io.tags.op(Purpose::DataConnect);
                let op = io.ctx.ring.connect(&fd, to, t);
                self.link.sock = Some(fd);
                self.link.submit(op);
                Step::Continue
            }
            Err(_) => Step::Done(Err(TransferError::DataConnection)),
        }
    }

    /// The data connection is up: bytes start moving.
    pub fn data_connected(&mut self, io: &mut Io, fd: SharedFd) -> Step {
        if self.aborting {
            return Step::Done(Err(TransferError::Aborted));
        }
        self.link.sock = Some(fd);
        self.stage = Stage::Moving;
        let setup = io.now().saturating_duration_since(self.started);
        io.ctx.obs.metrics.data_connection_ready(setup);
        self.link.last_progress = io.now();
        if let Some(sess) = self.protected.clone() {
            let allow = io.ctx.shared.args.tls_allow_data_without_resumption;
            let send_only = !matches!(self.kind, TransferKind::Store { .. });
            return match secure::DataTls::new(sess, allow, send_only) {
                Some(tls) => self.link.tls_begin(io, tls),
                None => Step::Done(Err(TransferError::TlsHandshake)),
            };
        }
        self.body.step(&mut self.link, io)
    }

    /// True when `op` is one of this transfer's ops in flight.
    pub fn owns(&self, op: OpId) -> bool {
        self.link.ops.contains(&Some(op))
    }

    /// The last completion of one of this transfer's ops in flight.
    pub fn on_completion(
        &mut self,
        io: &mut Io,
        op: OpId,
        purpose: Purpose,
        kind: CompletionKind,
    ) -> Step {
        let Some(lane) = self.link.completed(op) else {
            return Step::Continue;
        };
        if self.aborting && self.ending.is_none() {
            self.ending = Some(Err(TransferError::Aborted));
        }
        if self.ending.is_some() {
            return self.settle(io); // `kind`'s buffer goes back as it drops
        }
        if matches!(self.stage, Stage::Undoing { .. }) {
            return Step::Continue;
        }
        if !self.over_quota() {
            let step = match lane {
                // Writes are the body's, never TLS's.
                Lane::File => {
                    let step = self.body.on_io(&mut self.link, io, kind);
                    self.link.tls_finish(io, step)
                }
                Lane::Net => self.on_net(io, purpose, kind),
            };
            if !self.over_quota() {
                return match step {
                    Step::Done(r) if self.link.in_flight() => {
                        self.ending = Some(r);
                        self.settle(io)
                    }
                    other => other,
                };
            }
        }
        // Past the quota: the partial file is removed once no write is in
        // flight (nothing receives any more).
        match self.link.busy(Lane::File) {
            true => Step::Continue,
            false => self.undo_upload(io),
        }
    }

    fn over_quota(&self) -> bool {
        matches!(&self.body, Body::Store(b) if b.over_quota())
    }

    /// An ending transfer: cancels what is still in flight and reports the
    /// result once nothing is (no write lands after the reply).
    fn settle(&mut self, io: &mut Io) -> Step {
        if self.link.in_flight() {
            self.link.shutdown();
            self.link.cancel_all(io);
            return Step::Continue;
        }
        self.ending.take().map_or(Step::Continue, Step::Done)
    }

    /// A completion on the network lane.
    fn on_net(&mut self, io: &mut Io, purpose: Purpose, kind: CompletionKind) -> Step {
        if purpose == Purpose::DataConnect {
            return match (kind, self.link.sock.take()) {
                (CompletionKind::Connect(Ok(())), Some(fd)) => self.data_connected(io, fd),
                _ => Step::Done(Err(TransferError::DataConnection)),
            };
        }
        if std::mem::take(&mut self.link.paused) {
            return match kind {
                CompletionKind::Timeout(Ok(())) => {
                    let step = self.body.step(&mut self.link, io);
                    self.link.tls_finish(io, step)
                }
                _ => Step::Done(Err(TransferError::ConnectionLost)),
            };
        }
        if self.link.tls.is_some() {
            let step = match self.link.tls_on_io(io, kind) {
                secure::Routed::Body(kind) => self.body.on_io(&mut self.link, io, kind),
                secure::Routed::Open => self.body.step(&mut self.link, io),
                secure::Routed::Step(s) => return s,
            };
            self.link.tls_finish(io, step)
        } else {
            self.body.on_io(&mut self.link, io, kind)
        }
    }

    /// The helper formatted the listing's next chunk.
    pub fn on_list_more(&mut self, io: &mut Io, seq: u64, r: Result<ListChunk, FsError>) -> Step {
        match &mut self.body {
            Body::List(b) if !self.aborting && self.ending.is_none() => {
                let step = b.on_more(&mut self.link, io, seq, r);
                self.link.tls_finish(io, step)
            }
            _ => Step::Continue,
        }
    }

    /// A registered buffer for an upload that waited for one.
    pub fn resume_with_buf(&mut self, io: &mut Io, buf: FixedBuf) -> Step {
        match &mut self.body {
            Body::Store(b)
                if self.stage == Stage::Moving && !self.aborting && self.ending.is_none() =>
            {
                let step = b.resume(&mut self.link, io, buf);
                self.link.tls_finish(io, step)
            }
            // Not waiting (any more): the buffer goes back as it drops.
            _ => Step::Continue,
        }
    }

    /// ABOR: cancels the ops in flight (the last completion ends the
    /// transfer), or ends it now when nothing is in flight.
    pub fn abort(&mut self, io: &mut Io) -> Step {
        self.aborting = true;
        self.link.shutdown();
        if self.link.in_flight() {
            self.link.cancel_all(io);
            Step::Continue
        } else {
            Step::Done(Err(TransferError::Aborted))
        }
    }

    /// When the data-connection or stall deadline falls (`None`: no
    /// deadline runs, e.g. while the helper opens the file or ABOR runs).
    pub fn deadline(&self, stall: Duration) -> Option<Instant> {
        // A paced transfer waiting for its timeout is not stalled; an ending
        // one only waits for its last op.
        if self.aborting || self.ending.is_some() || self.link.paused {
            return None;
        }
        self.stage.deadline(self.link.last_progress, stall)
    }

    /// The data-connection or stall deadline, if passed.
    pub fn deadline_error(&self, now: Instant, stall: Duration) -> Option<TransferError> {
        if self.deadline(stall).is_none_or(|d| now < d) {
            return None;
        }
        match self.stage {
            Stage::Connecting { .. } => Some(TransferError::DataConnection),
            Stage::Moving => Some(TransferError::Stalled),
            Stage::Opening | Stage::Undoing { .. } => None,
        }
    }

    /// Bytes moved so far (STAT during a transfer).
    pub fn bytes(&self) -> u64 {
        self.link.bytes
    }

    /// The transfer is over (`clean`: it succeeded): cancels an op still in
    /// flight, closes the data connection and keeps what can be reused.
    pub fn end(self, io: &mut Io, clean: bool) {
        let idle = !self.link.in_flight();
        self.link.cancel_all(io);
        self.link.shutdown();
        if let Body::Splice(b) = self.body {
            b.end(io, clean && idle);
        }
    }
}

/// A send-side errno: the peer went away (426), else a local read error (451).
fn net_or_read_error(e: Errno) -> TransferError {
    match e {
        Errno::EIO => TransferError::Read(FsError::Io(Errno::EIO as i32)),
        _ => TransferError::ConnectionLost,
    }
}

/// RETR reached the end of its file: 226, or 451 when the file is now
/// shorter than the size announced in the 150 reply. sendfile sends a
/// truncated file's old length (zeros past the new end), and TYPE A and
/// splice stop early: either way the client did not get the file.
fn finish_retr(l: &Link, file: &SharedFd, offset: u64, end: u64) -> Step {
    let size = nix::sys::stat::fstat(&**file).map(|st| st.st_size as u64);
    if offset < end || size.is_ok_and(|s| s < end) {
        return Step::Done(Err(TransferError::SourceChanged));
    }
    l.done_ok()
}

#[cfg(test)]
mod deadline_tests {
    use super::Stage;
    use std::time::{Duration, Instant};

    #[test]
    fn connecting_has_its_fixed_deadline_moving_has_the_stall_deadline_from_progress() {
        let t0 = Instant::now();
        let stall = Duration::from_secs(120);
        let connect = t0 + Duration::from_secs(30);
        assert_eq!(Stage::Opening.deadline(t0, stall), None);
        assert_eq!(Stage::Undoing { seq: 1 }.deadline(t0, stall), None);
        let c = Stage::Connecting { deadline: connect };
        assert_eq!(c.deadline(t0, stall), Some(connect));
        assert_eq!(
            c.deadline(t0 + Duration::from_secs(10), stall),
            Some(connect),
            "progress does not move the data-connect deadline"
        );
        assert_eq!(Stage::Moving.deadline(t0, stall), Some(t0 + stall));
        let later = t0 + Duration::from_secs(5);
        assert_eq!(
            Stage::Moving.deadline(later, stall),
            Some(later + stall),
            "each byte moved pushes the stall deadline back"
        );
    }
}
