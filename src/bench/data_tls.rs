//! `--tls` on a data channel (a child of `data.rs`: it sees the channel's
//! state): the handshake, which resumes the control session's TLS session;
//! downloads read and decrypted; uploads encrypted and sent whole, then
//! close_notify. Each step submits one read or one send, so the channel's
//! one-op-in-flight rule holds.

use nix::errno::Errno;
use nix::sys::socket::Shutdown;

use super::{DataChannel, State};
use crate::bench::client::Kind;
use crate::bench::data_io::{Io, Step};
use crate::bench::net;
use crate::bench::tls::ClientTls;
use crate::bench::token::Purpose;
use crate::engine::SharedFd;
use crate::tls::Fed;

/// A data connection's TLS state.
pub(super) struct DataTls {
    conn: ClientTls,
    /// Decrypted bytes not yet counted (the handshake's last read may carry
    /// the first data).
    plain: Vec<u8>,
    /// Upload: the plaintext the ciphertext in flight carries (given back to
    /// `send_chunk` when it is all sent), and its length.
    up_plain: Option<Vec<u8>>,
    /// STOR: the client asked to upload before the handshake was over.
    upload_wanted: bool,
    /// close_notify is being sent; the upload is then done.
    closing: bool,
}

impl DataChannel {
    /// STOR under TLS: the upload waits for the handshake's end (true).
    pub(super) fn tls_upload_later(&mut self) -> bool {
        match (&self.state, self.tls.as_mut()) {
            (State::Handshake(_), Some(t)) => {
                t.upload_wanted = true;
                true
            }
            _ => false,
        }
    }

    /// `--tls`: the data connection speaks TLS with `cfg`, the control
    /// session's own client config (so it resumes that session).
    pub fn set_tls(&mut self, cfg: &std::sync::Arc<rustls::ClientConfig>) -> Result<(), String> {
        let conn = crate::bench::tls::client(cfg).ok_or("data-tls:config")?;
        self.tls = Some(Box::new(DataTls {
            conn,
            plain: Vec::new(),
            up_plain: None,
            upload_wanted: false,
            closing: false,
        }));
        Ok(())
    }
}

/// `--tls`: the handshake, decryption of downloads, encryption of uploads.
/// The one-op-in-flight rule holds: each step submits one read or one send.
impl DataChannel {
    pub(super) fn fd(&self) -> Option<SharedFd> {
        match &self.state {
            State::Handshake(fd) | State::Ready(fd) | State::Download(fd) => Some(fd.clone()),
            State::Upload { fd, .. } => Some(fd.clone()),
            _ => None,
        }
    }

    /// Sends what TLS has to send (ciphertext), or reads.
    pub(super) fn send_records(&mut self, io: &mut Io) -> Step {
        let (Some(fd), Some(t)) = (self.fd(), self.tls.as_mut()) else {
            return Step::Done(Err("data-tls:state".into()));
        };
        let mut out = io.spare.up_buf.take().unwrap_or_default();
        out.clear();
        t.conn.take_ciphertext(&mut out);
        if let State::Upload { off, .. } = &mut self.state {
            *off = 0;
        }
        let tok = self.arm(Purpose::DataSend);
        io.ring.send(&fd, out, tok);
        Step::Continue
    }

    pub(super) fn read(&mut self, io: &mut Io) -> Step {
        let Some(fd) = self.fd() else {
            return Step::Done(Err("data-tls:state".into()));
        };
        self.read_into_spare(io, &fd);
        Step::Continue
    }

    /// Handshake: send, read, or go on once it is over.
    pub(super) fn tls_next(&mut self, io: &mut Io) -> Step {
        let Some(t) = self.tls.as_mut() else {
            return Step::Continue;
        };
        if t.conn.wants_write() {
            return self.send_records(io);
        }
        if t.conn.is_handshaking() {
            return self.read(io);
        }
        let State::Handshake(fd) = &self.state else {
            return Step::Continue;
        };
        let fd = fd.clone();
        if self.kind == Kind::Stor {
            self.state = State::Ready(fd);
            if std::mem::take(&mut t.upload_wanted) {
                return self.upload(io);
            }
            return Step::Continue;
        }
        self.state = State::Download(fd);
        let plain = std::mem::take(&mut t.plain);
        self.count_plain(io, &plain);
        if let Some(t) = self.tls.as_mut() {
            t.plain = plain;
            t.plain.clear();
            if t.conn.peer_closed() {
                return self.finished();
            }
        }
        self.read(io)
    }

