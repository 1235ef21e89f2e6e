//! Operations, seen from outside the process: `--metrics-listen` (GET
//! /metrics), `--xferlog` (and its reopen on SIGUSR1), the event log
//! (`--log-format json` into `--log-file`, `--log-format text` on stderr).
//! Real server, real sockets; every wait is on an event (a reply, a line
//! appearing in a file), bounded.
//!
//! Passive ports: 26000-26099.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use support::ftp::Ftp;
use support::{wait_file, write_pattern_file, Mode, Server, ServerOpts, TempDir, PASS, USER};

/// GET /metrics, the body.
fn scrape(addr: SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).expect("connect /metrics");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read /metrics");
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    out.split_once("\r\n\r\n").unwrap().1.to_string()
}

/// The value of one series (exact name with labels), 0 when absent.
fn value(body: &str, series: &str) -> f64 {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().expect("a number"))
}

/// Scrapes until `series` reaches `want` (counters are bumped by the
/// worker after the reply the test saw may already be out).
fn wait_value(addr: SocketAddr, series: &str, want: f64) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let body = scrape(addr);
        if value(&body, series) == want {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{series} never became {want}:\n{body}"
        );
    }
}

#[test]
fn metrics_xferlog_and_json_event_log_follow_the_sessions() {
    let dir = TempDir::new("ops-logs");
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("up")).unwrap();
    let hash = write_pattern_file(&root.join("f.bin"), 300_001, 3);
    let users = support::users_file(dir.path(), &[(USER, &root, "all")]);
    let xferlog = dir.join("xferlog");
    let events = dir.join("events.log");
    let server = Server::start(
        &root,
        ServerOpts::new((26000, 26019))
            .users(users)
            .cores(2)
            .arg("--metrics-listen")
            .arg("127.0.0.1:0")
            .arg("--xferlog")
            .arg(xferlog.to_str().unwrap())
            .arg("--log-format")
            .arg("json")
            .arg("--log-file")
            .arg(events.to_str().unwrap())
            .arg("--login-fail-delay-ms")
            .arg("0")
            .arg("--sessions-per-ip-max")
            .arg("3"),
    );
    let m = server
        .metrics_addr()
        .expect("metrics address in the start line");

    // One download per mode, byte-exact.
    let mut f = Ftp::login(server.port, USER, PASS);
    for mode in Mode::ALL {
        let data = f.download(mode, "RETR f.bin");
        assert_eq!(support::sha256_hex(&data), hash, "{mode:?}");
    }
    f.upload(Mode::Epsv, "STOR up/new.bin", b"hello upload");
    f.expect("EPSV", 229);
    f.expect("RETR missing.bin", 550);
    f.expect("DELE up/new.bin", 250);

    // A failed login, never logged with its password.
    let mut bad = Ftp::connect(server.port);
    bad.expect(&format!("USER {USER}"), 331);
    bad.expect("PASS wrong-horse-battery", 530);

    // Two sessions open (f, bad); a third is allowed, a fourth refused.
    let third = Ftp::connect(server.port);
    let mut fourth = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    fourth
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut refusal = String::new();
    let _ = fourth.read_to_string(&mut refusal);
    assert!(refusal.starts_with("421 "), "{refusal:?}");

    let body = wait_value(m, "ringftpd_refused_total{reason=\"sessions_per_ip\"}", 1.0);
    assert_eq!(value(&body, "ringftpd_sessions"), 3.0, "{body}");
    assert_eq!(value(&body, "ringftpd_workers"), 2.0);
    assert_eq!(value(&body, "ringftpd_build_info{version=\"0.1.0\"}"), 1.0);
    assert_eq!(value(&body, "ringftpd_logins_total{result=\"ok\"}"), 1.0);
    assert_eq!(
        value(&body, "ringftpd_logins_total{result=\"failed\"}"),
        1.0
    );
    for mode in ["pasv", "epsv", "port", "eprt"] {
        let s = format!(
            "ringftpd_transfers_total{{direction=\"download\",mode=\"{mode}\",result=\"ok\"}}"
        );
        assert_eq!(value(&body, &s), 1.0, "{s}\n{body}");
    }
    assert_eq!(
        value(
            &body,
            "ringftpd_transfers_total{direction=\"upload\",mode=\"epsv\",result=\"ok\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &body,
            "ringftpd_transfer_bytes_total{direction=\"download\"}"
        ),
        4.0 * 300_001.0
    );
    assert_eq!(
        value(&body, "ringftpd_transfer_bytes_total{direction=\"upload\"}"),
        12.0
    );
    assert_eq!(value(&body, "ringftpd_replies_total{code=\"530\"}"), 1.0);
    assert_eq!(value(&body, "ringftpd_replies_total{code=\"226\"}"), 5.0);
    assert_eq!(value(&body, "ringftpd_replies_total{code=\"227\"}"), 1.0);
    assert_eq!(value(&body, "ringftpd_passive_ports_in_use"), 0.0);
    assert_eq!(
        value(&body, "ringftpd_data_connection_setup_seconds_count"),
        5.0
    );
    assert_eq!(
        value(
            &body,
            "ringftpd_transfer_duration_seconds_count{direction=\"download\"}"
        ),
        5.0,
        "four downloads and the failed RETR"
    );

    // An open passive listener is a gauge.
    f.expect("PASV", 227);
    wait_value(m, "ringftpd_passive_ports_in_use", 1.0);
    f.expect("ABOR", 225);
    wait_value(m, "ringftpd_passive_ports_in_use", 0.0);

    // The xferlog: four downloads, one upload, one delete; no line for the
    // file that was never opened.
    let text = wait_file(&xferlog, |t| t.lines().count() >= 6);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "{text}");
    for l in &lines[..4] {
        let w: Vec<&str> = l.split_whitespace().collect();
        assert_eq!(w.len(), 18, "{l}");
        assert_eq!(
            &w[6..],
            [
                "127.0.0.1",
                "300001",
                "/f.bin",
                "b",
                "_",
                "o",
                "r",
                USER,
                "ftp",
                "0",
                "*",
                "c"
            ],
            "{l}"
        );
    }
    assert!(
        lines[4].contains(" 12 /up/new.bin b _ i r alice ftp 0 * c"),
        "{text}"
    );
    assert!(
        lines[5].contains(" 0 /up/new.bin b _ d r alice ftp 0 * c"),
        "{text}"
    );

    // The event log: JSON objects, no password anywhere.
    drop(bad);
    drop(third);
    f.quit();
    let text = wait_file(&events, |t| {
        t.lines()
            .filter(|l| l.contains("\"event\":\"session_close\""))
            .count()
            >= 3
    });
    assert!(
        !text.contains(PASS) && !text.contains("wrong-horse"),
        "{text}"
    );
    let evs: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let of = |name: &str| -> Vec<&serde_json::Value> {
        evs.iter().filter(|e| e["event"] == name).collect()
    };
    assert_eq!(of("session_open").len(), 3, "{text}");
    let logins = of("login");
    assert_eq!(logins.len(), 2);
    assert!(logins
        .iter()
        .any(|e| e["result"] == "ok" && e["user"] == USER));
    assert!(logins.iter().any(|e| e["result"] == "failed"));
    let transfers = of("transfer");
    assert_eq!(transfers.len(), 6, "{text}");
    let retr_ok: Vec<_> = transfers
        .iter()
        .filter(|e| e["command"] == "RETR /f.bin" && e["result"] == "ok")
        .collect();
    let modes: Vec<&str> = retr_ok
        .iter()
        .map(|e| e["mode"].as_str().unwrap())
        .collect();
    assert_eq!(modes, ["pasv", "epsv", "port", "eprt"]);
    assert!(retr_ok
        .iter()
        .all(|e| e["bytes"] == 300_001 && e["reply"] == 226));
    assert!(transfers
        .iter()
        .any(|e| e["path"] == "/missing.bin" && e["reply"] == 550 && e["error"] == "open_failed"));
    let refusals = of("refusal");
    assert_eq!(refusals.len(), 1);
    assert_eq!(refusals[0]["reason"], "sessions_per_ip");
    assert!(of("session_close").iter().any(|e| e["reason"] == "quit"));

    // SIGUSR1: logrotate renamed the file; the server opens the path again
    // (the new file appears), and the next line goes there.
    let rotated = dir.join("xferlog.1");
    std::fs::rename(&xferlog, &rotated).unwrap();
    server.signal(Signal::SIGUSR1);
    wait_file(&xferlog, |_| xferlog.exists());
    let mut g = Ftp::login(server.port, USER, PASS);
    g.download(Mode::Pasv, "RETR f.bin");
    let text = wait_file(&xferlog, |t| t.lines().count() == 1);
    assert!(
        text.contains(" 300001 /f.bin b _ o r alice ftp 0 * c"),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(&rotated).unwrap().lines().count(),
        6
    );
    g.quit();
    assert!(server.stop().is_some_and(|s| s.success()));
}

