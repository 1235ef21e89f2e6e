//! The data channel of one transfer: connect (passive) or accept (active),
//! then download into the sink or upload from a reused pattern buffer.

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

use nix::errno::Errno;
use nix::sys::socket::Shutdown;

use super::client::{Job, Kind};
use super::driver::{tok, Worker, P};
use super::net;
use super::sink::{self, Drained};
use super::stats::Metric;
use super::verify::{fill_pattern, Expect, Verifier};
use crate::engine::{CompletionKind, OpId, Ring, SharedFd};

/// One transfer's data channel.
pub struct Data {
    pub gen: u32,
    pub kind: Kind,
    pub size_bytes: u64,
    pub fd: Option<SharedFd>,
    /// Active mode: our listener and its multishot accept.
    accept: Option<(SharedFd, OpId)>,
    pub verifier: Option<Verifier>,
    bytes: u64,
    first_byte: bool,
    /// Upload: bytes still to hand to send, and the offset in the buffer in flight.
    up_left: u64,
    up_off: usize,
}

impl Data {
    pub fn new(gen: u32, job: &Job, expect: Option<Expect>) -> Data {
        Data {
            gen,
            kind: job.kind,
            size_bytes: job.size_bytes,
            fd: None,
            accept: None,
            verifier: expect.map(Verifier::new),
            bytes: 0,
            first_byte: false,
            up_left: job.size_bytes,
            up_off: 0,
        }
    }

    /// Ends the channel: shut the socket (pending ops complete), cancel the accept.
    pub fn close(self, ring: &mut Ring) {
        if let Some(fd) = &self.fd {
            net::shut(fd, Shutdown::Both);
        }
        if let Some((_, op)) = self.accept {
            ring.cancel(op);
        }
    }
}

/// Upload buffers are a whole number of pattern periods, so every full
/// buffer starts at pattern phase 0 and the same bytes can be sent again.
fn upload_len(buf_bytes: usize) -> usize {
    (buf_bytes / 251).max(1) * 251
}

impl Worker {
    fn data(&mut self, slot: usize) -> Option<&mut Data> {
        self.slots.get_mut(slot)?.sess.as_mut()?.data.as_mut()
    }

    /// Passive: connect to the server's data port from the control's local address.
    pub fn data_connect(&mut self, slot: usize, addr: SocketAddr) {
        let Some(s) = self.slots[slot].sess.as_mut() else {
            return;
        };
        let fd = match net::client_socket(addr.ip(), Some(s.local_ip)) {
            Ok(fd) => Rc::new(fd),
            Err(e) => return self.fail(slot, &format!("data-socket:{e}")),
        };
        let Some(d) = s.data.as_mut() else { return };
        d.fd = Some(fd.clone());
        let gen = d.gen;
        self.ring.connect(&fd, addr, tok(P::DataConnect, slot, gen));
    }

    /// Active: listen on the control's local address, then PORT/EPRT.
    pub fn data_listen(&mut self, slot: usize) {
        let Some(s) = self.slots[slot].sess.as_mut() else {
            return;
        };
        let (lfd, addr) = match net::data_listener(s.local_ip) {
            Ok((fd, a)) => (Rc::new(fd), a),
            Err(e) => return self.fail(slot, &format!("data-listen:{e}")),
        };
        let Some(d) = s.data.as_mut() else { return };
        let op = self
            .ring
            .accept_multishot(&lfd, tok(P::DataAccept, slot, d.gen));
        d.accept = Some((lfd, op));
        s.client.listening(addr, &mut self.acts);
    }

    pub fn on_data(&mut self, slot: usize, p: P, more: bool, kind: CompletionKind) {
        match (p, kind) {
            (P::DataConnect, CompletionKind::Connect(r)) => match r {
                Ok(()) => self.data_up(slot),
                Err(e) => self.fail(slot, &format!("data-connect:{e}")),
            },
            (P::DataAccept, CompletionKind::Accept(r)) => self.on_accept(slot, more, r),
            (P::DataRead, CompletionKind::Read(r, buf)) => self.on_read(slot, r, buf),
            (P::DataPoll, CompletionKind::Poll(r)) => self.on_poll(slot, r),
            (P::DataSend, CompletionKind::Send(r, buf)) => self.on_upload_sent(slot, r, buf),
            _ => {}
        }
    }

