//! The data channel of one transfer, a state machine with one owner. The
//! worker creates it with the job, passes on the client's requests
//! ([`DataChannel::connect`], [`DataChannel::listen`], [`DataChannel::upload`])
//! and routes the channel's completions to [`DataChannel::on_completion`];
//! each answers with a [`Step`] the worker turns into client events. The
//! channel never sees the control session, the worker never sees the
//! channel's sockets.
//!
//! At most one op of a channel is in flight at any time; [`DataChannel::arm`]
//! is the one place ops are tokened, and it asserts that. In active mode the
//! multishot accept counts as that op until its last completion: the
//! accepted connection waits for it (one cancel round trip) before the first
//! read, so a late accept completion can never overlap a read.

use std::net::{IpAddr, SocketAddr};
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::time::Instant;

use nix::errno::Errno;
use nix::sys::socket::Shutdown;

use super::client::{Job, Kind};
use super::data_io::{Io, Step};
use super::net;
use super::sink::{self, Drained};
use super::stats::Metric;
use super::token::{self, Purpose};
use super::verify::{fill_pattern, Expect, Verifier};
use crate::engine::{CompletionKind, OpId, Pipe, Ring, SharedFd};

#[derive(Debug)]
enum State {
    /// Waiting for the client's connect (passive) or listen (active).
    New,
    /// Passive: the connect is in flight.
    Connecting(SharedFd),
    /// Active: the multishot accept on our listener (the op holds the
    /// listener open until its last completion); `conn` is the server's
    /// connection once accepted, used when the accept has ended.
    Accepting {
        accept: OpId,
        conn: Option<SharedFd>,
    },
    /// `--tls`: connected, the data connection's TLS handshake runs (the
    /// command may already be sent: the server handshakes once it runs it).
    Handshake(SharedFd),
    /// STOR: connected, waiting for the server's 1yz.
    Ready(SharedFd),
    /// RETR/LIST: reading (or splicing) until EOF.
    Download(SharedFd),
    /// STOR: `left` bytes still to hand to send; `off` is how much of the
    /// buffer in flight was sent.
    Upload {
        fd: SharedFd,
        left: u64,
        off: usize,
    },
    Finished,
}

/// What a finished channel leaves for the statistics.
pub struct Summary {
    /// With `--verify`, whether the download was right.
    pub verify: Option<Result<(), String>>,
    pub bytes_up: u64,
}

/// One transfer's data channel.
pub struct DataChannel {
    slot: usize,
    /// Data ops carry this generation, so they never reach a later channel.
    pub gen: u32,
    kind: Kind,
    size_bytes: u64,
    state: State,
    in_flight: Option<Purpose>,
    verifier: Option<Verifier>,
    first_byte: bool,
    /// 227/229 (or 200 to PORT/EPRT) and RETR/STOR/LIST sent: the starts of
    /// the data-setup and first-byte latencies.
    addr_at: Instant,
    command_at: Instant,
    /// `--tls`: the data connection's TLS (its handshake resumes the
    /// control session's TLS session).
    tls: Option<Box<tls_io::DataTls>>,
}

/// Upload buffers are a whole number of pattern periods, so every full
/// buffer starts at pattern phase 0 and the same bytes can be sent again.
fn upload_len(buf_bytes: usize) -> usize {
    (buf_bytes / 251).max(1) * 251
}

impl DataChannel {
    pub fn new(
        slot: usize,
        gen: u32,
        job: &Job,
        expect: Option<Expect>,
        now: Instant,
    ) -> DataChannel {
        DataChannel {
            slot,
            gen,
            kind: job.kind,
            size_bytes: job.size_bytes,
            state: State::New,
            in_flight: None,
            verifier: expect.map(Verifier::new),
            first_byte: false,
            addr_at: now,
            command_at: now,
            tls: None,
        }
    }

    pub fn mark_address(&mut self, now: Instant) {
        self.addr_at = now;
    }

    pub fn mark_command(&mut self, now: Instant) {
        self.command_at = now;
    }

    /// The token for the channel's next op: the one place that asserts at
    /// most one op is in flight.
    fn arm(&mut self, p: Purpose) -> u64 {
        assert!(
            self.in_flight.is_none(),
            "data channel: {p:?} submitted while {:?} is in flight",
            self.in_flight
        );
        self.in_flight = Some(p);
        token::pack(p, self.slot, self.gen)
    }

    /// Passive: connect to the server's data port from the control's local address.
    pub fn connect(&mut self, io: &mut Io, addr: SocketAddr, local: IpAddr) -> Result<(), String> {
        let fd = net::client_socket(addr.ip(), Some(local))
            .map(Rc::new)
            .map_err(|e| format!("data-socket:{e}"))?;
        let t = self.arm(Purpose::DataConnect);
        io.ring.connect(&fd, addr, t);
        self.state = State::Connecting(fd);
        Ok(())
    }

