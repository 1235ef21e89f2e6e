//! Slow and hostile clients (issue 5 items 4–5): a connection flood from one
//! address, half a line then silence, thousands of PASV in a row, passive-port
//! exhaustion, and running out of file descriptors. In each, the hostile
//! client gets 421/425 (or is paced) and everyone else is served.

mod attack_common;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use attack_common::{Ftp, Server, Tree};

fn download_from_second_address(srv: &Server) {
    let (mut f, code, text) = Ftp::connect_from("127.0.0.2".parse().unwrap(), srv.addr);
    assert_eq!(code, 220, "{text}");
    f.login("anonymous", "a@b");
    let (code, data) = f.download("RETR pub/file.txt");
    assert_eq!((code, data.as_slice()), (226, &b"public data\n"[..]));
}

/// 5,000 connections from 127.0.0.1 (kept open) while 127.0.0.2 logs in and
/// downloads. Per-address limits answer the flood with 421 at the greeting.
#[test]
fn a_flood_of_5000_connections_leaves_others_served() {
    let t = Tree::new("flood");
    let srv = Server::start(&t.root, &["--cores", "2"]);
    let addr = srv.addr;
    let (tx, rx) = std::sync::mpsc::channel();
    let flood = std::thread::spawn(move || {
        let mut held: Vec<TcpStream> = Vec::new();
        let (mut welcomed, mut refused) = (0, 0);
        for batch in 0..25 {
            let mut conns = Vec::new();
            for _ in 0..200 {
                conns.push(Ftp::connect_from("127.0.0.1".parse().unwrap(), addr));
            }
            for (f, code, text) in conns {
                match code {
                    220 => welcomed += 1,
                    421 => refused += 1,
                    other => panic!("flood connection got {other} {text:?}"),
                }
                held.push(f.stream().try_clone().unwrap());
            }
            if batch == 4 {
                tx.send(()).unwrap();
            }
        }
        (welcomed, refused, held)
    });
    rx.recv().unwrap();
    let start = Instant::now();
    download_from_second_address(&srv);
    let (welcomed, refused, held) = flood.join().unwrap();
    download_from_second_address(&srv);
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(welcomed + refused, 5000);
    // The default --sessions-per-ip-max.
    assert!(
        welcomed <= 128,
        "per-address session limit: {welcomed} welcomed"
    );
    drop(held);
}

#[test]
fn half_a_line_then_silence_blocks_nobody_and_times_out() {
    let t = Tree::new("halfline");
    let srv = Server::start(&t.root, &["--idle-timeout-secs", "2", "--cores", "1"]);
    let (mut stall, _, _) = Ftp::connect(srv.addr);
    stall.send_raw(b"USER anonym");
    download_from_second_address(&srv);
    let (code, text) = stall.reply();
    assert_eq!(code, 421, "{text}");
}

#[test]
fn thousands_of_pasv_in_a_row_do_not_exhaust_ports_or_fds() {
    let t = Tree::new("pasvflood");
    let srv = Server::start(
        &t.root,
        &[
            "--cores",
            "1",
            "--pasv-ports",
            "30600-30603",
            "--commands-per-sec-max",
            "0",
        ],
    );
    let (mut f, _, _) = Ftp::connect(srv.addr);
    f.login("anonymous", "a@b");
    let fds_before = srv.fd_count();
    for i in 0..3000 {
        let (code, text) = f.cmd("PASV");
        assert_eq!(code, 227, "PASV #{i}: {text}");
    }
    assert!(
        srv.fd_count() <= fds_before + 4,
        "fds grew: {} → {}",
        fds_before,
        srv.fd_count()
    );
    let (code, data) = f.download("RETR pub/file.txt");
    assert_eq!((code, data.as_slice()), (226, &b"public data\n"[..]));
    download_from_second_address(&srv);
}

#[test]
fn passive_port_exhaustion_gets_425_and_the_rest_are_served() {
    let t = Tree::new("pasvexhaust");
    let srv = Server::start(&t.root, &["--cores", "1", "--pasv-ports", "30610-30611"]);
    let mut holders = Vec::new();
    for _ in 0..2 {
        let (mut f, _, _) = Ftp::connect(srv.addr);
        f.login("anonymous", "a@b");
        let a = f.pasv();
        holders.push((f, a));
    }
    let (mut late, _, _) = Ftp::connect_from("127.0.0.2".parse().unwrap(), srv.addr);
    late.login("anonymous", "a@b");
    let (code, text) = late.cmd("PASV");
    assert_eq!(code, 425, "{text}");
    // The holders are still served; a finished transfer frees its port.
    let (mut first, a) = holders.remove(0);
    first.expect("RETR pub/file.txt", 150);
    let mut d = attack_common::connect_from("127.0.0.1".parse().unwrap(), a).unwrap();
    let mut buf = Vec::new();
    std::io::Read::read_to_end(&mut d, &mut buf).unwrap();
    assert_eq!(buf, b"public data\n");
    assert_eq!(first.reply().0, 226);
    let (code, data) = late.download("RETR pub/file.txt");
    assert_eq!((code, data.as_slice()), (226, &b"public data\n"[..]));
}

#[test]
fn running_out_of_file_descriptors_does_not_spin_or_kill_the_listener() {
    let t = Tree::new("emfile");
    let srv = Server::start_with_fd_limit(
        &t.root,
        96,
        &[
            "--cores",
            "1",
            "--sessions-per-ip-max",
            "0",
            "--connections-per-ip-per-sec-max",
            "0",
        ],
    );
    // Far more connections than the server has descriptors: the kernel queues
    // them in the backlog; the server accepts what it can.
    let mut conns = Vec::new();
    for _ in 0..300 {
        conns.push(attack_common::connect_from("127.0.0.1".parse().unwrap(), srv.addr).unwrap());
    }
    let cpu_before = cpu_ticks(srv.pid());
    // Wait on an event, not a sleep: the greeting of a connection made while
    // the server is out of fds arrives only once some are freed.
    let probe = std::thread::spawn({
        let addr = srv.addr;
        move || Ftp::connect_from("127.0.0.2".parse().unwrap(), addr).1
    });
    drop(conns);
    assert_eq!(probe.join().unwrap(), 220);
    download_from_second_address(&srv);
    let cpu = cpu_ticks(srv.pid()) - cpu_before;
    // A busy loop would burn a whole core while paused (100 ticks a second).
    assert!(cpu < 300, "server CPU ticks while out of fds: {cpu}");
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = stat.rsplit(')').next().unwrap();
    let f: Vec<&str> = after.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}
