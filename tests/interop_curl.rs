//! curl against the real server: LIST, RETR and STOR in PASV, EPSV, PORT and
//! EPRT, byte-exact for every size in `support::SIZES`; resume (REST) both
//! ways; the root listing of `curl ftp://127.0.0.1:PORT/`.

mod support;

use std::fs;
use std::process::Command;
use std::time::Duration;

use support::{
    run_limited, sha256_file, users_file, write_pattern_file, Finished, Mode, Server, ServerOpts,
    TempDir, PASS, SIZES, USER,
};

const PASV: (u16, u16) = (22000, 22999);
const LIMIT: Duration = Duration::from_secs(300);

/// curl's options for one data-connection mode.
fn mode_args(mode: Mode) -> &'static [&'static str] {
    match mode {
        Mode::Pasv => &["--disable-epsv"],
        Mode::Epsv => &["--epsv"],
        Mode::Port => &["--ftp-port", "127.0.0.1", "--disable-eprt"],
        Mode::Eprt => &["--ftp-port", "127.0.0.1", "--eprt"],
    }
}

/// Runs curl -sS -v with `args`; fails the test unless it exits 0.
fn curl(args: &[&str]) -> Finished {
    let out = run_limited(Command::new("curl").arg("-sS").arg("-v").args(args), LIMIT);
    out.assert_ok(&format!("curl {}", args.join(" ")));
    out
}

/// The verbose trace must show the mode's command sent, and not the others.
fn assert_mode_used(out: &Finished, mode: Mode) {
    let sent: Vec<&str> = out
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("> "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|v| ["PASV", "EPSV", "PORT", "EPRT"].contains(v))
        .collect();
    assert!(
        !sent.is_empty() && sent.iter().all(|v| *v == mode.verb()),
        "expected curl to use {}, it sent {sent:?}\n{}",
        mode.verb(),
        out.stderr
    );
}

fn server_with_user(tag: &str) -> (TempDir, TempDir, Server) {
    let root = TempDir::new(tag);
    let etc = TempDir::new(&format!("{tag}-etc"));
    let users = users_file(etc.path(), &[(USER, root.path(), "all")]);
    let server = Server::start(root.path(), ServerOpts::new(PASV).users(users));
    (root, etc, server)
}

fn matrix(mode: Mode) {
    let (root, _etc, server) = server_with_user(&format!("curl-{}", mode.verb()));
    let client = TempDir::new("curl-client");
    let userpass = format!("{USER}:{PASS}");
    for size in SIZES {
        // STOR: the bytes on disk are the bytes sent.
        let local = client.join(&format!("local_{size}"));
        let sum = write_pattern_file(&local, size, size + 100);
        let name = format!("up_{}_{size}", mode.verb());
        let url = format!("{}/{name}", server.url());
        let mut args = vec!["--user", &userpass, "-T", local.to_str().unwrap(), &url];
        args.extend_from_slice(mode_args(mode));
        let out = curl(&args);
        assert_mode_used(&out, mode);
        let stored = root.join(&name);
        assert_eq!(fs::metadata(&stored).unwrap().len(), size, "STOR {name}");
        assert_eq!(sha256_file(&stored), sum, "STOR {name} ({})", mode.verb());

        // RETR (anonymous): the bytes received are the file's.
        let back = client.join(&format!("back_{size}"));
        let mut args = vec!["-o", back.to_str().unwrap(), &url];
        args.extend_from_slice(mode_args(mode));
        let out = curl(&args);
        assert_mode_used(&out, mode);
        assert_eq!(fs::metadata(&back).unwrap().len(), size, "RETR {name}");
        assert_eq!(sha256_file(&back), sum, "RETR {name} ({})", mode.verb());
    }
    // LIST: every uploaded name, as `ls -l` lines.
    let url = format!("{}/", server.url());
    let mut args = vec![url.as_str()];
    args.extend_from_slice(mode_args(mode));
    let out = curl(&args);
    assert_mode_used(&out, mode);
    for size in SIZES {
        let name = format!("up_{}_{size}", mode.verb());
        assert!(
            out.stdout
                .lines()
                .any(|l| l.starts_with('-') && l.ends_with(&format!(" {name}"))),
            "LIST ({}) lacks {name}:\n{}",
            mode.verb(),
            out.stdout
        );
    }
    // NLST (curl -l).
    let mut args = vec!["-l", url.as_str()];
    args.extend_from_slice(mode_args(mode));
    let out = curl(&args);
    assert_mode_used(&out, mode);
    let mut names: Vec<&str> = out.stdout.lines().collect();
    names.sort_unstable();
    let mut want: Vec<String> = SIZES
        .iter()
        .map(|s| format!("up_{}_{s}", mode.verb()))
        .collect();
    want.sort_unstable();
    assert_eq!(names, want, "NLST ({})", mode.verb());
}

