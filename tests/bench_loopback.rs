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