    fn on_accept(&mut self, slot: usize, more: bool, r: Result<std::os::fd::OwnedFd, Errno>) {
        let Some(d) = self.data(slot) else { return };
        match r {
            Ok(fd) if d.fd.is_none() => {
                d.fd = Some(Rc::new(fd));
                if let Some((_, op)) = d.accept.take() {
                    if more {
                        self.ring.cancel(op);
                    }
                }
                self.data_up(slot);
            }
            // A second connection to our port is not the server's: drop it.
            Ok(_) => {}
            Err(_) if d.fd.is_some() => {}
            Err(e) => self.fail(slot, &format!("data-accept:{e}")),
        }
    }

    /// The data connection is up (connected or accepted).
    fn data_up(&mut self, slot: usize) {
        let now = Instant::now();
        let Some(s) = self.slots[slot].sess.as_mut() else {
            return;
        };
        let d = now - s.t.data_addr;
        self.stats.record(Metric::DataSetup, d);
        let download = s.data.as_ref().is_some_and(|d| d.kind != Kind::Stor);
        if download {
            self.arm_download(slot);
        }
        if let Some(s) = self.slots[slot].sess.as_mut() {
            s.client.data_connected(&mut self.acts);
        }
    }

    fn arm_download(&mut self, slot: usize) {
        let splice = self.plan.sink == super::cli::Sink::Splice;
        let size = self.plan.buf_bytes;
        let sl = &mut self.slots[slot];
        let Some(d) = sl.sess.as_mut().and_then(|s| s.data.as_mut()) else {
            return;
        };
        let Some(fd) = d.fd.clone() else { return };
        // LIST output is small and must be read whatever the sink.
        if splice && d.kind == Kind::Retr {
            self.ring
                .poll_once(&fd, libc::POLLIN as u32, tok(P::DataPoll, slot, d.gen));
        } else {
            let buf = sl
                .read_buf
                .take()
                .unwrap_or_else(|| Vec::with_capacity(size));
            self.ring
                .read_into(&fd, buf, u64::MAX, tok(P::DataRead, slot, d.gen));
        }
    }

    /// Counts `n` downloaded bytes (first-byte latency on the first).
    fn got_bytes(&mut self, slot: usize, n: usize) {
        let now = Instant::now();
        let Some(s) = self.slots[slot].sess.as_mut() else {
            return;
        };
        let t_cmd = s.t.command;
        let Some(d) = s.data.as_mut() else { return };
        if !d.first_byte {
            d.first_byte = true;
            self.stats
                .record(Metric::FirstByte, now.saturating_duration_since(t_cmd));
        }
        d.bytes += n as u64;
        self.stats.bytes_down += n as u64;
        self.live.add(&self.live.bytes, n as u64);
    }

    fn download_eof(&mut self, slot: usize) {
        let Some(s) = self.slots[slot].sess.as_mut() else {
            return;
        };
        if let Some(d) = s.data.as_mut() {
            d.fd = None;
        }
        s.client.data_finished(&mut self.acts);
    }

    fn on_read(&mut self, slot: usize, r: Result<usize, Errno>, buf: Vec<u8>) {
        match r {
            Ok(0) => {
                self.slots[slot].read_buf = Some(buf);
                self.download_eof(slot);
            }
            Ok(n) => {
                if let Some(v) = self.data(slot).and_then(|d| d.verifier.as_mut()) {
                    v.update(&buf[..n.min(buf.len())]);
                }
                self.got_bytes(slot, n);
                self.slots[slot].read_buf = Some(buf);
                self.arm_download(slot);
            }
            Err(e) => {
                self.slots[slot].read_buf = Some(buf);
                self.fail(slot, &format!("data-read:{e}"));
            }
        }
    }

