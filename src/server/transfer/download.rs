//! RETR: file bytes to the data socket. `--retr-path splice` links file→pipe
//! and pipe→socket splices in the ring; `sendfile` calls sendfile(2) on the
//! non-blocking socket and waits for POLLOUT in the ring when it is full;
//! TYPE A reads into a reused buffer and converts LF→CRLF before sending.

use std::time::Instant;

use nix::errno::Errno;

use super::{net_or_read_error, Body, TransferError, ASCII_CHUNK_BYTES, PIPE_SIZE_BYTES};
use crate::engine::Pipe;
use crate::server::conn::Conn;
use crate::server::token::Purpose;
use crate::server::worker::Ctx;

impl Conn {
    pub(super) fn splice_step(&mut self, ctx: &mut Ctx) {
        let chunk = ctx.shared.args.retr_chunk_bytes;
        let Some(x) = self.xfer.as_mut() else { return };
        let (Some(file), Some(sock), Some(Body::Retr { end })) =
            (x.file.clone(), x.sock.clone(), x.body.as_ref())
        else {
            return;
        };
        let end = *end;
        if x.pipe.is_none() {
            x.pipe = ctx.pipes.pop().or_else(|| Pipe::new(PIPE_SIZE_BYTES).ok());
        }
        let Some(pipe) = x.pipe.take() else {
            return self.finish(
                ctx,
                Err(TransferError::Read(crate::fs::FsError::TooManyOpenFiles)),
            );
        };
        let fill = x.pipe_fill;
        let want = (end.saturating_sub(x.offset))
            .min(u64::from(chunk))
            .min(PIPE_SIZE_BYTES as u64) as u32;
        let offset = x.offset;
        if fill == 0 && want == 0 {
            x.pipe = Some(pipe);
            return self.finish_retr(ctx);
        }
        let t = self.token(Purpose::DataIo);
        let op = if fill > 0 {
            ctx.ring.splice_out(&pipe, &sock, fill, t)
        } else {
            ctx.ring.splice_pair(&file, offset, &pipe, &sock, want, t)
        };
        if let Some(x) = self.xfer.as_mut() {
            x.pipe = Some(pipe);
        }
        self.set_op(op);
    }

    pub(super) fn sendfile_step(&mut self, ctx: &mut Ctx) {
        let budget = u64::from(ctx.shared.args.retr_chunk_bytes);
        let Some(x) = self.xfer.as_mut() else { return };
        let (Some(file), Some(sock), Some(Body::Retr { end })) =
            (x.file.clone(), x.sock.clone(), x.body.as_ref())
        else {
            return;
        };
        let end = *end;
        let mut moved = 0u64;
        loop {
            let want = end.saturating_sub(x.offset).min(budget - moved);
            if x.offset >= end {
                return self.finish_retr(ctx);
            }
            if want == 0 {
                break; // budget used: yield to other sessions, resume on POLLOUT
            }
            let mut off = x.offset as i64;
            match nix::sys::sendfile::sendfile64(&*sock, &*file, Some(&mut off), want as usize) {
                // End of file before the size seen at open: the file shrank.
                Ok(0) => return self.finish(ctx, Err(TransferError::SourceChanged)),
                Ok(n) => {
                    x.offset += n as u64;
                    x.bytes += n as u64;
                    moved += n as u64;
                    x.last_progress = Instant::now();
                }
                Err(Errno::EAGAIN) => break,
                Err(Errno::EINTR) => continue,
                Err(e) => return self.finish(ctx, Err(net_or_read_error(e))),
            }
        }
        self.wait_writable(ctx);
    }

    /// RETR reached the end of its file: 226, or 451 when the file is now
    /// shorter than the size announced in the 150 reply. sendfile sends a
    /// truncated file's old length (zeros past the new end), and TYPE A and
    /// splice stop early: either way the client did not get the file.
    pub(super) fn finish_retr(&mut self, ctx: &mut Ctx) {
        let Some(x) = self.xfer.as_ref() else { return };
        let (Some(file), Some(Body::Retr { end })) = (x.file.as_ref(), x.body.as_ref()) else {
            return self.finish_ok(ctx);
        };
        let size = nix::sys::stat::fstat(&**file).map(|st| st.st_size as u64);
        if x.offset < *end || size.is_ok_and(|s| s < *end) {
            return self.finish(ctx, Err(TransferError::SourceChanged));
        }
        self.finish_ok(ctx)
    }

    /// Resumes the transfer's step once the data socket has room.
    pub(super) fn wait_writable(&mut self, ctx: &mut Ctx) {
        let Some(sock) = self.xfer.as_ref().and_then(|x| x.sock.clone()) else {
            return;
        };
        let t = self.token(Purpose::DataIo);
        let op = ctx.ring.poll_once(&sock, libc::POLLOUT as u32, t);
        self.set_op(op);
    }

    pub(super) fn retr_ascii_step(&mut self, ctx: &mut Ctx) {
        let Some(x) = self.xfer.as_mut() else { return };
        let Some(file) = x.file.clone() else { return };
        let mut buf = x.vec.take().unwrap_or_default();
        buf.clear();
        buf.reserve(ASCII_CHUNK_BYTES);
        let offset = x.offset;
        let t = self.token(Purpose::DataIo);
        let op = ctx.ring.read_into(&file, buf, offset, t);
        self.set_op(op);
    }

    pub(super) fn on_splice(
        &mut self,
        ctx: &mut Ctx,
        into: Result<usize, Errno>,
        out: Option<Result<usize, Errno>>,
    ) {
        let Some(x) = self.xfer.as_mut() else { return };
        match into {
            Ok(n) => {
                x.offset += n as u64;
                x.pipe_fill += n as u32;
                if n == 0 && x.pipe_fill == 0 {
                    // EOF before the size seen at open: the file shrank.
                    return self.finish(ctx, Err(TransferError::SourceChanged));
                }
            }
            Err(e) => {
                return self.finish(
                    ctx,
                    Err(TransferError::Read(crate::fs::fs_error_from_errno(e))),
                )
            }
        }
        match out {
            Some(Ok(m)) => {
                x.pipe_fill = x.pipe_fill.saturating_sub(m as u32);
                x.bytes += m as u64;
                x.last_progress = Instant::now();
            }
            Some(Err(Errno::ECANCELED)) | None => {}
            // The socket is full (it is non-blocking, and a splice is not
            // poll-driven by the ring): wait for room, then drain the pipe.
            Some(Err(Errno::EAGAIN)) => return self.wait_writable(ctx),
            Some(Err(e)) => return self.finish(ctx, Err(net_or_read_error(e))),
        }
        self.splice_step(ctx);
    }

    pub(super) fn on_ascii_read(&mut self, ctx: &mut Ctx, r: Result<usize, Errno>, buf: Vec<u8>) {
        let n = match r {
            Ok(0) => return self.finish_retr(ctx),
            Ok(n) => n,
            Err(e) => {
                return self.finish(
                    ctx,
                    Err(TransferError::Read(crate::fs::fs_error_from_errno(e))),
                )
            }
        };
        let Some(x) = self.xfer.as_mut() else { return };
        x.offset += n as u64;
        let mut out = std::mem::take(&mut ctx.scratch);
        out.clear();
        x.to_net.convert(&buf[..n], &mut out);
        ctx.scratch = buf;
        let Some(sock) = x.sock.clone() else { return };
        let t = self.token(Purpose::DataIo);
        let op = ctx.ring.send(&sock, out, t);
        self.set_op(op);
    }
}
