//! RETR in TYPE A (RFC 959 §3.1.1.1): read a chunk of the file into a reused
//! buffer, convert LF → CRLF, send it (all of it: a short send is resumed
//! where it stopped), read the next. Under PROT P binary RETR takes this
//! path too, without the conversion, and the link encrypts each send.

use super::{finish_retr, net_or_read_error, Io, Link, Step};
use crate::engine::{CompletionKind, SharedFd};
use crate::proto::ascii::ToNetwork;
use crate::proto::session::TransferError;
use crate::server::token::Purpose;

/// Read size per step in the clear (TYPE A).
pub(super) const CHUNK_BYTES: usize = 64 * 1024;

/// Read size per step under PROT P: fewer, larger steps amortise the ring
/// round trips over more sealing (docs/performance-notes.md), while one
/// step still seals for well under a millisecond, so other sessions on the
/// worker are not held up.
pub(super) const TLS_CHUNK_BYTES: usize = 256 * 1024;

pub(super) struct AsciiSend {
    file: SharedFd,
    offset: u64,
    end: u64,
    /// TYPE A: LF → CRLF (`None`: binary, the PROT P path).
    conv: Option<ToNetwork>,
    /// The read buffer between steps (the previous send's, reused).
    buf: Option<Vec<u8>>,
    /// Bytes of the converted chunk in flight already sent.
    sent: usize,
    /// Read size per step ([`CHUNK_BYTES`] or [`TLS_CHUNK_BYTES`]).
    chunk_bytes: usize,
}

impl AsciiSend {
    pub(super) fn new(
        file: SharedFd,
        offset: u64,
        end: u64,
        ascii: bool,
        chunk_bytes: usize,
    ) -> AsciiSend {
        AsciiSend {
            file,
            offset,
            end,
            conv: ascii.then(ToNetwork::default),
            buf: None,
            sent: 0,
            chunk_bytes,
        }
    }

    pub(super) fn step(&mut self, l: &mut Link, io: &mut Io) -> Step {
        if let Some(wait) = l.paced(io) {
            return wait;
        }
        // A paced transfer reads no more than its step, so it moves evenly.
        let want = l.chunk(io, self.chunk_bytes as u64) as usize;
        let mut buf = match self.buf.take() {
            Some(b) if want >= self.chunk_bytes => b,
            _ => Vec::with_capacity(want),
        };
        buf.clear();
        buf.reserve(want);
        let t = io.tags.op(Purpose::DataIo);
        l.submit(io.ctx.ring.read_into(&self.file, buf, self.offset, t));
        Step::Continue
    }

    pub(super) fn on_io(&mut self, l: &mut Link, io: &mut Io, kind: CompletionKind) -> Step {
        match kind {
            CompletionKind::Read(Ok(0), buf) => {
                self.buf = Some(buf);
                finish_retr(l, &self.file, self.offset, self.end)
            }
            CompletionKind::Read(Ok(n), buf) => self.send_converted(l, io, n, buf),
            CompletionKind::Read(Err(e), _) => {
                Step::Done(Err(TransferError::Read(crate::fs::fs_error_from_errno(e))))
            }
            // A stream socket that takes nothing of a non-empty send is gone.
            CompletionKind::Send(Ok(0), data) if self.sent < data.len() => {
                Step::Done(Err(TransferError::ConnectionLost))
            }
            CompletionKind::Send(Ok(n), data) => {
                l.moved(n, io);
                // `n` counts from where this send started.
                self.sent += n;
                if self.sent < data.len() {
                    return self.send(l, io, data);
                }
                self.sent = 0;
                self.buf = Some(data);
                self.step(l, io)
            }
            CompletionKind::Send(Err(e), _) => Step::Done(Err(net_or_read_error(e))),
            _ => Step::Done(Err(TransferError::ConnectionLost)),
        }
    }

    fn send_converted(&mut self, l: &mut Link, io: &mut Io, n: usize, buf: Vec<u8>) -> Step {
        self.offset += n as u64;
        let Some(conv) = self.conv.as_mut() else {
            let mut buf = buf;
            buf.truncate(n);
            self.sent = 0;
            return self.send(l, io, buf);
        };
        let mut out = std::mem::take(&mut io.ctx.scratch);
        out.clear();
        conv.convert(&buf[..n], &mut out);
        io.ctx.scratch = buf;
        self.sent = 0;
        self.send(l, io, out)
    }

    fn send(&mut self, l: &mut Link, io: &mut Io, data: Vec<u8>) -> Step {
        l.send(io, data, self.sent)
    }
}