#[test]
fn text_event_log_goes_to_stderr_by_default() {
    let dir = TempDir::new("ops-text");
    let root = dir.join("root");
    std::fs::create_dir_all(&root).unwrap();
    write_pattern_file(&root.join("a b.txt"), 10, 1);
    let log = dir.join("stderr.log");
    let server = Server::start(
        &root,
        ServerOpts::new((26020, 26029))
            .cores(1)
            .arg("--log-format")
            .arg("text")
            .stderr_to(log.clone()),
    );
    let mut f = Ftp::anonymous(server.port);
    f.download(Mode::Epsv, "RETR a b.txt");
    f.quit();
    let text = wait_file(&log, |t| t.contains(" session_close "));
    let line = text
        .lines()
        .find(|l| l.contains(" transfer "))
        .unwrap_or_else(|| panic!("no transfer line:\n{text}"));
    for part in [
        "client=127.0.0.1:",
        "user=anonymous",
        "command=\"RETR /a b.txt\"",
        "path=\"/a b.txt\"",
        "direction=download",
        "mode=epsv",
        "result=ok",
        "reply=226",
        "bytes=10",
    ] {
        assert!(line.contains(part), "{part} missing in {line}");
    }
    assert!(text.contains(" login ") && text.contains("result=ok anonymous=true"));
    assert!(
        !text.contains("test@example.com"),
        "anonymous password logged:\n{text}"
    );
    drop(server);
}

#[test]
fn bad_operations_flags_exit_2_with_one_line() {
    let dir = TempDir::new("ops-flags");
    let root = dir.path().to_str().unwrap().to_string();
    let missing = dir.join("no/such/dir/xferlog");
    let cases: [(&[&str], &str); 6] = [
        (&["--proxy-from", "10.0.0.1/8"], "10.0.0.0/8"),
        (&["--proxy-from", "not-an-address"], "--proxy-from"),
        (&["--metrics-listen", "127.0.0.1"], "--metrics-listen"),
        (&["--log-format", "xml"], "--log-format"),
        (&["--xferlog", missing.to_str().unwrap()], "--xferlog"),
        (&["--shutdown-grace-secs", "soon"], "--shutdown-grace-secs"),
    ];
    for (args, mention) in cases {
        let mut cmd = std::process::Command::new(support::BIN);
        cmd.args(["--root", &root, "--listen", "127.0.0.1:0", "--cores", "1"])
            .args(args);
        let out = support::run_limited(&mut cmd, Duration::from_secs(30));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(out.stderr.contains(mention), "{args:?}: {}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{args:?}: {}", out.stderr);
    }
}
