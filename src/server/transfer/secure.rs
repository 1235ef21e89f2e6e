//! PROT P: the data connection's TLS, between the ring and a transfer's body.
//!
//! ```text
//!   data connected ──poll POLLIN, recv, feed; send the server's flights──▶ Handshake
//!   Handshake done ──resumed this control session's TLS session?──▶ Open | Done(522)
//!   Open: the body's sends are encrypted here and sent whole (its Send
//!         completion comes back with the plaintext counts); its receives
//!         are answered from decrypted bytes (poll POLLIN, non-blocking recv,
//!         decrypt; a zero timeout when bytes are already decrypted)
//!   body Done(Ok) ──send close_notify──▶ Done(Ok)
//! ```
//!
//! Who makes the records once Open ([`Sealing`]): a transfer that only
//! sends (RETR, LIST, NLST, MLSD) takes the transmit secret out of rustls
//! as it opens and seals full-size records straight into the reused
//! send buffer ([`crate::tls::RecordSealer`]: no allocation per record, one
//! copy); the client has nothing more to say on that connection but its
//! close, which the transfer does not wait for. Uploads keep rustls, which
//! decrypts. (kTLS would slot in at the same point: the same secret and
//! sequence number to `setsockopt(SOL_TLS, TLS_TX)`.)
//!
//! One op is in flight at a time, as for every transfer ([`Link::submit`]),
//! so ABOR cancels it like any other. The TLS work per step is bounded by
//! the body's step (a read, one registered buffer) and by
//! [`RECV_CHUNK_BYTES`] per receive.

use std::os::fd::AsRawFd;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::socket::MsgFlags;

use super::{Io, Link, Step};
use crate::engine::{CompletionKind, FixedBuf};
use crate::proto::session::TransferError;
use crate::server::token::Purpose;
use crate::tls::{Fed, RecordSealer, SessionTls, TlsStream};

/// Ciphertext read per receive step.
const RECV_CHUNK_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Handshake,
    Open,
}

/// What the send in flight carries.
enum Sending {
    Nothing,
    Handshake,
    /// The body's plaintext (given back with its count when all is sent).
    Body {
        plain: Vec<u8>,
        n: usize,
    },
    /// close_notify after the body finished with this many bytes.
    Close(u64),
    /// close_notify on a data connection refused for its binding: a clean
    /// end, so the client reads the 522 instead of a TLS error.
    Refused,
}

/// Who makes the records.
// The variants differ by ~600 bytes, inside a `DataTls` that is boxed once
// per transfer anyway: boxing the stream would add an allocation for nothing.
#[allow(clippy::large_enum_variant)]
enum Sealing {
    /// rustls: the handshake, uploads, and any connection whose secret
    /// could not be taken (an unknown suite).
    Rustls(TlsStream),
    /// A transfer that only sends, once Open: the transmit secret was
    /// taken out of rustls, which is gone; nothing more is read.
    Sealed(RecordSealer),
    /// Taking the secret failed after rustls was given up (never expected:
    /// [`TlsStream::sealable`] is checked first): nothing more can be sent.
    Gone,
}

pub(super) struct DataTls {
    sealing: Sealing,
    /// The body only sends (no upload): its records may be sealed here.
    send_only: bool,
    sess: SessionTls,
    /// `--tls-allow-data-without-resumption`.
    allow_unresumed: bool,
    phase: Phase,
    sending: Sending,
    /// Ciphertext out (the Vec travels with the send op and comes back).
    out: Vec<u8>,
    out_sent: usize,
    /// Ciphertext in (reused).
    inbuf: Vec<u8>,
    /// Decrypted bytes not yet given to the body, from `plain_at`.
    plain: Vec<u8>,
    plain_at: usize,
    /// The body's receive waiting for plaintext: its buffer and length.
    recv: Option<(FixedBuf, usize)>,
    tcp_eof: bool,
}

/// Where a completion goes.
pub(super) enum Routed {
    /// To the body, as if the ring had moved plaintext.
    Body(CompletionKind),
    /// The handshake is done and the binding holds: the body starts.
    Open,
    /// Handled here.
    Step(Step),
}

