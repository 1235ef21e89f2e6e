//! Direct descriptors: a socket moved into the ring's file table serves
//! recv, send and shutdown through its slot; its fd number is given back at
//! once, and the slot is emptied (closing the socket) when the last holder
//! drops.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};

use super::{small_cfg, Harness};
use crate::engine::{CompletionKind, RingConfig, Sock};

fn with_files(n: u32) -> Harness {
    Harness::new(&RingConfig {
        fixed_files_count: n,
        ..small_cfg()
    })
}

fn fd_is_open(raw: i32) -> bool {
    std::path::Path::new(&format!("/proc/self/fd/{raw}")).exists()
}

#[test]
fn adopted_socket_receives_sends_shuts_down_and_its_slot_is_reused() {
    let mut h = with_files(2);
    assert_eq!(h.ring.fixed_files(), Ok(2));
    let (server, mut client) = super::tcp_pair();
    let server = std::rc::Rc::try_unwrap(server).unwrap();
    let sock = h.ring.adopt(server).unwrap_or_else(|_| panic!("adopt"));
    assert!(matches!(sock, Sock::Fixed(_)));
    assert_eq!(h.ring.fixed_files_used(), 1);
    client.write_all(b"NOOP\r\n").unwrap();
    let op = h.ring.recv_provided_on(&sock, 1);
    match h.wait(op).kind {
        CompletionKind::Recv(Ok(Some(buf))) => assert_eq!(buf.data(), b"NOOP\r\n"),
        _ => panic!("recv on the direct descriptor"),
    }
    let op = h.ring.send_on(&sock, b"200 ok\r\n".to_vec(), 2);
    assert!(matches!(h.wait(op).kind, CompletionKind::Send(Ok(8), _)));
    let mut got = [0u8; 8];
    client.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"200 ok\r\n");
    let op = h
        .ring
        .shutdown_on(&sock, 3)
        .expect("an op on a direct descriptor");
    assert!(matches!(h.wait(op).kind, CompletionKind::Shutdown(Ok(()))));
    let mut rest = Vec::new();
    assert_eq!(
        client.read_to_end(&mut rest).unwrap(),
        0,
        "EOF after shutdown"
    );
    drop(sock);
    // The slot is emptied before the next submission, then free again.
    h.ring.submit_and_wait(0, None).unwrap();
    assert_eq!(h.ring.fixed_files_used(), 0);
}

#[test]
fn a_full_table_gives_the_fd_back_and_no_table_means_regular_fds() {
    let mut h = with_files(1);
    let (a, _ca) = super::tcp_pair();
    let (b, _cb) = super::tcp_pair();
    let a = h.ring.adopt(std::rc::Rc::try_unwrap(a).unwrap());
    assert!(a.is_ok());
    let b: OwnedFd = std::rc::Rc::try_unwrap(b).unwrap();
    let raw = b.as_raw_fd();
    let back = h.ring.adopt(b).expect_err("no free slot");
    assert_eq!(back.as_raw_fd(), raw);
    assert!(fd_is_open(raw));
    let mut plain = Harness::small();
    assert_eq!(plain.ring.fixed_files(), Err(nix::errno::Errno::ENOTSUP));
    assert!(plain.ring.adopt(back).is_err());
}
