//! Shutdown and restart, on real processes: SIGTERM drains (listeners shut
//! at once, idle sessions 421, running downloads finish byte-exact, exit 0);
//! `--shutdown-grace-secs` ends transfers that run longer (426, 421); a
//! second SIGTERM stops at once; a second process on the same port
//! (SO_REUSEPORT) takes new connections while the old one drains; sd_notify
//! READY/RELOADING/STOPPING on `$NOTIFY_SOCKET`.
//!
//! Passive ports: 26100-26199.

mod common;

use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use common::ftp::{Ftp, Reply};
use common::{write_big_file, Mode, Server, ServerOpts, TempDir};
use nix::sys::signal::Signal;
use sha2::{Digest, Sha256};

/// Big enough that loopback socket buffers cannot hold it: the server is
/// still sending while the client holds back.
const BIG: u64 = 64 << 20;

/// Starts `RETR big.bin` and reads its first 64 KiB: the transfer is running.
fn start_slow_download(f: &mut Ftp, mode: Mode) -> (TcpStream, Sha256) {
    let mut data = f.start(mode, "RETR big.bin");
    let mut first = vec![0u8; 64 * 1024];
    data.read_exact(&mut first).expect("first bytes");
    let mut h = Sha256::new();
    h.update(&first);
    (data, h)
}

/// Reads the rest of the download; returns the sha256 of all of it.
fn finish_download(mut data: TcpStream, mut h: Sha256) -> (String, u64) {
    let (_, n) = common::sha256_reader(HashInto(&mut data, &mut h)).expect("read the rest");
    (common::hex(&h.finalize()), n + 64 * 1024)
}

/// A reader that also feeds `h`.
struct HashInto<'a>(&'a mut TcpStream, &'a mut Sha256);

impl Read for HashInto<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.read(buf)?;
        self.1.update(&buf[..n]);
        Ok(n)
    }
}

fn root_with_big_file(dir: &TempDir) -> (std::path::PathBuf, String) {
    let root = dir.join("root");
    std::fs::create_dir_all(&root).unwrap();
    let hash = write_big_file(&root.join("big.bin"), BIG);
    (root, hash)
}

fn assert_refused(port: u16) {
    match TcpStream::connect(("127.0.0.1", port)) {
        Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}"),
        Ok(mut s) => {
            // Accepted by nobody: the kernel resets it, or it was closed.
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut b = [0u8; 64];
            let r = s.read(&mut b);
            assert!(
                matches!(r, Ok(0) | Err(_)),
                "a new connection was served during the drain: {:?}",
                r.map(|n| String::from_utf8_lossy(&b[..n]).into_owned())
            );
        }
    }
}

#[test]
fn sigterm_drains_a_running_download_then_exits_0() {
    let dir = TempDir::new("drain");
    let (root, hash) = root_with_big_file(&dir);
    let server = Server::start(&root, ServerOpts::new((26100, 26109)).cores(1));
    let port = server.port;
    let mut idle = Ftp::anonymous(port);
    let mut busy = Ftp::anonymous(port);
    let (data, h) = start_slow_download(&mut busy, Mode::Pasv);

    server.signal(Signal::SIGTERM);
    // The idle session is told at once, and closed.
    let r = idle.reply("(drain)");
    assert_eq!(r.code, 421, "{r:?}");
    assert_refused(port);

    // The download goes on to its end, byte-exact; then 226, then 421.
    let (got, n) = finish_download(data, h);
    assert_eq!(n, BIG);
    assert_eq!(got, hash);
    assert_eq!(busy.reply("RETR big.bin").code, 226);
    assert_eq!(busy.reply("(drain after the transfer)").code, 421);
    let status = server.wait_exit(Duration::from_secs(30));
    assert_eq!(status.and_then(|s| s.code()), Some(0));
}

