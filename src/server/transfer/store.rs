//! STOR/APPE/STOU: receive into a registered buffer, (TYPE A: CRLF → LF in
//! place), write it to the file at its offset with WRITE_FIXED, receive the
//! next. An upload that finds every registered buffer in use waits in the
//! worker's queue ([`crate::server::ctx::Ctx::buf_waiters`]) until one is
//! dropped back to the pool.
//!
//! A paced upload receives at most its pace's step at a time, and while the
//! pace is in debt it gives its buffer back and waits on a ring timeout
//! (the client's sending is held back by TCP flow control meanwhile). Under
//! a quota each chunk is counted before it is written; a chunk that would
//! pass the limit is not written, and receiving stops ([`Receive::over_quota`]).

use nix::errno::Errno;

use super::{Io, Link, Step};
use crate::engine::{CompletionKind, FixedBuf, SharedFd};
use crate::fs::FsError;
use crate::proto::ascii::FromNetwork;
use crate::proto::session::TransferError;
use crate::server::quota::UploadQuota;
use crate::server::token::Purpose;

pub(super) struct Receive {
    file: SharedFd,
    /// Where the next byte goes in the file.
    offset: u64,
    /// TYPE A: the converter (it holds a CR across receives).
    conv: Option<FromNetwork>,
    /// Bytes of the buffer still to write.
    pending: usize,
    /// The client closed the data connection: write what is left, then done.
    eof: bool,
    /// Queued for a registered buffer.
    waiting: bool,
    /// The login's quota, counted as chunks are written.
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
            conv: ascii.then(FromNetwork::default),
            pending: 0,
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

    pub(super) fn step(&mut self, l: &mut Link, io: &mut Io) -> Step {
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
        if !std::mem::take(&mut self.waiting) {
            return Step::Continue; // not waiting: the buffer goes back as it drops
        }
        self.recv(l, io, buf)
    }

    fn recv(&mut self, l: &mut Link, io: &mut Io, buf: FixedBuf) -> Step {
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

    fn write(&mut self, l: &mut Link, io: &mut Io, buf: FixedBuf) -> Step {
        let t = io.tags.op(Purpose::DataIo);
        let op = io
            .ctx
            .ring
            .write_fixed(&self.file, buf, self.pending, self.offset, t);
        l.submit(op);
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
            if !q.take(self.offset, len as u64) {
                self.over = true;
                return Step::Done(Err(TransferError::Write(FsError::QuotaExceeded)));
            }
        }
        match (len, self.eof) {
            (0, true) => l.done_ok(),
            (0, false) => self.next(l, io, buf),
            _ => {
                self.pending = len;
                self.write(l, io, buf)
            }
        }
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
        if w < self.pending {
            // Short write: move the rest to the front and write it.
            buf.bytes_mut().copy_within(w..self.pending, 0);
            self.pending -= w;
            return self.write(l, io, buf);
        }
        self.pending = 0;
        if self.eof {
            return l.done_ok();
        }
        self.next(l, io, buf)
    }

    /// The next receive, or (paced and in debt) a wait with the buffer
    /// given back to the pool for others.
    fn next(&mut self, l: &mut Link, io: &mut Io, buf: FixedBuf) -> Step {
        if let Some(wait) = l.paced(io) {
            drop(buf);
            return wait;
        }
        self.recv(l, io, buf)
    }
}
