//! STOR with receive and write overlapping (issue 9): each upload receives
//! into one registered buffer while the previous one is written, so its
//! bytes cross buffers in flight at once. Small buffers (4 KiB) make every
//! upload cross thousands of buffer edges; a pool of three makes uploads
//! that hold two buffers share with uploads that wait for one.
//!
//! - 64 MiB byte-exact in each data-connection mode (TYPE I), and in TYPE A
//!   with CRs at buffer edges (RFC 959 §3.1.1.1: CRLF → LF, a lone CR kept).
//! - REST + STOR and APPE write at the right offsets across buffers.
//! - Six uploads at once on three buffers: all exact (the buffer waiters).
//! - A client that trickles a few bytes per write (TYPE A, CR carried).
//! - ABOR during a double-buffered STOR: 426 + 226, the file does not grow
//!   after the reply, and the server keeps serving.

mod support;

use std::fs;
use std::io::Write;
use std::net::TcpStream;

use support::ftp::Ftp;
use support::{pattern, users_file, Mode, Server, ServerOpts, TempDir, PASS, USER};

const PASV: (u16, u16) = (31000, 31999);

/// One worker, 4 KiB upload buffers, `count` of them.
fn server(tag: &str, count: &str) -> (TempDir, Server) {
    let root = TempDir::new(tag);
    let users = users_file(root.path(), &[(USER, root.path(), "all")]);
    let opts = ServerOpts::new(PASV)
        .users(users)
        .cores(1)
        .arg("--upload-buffer-size-bytes")
        .arg("4096")
        .arg("--upload-buffers-count")
        .arg(count);
    let server = Server::start(root.path(), opts);
    (root, server)
}

/// TYPE A network form → local form: CRLF → LF, any other CR kept.
fn from_network(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i] == b'\r' && data.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(data[i]);
        i += 1;
    }
    out
}

/// Compares without printing 64 MiB on failure.
fn assert_same(got: &[u8], want: &[u8], what: &str) {
    let first = got.iter().zip(want).position(|(a, b)| a != b);
    assert!(
        got.len() == want.len() && first.is_none(),
        "{what}: {} bytes, want {}, first difference at {first:?}",
        got.len(),
        want.len()
    );
}

#[test]
fn stor_of_64_mib_is_exact_in_each_mode() {
    let (root, server) = server("overlap-modes", "16");
    let mut f = Ftp::login(server.port, USER, PASS);
    for (i, mode) in Mode::ALL.into_iter().enumerate() {
        let body = pattern(64 << 20, i as u64 + 1);
        let name = format!("m{i}.bin");
        f.upload(mode, &format!("STOR {name}"), &body);
        assert_same(&fs::read(root.join(&name)).unwrap(), &body, &name);
    }
    f.quit();
}

#[test]
fn type_a_stor_of_64_mib_is_exact_with_crs_at_buffer_edges() {
    let (root, server) = server("overlap-ascii", "16");
    let mut f = Ftp::login(server.port, USER, PASS);
    f.expect("TYPE A", 200);
    // 4093 bytes ending in CR, then LF: the CR ends one receive and its LF
    // starts the next (receives are 4095 bytes in TYPE A); lone CRs too.
    let mut unit = vec![b'x'; 4092];
    unit.extend_from_slice(b"\r\nA\rB\r\n");
    let body: Vec<u8> = unit.repeat((64 << 20) / unit.len());
    f.upload(Mode::Epsv, "STOR a.txt", &body);
    assert_same(
        &fs::read(root.join("a.txt")).unwrap(),
        &from_network(&body),
        "TYPE A",
    );
    f.quit();
}