impl DataTls {
    /// `send_only`: the transfer never receives (RETR, LIST, NLST, MLSD).
    pub(super) fn new(sess: SessionTls, allow_unresumed: bool, send_only: bool) -> Option<DataTls> {
        Some(DataTls {
            sealing: Sealing::Rustls(sess.data_stream()?),
            send_only,
            sess,
            allow_unresumed,
            phase: Phase::Handshake,
            sending: Sending::Nothing,
            out: Vec::new(),
            out_sent: 0,
            inbuf: Vec::new(),
            plain: Vec::new(),
            plain_at: 0,
            recv: None,
            tcp_eof: false,
        })
    }
}

impl DataTls {
    /// The peer sent close_notify (rustls only: a sealed connection reads
    /// nothing).
    fn peer_closed(&self) -> bool {
        matches!(&self.sealing, Sealing::Rustls(s) if s.peer_closed())
    }
}

impl Link {
    /// PROT P: the data connection is up; the client speaks first.
    pub(super) fn tls_begin(&mut self, io: &mut Io, tls: DataTls) -> Step {
        self.tls = Some(Box::new(tls));
        self.poll_in(io)
    }

    fn poll_in(&mut self, io: &mut Io) -> Step {
        let Some(sock) = self.sock() else {
            return Step::Done(Err(TransferError::ConnectionLost));
        };
        let t = io.tags.op(Purpose::DataIo);
        self.submit(io.ctx.ring.poll_once(&sock, libc::POLLIN as u32, t));
        Step::Continue
    }

    /// Sends the records in `tls.out` (filled by the caller), for `what`.
    fn send_records(&mut self, io: &mut Io, what: Sending) -> Step {
        let (Some(sock), Some(tls)) = (self.sock(), self.tls.as_mut()) else {
            return Step::Done(Err(TransferError::ConnectionLost));
        };
        let out = std::mem::take(&mut tls.out);
        tls.out_sent = 0;
        tls.sending = what;
        let t = io.tags.op(Purpose::DataIo);
        self.submit(io.ctx.ring.send_from(&sock, out, 0, t));
        Step::Continue
    }

    /// Sends what rustls has queued (handshake flights, its close_notify).
    fn send_queued(&mut self, io: &mut Io, what: Sending) -> Step {
        let Some(tls) = self.tls.as_mut() else {
            return Step::Done(Err(TransferError::ConnectionLost));
        };
        tls.out.clear();
        if let Sealing::Rustls(s) = &mut tls.sealing {
            s.take_ciphertext(&mut tls.out);
        }
        self.send_records(io, what)
    }

    /// A body's send: `data[from..]`, encrypted under PROT P.
    pub(super) fn send(&mut self, io: &mut Io, data: Vec<u8>, from: usize) -> Step {
        let Some(sock) = self.sock() else {
            return Step::Done(Err(TransferError::ConnectionLost));
        };
        match self.tls.as_mut() {
            None => {
                let t = io.tags.op(Purpose::DataIo);
                self.submit(io.ctx.ring.send_from(&sock, data, from, t));
                Step::Continue
            }
            Some(tls) => {
                let plain = &data[from.min(data.len())..];
                let n = plain.len();
                tls.out.clear();
                let sealed = match &mut tls.sealing {
                    Sealing::Rustls(s) => {
                        s.write_plain(plain);
                        s.take_ciphertext(&mut tls.out);
                        true
                    }
                    // Sealed straight into the reused buffer: full-size
                    // records, no allocation once it is warm.
                    Sealing::Sealed(s) => s.seal(plain, &mut tls.out).is_ok(),
                    Sealing::Gone => false,
                };
                if !sealed {
                    return Step::Done(Err(TransferError::ConnectionLost));
                }
                self.send_records(io, Sending::Body { plain: data, n })
            }
        }
    }

    /// A body's receive into `buf[..len]`, decrypted under PROT P.
    pub(super) fn recv_fixed(&mut self, io: &mut Io, buf: FixedBuf, len: usize) -> Step {
        let Some(sock) = self.sock() else {
            return Step::Done(Err(TransferError::ConnectionLost));
        };
        let Some(tls) = self.tls.as_mut() else {
            let t = io.tags.op(Purpose::DataIo);
            self.submit(io.ctx.ring.recv_fixed(&sock, buf, len, t));
            return Step::Continue;
        };
        tls.recv = Some((buf, len));
        if tls.plain_at < tls.plain.len() || tls.tcp_eof || tls.peer_closed() {
            // Already decrypted (or ended): answer on the next completion pass.
            let t = io.tags.op(Purpose::DataIo);
            self.submit(io.ctx.ring.timeout(Duration::ZERO, t));
            return Step::Continue;
        }
        self.poll_in(io)
    }