#[test]
fn curl_pasv_stor_retr_list() {
    matrix(Mode::Pasv);
}

#[test]
fn curl_epsv_stor_retr_list() {
    matrix(Mode::Epsv);
}

#[test]
fn curl_port_stor_retr_list() {
    matrix(Mode::Port);
}

#[test]
fn curl_eprt_stor_retr_list() {
    matrix(Mode::Eprt);
}

#[test]
fn curl_lists_the_root_anonymously() {
    let root = TempDir::new("curl-root");
    fs::write(root.join("readme.txt"), b"hi\n").unwrap();
    fs::create_dir(root.join("pub")).unwrap();
    let server = Server::anonymous(root.path(), PASV);
    let out = curl(&[&format!("{}/", server.url())]);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("-") && l.ends_with(" readme.txt")),
        "{}",
        out.stdout
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("d") && l.ends_with(" pub")),
        "{}",
        out.stdout
    );
    // And a file in it, through the URL path.
    let out = curl(&[&format!("{}/readme.txt", server.url())]);
    assert_eq!(out.stdout, "hi\n");
}

#[test]
fn curl_resume_download_and_upload() {
    let (root, _etc, server) = server_with_user("curl-rest");
    let client = TempDir::new("curl-rest-client");
    let full = support::pattern(3_000_000, 77);
    fs::write(root.join("file.bin"), &full).unwrap();
    // Download from an offset: REST 1000000 + RETR.
    let url = format!("{}/file.bin", server.url());
    let out = curl(&[
        "-r",
        "1000000-",
        &url,
        "-o",
        client.join("tail").to_str().unwrap(),
    ]);
    assert!(out.stderr.contains("> REST 1000000"), "{}", out.stderr);
    assert!(
        fs::read(client.join("tail")).unwrap() == full[1_000_000..],
        "REST 1000000 + RETR: bytes differ"
    );
    // Resume an upload: curl asks SIZE, then APPEs the rest.
    fs::write(root.join("partial.bin"), &full[..1_234_567]).unwrap();
    fs::write(client.join("full.bin"), &full).unwrap();
    let userpass = format!("{USER}:{PASS}");
    let purl = format!("{}/partial.bin", server.url());
    let out = curl(&[
        "--user",
        &userpass,
        "-C",
        "-",
        "-T",
        client.join("full.bin").to_str().unwrap(),
        &purl,
    ]);
    assert!(out.stderr.contains("> SIZE partial.bin"), "{}", out.stderr);
    assert!(
        fs::read(root.join("partial.bin")).unwrap() == full,
        "resumed upload: file differs"
    );
}

#[test]
fn curl_missing_file_fails_with_550() {
    let root = TempDir::new("curl-missing");
    let server = Server::anonymous(root.path(), PASV);
    let out = run_limited(
        Command::new("curl")
            .arg("-sS")
            .arg("-v")
            .arg(format!("{}/nope.bin", server.url())),
        LIMIT,
    );
    // curl exit 78: CURLE_REMOTE_FILE_NOT_FOUND, which it reports for a 550.
    assert_eq!(out.status.code(), Some(78), "{}", out.stderr);
    assert!(out.stderr.contains("< 550"), "{}", out.stderr);
}
