//! The load generator's library against a real ringftpd started in-process on
//! 127.0.0.1 (port 0, temp root): every data mode with verification, uploads,
//! the splice sink, and a corrupted byte that must be reported.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Parser;
use ringftpd::bench::cli::Cli;
use ringftpd::bench::plan::Plan;
use ringftpd::bench::run::{self, Outcome};
use ringftpd::bench::verify::fill_pattern;
use ringftpd::server::{self, Args, Running, ServerConfig};

/// A fresh directory under the system temp dir, unique per test.
fn temp_root(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ringftp-bench-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("up")).unwrap();
    d
}

fn pattern_file(path: &Path, len: usize) -> Vec<u8> {
    let mut data = vec![0u8; len];
    fill_pattern(0, 0, &mut data);
    std::fs::write(path, &data).unwrap();
    data
}

/// ringftpd on 127.0.0.1:0 serving `root`, user `w` (password `pw`) may write.
fn start_server(root: &Path, pasv: &str) -> (Running, SocketAddr) {
    let users = root.with_extension("users");
    let line = format!(
        "w:{}:{}:all\n",
        ringftpd::auth::hash_password("pw"),
        root.display()
    );
    std::fs::write(&users, line).unwrap();
    let args = Args::parse_from([
        "ringftpd",
        "--root",
        root.to_str().unwrap(),
        // A load test comes from one address: per-address limits and
        // command pacing off (docs/security.md).
        "--sessions-per-ip-max",
        "0",
        "--connections-per-ip-per-sec-max",
        "0",
        "--commands-per-sec-max",
        "0",
        "--listen",
        "127.0.0.1:0",
        "--cores",
        "1",
        "--pasv-ports",
        pasv,
        "--users",
        users.to_str().unwrap(),
    ]);
    let running =
        server::start(ServerConfig::from_args(args).unwrap()).unwrap_or_else(|e| panic!("{e}"));
    let addr = running.addrs[0];
    (running, addr)
}

fn bench(server: SocketAddr, args: &[&str]) -> Outcome {
    let s = server.to_string();
    let mut argv = vec![
        "ringftp-bench",
        "--quiet",
        "--server",
        &s,
        "--stall-timeout-secs",
        "20",
    ];
    argv.extend_from_slice(args);
    let cli = Cli::parse_from(argv);
    let plan = Arc::new(Plan::from_cli(&cli).unwrap());
    run::run(plan, true, None).unwrap()
}

