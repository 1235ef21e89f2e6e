//! Confinement and refusals: paths that try to leave the root (`..`,
//! absolute paths, symlinks pointing out), PORT/EPRT bounces (RFC 2577 §3),
//! anonymous writes. Each refusal is checked by its exact reply and by the
//! filesystem being unchanged.

mod support;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use support::ftp::Ftp;
use support::{users_file, Mode, Server, ServerOpts, TempDir, PASS, USER};

const PASV: (u16, u16) = (23000, 23999);

/// base/root is served; base/outside holds a secret next to it; root has
/// symlinks out: `etc` → /etc, `out` → ../outside (relative), `abs` →
/// base/outside (absolute), `secret` → base/outside/secret.txt.
struct Layout {
    base: TempDir,
}

impl Layout {
    fn new(tag: &str) -> Layout {
        let base = TempDir::new(tag);
        fs::create_dir(base.join("root")).unwrap();
        fs::create_dir(base.join("outside")).unwrap();
        fs::write(base.join("outside/secret.txt"), b"TOP SECRET\n").unwrap();
        fs::write(base.join("root/inside.txt"), b"inside\n").unwrap();
        symlink("/etc", base.join("root/etc")).unwrap();
        symlink("../outside", base.join("root/out")).unwrap();
        symlink(base.join("outside"), base.join("root/abs")).unwrap();
        symlink(base.join("outside/secret.txt"), base.join("root/secret")).unwrap();
        Layout { base }
    }

    fn root(&self) -> std::path::PathBuf {
        self.base.join("root")
    }

    fn outside(&self) -> std::path::PathBuf {
        self.base.join("outside")
    }
}

/// Every name in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

const ESCAPES: [&str; 12] = [
    "../outside/secret.txt",
    "../../../../../../etc/passwd",
    "/../outside/secret.txt",
    "/etc/passwd",
    "etc/passwd",
    "etc/hostname",
    "out/secret.txt",
    "abs/secret.txt",
    "secret",
    "./etc/../etc/passwd",
    "..%2fetc/passwd",
    "out/../out/secret.txt",
];

#[test]
fn escapes_from_the_root_fail_for_anonymous() {
    let l = Layout::new("esc-anon");
    let server = Server::anonymous(&l.root(), PASV);
    let mut f = Ftp::anonymous(server.port);
    for path in ESCAPES {
        f.expect(&format!("SIZE {path}"), 550);
        f.expect(&format!("MDTM {path}"), 550);
        f.expect(&format!("MLST {path}"), 550);
        for mode in [Mode::Pasv, Mode::Port] {
            let pending = f.data(mode);
            let r = f.cmd(&format!("RETR {path}"));
            assert_eq!(r.code, 550, "RETR {path} ({mode:?}) must fail: {r:?}");
            drop(pending);
        }
    }
    // Directories outside: CWD is refused, or clamps to the root.
    for dir in ["etc", "out", "abs", "/etc"] {
        f.expect(&format!("CWD {dir}"), 550);
        assert_eq!(
            f.expect("PWD", 257).lines,
            ["257 \"/\" is the current directory"]
        );
    }
    for dir in ["..", "../..", "/.."] {
        f.expect(&format!("CWD {dir}"), 250);
        assert_eq!(
            f.expect("PWD", 257).lines,
            ["257 \"/\" is the current directory"]
        );
    }
    // Listing through a link out fails; listing `..` lists the root itself.
    for dir in ["etc", "out", "abs", "/etc"] {
        let pending = f.data(Mode::Epsv);
        let r = f.cmd(&format!("LIST {dir}"));
        assert_eq!(r.code, 550, "LIST {dir} must fail: {r:?}");
        drop(pending);
        f.expect(&format!("STAT {dir}"), 550);
    }
    let list = String::from_utf8(f.download(Mode::Epsv, "NLST ../..")).unwrap();
    let mut listed: Vec<&str> = list.split_terminator("\r\n").collect();
    listed.sort_unstable();
    assert_eq!(listed, names(&l.root()), "NLST ../.. must list the root");
    // The session is intact.
    assert_eq!(
        f.download(Mode::Eprt, "RETR /../inside.txt"),
        b"inside\n",
        "RETR /../inside.txt clamps to /inside.txt"
    );
    f.quit();
}