    fn on_poll(&mut self, slot: usize, r: Result<u32, Errno>) {
        if let Err(e) = r {
            return self.fail(slot, &format!("data-poll:{e}"));
        }
        let size = self.plan.buf_bytes;
        let Some(devnull) = self.devnull.clone() else {
            return self.fail(slot, "sink:/dev/null");
        };
        let sl = &mut self.slots[slot];
        let pipe = match sl.pipe.take() {
            Some(p) => p,
            None => match crate::engine::Pipe::new(size) {
                Ok(p) => p,
                Err(e) => return self.fail(slot, &format!("pipe:{e}")),
            },
        };
        let Some(fd) = sl
            .sess
            .as_ref()
            .and_then(|s| s.data.as_ref())
            .and_then(|d| d.fd.clone())
        else {
            sl.pipe = Some(pipe);
            return;
        };
        let res = sink::splice_drain(&fd, &pipe, &devnull, size);
        self.slots[slot].pipe = Some(pipe);
        match res {
            Ok(Drained { bytes, eof }) => {
                if bytes > 0 {
                    self.got_bytes(slot, bytes);
                }
                if eof {
                    self.download_eof(slot);
                } else {
                    self.arm_download(slot);
                }
            }
            Err(e) => self.fail(slot, &format!("data-splice:{e}")),
        }
    }

    /// STOR: the server said 1yz and the channel is up: send the first buffer.
    pub fn upload(&mut self, slot: usize) {
        let full = upload_len(self.plan.buf_bytes);
        let seed = self.plan.pattern_seed;
        let sl = &mut self.slots[slot];
        let mut buf = sl.up_buf.take().unwrap_or_default();
        if buf.len() != full {
            // New, or cut short by the last upload: make it a full pattern buffer again.
            buf.resize(full, 0);
            fill_pattern(seed, 0, &mut buf);
        }
        self.send_chunk(slot, buf);
    }

    /// Sends the next buffer, cut to what is left; finishes at 0 left.
    fn send_chunk(&mut self, slot: usize, mut buf: Vec<u8>) {
        let sl = &mut self.slots[slot];
        let Some(s) = sl.sess.as_mut() else { return };
        let Some(d) = s.data.as_mut() else { return };
        let Some(fd) = d.fd.clone() else { return };
        if d.up_left == 0 {
            sl.up_buf = Some(buf);
            net::shut(&fd, Shutdown::Write);
            d.fd = None;
            s.client.data_finished(&mut self.acts);
            return;
        }
        if (buf.len() as u64) > d.up_left {
            buf.truncate(d.up_left as usize);
        }
        d.up_off = 0;
        self.ring.send(&fd, buf, tok(P::DataSend, slot, d.gen));
    }

    fn on_upload_sent(&mut self, slot: usize, r: Result<usize, Errno>, buf: Vec<u8>) {
        let n = match r {
            Ok(n) => n,
            Err(e) => {
                self.slots[slot].up_buf = Some(buf);
                return self.fail(slot, &format!("data-send:{e}"));
            }
        };
        self.live.add(&self.live.bytes, n as u64);
        let Some(d) = self.data(slot) else { return };
        d.up_off += n;
        if d.up_off < buf.len() {
            let (off, gen) = (d.up_off, d.gen);
            if let Some(fd) = d.fd.clone() {
                self.ring
                    .send_from(&fd, buf, off, tok(P::DataSend, slot, gen));
            }
            return;
        }
        d.up_left -= buf.len() as u64;
        self.send_chunk(slot, buf);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn upload_buffers_are_whole_periods() {
        assert_eq!(super::upload_len(256 * 1024) % 251, 0);
        assert!(super::upload_len(256 * 1024) <= 256 * 1024);
        assert_eq!(super::upload_len(10), 251);
    }
}