#[test]
fn grace_time_over_gives_426_then_421_and_a_second_sigterm_stops_at_once() {
    let dir = TempDir::new("grace");
    let (root, _) = root_with_big_file(&dir);
    let server = Server::start(
        &root,
        ServerOpts::new((26110, 26119))
            .cores(1)
            .arg("--shutdown-grace-secs")
            .arg("1"),
    );
    let mut busy = Ftp::anonymous(server.port);
    let (_data, _h) = start_slow_download(&mut busy, Mode::Epsv);
    server.signal(Signal::SIGTERM);
    // The client never reads again: after 1 s the transfer is aborted.
    let r: Reply = busy.reply("RETR big.bin");
    assert_eq!(r.code, 426, "{r:?}");
    assert_eq!(busy.reply("(grace over)").code, 421);
    let status = server.wait_exit(Duration::from_secs(30));
    assert_eq!(status.and_then(|s| s.code()), Some(0));

    // A second SIGTERM does not wait for the grace time.
    let server = Server::start(
        &root,
        ServerOpts::new((26110, 26119))
            .cores(1)
            .arg("--shutdown-grace-secs")
            .arg("600"),
    );
    let mut idle = Ftp::anonymous(server.port);
    let mut busy = Ftp::anonymous(server.port);
    let (_data, _h) = start_slow_download(&mut busy, Mode::Pasv);
    server.signal(Signal::SIGTERM);
    // Two signals sent at once would merge into one pending SIGTERM: the
    // second goes once the first has been acted on (the idle session's 421).
    assert_eq!(idle.reply("(drain)").code, 421);
    server.signal(Signal::SIGTERM);
    let status = server.wait_exit(Duration::from_secs(20));
    assert!(
        status.is_some(),
        "the second SIGTERM did not stop the server"
    );
}

#[test]
fn a_second_process_on_the_same_port_takes_over_while_the_first_drains() {
    let dir = TempDir::new("restart");
    let (root, hash) = root_with_big_file(&dir);
    let path = dir.join("old-notify.sock");
    let notify = UnixDatagram::bind(&path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let old = Server::start(
        &root,
        ServerOpts::new((26120, 26139))
            .cores(2)
            .env("NOTIFY_SOCKET", path.to_str().unwrap())
            .arg("--greeting")
            .arg("old"),
    );
    assert_eq!(next_notify(&notify), "READY=1\n");
    let port = old.port;
    let mut f = Ftp::anonymous(port);
    assert!(f.greeting.text().contains("old"));
    let (data, h) = start_slow_download(&mut f, Mode::Epsv);

    // The new process joins the port (SO_REUSEPORT, same user) with its
    // own passive range.
    let new = Server::start(
        &root,
        ServerOpts::new((26140, 26159))
            .cores(2)
            .listen(&format!("127.0.0.1:{port}"))
            .arg("--greeting")
            .arg("new"),
    );
    assert_eq!(new.port, port);
    old.signal(Signal::SIGTERM);
    // STOPPING=1 is sent once the old listeners are shut: from then on,
    // every new client reaches the new process.
    assert!(next_notify(&notify).starts_with("STOPPING=1\n"));
    let mut g = Ftp::connect(port);
    assert!(g.greeting.text().contains("new"), "{:?}", g.greeting);
    for _ in 0..10 {
        let c = Ftp::connect(port);
        assert!(c.greeting.text().contains("new"), "{:?}", c.greeting);
    }
    g.expect("USER anonymous", 331);
    g.expect("PASS x@y", 230);
    let small = g.download(Mode::Pasv, "NLST");
    assert_eq!(small, b"big.bin\r\n");

    let (got, n) = finish_download(data, h);
    assert_eq!((got, n), (hash, BIG));
    assert_eq!(f.reply("RETR big.bin").code, 226);
    let status = old.wait_exit(Duration::from_secs(30));
    assert_eq!(status.and_then(|s| s.code()), Some(0));
    g.quit();
    assert!(new.stop().is_some_and(|s| s.success()));
}

/// The next datagram on `sock` (bounded wait).
fn next_notify(sock: &UnixDatagram) -> String {
    let mut buf = [0u8; 4096];
    let n = sock
        .recv(&mut buf)
        .expect("a notification within the timeout");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn sd_notify_ready_reloading_stopping() {
    let dir = TempDir::new("notify");
    let root = dir.join("root");
    std::fs::create_dir_all(&root).unwrap();
    let path = dir.join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let server = Server::start(
        &root,
        ServerOpts::new((26160, 26169))
            .cores(1)
            .env("NOTIFY_SOCKET", path.to_str().unwrap()),
    );
    assert_eq!(next_notify(&sock), "READY=1\n");
    let f = Ftp::anonymous(server.port);
    server.signal(Signal::SIGHUP);
    let m = next_notify(&sock);
    assert!(m.starts_with("RELOADING=1\nMONOTONIC_USEC="), "{m:?}");
    assert_eq!(next_notify(&sock), "READY=1\n");
    server.signal(Signal::SIGTERM);
    let m = next_notify(&sock);
    assert!(m.starts_with("STOPPING=1\n"), "{m:?}");
    assert!(m.contains("\nEXTEND_TIMEOUT_USEC=35000000\n"), "{m:?}");
    drop(f);
    let status = server.wait_exit(Duration::from_secs(30));
    assert_eq!(status.and_then(|s| s.code()), Some(0));
}