    /// The body finished: close_notify goes out before the transfer ends.
    pub(super) fn tls_finish(&mut self, io: &mut Io, step: Step) -> Step {
        match (&step, self.tls.as_mut()) {
            (Step::Done(Ok(n)), Some(tls)) if tls.phase == Phase::Open => {
                let n = *n;
                tls.out.clear();
                let closed = match &mut tls.sealing {
                    Sealing::Rustls(s) => {
                        s.close();
                        s.take_ciphertext(&mut tls.out);
                        true
                    }
                    Sealing::Sealed(s) => s.close_notify(&mut tls.out).is_ok(),
                    Sealing::Gone => false,
                };
                if !closed {
                    return Step::Done(Err(TransferError::ConnectionLost));
                }
                self.send_records(io, Sending::Close(n))
            }
            _ => step,
        }
    }

    /// A completion on a TLS link: file ops are the body's; socket ops are
    /// this module's (a body under TLS reaches the socket only through it).
    pub(super) fn tls_on_io(&mut self, io: &mut Io, kind: CompletionKind) -> Routed {
        match kind {
            k @ (CompletionKind::Read(..) | CompletionKind::WriteFixed(..)) => Routed::Body(k),
            CompletionKind::Send(Ok(n), v) => self.sent(io, n, v),
            CompletionKind::Send(Err(_), _) => Routed::Step(Step::Done(self.send_failed())),
            CompletionKind::Poll(Err(_)) => {
                Routed::Step(Step::Done(Err(TransferError::ConnectionLost)))
            }
            CompletionKind::Poll(Ok(_)) => self.readable(io),
            CompletionKind::Timeout(_) => self.deliver(io),
            _ => Routed::Step(Step::Done(Err(TransferError::ConnectionLost))),
        }
    }

    /// A send failed (the peer is gone). Only close_notify may be lost
    /// without harm: every byte was moved before it (a client that closes
    /// right after its own close_notify, without waiting for ours).
    fn send_failed(&mut self) -> Result<u64, TransferError> {
        let sending = self
            .tls
            .as_mut()
            .map(|t| std::mem::replace(&mut t.sending, Sending::Nothing));
        match sending {
            Some(Sending::Close(n)) => Ok(n),
            Some(Sending::Refused) => Err(TransferError::TlsNotResumed),
            _ => Err(TransferError::ConnectionLost),
        }
    }

    fn sent(&mut self, io: &mut Io, n: usize, v: Vec<u8>) -> Routed {
        let sock = self.sock();
        let Some(tls) = self.tls.as_mut() else {
            return Routed::Step(Step::Done(Err(TransferError::ConnectionLost)));
        };
        tls.out_sent += n;
        if n == 0 && tls.out_sent < v.len() {
            return Routed::Step(Step::Done(self.send_failed()));
        }
        if tls.out_sent < v.len() {
            let Some(sock) = sock else {
                return Routed::Step(Step::Done(Err(TransferError::ConnectionLost)));
            };
            let from = tls.out_sent;
            let t = io.tags.op(Purpose::DataIo);
            self.submit(io.ctx.ring.send_from(&sock, v, from, t));
            return Routed::Step(Step::Continue);
        }
        tls.out = v;
        match std::mem::replace(&mut tls.sending, Sending::Nothing) {
            Sending::Body { plain, n } => Routed::Body(CompletionKind::Send(Ok(n), plain)),
            Sending::Close(n) => Routed::Step(Step::Done(Ok(n))),
            Sending::Refused => Routed::Step(Step::Done(Err(TransferError::TlsNotResumed))),
            Sending::Handshake | Sending::Nothing => self.advance_handshake(io),
        }
    }

