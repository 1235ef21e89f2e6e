//! Fixed buffers, splice and file reads.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::thread::JoinHandle;

use nix::errno::Errno;

use super::{tcp_pair, temp_path, Completion, Harness};
use crate::engine::{CompletionKind, Pipe, SharedFd};

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

/// A temp file holding `data`, opened read-only (the path is already gone).
fn file_with(data: &[u8]) -> SharedFd {
    let path = temp_path("src");
    File::create(&path).unwrap().write_all(data).unwrap();
    let file = File::open(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    Rc::new(OwnedFd::from(file))
}

/// Reads exactly `n` bytes on another thread (the peer of a blocking send).
fn read_n(mut client: TcpStream, n: usize) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut got = vec![0u8; n];
        client.read_exact(&mut got).unwrap();
        got
    })
}

#[test]
fn recv_fixed_then_write_fixed_to_file() {
    let mut h = Harness::small();
    let (server, mut client) = tcp_pair();
    let msg = pattern(3000);
    client.write_all(&msg).unwrap();

    let mut buf = h.ring.take_fixed_buf().expect("a free fixed buffer");
    assert_eq!(buf.capacity(), 64 * 1024);
    let mut got = Vec::new();
    while got.len() < msg.len() {
        let op = h.ring.recv_fixed(&server, buf, usize::MAX, 1);
        let CompletionKind::RecvFixed(Ok(n), back) = h.wait(op).kind else {
            panic!()
        };
        assert!(n > 0, "early EOF");
        got.extend_from_slice(back.bytes(n));
        buf = back;
    }
    assert_eq!(got, msg);

    let path = temp_path("dst");
    let file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path);
    let file = Rc::new(OwnedFd::from(file.unwrap()));
    buf.bytes_mut()[..got.len()].copy_from_slice(&got);
    let op = h.ring.write_fixed(&file, buf, got.len(), 10, 2);
    let CompletionKind::WriteFixed(Ok(n), buf) = h.wait(op).kind else {
        panic!()
    };
    assert_eq!(n, got.len());
    drop(buf);
    assert_eq!(h.ring.fixed_bufs_free(), 4, "a dropped buffer goes back");

    let on_disk = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(&on_disk[..10], &[0u8; 10]);
    assert_eq!(&on_disk[10..], &msg[..]);
    assert_eq!(h.ring.in_flight(), 0);
}

#[test]
fn fixed_pool_hands_out_each_buffer_once_and_takes_them_back_on_drop() {
    let mut h = Harness::small();
    let bufs: Vec<_> = std::iter::from_fn(|| h.ring.take_fixed_buf()).collect();
    assert_eq!(bufs.len(), 4);
    let mut indexes: Vec<_> = bufs.iter().map(|b| format!("{b:?}")).collect();
    indexes.dedup();
    assert_eq!(indexes.len(), 4, "four different buffers");
    assert!(h.ring.take_fixed_buf().is_none());
    drop(bufs);
    assert_eq!(h.ring.fixed_bufs_free(), 4);
    assert!(h.ring.take_fixed_buf().is_some());
}

#[test]
fn a_buffer_in_a_dropped_completion_goes_back() {
    // A completion nobody wants (its connection is gone) is just dropped.
    let mut h = Harness::small();
    let (server, mut client) = tcp_pair();
    client.write_all(b"x").unwrap();
    let buf = h.ring.take_fixed_buf().unwrap();
    let op = h.ring.recv_fixed(&server, buf, usize::MAX, 1);
    assert_eq!(h.ring.fixed_bufs_free(), 3, "the op holds one");
    drop(h.wait(op));
    assert_eq!(h.ring.fixed_bufs_free(), 4);
}

/// A `splice_pair` completion's two results: file→pipe, pipe→socket.
fn splice_results(c: Completion) -> (Result<usize, Errno>, Result<usize, Errno>) {
    let CompletionKind::Splice {
        into_pipe,
        out_of_pipe,
    } = c.kind
    else {
        panic!()
    };
    (into_pipe, out_of_pipe)
}

/// Splices whatever is left in the pipe to the socket, waiting for
/// POLLOUT when the (non-blocking) socket is full.
fn drain_pipe(h: &mut Harness, pipe: &Pipe, sock: &SharedFd, mut left: usize) {
    while left > 0 {
        let op = h.ring.splice_out(pipe, sock, left as u32, 9);
        match h.wait(op).kind {
            CompletionKind::SpliceOut(Ok(n)) => left -= n,
            CompletionKind::SpliceOut(Err(Errno::EAGAIN)) => {
                let op = h.ring.poll_once(sock, libc::POLLOUT as u32, 9);
                assert!(matches!(h.wait(op).kind, CompletionKind::Poll(Ok(_))));
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn splice_pair_file_to_socket() {
    let mut h = Harness::small();
    let data = pattern(200_000);
    let file = file_with(&data);
    let pipe = Pipe::new(64 * 1024).unwrap();
    let (sock, client) = tcp_pair();
    // An unaligned start: the pipe's page slots then hold less than 64 KiB,
    // so some first splices are short, as on a real RETR with REST.
    let start = 1000;
    let reader = read_n(client, data.len() - start);

    let mut offset = start;
    while offset < data.len() {
        let len = (data.len() - offset).min(64 * 1024) as u32;
        let op = h
            .ring
            .splice_pair(&file, offset as u64, &pipe, &sock, len, 4);
        let c = h.wait(op);
        assert_eq!(c.token, 4);
        let (into_pipe, out_of_pipe) = splice_results(c);
        let moved = into_pipe.unwrap();
        assert!(moved > 0 && moved <= len as usize);
        let sent = match out_of_pipe {
            Ok(n) => n,
            Err(Errno::EAGAIN | Errno::ECANCELED) => 0,
            Err(e) => panic!("{e}"),
        };
        drain_pipe(&mut h, &pipe, &sock, moved - sent);
        offset += moved;
    }
    assert_eq!(reader.join().unwrap(), &data[start..]);
    assert_eq!(h.ring.in_flight(), 0);
}

#[test]
fn splice_pair_from_file_shorter_than_len() {
    let mut h = Harness::small();
    let data = pattern(1000);
    let file = file_with(&data);
    let pipe = Pipe::new(64 * 1024).unwrap();
    let (sock, client) = tcp_pair();
    let reader = read_n(client, 1000);

    let op = h.ring.splice_pair(&file, 0, &pipe, &sock, 4096, 5);
    let (into_pipe, out_of_pipe) = splice_results(h.wait(op));
    assert_eq!(into_pipe, Ok(1000));
    // The short first splice breaks the link: the data waits in the pipe.
    let sent = match out_of_pipe {
        Ok(n) => n,
        Err(Errno::ECANCELED) => 0,
        Err(e) => panic!("{e}"),
    };
    drain_pipe(&mut h, &pipe, &sock, 1000 - sent);
    assert_eq!(reader.join().unwrap(), data);

    // At EOF the first splice moves nothing.
    let op = h.ring.splice_pair(&file, 1000, &pipe, &sock, 4096, 6);
    let (into_pipe, _) = splice_results(h.wait(op));
    assert_eq!(into_pipe, Ok(0));
    assert_eq!(h.ring.in_flight(), 0);
}

#[test]
fn read_into_file_at_offset() {
    let mut h = Harness::small();
    let data = pattern(5000);
    let file = file_with(&data);
    let op = h.ring.read_into(&file, Vec::with_capacity(100), 4950, 1);
    let CompletionKind::Read(Ok(50), buf) = h.wait(op).kind else {
        panic!()
    };
    assert_eq!(buf, &data[4950..]);
}