#[test]
fn escapes_fail_for_a_user_with_write_permission() {
    let l = Layout::new("esc-user");
    let etc = TempDir::new("esc-user-etc");
    let users = users_file(etc.path(), &[(USER, &l.root(), "all")]);
    let server = Server::start(&l.root(), ServerOpts::new(PASV).users(users));
    let mut f = Ftp::login(server.port, USER, PASS);
    let before_outside = names(&l.outside());
    for path in ESCAPES {
        let pending = f.data(Mode::Pasv);
        let r = f.cmd(&format!("RETR {path}"));
        assert_eq!(r.code, 550, "RETR {path}: {r:?}");
        drop(pending);
    }
    // Writes through links out must not land outside.
    for target in [
        "out/new.txt",
        "abs/new.txt",
        "out/secret.txt",
        "abs/secret.txt",
    ] {
        let pending = f.data(Mode::Pasv);
        let r = f.cmd(&format!("STOR {target}"));
        assert_eq!(r.code, 550, "STOR {target} must fail: {r:?}");
        drop(pending);
        f.expect(&format!("MKD {target}.d"), 550);
        f.expect(&format!("DELE {target}"), 550);
        f.expect(&format!("RNFR {target}"), 550);
    }
    f.expect("RNFR inside.txt", 350);
    f.expect("RNTO out/moved.txt", 550);
    let mode_before = fs::metadata(l.outside().join("secret.txt"))
        .unwrap()
        .permissions();
    let r = f.cmd("SITE CHMOD 777 secret");
    assert!(
        r.code >= 450,
        "SITE CHMOD through a link out must fail: {r:?}"
    );
    assert_eq!(
        fs::metadata(l.outside().join("secret.txt"))
            .unwrap()
            .permissions(),
        mode_before,
        "SITE CHMOD changed a file outside the root"
    );
    assert_eq!(names(&l.outside()), before_outside, "outside changed");
    assert_eq!(
        fs::read(l.outside().join("secret.txt")).unwrap(),
        b"TOP SECRET\n"
    );
    // `..` in a write is clamped inside the root, never above it.
    f.upload(Mode::Pasv, "STOR ../../clamped.txt", b"c");
    assert_eq!(fs::read(l.root().join("clamped.txt")).unwrap(), b"c");
    assert!(!l.base.join("clamped.txt").exists());
    // DELE of the link may remove the link, never its target.
    let r = f.cmd("DELE secret");
    assert!(r.code == 250 || r.code == 550, "DELE secret: {r:?}");
    assert!(
        l.outside().join("secret.txt").exists(),
        "DELE followed a link out"
    );
    f.quit();
}

#[test]
fn user_is_confined_to_their_home() {
    let l = Layout::new("esc-home");
    fs::create_dir(l.root().join("home_bob")).unwrap();
    fs::write(l.root().join("home_bob/mine.txt"), b"bob\n").unwrap();
    let etc = TempDir::new("esc-home-etc");
    let users = users_file(etc.path(), &[("bob", &l.root().join("home_bob"), "ro")]);
    let server = Server::start(&l.root(), ServerOpts::new(PASV).users(users));
    let mut f = Ftp::login(server.port, "bob", PASS);
    assert_eq!(f.download(Mode::Pasv, "RETR mine.txt"), b"bob\n");
    for path in ["../inside.txt", "/inside.txt", "../../outside/secret.txt"] {
        let pending = f.data(Mode::Pasv);
        let r = f.cmd(&format!("RETR {path}"));
        assert_eq!(r.code, 550, "RETR {path}: {r:?}");
        drop(pending);
    }
    // A read-only user may not write.
    let pending = f.data(Mode::Pasv);
    f.expect("STOR new.txt", 550);
    drop(pending);
    f.expect("DELE mine.txt", 550);
    assert_eq!(names(&l.root().join("home_bob")), ["mine.txt"]);
    f.quit();
}

#[test]
fn port_and_eprt_bounces_are_refused() {
    // RFC 2577 §3: only the client's own address, only ports >= 1024.
    let root = TempDir::new("bounce");
    fs::write(root.join("f.txt"), b"data\n").unwrap();
    let server = Server::anonymous(root.path(), PASV);
    let mut f = Ftp::anonymous(server.port);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (hi, lo) = (port >> 8, port & 0xff);
    for (line, code) in [
        (format!("PORT 127,0,0,2,{hi},{lo}"), 500),
        (format!("EPRT |1|127.0.0.2|{port}|"), 500),
        (format!("PORT 10,0,0,1,{hi},{lo}"), 500),
        ("PORT 127,0,0,1,0,21".to_string(), 504),
        ("EPRT |1|127.0.0.1|21|".to_string(), 504),
        ("PORT 127,0,0,1,3,255".to_string(), 504),
    ] {
        f.expect(&line, code);
        // Nothing was set up: a transfer now has no data connection.
        f.expect("RETR f.txt", 425);
    }
    // The session still works, and a legal PORT still does.
    assert_eq!(f.download(Mode::Port, "RETR f.txt"), b"data\n");
    f.quit();
}

#[test]
fn anonymous_cannot_write() {
    let root = TempDir::new("anon-ro");
    fs::write(root.join("keep.txt"), b"keep\n").unwrap();
    fs::create_dir(root.join("dir")).unwrap();
    let server = Server::anonymous(root.path(), PASV);
    let mut f = Ftp::anonymous(server.port);
    for mode in Mode::ALL {
        let pending = f.data(mode);
        f.expect("STOR new.txt", 550);
        drop(pending);
        let pending = f.data(mode);
        f.expect("STOR keep.txt", 550);
        drop(pending);
        let pending = f.data(mode);
        f.expect("APPE keep.txt", 550);
        drop(pending);
    }
    f.expect("DELE keep.txt", 550);
    f.expect("MKD newdir", 550);
    f.expect("RMD dir", 550);
    f.expect("RNFR keep.txt", 550);
    f.expect("SITE CHMOD 777 keep.txt", 550);
    f.expect("MFMT 20000101000000 keep.txt", 550);
    f.expect("STOU", 550);
    assert_eq!(names(root.path()), ["dir", "keep.txt"]);
    assert_eq!(fs::read(root.join("keep.txt")).unwrap(), b"keep\n");
    // Reading is still allowed.
    assert_eq!(f.download(Mode::Pasv, "RETR keep.txt"), b"keep\n");
    f.quit();
}

#[test]
fn no_anonymous_flag_refuses_anonymous() {
    let root = TempDir::new("no-anon");
    let server = Server::start(root.path(), ServerOpts::new(PASV).arg("--no-anonymous"));
    let mut f = Ftp::connect(server.port);
    f.expect("USER anonymous", 331);
    f.expect("PASS a@b", 530);
    f.expect("PWD", 530);
}