    /// Active: listen on the control's local address; the client sends PORT/EPRT.
    pub fn listen(&mut self, io: &mut Io, local: IpAddr) -> Result<SocketAddr, String> {
        let (fd, addr) = net::data_listener(local).map_err(|e| format!("data-listen:{e}"))?;
        let listener = Rc::new(fd);
        let t = self.arm(Purpose::DataAccept);
        let accept = io.ring.accept_multishot(&listener, t);
        self.state = State::Accepting { accept, conn: None };
        Ok(addr)
    }

    /// STOR: the server said 1yz and the channel is up: send the first buffer.
    pub fn upload(&mut self, io: &mut Io) -> Step {
        if self.tls_upload_later() {
            return Step::Continue;
        }
        let State::Ready(fd) = &self.state else {
            return Step::Continue;
        };
        self.state = State::Upload {
            fd: fd.clone(),
            left: self.size_bytes,
            off: 0,
        };
        let full = upload_len(io.cfg.buf_bytes);
        let mut buf = io.spare.up_buf.take().unwrap_or_default();
        if buf.len() != full {
            // New, or cut short by the last upload: make it a full pattern buffer again.
            buf.resize(full, 0);
            fill_pattern(io.cfg.pattern_seed, 0, &mut buf);
        }
        self.send_chunk(io, buf)
    }

    /// A completion of this channel's op `p`.
    pub fn on_completion(
        &mut self,
        io: &mut Io,
        p: Purpose,
        more: bool,
        kind: CompletionKind,
    ) -> Step {
        // Only the multishot accept completes more than once; its last
        // completion (more == false) ends it like any other op.
        if !more && self.in_flight == Some(p) {
            self.in_flight = None;
        }
        match (p, kind) {
            (Purpose::DataConnect, CompletionKind::Connect(r)) => match (r, &self.state) {
                (Ok(()), State::Connecting(fd)) => {
                    let fd = fd.clone();
                    self.opened(io, fd)
                }
                (Ok(()), _) => Step::Continue,
                (Err(e), _) => Step::Done(Err(format!("data-connect:{e}"))),
            },
            (Purpose::DataAccept, CompletionKind::Accept(r)) => self.on_accept(io, more, r),
            (Purpose::DataRead, CompletionKind::Read(r, buf)) => self.on_read(io, r, buf),
            (Purpose::DataPoll, CompletionKind::Poll(r)) => self.on_poll(io, r),
            (Purpose::DataSend, CompletionKind::Send(r, buf)) => self.on_sent(io, r, buf),
            (_, other) => {
                io.spare.take_back(other, io.cfg.buf_bytes);
                Step::Continue
            }
        }
    }

    /// Ends the channel: shut the socket (an op still waiting on it completes,
    /// stale, and gives its buffer back), cancel the accept.
    pub fn close(self, ring: &mut Ring) {
        match &self.state {
            State::Connecting(fd)
            | State::Handshake(fd)
            | State::Ready(fd)
            | State::Download(fd) => net::shut(fd, Shutdown::Both),
            State::Upload { fd, .. } => net::shut(fd, Shutdown::Both),
            State::Accepting { accept, conn, .. } => {
                ring.cancel(*accept);
                if let Some(fd) = conn {
                    net::shut(fd, Shutdown::Both);
                }
            }
            State::New | State::Finished => {}
        }
    }

    /// What the finished transfer leaves for the statistics.
    pub fn finish(self) -> Summary {
        Summary {
            verify: self.verifier.map(Verifier::finish),
            bytes_up: if self.kind == Kind::Stor {
                self.size_bytes
            } else {
                0
            },
        }
    }

    fn on_accept(&mut self, io: &mut Io, more: bool, r: Result<OwnedFd, Errno>) -> Step {
        let State::Accepting { accept, conn, .. } = &mut self.state else {
            return Step::Continue;
        };
        match r {
            Ok(fd) if conn.is_none() => {
                *conn = Some(Rc::new(fd));
                if more {
                    io.ring.cancel(*accept);
                }
            }
            // A second connection to our port is not the server's: drop it.
            Ok(_) => {}
            Err(e) if conn.is_none() && !more => {
                return Step::Done(Err(format!("data-accept:{e}")));
            }
            Err(_) => {}
        }
        if more {
            return Step::Continue;
        }
        // The accept has ended: its connection may be used now.
        match conn.take() {
            Some(fd) => self.opened(io, fd),
            None => Step::Done(Err("data-accept:ended".into())),
        }
    }

    /// The data connection is up: downloads start reading at once, uploads
    /// wait for the server's 1yz.
    fn opened(&mut self, io: &mut Io, fd: SharedFd) -> Step {
        io.stats
            .record(Metric::DataSetup, Instant::now() - self.addr_at);
        if self.tls.is_some() {
            self.state = State::Handshake(fd);
            return match self.tls_next(io) {
                Step::Continue => Step::Opened,
                other => other,
            };
        }
        if self.kind == Kind::Stor {
            self.state = State::Ready(fd);
        } else {
            self.state = State::Download(fd);
            self.arm_download(io);
        }
        Step::Opened
    }

    fn arm_download(&mut self, io: &mut Io) {
        let State::Download(fd) = &self.state else {
            return;
        };
        let fd = fd.clone();
        // LIST output is small and must be read whatever the sink.
        if io.cfg.splice && self.kind == Kind::Retr {
            let t = self.arm(Purpose::DataPoll);
            io.ring.poll_once(&fd, libc::POLLIN as u32, t);
        } else {
            self.read_into_spare(io, &fd);
        }
    }