    /// The socket is readable: one non-blocking receive, decrypted.
    fn readable(&mut self, io: &mut Io) -> Routed {
        let (Some(sock), Some(tls)) = (self.sock(), self.tls.as_mut()) else {
            return Routed::Step(Step::Done(Err(TransferError::ConnectionLost)));
        };
        let Sealing::Rustls(stream) = &mut tls.sealing else {
            // Sealed: a send-only transfer never asks to receive.
            return Routed::Step(Step::Done(Err(TransferError::ConnectionLost)));
        };
        tls.inbuf.resize(RECV_CHUNK_BYTES, 0);
        let flags = MsgFlags::MSG_DONTWAIT;
        match nix::sys::socket::recv(sock.as_raw_fd(), &mut tls.inbuf, flags) {
            Ok(0) => tls.tcp_eof = true,
            Ok(k) => {
                // Keep only the bytes not yet given to the body.
                tls.plain.drain(..tls.plain_at);
                tls.plain_at = 0;
                if stream.feed(&tls.inbuf[..k], &mut tls.plain) == Fed::Failed {
                    let e = match tls.phase {
                        Phase::Handshake => TransferError::TlsHandshake,
                        Phase::Open => TransferError::ConnectionLost,
                    };
                    return Routed::Step(Step::Done(Err(e)));
                }
            }
            Err(Errno::EAGAIN | Errno::EINTR) => return Routed::Step(self.poll_in(io)),
            Err(_) => return Routed::Step(Step::Done(Err(TransferError::ConnectionLost))),
        }
        match tls.phase {
            Phase::Handshake if tls.tcp_eof => {
                Routed::Step(Step::Done(Err(TransferError::TlsHandshake)))
            }
            Phase::Handshake => self.advance_handshake(io),
            Phase::Open => self.deliver(io),
        }
    }

    /// Handshake: send what rustls has, else read more, else judge the binding.
    fn advance_handshake(&mut self, io: &mut Io) -> Routed {
        let Some(tls) = self.tls.as_mut() else {
            return Routed::Step(Step::Done(Err(TransferError::ConnectionLost)));
        };
        let Sealing::Rustls(stream) = &mut tls.sealing else {
            return Routed::Step(Step::Done(Err(TransferError::ConnectionLost)));
        };
        if stream.wants_write() {
            return Routed::Step(self.send_queued(io, Sending::Handshake));
        }
        if stream.is_handshaking() {
            return Routed::Step(self.poll_in(io));
        }
        // RFC 4217 §10 leaves the binding to the server: the data connection
        // must resume this control connection's own TLS session, so whoever
        // reaches the data port first cannot take the transfer.
        if !tls.allow_unresumed && !stream.resumed_from(tls.sess.tag) {
            io.ctx.log(format_args!(
                "data connection refused: it did not resume its control connection's TLS session"
            ));
            stream.close();
            return Routed::Step(self.send_queued(io, Sending::Refused));
        }
        tls.phase = Phase::Open;
        // Nothing is left to send (checked by `sealable`) and a download
        // reads nothing more: its records are sealed here from now on.
        if tls.send_only && stream.sealable() {
            let sealing = std::mem::replace(&mut tls.sealing, Sealing::Gone);
            if let Sealing::Rustls(stream) = sealing {
                tls.sealing = stream.into_sealer().map_or(Sealing::Gone, Sealing::Sealed);
            }
            if matches!(tls.sealing, Sealing::Gone) {
                return Routed::Step(Step::Done(Err(TransferError::ConnectionLost)));
            }
        }
        Routed::Open
    }

    /// Gives the waiting body receive what is decrypted (or the end).
    fn deliver(&mut self, io: &mut Io) -> Routed {
        let Some(tls) = self.tls.as_mut() else {
            return Routed::Step(Step::Done(Err(TransferError::ConnectionLost)));
        };
        let Some((mut buf, len)) = tls.recv.take() else {
            return Routed::Step(Step::Continue);
        };
        let avail = &tls.plain[tls.plain_at..];
        let k = avail.len().min(len);
        if k > 0 {
            buf.bytes_mut()[..k].copy_from_slice(&avail[..k]);
            tls.plain_at += k;
            return Routed::Body(CompletionKind::RecvFixed(Ok(k), buf));
        }
        // A TCP close without close_notify is taken as the end too: many
        // clients skip it, and the transfer's own byte count is what the
        // client checks.
        if tls.tcp_eof || tls.peer_closed() {
            return Routed::Body(CompletionKind::RecvFixed(Ok(0), buf));
        }
        tls.recv = Some((buf, len));
        Routed::Step(self.poll_in(io))
    }
}
