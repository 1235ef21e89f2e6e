//! Accept, provided-buffer receive, send, connect, poll, eventfd.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::{AsFd, OwnedFd};
use std::rc::Rc;

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};

use super::{small_cfg, tcp_pair, Harness};
use crate::engine::{CompletionKind, RingConfig, SharedFd};

/// A fresh IPv4 TCP socket, non-blocking and close-on-exec, for `connect`.
fn unconnected_tcp4() -> SharedFd {
    let flags = SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC;
    Rc::new(socket(AddressFamily::Inet, SockType::Stream, flags, None).unwrap())
}

fn assert_nonblock_cloexec(fd: impl AsFd) {
    let fl = OFlag::from_bits_truncate(fcntl(fd.as_fd(), FcntlArg::F_GETFL).unwrap());
    assert!(fl.contains(OFlag::O_NONBLOCK), "accepted fd is blocking");
    let fdfl = FdFlag::from_bits_truncate(fcntl(fd.as_fd(), FcntlArg::F_GETFD).unwrap());
    assert!(
        fdfl.contains(FdFlag::FD_CLOEXEC),
        "accepted fd lacks CLOEXEC"
    );
}

#[test]
fn accept_multishot_recv_provided_send_round_trip() {
    let mut h = Harness::small();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let lfd = Rc::new(OwnedFd::from(listener));
    let acc = h.ring.accept_multishot(&lfd, 1);

    let mut clients = Vec::new();
    let mut conns = Vec::new();
    for _ in 0..2 {
        clients.push(TcpStream::connect(addr).unwrap());
        let c = h.wait(acc);
        assert!(c.more, "multishot accept ended early");
        let CompletionKind::Accept(Ok(fd)) = c.kind else {
            panic!("{c:?}")
        };
        assert_nonblock_cloexec(&fd);
        conns.push(Rc::new(fd));
    }

    clients[1].write_all(b"USER anonymous\r\n").unwrap();
    let rx = h.ring.recv_provided(&conns[1], 2);
    let c = h.wait(rx);
    assert_eq!(c.token, 2);
    let CompletionKind::Recv(Ok(Some(buf))) = c.kind else {
        panic!("{c:?}")
    };
    assert_eq!(buf.data(), b"USER anonymous\r\n");
    drop(buf);

    let tx = h.ring.send(&conns[1], b"331 ok\r\n".to_vec(), 3);
    let CompletionKind::Send(Ok(8), data) = h.wait(tx).kind else {
        panic!()
    };
    assert_eq!(data, b"331 ok\r\n");
    let mut got = [0u8; 8];
    clients[1].read_exact(&mut got).unwrap();
    assert_eq!(&got, b"331 ok\r\n");

    // A short-send tail goes out with send_from.
    let tx = h.ring.send_from(&conns[1], b"xx221 bye\r\n".to_vec(), 2, 4);
    assert!(matches!(h.wait(tx).kind, CompletionKind::Send(Ok(9), _)));
    let mut got = [0u8; 9];
    clients[1].read_exact(&mut got).unwrap();
    assert_eq!(&got, b"221 bye\r\n");

    clients[1].shutdown(Shutdown::Write).unwrap();
    let rx = h.ring.recv_provided(&conns[1], 5);
    assert!(
        matches!(h.wait(rx).kind, CompletionKind::Recv(Ok(None))),
        "EOF expected"
    );

    let c = h.cancel_last(acc);
    assert!(!c.more);
    assert!(
        matches!(c.kind, CompletionKind::Accept(Err(Errno::ECANCELED))),
        "{c:?}"
    );
}

#[test]
fn connect_to_std_listener() {
    let mut h = Harness::small();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let sock = unconnected_tcp4();
    let op = h.ring.connect(&sock, listener.local_addr().unwrap(), 7);
    let c = h.wait(op);
    assert_eq!(c.token, 7);
    assert!(matches!(c.kind, CompletionKind::Connect(Ok(()))), "{c:?}");
    let (mut peer, _) = listener.accept().unwrap();

    // The connection carries data: poll for readability, then read it.
    peer.write_all(b"hi").unwrap();
    let op = h.ring.poll_once(&sock, libc::POLLIN as u32, 8);
    let CompletionKind::Poll(Ok(mask)) = h.wait(op).kind else {
        panic!()
    };
    assert!(mask & libc::POLLIN as u32 != 0);
    let op = h.ring.read_into(&sock, Vec::with_capacity(16), u64::MAX, 9);
    let CompletionKind::Read(Ok(2), buf) = h.wait(op).kind else {
        panic!()
    };
    assert_eq!(buf, b"hi");
    assert_eq!(h.ring.in_flight(), 0);
}

#[test]
fn connect_refused_is_an_error_completion() {
    let mut h = Harness::small();
    // Bind then drop: the port is (almost surely) closed now.
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let sock = unconnected_tcp4();
    let op = h.ring.connect(&sock, addr, 1);
    let c = h.wait(op);
    assert!(
        matches!(c.kind, CompletionKind::Connect(Err(Errno::ECONNREFUSED))),
        "{c:?}"
    );
}

#[test]
fn enobufs_when_provided_pool_is_empty_then_rearm() {
    let cfg = RingConfig {
        provided_bufs_count: 1,
        ..small_cfg()
    };
    let mut h = Harness::new(&cfg);
    let (server, mut client) = tcp_pair();
    client.write_all(b"a").unwrap();
    let first = h.ring.recv_provided(&server, 1);
    let CompletionKind::Recv(Ok(Some(held))) = h.wait(first).kind else {
        panic!()
    };
    assert_eq!(held.data(), b"a");

    // The only buffer is with us: more receives than buffers.
    client.write_all(b"b").unwrap();
    let second = h.ring.recv_provided(&server, 2);
    let c = h.wait(second);
    assert!(
        matches!(c.kind, CompletionKind::Recv(Err(Errno::ENOBUFS))),
        "{c:?}"
    );

    // The pool survives: recycle and re-arm.
    drop(held);
    let third = h.ring.recv_provided(&server, 3);
    let CompletionKind::Recv(Ok(Some(buf))) = h.wait(third).kind else {
        panic!()
    };
    assert_eq!(buf.data(), b"b");
    drop(buf);
    assert_eq!(h.ring.in_flight(), 0);
}

#[test]
fn read_u64_from_eventfd() {
    let mut h = Harness::small();
    let flags = EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK;
    let efd = EventFd::from_value_and_flags(0, flags).unwrap();
    efd.write(5).unwrap();
    let fd = Rc::new(OwnedFd::from(efd));
    let op = h.ring.read_u64(&fd, 1);
    assert!(matches!(h.wait(op).kind, CompletionKind::ReadU64(Ok(5))));
}
