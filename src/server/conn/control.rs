//! The control socket of a connection: one receive (into a provided buffer)
//! and one send in flight at most; replies produced meanwhile wait in the
//! backlog and leave in one send, and reading stops while the client does
//! not read its replies.

use nix::errno::Errno;

use crate::engine::{CompletionKind, OpId, ProvidedBuf, SharedFd};
use crate::server::ctx::Ctx;
use crate::server::tags::Tags;
use crate::server::token::Purpose;

/// Output queued beyond this stops reading commands until the client reads replies.
const SEND_BACKLOG_MAX_BYTES: usize = 64 * 1024;

pub(super) struct Control {
    fd: Option<SharedFd>,
    recv_op: Option<OpId>,
    send_in_flight: bool,
    /// Reply bytes not yet handed to a send.
    backlog: Vec<u8>,
    /// The Vec of the last completed send, reused for the next.
    spare: Vec<u8>,
    close_after_flush: bool,
}

impl Control {
    pub(super) fn new(fd: SharedFd) -> Control {
        Control {
            fd: Some(fd),
            recv_op: None,
            send_in_flight: false,
            backlog: Vec::new(),
            spare: Vec::new(),
            close_after_flush: false,
        }
    }

    /// Where the session writes its replies.
    pub(super) fn out(&mut self) -> &mut Vec<u8> {
        &mut self.backlog
    }

    pub(super) fn close_after_flush(&mut self) {
        self.close_after_flush = true;
    }

    /// The session asked to close and everything has been sent.
    pub(super) fn ready_to_close(&self) -> bool {
        self.close_after_flush && !self.send_in_flight && self.backlog.is_empty()
    }

    /// Hands the backlog to a send, unless one is in flight.
    pub(super) fn flush(&mut self, ctx: &mut Ctx, tags: &mut Tags) {
        if self.send_in_flight || self.backlog.is_empty() {
            return;
        }
        let Some(fd) = self.fd.clone() else {
            self.backlog.clear();
            return;
        };
        // Swap in the spare Vec so the backlog keeps an allocation.
        let mut data = std::mem::take(&mut self.spare);
        data.clear();
        std::mem::swap(&mut data, &mut self.backlog);
        ctx.ring.send(&fd, data, tags.op(Purpose::CtrlSend));
        self.send_in_flight = true;
    }

    /// Arms the next receive, unless one is armed, the connection is closing
    /// or the client is not reading its replies.
    pub(super) fn arm_recv(&mut self, ctx: &mut Ctx, tags: &mut Tags) {
        if self.recv_op.is_some()
            || self.close_after_flush
            || self.backlog.len() >= SEND_BACKLOG_MAX_BYTES
        {
            return;
        }
        if let Some(fd) = self.fd.clone() {
            self.recv_op = Some(ctx.ring.recv_provided(&fd, tags.op(Purpose::CtrlRecv)));
        }
    }

    /// Best-effort one-line answer sent at once, outside the ring (a
    /// refusal just before closing; the socket is fresh, its buffer empty).
    pub(super) fn send_now(&self, msg: &[u8]) {
        use nix::sys::socket::{send, MsgFlags};
        if let Some(fd) = &self.fd {
            let flags = MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL;
            let _ = send(std::os::fd::AsRawFd::as_raw_fd(&**fd), msg, flags);
        }
    }

    pub(super) fn close(&mut self, ctx: &mut Ctx) {
        if let Some(op) = self.recv_op.take() {
            ctx.ring.cancel(op);
        }
        self.backlog.clear();
        if let Some(fd) = self.fd.take() {
            let _ = nix::sys::socket::shutdown(
                std::os::fd::AsRawFd::as_raw_fd(&*fd),
                nix::sys::socket::Shutdown::Both,
            );
        }
    }
}

/// What a control receive brought.
pub(super) enum Received {
    /// Bytes for the session.
    Data(ProvidedBuf),
    /// Nothing for now (the buffer pool was empty, or a cancel at close).
    Nothing,
    /// The client closed the connection, or it failed.
    Closed,
}

impl Control {
    /// The completion of the receive.
    pub(super) fn on_recv(&mut self, kind: CompletionKind, closing: bool) -> Received {
        self.recv_op = None;
        match kind {
            CompletionKind::Recv(Ok(Some(buf))) => Received::Data(buf),
            // ENOBUFS: the pool is empty for now; the next pump re-arms.
            CompletionKind::Recv(Err(Errno::ENOBUFS)) => Received::Nothing,
            CompletionKind::Recv(Err(Errno::ECANCELED)) if closing => Received::Nothing,
            _ => Received::Closed,
        }
    }

    /// The completion of the send; false when the connection failed.
    pub(super) fn on_sent(&mut self, kind: CompletionKind) -> bool {
        self.send_in_flight = false;
        match kind {
            CompletionKind::Send(Ok(n), mut data) if n < data.len() => {
                // The rest goes first, before what was queued meanwhile.
                data.drain(..n);
                data.extend_from_slice(&self.backlog);
                self.backlog.clear();
                std::mem::swap(&mut self.backlog, &mut data);
                self.spare = data;
                true
            }
            CompletionKind::Send(Ok(_), data) => {
                self.spare = data;
                true
            }
            _ => {
                self.backlog.clear();
                false
            }
        }
    }
}