    pub(super) fn count_plain(&mut self, io: &mut Io, plain: &[u8]) {
        if plain.is_empty() {
            return;
        }
        if let Some(v) = self.verifier.as_mut() {
            v.update(plain);
        }
        self.got_bytes(io, plain.len());
    }

    pub(super) fn tls_read(&mut self, io: &mut Io, r: Result<usize, Errno>, buf: Vec<u8>) -> Step {
        let n = match r {
            Ok(n) => n,
            Err(e) => {
                io.spare.read_buf = Some(buf);
                return Step::Done(Err(format!("data-read:{e}")));
            }
        };
        let Some(t) = self.tls.as_mut() else {
            return Step::Continue;
        };
        let fed = n == 0 || t.conn.feed(&buf[..n.min(buf.len())], &mut t.plain) == Fed::Ok;
        io.spare.read_buf = Some(buf);
        if !fed {
            return Step::Done(Err("data-tls:records".into()));
        }
        match &self.state {
            State::Handshake(_) if n == 0 => Step::Done(Err("data-tls:eof-in-handshake".into())),
            State::Handshake(_) => self.tls_next(io),
            State::Download(_) => {
                let plain = std::mem::take(&mut t.plain);
                let closed = n == 0 || t.conn.peer_closed();
                self.count_plain(io, &plain);
                if let Some(t) = self.tls.as_mut() {
                    t.plain = plain;
                    t.plain.clear();
                }
                // A TCP close without close_notify ends it too (the count
                // and --verify judge the bytes).
                if closed {
                    return self.finished();
                }
                self.read(io)
            }
            _ => Step::Continue,
        }
    }

    pub(super) fn tls_send_chunk(&mut self, io: &mut Io, mut buf: Vec<u8>) -> Step {
        let State::Upload { left, .. } = &self.state else {
            io.spare.up_buf = Some(buf);
            return Step::Continue;
        };
        let left = *left;
        let Some(t) = self.tls.as_mut() else {
            return Step::Continue;
        };
        if left == 0 {
            // All sent: close_notify, then the write side is shut.
            t.up_plain = Some(buf);
            t.closing = true;
            t.conn.close();
            return self.send_records(io);
        }
        if (buf.len() as u64) > left {
            buf.truncate(left as usize);
        }
        t.conn.write_plain(&buf);
        t.up_plain = Some(buf);
        self.send_records(io)
    }

    pub(super) fn tls_sent(&mut self, io: &mut Io, r: Result<usize, Errno>, buf: Vec<u8>) -> Step {
        let n = match r {
            Ok(n) => n,
            Err(e) => {
                io.spare.up_buf = Some(buf);
                return Step::Done(Err(format!("data-send:{e}")));
            }
        };
        let Some(fd) = self.fd() else {
            io.spare.up_buf = Some(buf);
            return Step::Continue;
        };
        let off = match &mut self.state {
            State::Upload { off, .. } => {
                *off += n;
                *off
            }
            _ => {
                // Handshake records: `off` lives in the buffer's own count.
                n
            }
        };
        if off < buf.len() {
            if n == 0 {
                io.spare.up_buf = Some(buf);
                return Step::Done(Err("data-send:0".into()));
            }
            if !matches!(self.state, State::Upload { .. }) {
                // A short handshake send: keep the rest.
                let mut rest = buf;
                rest.drain(..off);
                let t = self.arm(Purpose::DataSend);
                io.ring.send(&fd, rest, t);
                return Step::Continue;
            }
            let t = self.arm(Purpose::DataSend);
            io.ring.send_from(&fd, buf, off, t);
            return Step::Continue;
        }
        io.spare.up_buf = Some(buf);
        let Some(t) = self.tls.as_mut() else {
            return Step::Continue;
        };
        match &mut self.state {
            State::Upload { left, .. } => {
                let plain = t.up_plain.take().unwrap_or_default();
                if t.closing {
                    io.spare.up_buf = Some(plain);
                    net::shut(&fd, Shutdown::Write);
                    return self.finished();
                }
                io.live.add(&io.live.bytes, plain.len() as u64);
                *left -= (plain.len() as u64).min(*left);
                // The same pattern buffer again (a whole number of periods).
                self.send_chunk(io, plain)
            }
            _ => self.tls_next(io),
        }
    }
}
