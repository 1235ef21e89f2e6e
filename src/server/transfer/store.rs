//! STOR/APPE/STOU: receive into a registered buffer (TYPE A: CRLF → LF in
//! place) while the previous buffer is written to the file at its offset with
//! WRITE_FIXED, so the network and the disk work at the same time.
//!
//! An upload holds at most two buffers: one receiving (network lane), one
//! writing (file lane) or, while that write is still running, one received
//! and waiting to be written (then nothing receives: the client is held back
//! by TCP until the disk catches up). Writes go out one at a time in the
//! order of the receives, so the file offset and the TYPE A converter (a CR
//! held across receives) see the bytes in order.
//!
//! The first buffer is taken from the pool or waited for in the worker's
//! queue ([`crate::server::ctx::Ctx::buf_waiters`]); the second is taken only
//! when the pool has one and nobody is queued, so an upload holding two never
//! keeps a buffer from an upload holding none. A buffer whose write completes
//! while another is receiving goes back to the pool (and to the next waiter).
//!
//! A paced upload receives at most its pace's step at a time, and while the
//! pace is in debt it gives its free buffer back and waits on a ring timeout
//! (on the network lane; the client's sending is held back by TCP flow
//! control meanwhile). Under a quota each chunk is counted, at the offset it
//! will be written at, before it is written; a chunk that would pass the
//! limit is not written, and receiving stops ([`Receive::over_quota`]).

use nix::errno::Errno;

use super::{Io, Lane, Link, Step};
use crate::engine::{CompletionKind, FixedBuf, SharedFd};
use crate::fs::FsError;
use crate::proto::ascii::FromNetwork;
use crate::proto::session::TransferError;
use crate::server::quota::UploadQuota;
use crate::server::token::Purpose;

pub(super) struct Receive {
    file: SharedFd,
    /// Where the next write goes in the file (writes are sequential).
    offset: u64,
    /// Where the next received chunk will go (ahead of `offset` by the
    /// bytes being written or waiting to be).
    recv_offset: u64,
    /// TYPE A: the converter (it holds a CR across receives).
    conv: Option<FromNetwork>,
    /// Bytes of the buffer being written still to write.
    writing: usize,
    /// A received buffer and its length, waiting for the write in flight.
    ready: Option<(FixedBuf, usize)>,
    /// The client closed the data connection: write what is left, then done.
    eof: bool,
    /// Queued for a registered buffer.
    waiting: bool,
    /// The login's quota, counted as chunks are received.
    quota: Option<UploadQuota>,
    /// A chunk would have passed the quota: the upload stopped.
    over: bool,
}

impl Receive {
    pub(super) fn new(
        file: SharedFd,
        offset: u64,
        ascii: bool,
        quota: Option<UploadQuota>,
    ) -> Receive {
        Receive {
            file,
            offset,
            recv_offset: offset,
            conv: ascii.then(FromNetwork::default),
            writing: 0,
            ready: None,
            eof: false,
            waiting: false,
            quota,
            over: false,
        }
    }

    /// True once a chunk would have passed the quota.
    pub(super) fn over_quota(&self) -> bool {
        self.over
    }

    pub(super) fn quota(&self) -> Option<&UploadQuota> {
        self.quota.as_ref()
    }

    /// The first receive, and the next after a pacing wait.
    pub(super) fn step(&mut self, l: &mut Link, io: &mut Io) -> Step {
        if l.busy(Lane::Net) || self.waiting {
            return Step::Continue;
        }
        if let Some(wait) = l.paced(io) {
            return wait;
        }
        match io.ctx.ring.take_fixed_buf() {
            Some(buf) => self.recv(l, io, buf),
            None => {
                self.waiting = true;
                io.ctx.buf_waiters.push_back(io.tags.id());
                Step::Continue
            }
        }
    }

    /// A buffer for an upload that waited for one.
    pub(super) fn resume(&mut self, l: &mut Link, io: &mut Io, buf: FixedBuf) -> Step {
        if !std::mem::take(&mut self.waiting) || l.busy(Lane::Net) {
            return Step::Continue; // not waiting: the buffer goes back as it drops
        }
        self.recv(l, io, buf)
    }

    fn recv(&mut self, l: &mut Link, io: &mut Io, buf: FixedBuf) -> Step {
        // A receive started by another path ends the wait for a buffer (the
        // queued one is dropped back to the pool when it comes).
        self.waiting = false;
        // TYPE A: a CR held back from the previous receive comes out in front
        // of this one, so the converted bytes can be one more than received
        // (`FromNetwork::max_output`); leave room for it in the buffer.
        let len = match self.conv {
            Some(_) => buf.capacity() - FromNetwork::max_output(0),
            None => buf.capacity(),
        };
        let len = (l.chunk(io, len as u64) as usize).min(len);
        l.recv_fixed(io, buf, len)
    }

