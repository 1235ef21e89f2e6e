//! Path attacks (issue 5 item 8): `..`, absolute paths, symlinks inside the
//! root pointing out (files and directories, nested, relative and absolute),
//! CR/LF/NUL in names and overlong lines. Each attack gets the exact reply
//! it must, and afterwards nothing outside the root was read (the secret
//! never appears in a reply or on a data connection) or written (every file
//! under `outside/` has its content and mtime unchanged, nothing was added).

mod support;

use std::os::unix::fs::symlink;

use support::ftp::Ftp;
use support::{Mode, ServerOpts, Tree, PASS, SECRET, USER};

/// The server's default passive ports.
const PASV: (u16, u16) = (61000, 61999);

fn tree_with_links() -> Tree {
    let t = Tree::new("paths");
    let r = &t.root;
    let out = t.outside.display().to_string();
    symlink("../outside/secret.txt", r.join("link_rel")).unwrap();
    symlink(format!("{out}/secret.txt"), r.join("link_abs")).unwrap();
    symlink("../outside", r.join("dirlink_rel")).unwrap();
    symlink(&out, r.join("dirlink_abs")).unwrap();
    std::fs::create_dir_all(r.join("pub/deep")).unwrap();
    // Nested: a link to a link to a directory outside.
    symlink("../../dirlink_rel", r.join("pub/deep/nested")).unwrap();
    symlink(
        "../../../../../../../../outside/dir",
        r.join("pub/deep/climb"),
    )
    .unwrap();
    t
}

fn assert_no_leak(f: &Ftp, data: &[u8]) {
    assert!(
        !f.transcript.contains(SECRET),
        "secret in a reply: {}",
        f.transcript
    );
    assert!(
        !String::from_utf8_lossy(data).contains(SECRET),
        "secret on a data connection"
    );
}

#[test]
fn reads_through_dotdot_absolute_and_symlinks_are_refused() {
    let t = tree_with_links();
    let before = t.outside_snapshot();
    let srv = t.serve_users(ServerOpts::new(PASV).args(&["--login-fail-delay-ms", "0"]));
    let mut f = Ftp::connect(srv.port);
    assert_eq!(f.greeting.code, 220);
    f.log_in(USER, PASS);
    let outside = t.outside.display().to_string();
    let attempts = [
        "RETR ../outside/secret.txt".to_string(),
        "RETR ../../../../../../outside/secret.txt".to_string(),
        "RETR /../outside/secret.txt".to_string(),
        format!("RETR {outside}/secret.txt"),
        "RETR link_rel".to_string(),
        "RETR link_abs".to_string(),
        "RETR dirlink_rel/secret.txt".to_string(),
        "RETR dirlink_abs/secret.txt".to_string(),
        "RETR pub/deep/nested/secret.txt".to_string(),
        "RETR pub/deep/climb/secret2.txt".to_string(),
        "RETR pub/../../outside/secret.txt".to_string(),
    ];
    for a in &attempts {
        let (code, data) = f.try_download(Mode::Pasv, a);
        assert_eq!(code, 550, "{a}");
        assert_no_leak(&f, &data);
    }
    for a in [
        "SIZE link_rel",
        "MDTM link_abs",
        "SIZE dirlink_rel/secret.txt",
        "MLST pub/deep/nested/secret.txt",
    ] {
        f.expect(a, 550);
    }
    // Listings of linked-out directories show nothing from outside.
    for a in [
        "LIST dirlink_rel",
        "NLST dirlink_abs",
        "MLSD pub/deep/nested",
        "LIST ../outside",
    ] {
        let (code, data) = f.try_download(Mode::Pasv, a);
        assert!(code == 550 || code == 226, "{a}: {code}");
        assert!(
            !String::from_utf8_lossy(&data).contains("secret"),
            "{a} listed outside"
        );
    }
    f.expect("CWD dirlink_abs", 550);
    f.expect("CWD ../../..", 250);
    f.expect("PWD", 257);
    let (code, data) = f.try_download(Mode::Pasv, "RETR pub/file.txt");
    assert_eq!(
        (code, data.as_slice()),
        (226, &b"public data\n"[..]),
        "the root itself still serves"
    );
    assert_no_leak(&f, &[]);
    assert_eq!(t.outside_snapshot(), before);
}

