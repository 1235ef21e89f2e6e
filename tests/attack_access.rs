//! Access control (issue 5 items 2 and 6): the anonymous drop-box and
//! `--run-as`.

mod support;

use std::time::Duration;

use support::ftp::Ftp;
use support::{run_limited, Mode, Server, ServerOpts, Tree, BIN};

/// The server's default passive ports.
const PASV: (u16, u16) = (61000, 61999);

#[test]
fn anonymous_dropbox_is_upload_only_and_create_only() {
    let t = Tree::new("dropbox");
    std::fs::create_dir(t.root.join("incoming")).unwrap();
    std::fs::write(
        t.root.join("incoming/earlier.txt"),
        b"someone else's upload",
    )
    .unwrap();
    let srv = Server::start(
        &t.root,
        ServerOpts::new(PASV).args(&["--anon-dropbox", "incoming"]),
    );
    let mut f = Ftp::login(srv.port, "anonymous", "a@b");
    assert_eq!(
        f.try_upload(Mode::Pasv, "STOR incoming/new.txt", b"dropped"),
        226
    );
    assert_eq!(
        std::fs::read(t.root.join("incoming/new.txt")).unwrap(),
        b"dropped"
    );
    // No overwrite, of ours or anyone's.
    assert_eq!(
        f.try_upload(Mode::Pasv, "STOR incoming/new.txt", b"again"),
        550
    );
    assert_eq!(
        f.try_upload(Mode::Pasv, "STOR incoming/earlier.txt", b"clobber"),
        550
    );
    assert_eq!(
        std::fs::read(t.root.join("incoming/earlier.txt")).unwrap(),
        b"someone else's upload"
    );
    // No reading back, listing, or changing.
    for cmd in [
        "RETR incoming/earlier.txt",
        "LIST incoming",
        "NLST incoming",
        "MLSD incoming",
    ] {
        assert_eq!(f.try_download(Mode::Pasv, cmd).0, 550, "{cmd}");
    }
    assert_eq!(
        f.try_upload(Mode::Pasv, "APPE incoming/earlier.txt", b"x"),
        550
    );
    for cmd in [
        "SIZE incoming/earlier.txt",
        "MDTM incoming/earlier.txt",
        "MLST incoming/earlier.txt",
        "STAT incoming",
        "DELE incoming/earlier.txt",
        "RNFR incoming/earlier.txt",
        "MKD incoming/sub",
    ] {
        f.expect(cmd, 550);
    }
    // CWD into it and STOU works; listing the cwd does not.
    f.expect("CWD incoming", 250);
    assert_eq!(f.try_upload(Mode::Pasv, "STOU", b"unique"), 226);
    assert_eq!(f.try_download(Mode::Pasv, "LIST").0, 550);
    // Outside the drop-box anonymous is read-only as before.
    f.expect("CWD /", 250);
    assert_eq!(f.try_download(Mode::Pasv, "RETR pub/file.txt").0, 226);
    assert_eq!(f.try_upload(Mode::Pasv, "STOR pub/x.txt", b"x"), 550);
    assert!(!t.root.join("pub/x.txt").exists());
}

#[test]
fn dangerous_or_impossible_setups_are_refused_at_start() {
    let t = Tree::new("refuse");
    std::os::unix::fs::symlink(&t.outside, t.root.join("linkbox")).unwrap();
    let cases: &[&[&str]] = &[
        &["--anon-dropbox", "missing"],
        &["--anon-dropbox", "/"],
        &["--anon-dropbox", "linkbox"],
        &["--anon-dropbox", "pub", "--no-anonymous"],
        &["--run-as", "no-such-user-ringftpd"],
    ];
    for extra in cases {
        let out = run_limited(
            std::process::Command::new(BIN)
                .arg("--root")
                .arg(&t.root)
                .args(["--listen", "127.0.0.1:0"])
                .args(*extra),
            Duration::from_secs(30),
        );
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
        let err = &out.stderr;
        assert_eq!(err.lines().count(), 1, "{extra:?}: {err}");
        assert!(err.starts_with("ringftpd: --"), "{extra:?}: {err}");
    }
}

#[test]
fn run_as_drops_root_and_still_serves() {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("skipped: --run-as needs a root start");
        return;
    }
    let t = Tree::new("runas");
    let srv = Server::start(&t.root, ServerOpts::new(PASV).args(&["--run-as", "nobody"]));
    let status = std::fs::read_to_string(format!("/proc/{}/status", srv.pid())).unwrap();
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    let want = format!("{0}\t{0}\t{0}\t{0}", nobody.uid);
    for key in ["Uid:", "Gid:"] {
        let line = status.lines().find(|l| l.starts_with(key)).unwrap();
        let want = if key == "Uid:" {
            want.clone()
        } else {
            format!("{0}\t{0}\t{0}\t{0}", nobody.gid)
        };
        assert_eq!(line.trim_start_matches(key).trim(), want, "{line}");
    }
    let groups = status.lines().find(|l| l.starts_with("Groups:")).unwrap();
    assert!(
        !groups.split_whitespace().any(|g| g == "0"),
        "still in group root: {groups}"
    );
    // Every worker thread dropped too.
    for task in std::fs::read_dir(format!("/proc/{}/task", srv.pid())).unwrap() {
        let s = std::fs::read_to_string(task.unwrap().path().join("status")).unwrap();
        assert!(s.contains(&format!("Uid:\t{want}")), "a thread kept root");
    }
    let mut f = Ftp::login(srv.port, "anonymous", "a@b");
    let (code, data) = f.try_download(Mode::Pasv, "RETR pub/file.txt");
    assert_eq!((code, data.as_slice()), (226, &b"public data\n"[..]));
}