    fn write(&mut self, l: &mut Link, io: &mut Io, buf: FixedBuf, len: usize) -> Step {
        self.writing = len;
        let t = io.tags.op(Purpose::DataIo);
        let op = io
            .ctx
            .ring
            .write_fixed(&self.file, buf, len, self.offset, t);
        l.submit_write(op);
        Step::Continue
    }

    pub(super) fn on_io(&mut self, l: &mut Link, io: &mut Io, kind: CompletionKind) -> Step {
        match kind {
            CompletionKind::RecvFixed(Ok(n), buf) => self.received(l, io, n, buf),
            CompletionKind::RecvFixed(Err(_), _) => Step::Done(Err(TransferError::ConnectionLost)),
            CompletionKind::WriteFixed(r, buf) => self.written(l, io, r, buf),
            _ => Step::Done(Err(TransferError::ConnectionLost)),
        }
    }

    fn received(&mut self, l: &mut Link, io: &mut Io, n: usize, mut buf: FixedBuf) -> Step {
        l.moved(n, io);
        self.eof = n == 0;
        let mut len = n;
        if let Some(conv) = self.conv.as_mut() {
            let mut out = std::mem::take(&mut io.ctx.scratch);
            out.clear();
            if n == 0 {
                conv.finish(&mut out);
            } else {
                conv.convert(buf.bytes(n), &mut out);
            }
            // At most n + 1 bytes, and n < capacity (see `recv`).
            let fits = buf
                .bytes_mut()
                .get_mut(..out.len())
                .map(|dst| dst.copy_from_slice(&out));
            len = out.len();
            io.ctx.scratch = out;
            if fits.is_none() {
                return Step::Done(Err(TransferError::Write(FsError::Io(libc::EOVERFLOW))));
            }
        }
        if let Some(q) = self.quota.as_mut() {
            if !q.take(self.recv_offset, len as u64) {
                self.over = true;
                return Step::Done(Err(TransferError::Write(FsError::QuotaExceeded)));
            }
        }
        self.recv_offset = self.recv_offset.saturating_add(len as u64);
        if len == 0 {
            return self.next_recv(l, io, buf);
        }
        if l.busy(Lane::File) {
            // The disk is behind: this buffer waits, and nothing receives
            // until the write in flight is done (two buffers at most).
            self.ready = Some((buf, len));
            return Step::Continue;
        }
        let step = self.write(l, io, buf, len);
        if self.eof {
            return step;
        }
        // Overlap: receive the next into a second buffer while this one is
        // written, if one is free and no upload is queued for it.
        if let Some(wait) = l.paced(io) {
            return wait;
        }
        let spare = match io.ctx.buf_waiters.is_empty() {
            true => io.ctx.ring.take_fixed_buf(),
            false => None,
        };
        match spare {
            Some(spare) => self.recv(l, io, spare),
            None => step, // the next receive reuses this buffer after its write
        }
    }

    /// `buf` is free: receive into it, or end when the client has closed and
    /// every byte is written.
    fn next_recv(&mut self, l: &mut Link, io: &mut Io, buf: FixedBuf) -> Step {
        if !self.eof {
            if l.busy(Lane::Net) || self.waiting {
                // A receive (or a pacing wait, or the wait for a buffer)
                // runs already: `buf` goes back to the pool.
                return Step::Continue;
            }
            if let Some(wait) = l.paced(io) {
                return wait; // `buf` goes back to the pool for others
            }
            return self.recv(l, io, buf);
        }
        if l.in_flight() || self.ready.is_some() {
            return Step::Continue;
        }
        l.done_ok()
    }

    fn written(
        &mut self,
        l: &mut Link,
        io: &mut Io,
        r: Result<usize, Errno>,
        mut buf: FixedBuf,
    ) -> Step {
        let w = match r {
            Ok(0) => Err(Errno::ENOSPC),
            other => other,
        };
        let w = match w {
            Ok(w) => w,
            Err(e) => {
                return Step::Done(Err(TransferError::Write(crate::fs::fs_error_from_errno(e))))
            }
        };
        let Some(offset) = self.offset.checked_add(w as u64) else {
            return Step::Done(Err(TransferError::Write(FsError::QuotaExceeded)));
        };
        self.offset = offset;
        if w < self.writing {
            // Short write: move the rest to the front and write it.
            let rest = self.writing - w;
            buf.bytes_mut().copy_within(w..self.writing, 0);
            return self.write(l, io, buf, rest);
        }
        self.writing = 0;
        if let Some((next, len)) = self.ready.take() {
            // The receive that filled `next` is done, so the network lane is
            // free: write `next`, receive into `buf`.
            self.write(l, io, next, len);
        }
        self.next_recv(l, io, buf)
    }
}