#[test]
fn rest_stor_and_appe_write_at_their_offsets_across_buffers() {
    let (root, server) = server("overlap-rest", "16");
    let mut f = Ftp::login(server.port, USER, PASS);
    let head = pattern(3 << 20, 7);
    fs::write(root.join("r.bin"), &head).unwrap();
    // REST into the middle, then 5 MiB: the file is head[..1 MiB+3] + tail.
    let tail = pattern(5 << 20, 8);
    let at = (1 << 20) + 3;
    f.expect(&format!("REST {at}"), 350);
    f.upload(Mode::Pasv, "STOR r.bin", &tail);
    let mut want = head[..at].to_vec();
    want.extend_from_slice(&tail);
    assert_same(&fs::read(root.join("r.bin")).unwrap(), &want, "REST STOR");
    let more = pattern((2 << 20) + 1, 9);
    f.upload(Mode::Epsv, "APPE r.bin", &more);
    want.extend_from_slice(&more);
    assert_same(&fs::read(root.join("r.bin")).unwrap(), &want, "APPE");
    f.quit();
}

#[test]
fn six_uploads_on_three_buffers_are_all_exact() {
    let (root, server) = server("overlap-waiters", "3");
    let port = server.port;
    let threads: Vec<_> = (0..6u64)
        .map(|i| {
            std::thread::spawn(move || {
                let body = pattern(8 << 20, 100 + i);
                let mut f = Ftp::login(port, USER, PASS);
                let name = format!("w{i}.bin");
                f.upload(Mode::Epsv, &format!("STOR {name}"), &body);
                f.quit();
                (name, body)
            })
        })
        .collect();
    for t in threads {
        let (name, body) = t.join().expect("upload thread");
        assert_same(&fs::read(root.join(&name)).unwrap(), &body, &name);
    }
}

#[test]
fn a_trickling_type_a_client_is_exact() {
    let (root, server) = server("overlap-trickle", "16");
    let mut f = Ftp::login(server.port, USER, PASS);
    f.expect("TYPE A", 200);
    let body: Vec<u8> = b"ab\r\ncd\r\r\n\n\r".repeat(20_000);
    let mut data = f.start(Mode::Pasv, "STOR t.txt");
    data.set_nodelay(true).unwrap();
    // Writes of 1..=7 bytes: many receives of a few bytes, CRs split from
    // their LFs.
    let mut rest = &body[..];
    let mut n = 1;
    while !rest.is_empty() {
        let k = n.min(rest.len());
        data.write_all(&rest[..k]).unwrap();
        rest = &rest[k..];
        n = n % 7 + 1;
    }
    drop(data);
    let r = f.reply("STOR t.txt");
    assert_eq!(r.code, 226, "{r:?}");
    assert_same(
        &fs::read(root.join("t.txt")).unwrap(),
        &from_network(&body),
        "trickle",
    );
    f.quit();
}

#[test]
fn abor_during_a_double_buffered_stor_stops_it() {
    let (root, server) = server("overlap-abor", "16");
    let mut f = Ftp::login(server.port, USER, PASS);
    let data: TcpStream = f.start(Mode::Epsv, "STOR big.bin");
    let feeder = {
        let mut data = data.try_clone().unwrap();
        std::thread::spawn(move || {
            // Until the server closes the connection (ABOR).
            let chunk = pattern(1 << 20, 3);
            while data.write_all(&chunk).is_ok() {}
        })
    };
    // Bytes are moving once the file has some.
    while fs::metadata(root.join("big.bin")).map_or(0, |m| m.len()) < (4 << 20) {
        std::thread::yield_now();
    }
    f.send("ABOR");
    let r = f.reply("STOR big.bin");
    assert_eq!(r.code, 426, "{r:?}");
    let r = f.reply("ABOR");
    assert_eq!(r.code, 226, "{r:?}");
    // No write of the aborted transfer lands after the reply.
    let size = fs::metadata(root.join("big.bin")).unwrap().len();
    f.expect("NOOP", 200);
    let _ = data.shutdown(std::net::Shutdown::Both);
    feeder.join().expect("feeder");
    f.expect("NOOP", 200);
    assert_eq!(fs::metadata(root.join("big.bin")).unwrap().len(), size);
    // The server still takes uploads (its buffers came back).
    let body = pattern(1 << 20, 4);
    f.upload(Mode::Pasv, "STOR after.bin", &body);
    assert_same(&fs::read(root.join("after.bin")).unwrap(), &body, "after");
    f.quit();
}
