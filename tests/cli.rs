//! The command line: bad flags and an unusable root or users file exit 2
//! with one line on stderr; `ringftpd passwd`; --help / --version; SIGTERM
//! stops a running server cleanly.

mod support;

use std::fs;
use std::process::Command;
use std::time::Duration;

use support::{hash_with_passwd_cmd, run_limited, Finished, Server, ServerOpts, TempDir, BIN};

const PASV: (u16, u16) = (25000, 25999);
const LIMIT: Duration = Duration::from_secs(60);

fn ringftpd(args: &[&str]) -> Finished {
    run_limited(Command::new(BIN).args(args), LIMIT)
}

/// Exit code 2, nothing on stdout, exactly one line on stderr naming the problem.
fn assert_usage_error(args: &[&str], mention: &str) {
    let out = ringftpd(args);
    assert_eq!(
        out.status.code(),
        Some(2),
        "ringftpd {args:?}: status {}, stderr {:?}",
        out.status,
        out.stderr
    );
    assert_eq!(out.stdout, "", "ringftpd {args:?}: stdout");
    assert_eq!(
        out.stderr.lines().count(),
        1,
        "ringftpd {args:?}: stderr must be one line: {:?}",
        out.stderr
    );
    assert!(out.stderr.ends_with('\n'), "{:?}", out.stderr);
    assert!(
        out.stderr.starts_with("ringftpd: ") && out.stderr.contains(mention),
        "ringftpd {args:?}: stderr {:?} should mention {mention:?}",
        out.stderr
    );
}

#[test]
fn bad_flags_exit_2_with_one_line() {
    let root = TempDir::new("cli-flags");
    let r = root.path().to_str().unwrap();
    assert_usage_error(&["--bogus"], "--bogus");
    assert_usage_error(&["--root", r, "--pasv-ports", "30000"], "30000");
    assert_usage_error(&["--root", r, "--pasv-ports", "3000-2000"], "3000");
    assert_usage_error(&["--root", r, "--pasv-ports", "80-90"], "80");
    assert_usage_error(&["--root", r, "--listen", "nowhere"], "nowhere");
    assert_usage_error(&["--root", r, "--retr-path", "teleport"], "teleport");
    assert_usage_error(&["--root", r, "--cores", "zero"], "zero");
    assert_usage_error(&["--root", r, "--cores", "0"], "--cores");
    assert_usage_error(
        &["--root", r, "--cores", "4", "--pasv-ports", "25000-25002"],
        "--pasv-ports",
    );
    assert_usage_error(&["--root", r, "--helper-threads", "0"], "--helper-threads");
    assert_usage_error(
        &["--root", r, "--line-len-max-bytes", "10"],
        "--line-len-max-bytes",
    );
    assert_usage_error(
        &["--root", r, "--retr-chunk-bytes", "100"],
        "--retr-chunk-bytes",
    );
    assert_usage_error(
        &["--root", r, "--control-buffer-size-bytes", "100"],
        "--control-buffer-size-bytes",
    );
    assert_usage_error(
        &["--root", r, "--deferred-commands-max", "100000"],
        "--deferred-commands-max",
    );
    assert_usage_error(&["--root"], "--root");
}

#[test]
fn unusable_root_exits_2() {
    let base = TempDir::new("cli-root");
    let missing = base.join("does-not-exist");
    assert_usage_error(&["--root", missing.to_str().unwrap()], "does-not-exist");
    let file = base.join("a-file");
    fs::write(&file, b"x").unwrap();
    assert_usage_error(&["--root", file.to_str().unwrap()], "a-file");
}

#[test]
fn bad_users_file_exits_2() {
    let root = TempDir::new("cli-users");
    let r = root.path().to_str().unwrap();
    let missing = root.join("no-users-file");
    assert_usage_error(
        &["--root", r, "--users", missing.to_str().unwrap()],
        "no-users-file",
    );
    let bad = root.join("users-bad");
    fs::write(&bad, format!("bob:plaintext:{r}:all\n")).unwrap();
    assert_usage_error(&["--root", r, "--users", bad.to_str().unwrap()], "line 1");
    let out = ringftpd(&["--root", r, "--users", bad.to_str().unwrap()]);
    assert!(
        !out.stderr.contains("plaintext"),
        "the error must not echo the hash field: {:?}",
        out.stderr
    );
    let perms = root.join("users-perms");
    let hash = hash_with_passwd_cmd("pw");
    fs::write(&perms, format!("bob:{hash}:{r}:fly\n")).unwrap();
    assert_usage_error(&["--root", r, "--users", perms.to_str().unwrap()], "fly");
}

#[test]
fn help_and_version_exit_0() {
    let out = ringftpd(&["--help"]);
    out.assert_ok("ringftpd --help");
    for flag in [
        "--root",
        "--listen",
        "--pasv-ports",
        "--retr-path",
        "--users",
        "--cores",
    ] {
        assert!(
            out.stdout.contains(flag),
            "--help lacks {flag}:\n{}",
            out.stdout
        );
    }
    let out = ringftpd(&["--version"]);
    out.assert_ok("ringftpd --version");
    assert!(out.stdout.starts_with("ringftpd "), "{:?}", out.stdout);
}

#[test]
fn passwd_hashes_and_refuses_bad_input() {
    let a = hash_with_passwd_cmd("correct horse");
    let b = hash_with_passwd_cmd("correct horse");
    assert_ne!(a, b, "hashes must be salted");
    assert!(a.starts_with("$argon2id$"), "{a}");
    // Empty stdin → 2.
    let out = ringftpd(&["passwd"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(out.stdout, "");
    let out = ringftpd(&["passwd", "extra"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn start_line_and_sigterm() {
    let root = TempDir::new("cli-start");
    let server = Server::start(
        root.path(),
        ServerOpts::new(PASV).cores(1).retr_path("sendfile"),
    );
    let want = format!(
        "ringftpd listening on 127.0.0.1:{} root {} workers 1 passive {}-{} retr-path Sendfile",
        server.port,
        root.path().display(),
        PASV.0,
        PASV.1
    );
    let rest = server
        .start_line
        .strip_prefix(&want)
        .unwrap_or_else(|| panic!("{:?} does not start with {want:?}", server.start_line));
    // The auto --sessions-max: what the rings (and memory) allow.
    let n = rest
        .strip_prefix(" sessions-max ")
        .and_then(|r| r.strip_suffix(" per worker (direct descriptors)"))
        .and_then(|n| n.parse::<usize>().ok());
    assert!(n.is_some_and(|n| n > 0), "{rest:?}");
    let mut f = support::ftp::Ftp::anonymous(server.port);
    f.expect("NOOP", 200);
    let status = server.stop();
    assert!(
        status.is_some_and(|s| s.success()),
        "SIGTERM must stop the server with status 0, got {status:?}"
    );
    let _ = f; // the control connection outlived the server
}

/// The harness's launcher does not wait forever: a child that ends (or
/// stays silent) without a start line is a panic saying so, not a hang.
#[test]
#[should_panic(expected = "printed no start line")]
fn a_launch_without_a_start_line_panics() {
    support::spawn_until_started(Command::new("sh").args(["-c", "exit 3"]));
}
