//! RETR in binary: file bytes to the data socket without a copy.
//!
//! - [`FileSend`] (`--retr-path sendfile`): sendfile(2) on the non-blocking
//!   socket until EAGAIN or `--retr-chunk-bytes` moved, then a ring POLLOUT.
//!   A page-cache miss blocks the worker for the read.
//! - [`SpliceSend`] (`--retr-path splice`): linked ring splices file → pipe →
//!   socket, `--retr-chunk-bytes` at most per step; io_uring runs them in its
//!   io-wq threads, so the worker never blocks. A short first splice breaks
//!   the link; the pipe is then drained with a lone pipe → socket splice.

use nix::errno::Errno;

use super::{finish_retr, net_or_read_error, Io, Link, Step};
use crate::engine::{CompletionKind, Pipe, SharedFd};
use crate::fs::FsError;
use crate::proto::session::TransferError;
use crate::server::token::Purpose;

/// Pipe size for the splice path.
const PIPE_SIZE_BYTES: usize = 1 << 20;

/// Waits in the ring until the data socket has room.
fn wait_writable(l: &mut Link, io: &mut Io) -> Step {
    let Some(sock) = l.sock() else {
        return Step::Done(Err(TransferError::ConnectionLost));
    };
    let t = io.tags.op(Purpose::DataIo);
    l.submit(io.ctx.ring.poll_once(&sock, libc::POLLOUT as u32, t));
    Step::Continue
}

pub(super) struct FileSend {
    file: SharedFd,
    offset: u64,
    end: u64,
}

impl FileSend {
    pub(super) fn new(file: SharedFd, offset: u64, end: u64) -> FileSend {
        FileSend { file, offset, end }
    }

    pub(super) fn step(&mut self, l: &mut Link, io: &mut Io) -> Step {
        let Some(sock) = l.sock() else {
            return Step::Done(Err(TransferError::ConnectionLost));
        };
        if self.offset < self.end {
            if let Some(wait) = l.paced(io) {
                return wait;
            }
        }
        let budget = l.chunk(io, u64::from(io.ctx.shared.args.retr_chunk_bytes));
        let mut moved = 0u64;
        loop {
            if self.offset >= self.end {
                return finish_retr(l, &self.file, self.offset, self.end);
            }
            let want = (self.end - self.offset).min(budget - moved);
            if want == 0 {
                // Budget used: yield to other sessions (a paced transfer
                // waits for its pace), resume on POLLOUT.
                if let Some(wait) = l.paced(io) {
                    return wait;
                }
                break;
            }
            // offset <= end <= the file's size, which fits an off_t.
            let mut off = self.offset as i64;
            match nix::sys::sendfile::sendfile64(&*sock, &*self.file, Some(&mut off), want as usize)
            {
                // End of file before the size seen at open: the file shrank.
                Ok(0) => return Step::Done(Err(TransferError::SourceChanged)),
                Ok(n) => {
                    self.offset += n as u64;
                    moved += n as u64;
                    l.moved(n, io);
                }
                Err(Errno::EAGAIN) => break,
                Err(Errno::EINTR) => continue,
                Err(e) => return Step::Done(Err(net_or_read_error(e))),
            }
        }
        wait_writable(l, io)
    }

    pub(super) fn on_io(&mut self, l: &mut Link, io: &mut Io, kind: CompletionKind) -> Step {
        match kind {
            CompletionKind::Poll(Ok(_)) => self.step(l, io),
            CompletionKind::Poll(Err(e)) => Step::Done(Err(net_or_read_error(e))),
            _ => Step::Done(Err(TransferError::ConnectionLost)),
        }
    }
}

pub(super) struct SpliceSend {
    file: SharedFd,
    offset: u64,
    end: u64,
    pipe: Option<Pipe>,
    /// Bytes in the pipe not yet sent.
    fill: u32,
}

impl SpliceSend {
    pub(super) fn new(file: SharedFd, offset: u64, end: u64) -> SpliceSend {
        SpliceSend {
            file,
            offset,
            end,
            pipe: None,
            fill: 0,
        }
    }

    pub(super) fn step(&mut self, l: &mut Link, io: &mut Io) -> Step {
        let Some(sock) = l.sock() else {
            return Step::Done(Err(TransferError::ConnectionLost));
        };
        if self.pipe.is_none() {
            self.pipe = io
                .ctx
                .pipes
                .pop()
                .or_else(|| Pipe::new(PIPE_SIZE_BYTES).ok());
        }
        let Some(pipe) = self.pipe.as_ref() else {
            return Step::Done(Err(TransferError::Read(FsError::TooManyOpenFiles)));
        };
        let chunk = l.chunk(io, u64::from(io.ctx.shared.args.retr_chunk_bytes));
        let want = (self.end.saturating_sub(self.offset))
            .min(chunk)
            .min(PIPE_SIZE_BYTES as u64) as u32;
        if self.fill == 0 && want == 0 {
            return finish_retr(l, &self.file, self.offset, self.end);
        }
        if let Some(wait) = l.paced(io) {
            return wait;
        }
        let t = io.tags.op(Purpose::DataIo);
        let op = if self.fill > 0 {
            io.ctx.ring.splice_out(pipe, &sock, self.fill, t)
        } else {
            io.ctx
                .ring
                .splice_pair(&self.file, self.offset, pipe, &sock, want, t)
        };
        l.submit(op);
        Step::Continue
    }

    pub(super) fn on_io(&mut self, l: &mut Link, io: &mut Io, kind: CompletionKind) -> Step {
        let (into, out) = match kind {
            CompletionKind::Splice {
                into_pipe,
                out_of_pipe,
            } => (into_pipe, out_of_pipe),
            CompletionKind::SpliceOut(out) => (Ok(0), out),
            CompletionKind::Poll(Ok(_)) => return self.step(l, io),
            CompletionKind::Poll(Err(e)) => return Step::Done(Err(net_or_read_error(e))),
            _ => return Step::Done(Err(TransferError::ConnectionLost)),
        };
        match into {
            Ok(n) => {
                self.offset += n as u64;
                self.fill += n as u32;
                if n == 0 && self.fill == 0 {
                    // EOF before the size seen at open: the file shrank.
                    return Step::Done(Err(TransferError::SourceChanged));
                }
            }
            Err(e) => {
                return Step::Done(Err(TransferError::Read(crate::fs::fs_error_from_errno(e))))
            }
        }
        match out {
            Ok(m) => {
                self.fill = self.fill.saturating_sub(m as u32);
                l.moved(m, io);
            }
            // The pair's second half, cancelled when the first was short.
            Err(Errno::ECANCELED) => {}
            // The socket is full (it is non-blocking, and a splice is not
            // poll-driven by the ring): wait for room, then drain the pipe.
            Err(Errno::EAGAIN) => return wait_writable(l, io),
            Err(e) => return Step::Done(Err(net_or_read_error(e))),
        }
        self.step(l, io)
    }

    /// The transfer is over: the pipe goes back to the pool only when it is
    /// known to be empty. After an abort or error the last splice's bytes
    /// were never counted, and a pipe holding them would block or corrupt
    /// the next transfer.
    pub(super) fn end(self, io: &mut Io, clean: bool) {
        if let Some(p) = self.pipe.filter(|_| clean && self.fill == 0) {
            io.ctx.pipes.push(p);
        }
    }
}