    /// Reads from `fd` into the spare read buffer (a new one of
    /// `--buf-bytes` when it is out).
    pub(super) fn read_into_spare(&mut self, io: &mut Io, fd: &SharedFd) {
        let size = io.cfg.buf_bytes;
        let buf = io
            .spare
            .read_buf
            .take()
            .unwrap_or_else(|| Vec::with_capacity(size));
        let t = self.arm(Purpose::DataRead);
        io.ring.read_into(fd, buf, u64::MAX, t);
    }

    /// Counts `n` downloaded bytes (first-byte latency on the first).
    fn got_bytes(&mut self, io: &mut Io, n: usize) {
        if !self.first_byte {
            self.first_byte = true;
            let d = Instant::now().saturating_duration_since(self.command_at);
            io.stats.record(Metric::FirstByte, d);
        }
        io.stats.bytes_down += n as u64;
        io.live.add(&io.live.bytes, n as u64);
    }

    fn finished(&mut self) -> Step {
        self.state = State::Finished;
        Step::Done(Ok(()))
    }

    fn on_read(&mut self, io: &mut Io, r: Result<usize, Errno>, buf: Vec<u8>) -> Step {
        if self.tls.is_some() {
            return self.tls_read(io, r, buf);
        }
        let step = match r {
            Ok(0) => self.finished(),
            Ok(n) => {
                if let Some(v) = self.verifier.as_mut() {
                    v.update(&buf[..n.min(buf.len())]);
                }
                self.got_bytes(io, n);
                Step::Continue
            }
            Err(e) => Step::Done(Err(format!("data-read:{e}"))),
        };
        io.spare.read_buf = Some(buf);
        if step == Step::Continue {
            self.arm_download(io);
        }
        step
    }

    fn on_poll(&mut self, io: &mut Io, r: Result<u32, Errno>) -> Step {
        if let Err(e) = r {
            return Step::Done(Err(format!("data-poll:{e}")));
        }
        let State::Download(fd) = &self.state else {
            return Step::Continue;
        };
        let Some(devnull) = io.cfg.devnull.as_ref() else {
            return Step::Done(Err("sink:/dev/null".into()));
        };
        let pipe = match io.spare.pipe.take() {
            Some(p) => p,
            None => match Pipe::new(io.cfg.buf_bytes) {
                Ok(p) => p,
                Err(e) => return Step::Done(Err(format!("pipe:{e}"))),
            },
        };
        let res = sink::splice_drain(fd, &pipe, devnull, io.cfg.buf_bytes);
        io.spare.pipe = Some(pipe);
        match res {
            Ok(Drained { bytes, eof }) => {
                if bytes > 0 {
                    self.got_bytes(io, bytes);
                }
                if eof {
                    return self.finished();
                }
                self.arm_download(io);
                Step::Continue
            }
            Err(e) => Step::Done(Err(format!("data-splice:{e}"))),
        }
    }

    /// Sends the next buffer, cut to what is left; finishes at 0 left.
    fn send_chunk(&mut self, io: &mut Io, mut buf: Vec<u8>) -> Step {
        if self.tls.is_some() {
            return self.tls_send_chunk(io, buf);
        }
        let State::Upload { fd, left, off } = &mut self.state else {
            io.spare.up_buf = Some(buf);
            return Step::Continue;
        };
        if *left == 0 {
            io.spare.up_buf = Some(buf);
            net::shut(fd, Shutdown::Write);
            return self.finished();
        }
        if (buf.len() as u64) > *left {
            buf.truncate(*left as usize);
        }
        *off = 0;
        let fd = fd.clone();
        let t = self.arm(Purpose::DataSend);
        io.ring.send(&fd, buf, t);
        Step::Continue
    }

    fn on_sent(&mut self, io: &mut Io, r: Result<usize, Errno>, buf: Vec<u8>) -> Step {
        if self.tls.is_some() {
            return self.tls_sent(io, r, buf);
        }
        let n = match r {
            Ok(n) => n,
            Err(e) => {
                io.spare.up_buf = Some(buf);
                return Step::Done(Err(format!("data-send:{e}")));
            }
        };
        io.live.add(&io.live.bytes, n as u64);
        let State::Upload { fd, left, off } = &mut self.state else {
            io.spare.up_buf = Some(buf);
            return Step::Continue;
        };
        *off += n;
        if *off < buf.len() {
            if n == 0 {
                io.spare.up_buf = Some(buf);
                return Step::Done(Err("data-send:0".into()));
            }
            let (fd, at) = (fd.clone(), *off);
            let t = self.arm(Purpose::DataSend);
            io.ring.send_from(&fd, buf, at, t);
            return Step::Continue;
        }
        *left -= buf.len() as u64;
        self.send_chunk(io, buf)
    }
}

/// `--tls`: the data connection's handshake and records.
#[path = "data_tls.rs"]
mod tls_io;

#[cfg(test)]
#[path = "data_tests.rs"]
mod tests;