#[test]
fn every_mode_downloads_verified() {
    let root = temp_root("modes");
    pattern_file(&root.join("p.bin"), 3_000_017);
    // Not a pattern: checked by sha256 of the local copy.
    let other: Vec<u8> = (0..1_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(root.join("r.bin"), &other).unwrap();
    let (srv, addr) = start_server(&root, "30000-30099");
    let expect = format!("local:{}", root.display());
    for mode in ["pasv", "epsv", "port", "eprt"] {
        let o = bench(
            addr,
            &[
                "--mode",
                mode,
                "--files",
                "p.bin,r.bin",
                "--count",
                "6",
                "--sessions",
                "2",
                "--verify",
                "--expect",
                &expect,
            ],
        );
        assert_eq!(o.stats.errors.len(), 0, "{mode}: {:?}", o.stats.errors);
        assert_eq!((o.stats.transfers, o.stats.verified), (6, 6), "{mode}");
        // Sessions run at their own pace, so the split between the two files
        // varies; every transfer still moved one whole file.
        let whole = (0..=6u64).any(|a| o.stats.bytes_down == a * 3_000_017 + (6 - a) * 1_000_000);
        assert!(
            whole,
            "{mode}: {} bytes is not 6 whole files",
            o.stats.bytes_down
        );
    }
    // Reused sessions, pattern expectation, splice sink.
    let o = bench(
        addr,
        &[
            "--files",
            "p.bin",
            "--count",
            "4",
            "--reuse",
            "--verify",
            "--expect",
            "pattern:0",
        ],
    );
    assert_eq!(
        (o.stats.error_count(), o.stats.verified, o.stats.logins),
        (0, 4, 1)
    );
    let o = bench(
        addr,
        &[
            "--files", "p.bin", "--count", "3", "--sink", "splice", "--mode", "pasv",
        ],
    );
    assert_eq!(
        (o.stats.error_count(), o.stats.bytes_down),
        (0, 3 * 3_000_017)
    );
    srv.stop();
}

#[test]
fn corrupted_byte_is_reported() {
    let root = temp_root("corrupt");
    let mut data = pattern_file(&root.join("c.bin"), 700_001);
    data[654_321] ^= 0x20;
    std::fs::write(root.join("c.bin"), &data).unwrap();
    let (srv, addr) = start_server(&root, "30100-30199");
    let o = bench(
        addr,
        &[
            "--files",
            "c.bin",
            "--count",
            "1",
            "--verify",
            "--expect",
            "pattern:0",
        ],
    );
    assert_eq!(
        o.stats.errors.get("verify"),
        Some(&1),
        "{:?}",
        o.stats.errors
    );
    assert_eq!(o.stats.verified, 0);
    // sha256 of the intact content, given explicitly: must not match either.
    data[654_321] ^= 0x20;
    let good = root.join("good.bin");
    std::fs::write(&good, &data).unwrap();
    let hex = match ringftpd::bench::verify::sha256_file(&good).unwrap() {
        ringftpd::bench::verify::Expect::Sha256 { digest, .. } => digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>(),
        other => panic!("{other:?}"),
    };
    let o = bench(
        addr,
        &[
            "--files",
            "c.bin",
            "--count",
            "1",
            "--verify",
            "--expect",
            &format!("sha256:{hex}"),
        ],
    );
    assert_eq!(
        o.stats.errors.get("verify"),
        Some(&1),
        "{:?}",
        o.stats.errors
    );
    let o = bench(
        addr,
        &[
            "--files",
            "good.bin",
            "--count",
            "1",
            "--verify",
            "--expect",
            &format!("sha256:{hex}"),
        ],
    );
    assert_eq!((o.stats.error_count(), o.stats.verified), (0, 1));
    srv.stop();
}

#[test]
fn uploads_logins_listings_idle() {
    let root = temp_root("stor");
    pattern_file(&root.join("x"), 10);
    let (srv, addr) = start_server(&root, "30200-30299");
    let login = ["--user", "w", "--pass", "pw", "--upload-dir", "up"];
    let mut a = login.to_vec();
    a.extend([
        "--op",
        "stor",
        "--files",
        "gen:1000003",
        "--count",
        "3",
        "--verify",
        "--mode",
        "eprt",
    ]);
    let o = bench(addr, &a);
    assert_eq!(
        (o.stats.error_count(), o.stats.transfers, o.stats.bytes_up),
        (0, 3, 3 * 1_000_003),
        "{:?}",
        o.stats.errors
    );
    let name = std::fs::read_dir(root.join("up"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name();
    let up = format!("up/{}", name.to_str().unwrap());
    let o = bench(
        addr,
        &[
            "--files",
            &up,
            "--count",
            "2",
            "--verify",
            "--expect",
            "pattern:0",
        ],
    );
    assert_eq!((o.stats.error_count(), o.stats.verified), (0, 2));
    let o = bench(addr, &["--op", "login", "--count", "10", "--sessions", "3"]);
    assert_eq!((o.stats.error_count(), o.stats.transfers), (0, 10));
    let o = bench(
        addr,
        &["--op", "list", "--files", "up,.", "--count", "4", "--reuse"],
    );
    assert_eq!(
        (o.stats.error_count(), o.stats.transfers, o.stats.logins),
        (0, 4, 1)
    );
    let o = bench(
        addr,
        &[
            "--op",
            "idle",
            "--sessions",
            "20",
            "--duration",
            "0.2",
            "--login-window",
            "8",
        ],
    );
    assert_eq!((o.stats.error_count(), o.stats.idle_kept), (0, 20));
    // A wrong password is counted by reply code, not a panic.
    let o = bench(
        addr,
        &[
            "--op", "login", "--count", "1", "--user", "w", "--pass", "nope",
        ],
    );
    assert_eq!(o.stats.errors.get("530"), Some(&1), "{:?}", o.stats.errors);
    srv.stop();
}

/// The peer addresses of established connections to local `port`, read
/// from /proc/net/tcp: the server's own view of who is connected.
fn server_peers(port: u16) -> Vec<std::net::Ipv4Addr> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let hex_ip = |h: &str| std::net::Ipv4Addr::from(u32::from_str_radix(h, 16).unwrap().to_be());
    let mut peers = Vec::new();
    for line in table.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(remote), Some(&"01")) = (f.get(1), f.get(2), f.get(3)) else {
            continue;
        };
        let (_, lport) = local.split_once(':').unwrap();
        if u16::from_str_radix(lport, 16).unwrap() == port {
            peers.push(hex_ip(remote.split_once(':').unwrap().0));
        }
    }
    peers
}

