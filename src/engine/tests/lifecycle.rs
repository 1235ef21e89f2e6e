//! Timeouts, cancellation, shutdown, a full SQ and error texts.

use std::io::Write;
use std::time::Duration;

use nix::errno::Errno;

use super::{small_cfg, tcp_pair, Harness};
use crate::engine::{CompletionKind, EngineError, OpId, Pipe, Ring, RingConfig};

#[test]
fn setup_description_names_the_flags() {
    let h = Harness::small();
    assert!(!h.ring.setup_description().is_empty());
}

#[test]
fn timeout_expires() {
    let mut h = Harness::small();
    let op = h.ring.timeout(Duration::from_millis(5), 11);
    let c = h.wait(op);
    assert_eq!(c.token, 11);
    assert!(matches!(c.kind, CompletionKind::Timeout(Ok(()))), "{c:?}");
    assert_eq!(h.ring.in_flight(), 0);
}

#[test]
fn cancelled_timeout_reports_ecanceled() {
    let mut h = Harness::small();
    let op = h.ring.timeout(Duration::from_secs(60), 1);
    let c = h.cancel_last(op);
    assert!(
        matches!(c.kind, CompletionKind::Timeout(Err(Errno::ECANCELED))),
        "{c:?}"
    );
}

#[test]
fn cancel_pending_recv_and_stale_ids() {
    let mut h = Harness::small();
    let (server, mut client) = tcp_pair();
    let op = h.ring.recv_provided(&server, 1);
    let c = h.cancel_last(op);
    assert!(
        matches!(c.kind, CompletionKind::Recv(Err(Errno::ECANCELED))),
        "{c:?}"
    );

    // Cancelling a completed id is a no-op, even once its slot is reused.
    h.ring.cancel(op);
    let again = h.ring.recv_provided(&server, 2);
    h.ring.cancel(op);
    h.ring.cancel(OpId(0x1234_0000_0000));
    client.write_all(b"x").unwrap();
    let CompletionKind::Recv(Ok(Some(buf))) = h.wait(again).kind else {
        panic!()
    };
    assert_eq!(buf.data(), b"x");
    drop(buf);

    // The internal cancel CQEs are never delivered.
    h.ring.submit_and_wait(0, None).unwrap();
    h.ring.completions(&mut h.pending);
    assert!(h.pending.is_empty(), "{:?}", h.pending);
    assert_eq!(h.ring.in_flight(), 0);
}

#[test]
fn shutdown_with_ops_in_flight() {
    let mut h = Harness::small();
    let (server, _client) = tcp_pair();
    let (server2, _client2) = tcp_pair();
    let pipe = Pipe::new(0).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let lfd = std::rc::Rc::new(std::os::fd::OwnedFd::from(listener));
    h.ring.accept_multishot(&lfd, 1);
    h.ring.recv_provided(&server, 2);
    let buf = h.ring.take_fixed_buf().unwrap();
    h.ring.recv_fixed(&server2, buf, usize::MAX, 3);
    h.ring.timeout(Duration::from_secs(60), 4);
    h.ring
        .read_into(&pipe.read, Vec::with_capacity(64), u64::MAX, 5);
    h.ring.poll_once(&server, libc::POLLIN as u32, 6);
    h.ring.submit_and_wait(0, None).unwrap();
    assert_eq!(h.ring.in_flight(), 6);

    h.ring.shutdown();
    assert_eq!(h.ring.in_flight(), 0);
    // The fixed buffer came back to the pool.
    let all: Vec<_> = std::iter::from_fn(|| h.ring.take_fixed_buf()).collect();
    assert_eq!(all.len(), 4);
}

#[test]
fn drop_with_ops_in_flight_returns() {
    let mut ring = Ring::new(&small_cfg()).unwrap();
    let (server, _client) = tcp_pair();
    ring.recv_provided(&server, 1);
    ring.timeout(Duration::from_secs(60), 2);
    // Never submitted: Drop must still drain them.
    drop(ring);
}

#[test]
fn full_sq_never_drops_an_op() {
    let cfg = RingConfig {
        sq_entries: 4,
        ..small_cfg()
    };
    let mut h = Harness::new(&cfg);
    let ops: Vec<_> = (0..50)
        .map(|i| h.ring.timeout(Duration::from_micros(100), i))
        .collect();
    for op in ops {
        assert!(matches!(h.wait(op).kind, CompletionKind::Timeout(Ok(()))));
    }
    assert_eq!(h.ring.in_flight(), 0);
}

#[test]
fn refused_text_is_one_line_with_cause_and_fix() {
    for e in [
        Errno::EPERM,
        Errno::ENOSYS,
        Errno::ENOMEM,
        Errno::EINVAL,
        Errno::EFAULT,
    ] {
        let text = EngineError::Refused(e).to_string();
        assert!(!text.contains('\n'), "{text}");
        assert!(text.contains(&format!("{e:?}")), "{text}");
    }
    let eperm = EngineError::Refused(Errno::EPERM).to_string();
    assert!(eperm.contains("io_uring_disabled"), "{eperm}");
    assert!(EngineError::Register(Errno::ENOMEM)
        .to_string()
        .contains("ulimit -l"));
}