#[test]
fn writes_through_dotdot_and_symlinks_are_refused() {
    let t = tree_with_links();
    let before = t.outside_snapshot();
    let srv = t.serve_users(ServerOpts::new(PASV).args(&["--login-fail-delay-ms", "0"]));
    let mut f = Ftp::login(srv.port, USER, PASS);
    for target in ["link_rel", "link_abs"] {
        // Overwriting a symlink that points out: refused, the target untouched.
        assert_eq!(
            f.try_upload(Mode::Pasv, &format!("STOR {target}"), b"pwned"),
            550,
            "STOR {target}"
        );
        assert_eq!(
            f.try_upload(Mode::Pasv, &format!("APPE {target}"), b"pwned"),
            550,
            "APPE {target}"
        );
    }
    for target in [
        "dirlink_rel/new.txt",
        "dirlink_abs/secret.txt",
        "pub/deep/nested/new.txt",
        "pub/deep/climb/x",
    ] {
        assert_eq!(
            f.try_upload(Mode::Pasv, &format!("STOR {target}"), b"pwned"),
            550,
            "STOR {target}"
        );
    }
    f.expect("MKD dirlink_rel/newdir", 550);
    f.expect("MKD pub/deep/nested/newdir", 550);
    f.expect("DELE dirlink_rel/secret.txt", 550);
    f.expect("DELE pub/deep/climb/secret2.txt", 550);
    f.expect("RMD dirlink_abs/dir", 550);
    f.expect("SITE CHMOD 777 dirlink_rel/secret.txt", 550);
    f.expect("MFMT 20000101000000 dirlink_abs/secret.txt", 550);
    f.expect("RNFR dirlink_rel/secret.txt", 550);
    // Renaming a file inside the root out of it lands inside the root (clamped).
    f.expect("RNFR pub/file.txt", 350);
    f.expect("RNTO ../../outside/stolen.txt", 550);
    // ".." above the root resolves to the root: the upload stays inside.
    assert_eq!(
        f.try_upload(Mode::Pasv, "STOR ../../../outside-write.txt", b"inside"),
        226
    );
    assert_eq!(
        std::fs::read(t.root.join("outside-write.txt")).unwrap(),
        b"inside"
    );
    assert!(!t.base.join("outside-write.txt").exists());
    assert_no_leak(&f, &[]);
    assert_eq!(
        t.outside_snapshot(),
        before,
        "something outside the root changed"
    );
}

#[test]
fn cr_lf_nul_in_names_and_overlong_lines_are_refused() {
    let t = Tree::new("names");
    let srv = t.serve_users(ServerOpts::new(PASV).args(&["--line-len-max-bytes", "512"]));
    let mut f = Ftp::login(srv.port, USER, PASS);
    // NUL inside a command line: the line is refused before any path use.
    f.send_raw(b"MKD a\0b\r\n");
    assert_eq!(f.reply("MKD a NUL b").code, 501);
    // A bare CR inside a name (the line ends at LF): refused by the parser.
    f.send_raw(b"MKD a\rb\r\n");
    assert_eq!(f.reply("MKD a CR b").code, 501);
    // CRLF injection: the second half is a separate command, not part of the name.
    f.send_raw(b"MKD x\r\nDELE pub/file.txt\r\n");
    assert_eq!(f.reply("MKD x").code, 257);
    assert_eq!(f.reply("DELE pub/file.txt").code, 250);
    assert!(t.root.join("x").is_dir());
    // Overlong lines: 500, and the session goes on.
    let long = format!("RETR {}\r\n", "a".repeat(100_000));
    f.send_raw(long.as_bytes());
    assert_eq!(f.reply("RETR aaa…").code, 500);
    f.expect("NOOP", 200);
    // Half a line, then the rest much later, stays one line.
    f.send_raw(b"NO");
    f.send_raw(b"OP\r\n");
    assert_eq!(f.reply("NOOP").code, 200);
    let names: Vec<_> = std::fs::read_dir(&t.root)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| !n.to_string_lossy().contains(['\r', '\n', '\0'])),
        "a name with CR/LF/NUL was created: {names:?}"
    );
}