#[test]
fn idle_sessions_connect_from_every_source_address() {
    let root = temp_root("srcaddrs");
    let (srv, addr) = start_server(&root, "62300-62309");
    let watcher = std::thread::spawn(move || {
        // Poll (bounded: the kernel's table has no event to wait on) until
        // the server holds all 6 sessions; the hold lasts 2 s after the
        // last login, so this sees them.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let peers = server_peers(addr.port());
            if peers.len() >= 6 || std::time::Instant::now() > deadline {
                return peers;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    });
    let o = bench(
        addr,
        &[
            "--op",
            "idle",
            "--sessions",
            "6",
            "--duration",
            "2",
            "--source-addrs",
            "127.0.0.1,127.0.0.2",
        ],
    );
    assert_eq!(
        (o.stats.error_count(), o.stats.idle_kept),
        (0, 6),
        "{:?}",
        o.stats.errors
    );
    let mut peers = watcher.join().unwrap();
    peers.sort();
    let (a, b): (std::net::Ipv4Addr, std::net::Ipv4Addr) =
        ("127.0.0.1".parse().unwrap(), "127.0.0.2".parse().unwrap());
    assert_eq!(peers, [a, a, a, b, b, b], "server-side peers");
    let ips: Vec<(std::net::IpAddr, u64)> = o.stats.local_addrs.into_iter().collect();
    assert_eq!(ips, [(a.into(), 3), (b.into(), 3)], "bench's record");
    srv.stop();
}

#[test]
fn processes_split_idle_sessions_over_source_addresses_and_merge() {
    let root = temp_root("procs");
    let (srv, addr) = start_server(&root, "62310-62319");
    let json = root.with_extension("json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ringftp-bench"))
        .args([
            "--quiet",
            "--op",
            "idle",
            "--sessions",
            "8",
            "--processes",
            "2",
        ])
        .args(["--duration", "0.5", "--source-addrs", "127.0.0.1-127.0.0.2"])
        .args(["--server", &addr.to_string()])
        // The server runs in this test process.
        .args(["--server-pid", &std::process::id().to_string()])
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{table}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(table.contains("idle kept      8 of 8"), "{table}");
    assert!(table.contains("KiB PSS per kept session"), "{table}");
    let j = std::fs::read_to_string(&json).unwrap();
    for want in [
        "\"idle_kept\": 8,",
        "\"errors_total\": 0,",
        "\"processes\": 2,",
        "\"local_addrs\": {\"127.0.0.1\":4,\"127.0.0.2\":4},",
        "\"pss_per_kept_session_bytes\":",
        "\"connect_to_230\": {\"count\":8,",
        "\"connect_to_220\": {\"count\":8,",
    ] {
        assert!(j.contains(want), "{want} not in {j}");
    }
    srv.stop();
}

#[test]
fn verify_of_downloads_without_expect_is_refused_by_the_binary() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ringftp-bench"))
        .args(["--op", "retr", "--files", "/x", "--verify"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("local:DIR")
            && err.contains("sha256:HEX[:LEN]")
            && err.contains("pattern[:SEED]"),
        "{err}"
    );
}
