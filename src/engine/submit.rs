//! The op builders: each stores its resources in an op-table slot first (so
//! every pointer in the SQE points at memory the slot owns, U1/U2), then
//! queues the SQE tagged with the slot's user_data.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::Duration;

use io_uring::types::{Fd, Fixed, Timespec};
use io_uring::{opcode, squeue};
use nix::sys::socket::{SockaddrLike, SockaddrStorage};

use super::bufs::{FixedBuf, PROVIDED_GROUP};
use super::fixed::Sock;
use super::ops::{hold, part2_of, OpState};
use super::ring::Ring;
use super::types::{OpId, SharedFd, Token};
use super::Pipe;

/// Offset meaning "the current file position" (and the only one valid for
/// pipes and sockets).
const CUR_POS: u64 = u64::MAX;

/// Lengths in an SQE are u32; longer buffers are used partly (short result).
fn sqe_len(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

fn fd_of(fd: &SharedFd) -> Fd {
    Fd(fd.as_raw_fd())
}

impl Ring {
    /// Multishot accept on a listening socket: one `Accept` completion per
    /// connection (accepted fds are CLOEXEC and non-blocking).
    pub fn accept_multishot(&mut self, listener: &SharedFd, token: Token) -> OpId {
        let ud = self.ops.insert(token, hold(&[listener]), OpState::Accept);
        let sqe = opcode::AcceptMulti::new(fd_of(listener))
            .flags(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC)
            .build()
            .user_data(ud);
        self.push(&[sqe]);
        OpId(ud)
    }

    /// One receive into a provided buffer.
    pub fn recv_provided(&mut self, fd: &SharedFd, token: Token) -> OpId {
        self.recv_provided_on(&Sock::Fd(SharedFd::clone(fd)), token)
    }

    /// [`Ring::recv_provided`] on a regular fd or a direct descriptor (the
    /// op holds `sock` either way, so its fd or slot outlives the op).
    pub fn recv_provided_on(&mut self, sock: &Sock, token: Token) -> OpId {
        let len = self.provided.as_ref().map_or(0, |p| p.borrow().buf_size());
        // No pointer: the kernel picks a buffer of group 0 (U5).
        let recv = match sock {
            Sock::Fd(fd) => opcode::Recv::new(fd_of(fd), std::ptr::null_mut(), len),
            Sock::Fixed(f) => opcode::Recv::new(Fixed(f.index()), std::ptr::null_mut(), len),
        };
        let held = Some(sock.clone());
        let ud = self
            .ops
            .insert_sock(token, hold(&[]), held, OpState::RecvProvided);
        let sqe = recv
            .buf_group(PROVIDED_GROUP)
            .build()
            .flags(squeue::Flags::BUFFER_SELECT)
            .user_data(ud);
        self.push(&[sqe]);
        OpId(ud)
    }

    /// [`Ring::send`] on a regular fd or a direct descriptor.
    pub fn send_on(&mut self, sock: &Sock, data: Vec<u8>, token: Token) -> OpId {
        let fixed = match sock {
            Sock::Fd(fd) => return self.send(fd, data, token),
            Sock::Fixed(f) => Fixed(f.index()),
        };
        // Heap pointer of the Vec: stays put when the Vec moves into the slot (U2).
        let (ptr, len) = (data.as_ptr(), sqe_len(data.len()));
        let held = Some(sock.clone());
        let ud = self
            .ops
            .insert_sock(token, hold(&[]), held, OpState::Send(data));
        let sqe = opcode::Send::new(fixed, ptr, len)
            .flags(libc::MSG_NOSIGNAL)
            .build()
            .user_data(ud);
        self.push(&[sqe]);
        OpId(ud)
    }

    /// shutdown(SHUT_RDWR): at once on a regular fd (returns `None`), as an
    /// op on a direct descriptor (its `Shutdown` completion carries `token`).
    pub fn shutdown_on(&mut self, sock: &Sock, token: Token) -> Option<OpId> {
        let fixed = match sock {
            Sock::Fd(fd) => {
                let _ =
                    nix::sys::socket::shutdown(fd.as_raw_fd(), nix::sys::socket::Shutdown::Both);
                return None;
            }
            Sock::Fixed(f) => Fixed(f.index()),
        };
        let held = Some(sock.clone());
        let ud = self
            .ops
            .insert_sock(token, hold(&[]), held, OpState::Shutdown);
        let sqe = opcode::Shutdown::new(fixed, libc::SHUT_RDWR)
            .build()
            .user_data(ud);
        self.push(&[sqe]);
        Some(OpId(ud))
    }

    /// Receives up to `len` bytes (at most `buf.capacity()`) from a socket
    /// into the start of a registered buffer.
    pub fn recv_fixed(&mut self, fd: &SharedFd, buf: FixedBuf, len: usize, token: Token) -> OpId {
        let (ptr, index) = (buf.ptr(), buf.index());
        let len = sqe_len(len.min(buf.capacity()));
        let ud = self.ops.insert(token, hold(&[fd]), OpState::RecvFixed(buf));
        // Offset 0: sockets have no position (READ_FIXED ignores it there).
        let sqe = opcode::ReadFixed::new(fd_of(fd), ptr, len, index)
            .offset(0)
            .build()
            .user_data(ud);
        self.push(&[sqe]);
        OpId(ud)
    }

    /// Writes `buf[0..len]` to a file at `offset` (WRITE_FIXED).
    pub fn write_fixed(
        &mut self,
        file: &SharedFd,
        buf: FixedBuf,
        len: usize,
        offset: u64,
        token: Token,
    ) -> OpId {
        let (ptr, index) = (buf.ptr(), buf.index());
        let len = sqe_len(len.min(buf.capacity()));
        let ud = self
            .ops
            .insert(token, hold(&[file]), OpState::WriteFixed(buf));
        let sqe = opcode::WriteFixed::new(fd_of(file), ptr, len, index)
            .offset(offset)
            .build()
            .user_data(ud);
        self.push(&[sqe]);
        OpId(ud)
    }

    /// Sends `data` (the whole Vec) on a socket with MSG_NOSIGNAL.
    pub fn send(&mut self, fd: &SharedFd, data: Vec<u8>, token: Token) -> OpId {
        self.send_from(fd, data, 0, token)
    }

    /// Sends `data[offset..]` (for the rest after a short send). An offset
    /// past the end sends nothing (completes with `Ok(0)`).
    pub fn send_from(&mut self, fd: &SharedFd, data: Vec<u8>, offset: usize, token: Token) -> OpId {
        let offset = offset.min(data.len());
        // Heap pointer of the Vec: stays put when the Vec moves into the slot (U2).
        let ptr = data.as_ptr().wrapping_add(offset);
        let len = sqe_len(data.len() - offset);
        let ud = self.ops.insert(token, hold(&[fd]), OpState::Send(data));
        let sqe = opcode::Send::new(fd_of(fd), ptr, len)
            .flags(libc::MSG_NOSIGNAL)
            .build()
            .user_data(ud);
        self.push(&[sqe]);
        OpId(ud)
    }

    /// Connects a (non-blocking) socket to `addr`.
    pub fn connect(&mut self, fd: &SharedFd, addr: SocketAddr, token: Token) -> OpId {
        let addr = Box::new(SockaddrStorage::from(addr));
        let (ptr, len) = (addr.as_ptr(), addr.len());
        let ud = self.ops.insert(token, hold(&[fd]), OpState::Connect(addr));
        let sqe = opcode::Connect::new(fd_of(fd), ptr, len)
            .build()
            .user_data(ud);
        self.push(&[sqe]);
        OpId(ud)
    }

    /// One-shot poll for `events` (libc::POLLIN/POLLOUT…) on `fd`.
    pub fn poll_once(&mut self, fd: &SharedFd, events: u32, token: Token) -> OpId {
        let ud = self.ops.insert(token, hold(&[fd]), OpState::Poll);
        let sqe = opcode::PollAdd::new(fd_of(fd), events)
            .build()
            .user_data(ud);
        self.push(&[sqe]);
        OpId(ud)
    }

    /// Linked splice file→pipe (at `file_offset`, up to `len`) then pipe→socket
    /// (up to `len`): one `Splice` completion carrying both results.
    pub fn splice_pair(
        &mut self,
        file: &SharedFd,
        file_offset: u64,
        pipe: &Pipe,
        sock: &SharedFd,
        len: u32,
        token: Token,
    ) -> OpId {
        let held = hold(&[file, &pipe.write, &pipe.read, sock]);
        let state = OpState::Splice {
            into_pipe: None,
            out_of_pipe: None,
        };
        let ud = self.ops.insert(token, held, state);
        // Offsets above i64::MAX would read as -1 ("current position").
        let off_in = i64::try_from(file_offset).unwrap_or(i64::MAX);
        let first = opcode::Splice::new(fd_of(file), off_in, fd_of(&pipe.write), -1, len)
            .build()
            .flags(squeue::Flags::IO_LINK)
            .user_data(ud);
        let second = opcode::Splice::new(fd_of(&pipe.read), -1, fd_of(sock), -1, len)
            .build()
            .user_data(part2_of(ud));
        // One push: the pair must land contiguously in one submission.
        self.push(&[first, second]);
        OpId(ud)
    }

    /// Splice pipe→socket only (draining what a short pipe→socket left).
    pub fn splice_out(&mut self, pipe: &Pipe, sock: &SharedFd, len: u32, token: Token) -> OpId {
        let ud = self
            .ops
            .insert(token, hold(&[&pipe.read, sock]), OpState::SpliceOut);
        let sqe = opcode::Splice::new(fd_of(&pipe.read), -1, fd_of(sock), -1, len)
            .build()
            .user_data(ud);
        self.push(&[sqe]);
        OpId(ud)
    }

    /// Reads into `buf` (its capacity; len is set on completion) from `fd` at
    /// `offset` (`u64::MAX` = current position, for sockets and pipes).
    pub fn read_into(
        &mut self,
        fd: &SharedFd,
        mut buf: Vec<u8>,
        offset: u64,
        token: Token,
    ) -> OpId {
        let (ptr, len) = (buf.as_mut_ptr(), sqe_len(buf.capacity()));
        let ud = self.ops.insert(token, hold(&[fd]), OpState::Read(buf));
        let sqe = opcode::Read::new(fd_of(fd), ptr, len)
            .offset(offset)
            .build()
            .user_data(ud);
        self.push(&[sqe]);
        OpId(ud)
    }

    /// Reads an 8-byte counter (eventfd).
    pub fn read_u64(&mut self, fd: &SharedFd, token: Token) -> OpId {
        let mut buf = Box::new([0u8; 8]);
        let ptr = buf.as_mut_ptr();
        let ud = self.ops.insert(token, hold(&[fd]), OpState::ReadU64(buf));
        let sqe = opcode::Read::new(fd_of(fd), ptr, 8)
            .offset(CUR_POS)
            .build()
            .user_data(ud);
        self.push(&[sqe]);
        OpId(ud)
    }

    /// A relative timeout.
    pub fn timeout(&mut self, after: Duration, token: Token) -> OpId {
        let ts = Box::new(Timespec::from(after));
        let ptr: *const Timespec = &*ts;
        let ud = self.ops.insert(token, hold(&[]), OpState::Timeout(ts));
        let sqe = opcode::Timeout::new(ptr).build().user_data(ud);
        self.push(&[sqe]);
        OpId(ud)
    }
}
