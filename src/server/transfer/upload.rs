//! STOR/APPE/STOU: received into a registered buffer, written to the file at
//! its offset with WRITE_FIXED (TYPE A: CRLF→LF in place first). A connection
//! that finds every registered buffer in use waits in the worker's queue.

use std::time::Instant;

use nix::errno::Errno;

use super::TransferError;
use crate::engine::FixedBuf;
use crate::proto::ascii::FromNetwork;
use crate::server::conn::Conn;
use crate::server::token::Purpose;
use crate::server::worker::Ctx;

impl Conn {
    pub(super) fn store_step(&mut self, ctx: &mut Ctx) {
        match ctx.ring.take_fixed_buf() {
            Some(buf) => self.store_with_buf(ctx, buf),
            None => ctx.buf_waiters.push_back((self.index, self.gen)),
        }
    }

    /// Receives the next upload chunk into `buf`.
    pub fn store_with_buf(&mut self, ctx: &mut Ctx, buf: FixedBuf) {
        let live = self.xfer.as_ref().filter(|x| !x.aborting);
        let Some((sock, ascii)) = live.and_then(|x| Some((x.sock.clone()?, x.ascii))) else {
            ctx.give_buf(buf);
            if self.xfer.as_ref().is_some_and(|x| x.aborting) {
                self.finish(ctx, Err(TransferError::Aborted));
            }
            return;
        };
        // TYPE A: a CR held back from the previous receive comes out in front
        // of this one, so the converted bytes can be one more than received
        // (`FromNetwork::max_output`); leave room for it in the buffer.
        let growth = FromNetwork::max_output(0);
        let len = if ascii {
            buf.capacity() - growth
        } else {
            buf.capacity()
        };
        let t = self.token(Purpose::DataIo);
        let op = ctx.ring.recv_fixed(&sock, buf, len, t);
        self.set_op(op);
    }

    pub(super) fn on_store_recv(
        &mut self,
        ctx: &mut Ctx,
        r: Result<usize, Errno>,
        mut buf: FixedBuf,
    ) {
        let n = match r {
            Ok(n) => n,
            Err(_) => {
                ctx.give_buf(buf);
                return self.finish(ctx, Err(TransferError::ConnectionLost));
            }
        };
        let Some(x) = self.xfer.as_mut() else {
            return ctx.give_buf(buf);
        };
        x.bytes += n as u64;
        x.last_progress = Instant::now();
        let mut len = n;
        if x.ascii {
            let mut out = std::mem::take(&mut ctx.scratch);
            out.clear();
            if n == 0 {
                x.from_net.finish(&mut out);
            } else {
                x.from_net.convert(buf.bytes(n), &mut out);
            }
            // At most n + 1 bytes, and n < capacity (see store_with_buf).
            let Some(dst) = buf.bytes_mut().get_mut(..out.len()) else {
                ctx.scratch = out;
                ctx.give_buf(buf);
                let e = TransferError::Write(crate::fs::FsError::Io(libc::EOVERFLOW));
                return self.finish(ctx, Err(e));
            };
            dst.copy_from_slice(&out);
            len = out.len();
            ctx.scratch = out;
        }
        if n == 0 {
            x.eof = true;
        }
        if len == 0 {
            ctx.give_buf(buf);
            return if n == 0 {
                self.finish_ok(ctx)
            } else {
                self.store_step(ctx)
            };
        }
        x.pending = len;
        self.write_pending(ctx, buf);
    }

    pub(super) fn write_pending(&mut self, ctx: &mut Ctx, buf: FixedBuf) {
        let Some(x) = self.xfer.as_mut() else {
            return ctx.give_buf(buf);
        };
        let Some(file) = x.file.clone() else {
            return ctx.give_buf(buf);
        };
        let (len, offset) = (x.pending, x.offset);
        let t = self.token(Purpose::DataIo);
        let op = ctx.ring.write_fixed(&file, buf, len, offset, t);
        self.set_op(op);
    }

    pub(super) fn on_store_written(
        &mut self,
        ctx: &mut Ctx,
        r: Result<usize, Errno>,
        mut buf: FixedBuf,
    ) {
        let w = match r {
            Ok(0) => Err(Errno::ENOSPC),
            Ok(w) => Ok(w),
            Err(e) => Err(e),
        };
        let w = match w {
            Ok(w) => w,
            Err(e) => {
                ctx.give_buf(buf);
                return self.finish(
                    ctx,
                    Err(TransferError::Write(crate::fs::fs_error_from_errno(e))),
                );
            }
        };
        let Some(x) = self.xfer.as_mut() else {
            return ctx.give_buf(buf);
        };
        let Some(offset) = x.offset.checked_add(w as u64) else {
            ctx.give_buf(buf);
            let too_big = TransferError::Write(crate::fs::FsError::QuotaExceeded);
            return self.finish(ctx, Err(too_big));
        };
        x.offset = offset;
        if w < x.pending {
            // Short write: move the rest to the front and write it.
            let pending = x.pending;
            buf.bytes_mut().copy_within(w..pending, 0);
            x.pending = pending - w;
            return self.write_pending(ctx, buf);
        }
        x.pending = 0;
        if x.eof {
            ctx.give_buf(buf);
            return self.finish_ok(ctx);
        }
        self.store_with_buf(ctx, buf);
    }
}
