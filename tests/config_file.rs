//! `--config FILE` on real sockets: a mirror's tree (read-only, a writable
//! `incoming/`, a private subtree taken away inside it, an upload-only drop
//! directory for anonymous, a virtual folder), each permission × command a
//! mirror uses, with the replies AND a check that every refused command left
//! the disk as it was; `check-config`; SIGHUP reloads.

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::ftp::Ftp;
use support::{
    pass_hash, run_limited, spawn_until_started, Mode, Server, ServerOpts, TempDir, BIN, PASS,
};

/// Passive ports of this file (no other test file uses 29xxx).
const PASV: (u16, u16) = (29000, 29999);
const LIMIT: Duration = Duration::from_secs(60);

/// The mirror: `tree/` served, `shared/` mounted at `/shared`.
struct Mirror {
    dir: TempDir,
}

impl Mirror {
    fn new(tag: &str) -> Mirror {
        let dir = TempDir::new(tag);
        for d in [
            "tree/pub",
            "tree/incoming/private",
            "tree/drop",
            "shared/up",
        ] {
            fs::create_dir_all(dir.join(d)).unwrap();
        }
        fs::write(dir.join("tree/pub/file.txt"), b"public").unwrap();
        fs::write(dir.join("tree/incoming/private/secret.txt"), b"secret").unwrap();
        fs::write(dir.join("tree/drop/earlier.txt"), b"someone's upload").unwrap();
        fs::write(dir.join("shared/s.txt"), b"shared").unwrap();
        // An operator's link across rule boundaries (see docs/users.md).
        std::os::unix::fs::symlink("../incoming/private/secret.txt", dir.join("tree/pub/link"))
            .unwrap();
        Mirror { dir }
    }

    fn tree(&self) -> PathBuf {
        self.dir.join("tree")
    }

    fn config(&self, user_perms: &str) -> PathBuf {
        let text = format!(
            r#"verbose = false

[anonymous]
permissions = {{ "/" = ["list", "read"], "/drop" = ["upload_only"], "/incoming" = [] }}

[[user]]
name = "mirror"
password_hash = "{hash}"
home = "{home}"
permissions = {user_perms}

[[user.folder]]
path = "/shared"
host = "{shared}"
"#,
            hash = pass_hash(),
            home = self.tree().display(),
            shared = self.dir.join("shared").display(),
        );
        let path = self.dir.join("ringftpd.toml");
        fs::write(&path, text).unwrap();
        path
    }

    /// Every path under the temp dir with its content (or link target).
    fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        fn walk(p: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
            let meta = fs::symlink_metadata(p).unwrap();
            let body = if meta.file_type().is_symlink() {
                fs::read_link(p)
                    .unwrap()
                    .into_os_string()
                    .into_encoded_bytes()
            } else if meta.is_dir() {
                for e in fs::read_dir(p).unwrap() {
                    walk(&e.unwrap().path(), out);
                }
                format!("dir {:o}", meta.permissions().mode()).into_bytes()
            } else {
                let mut b = fs::read(p).unwrap();
                b.extend(format!(" mode {:o}", meta.permissions().mode()).bytes());
                b
            };
            out.insert(p.to_path_buf(), body);
        }
        let mut out = BTreeMap::new();
        walk(self.dir.path(), &mut out);
        out
    }
}

const USER_PERMS: &str = r#"{ "/" = ["list", "read", "copy"], "/incoming" = ["all"], "/incoming/private" = [], "/shared/up" = ["list", "read", "write", "copy"] }"#;

fn start(m: &Mirror, cfg: &Path) -> Server {
    let opts = ServerOpts::new(PASV)
        .cores(1)
        .arg("--config")
        .arg(cfg.to_str().unwrap());
    Server::start(&m.tree(), opts)
}

/// Sends `line` after PASV (a transfer command); returns the reply code.
fn transfer_code(f: &mut Ftp, line: &str) -> u16 {
    let pending = f.data(Mode::Pasv);
    let r = f.cmd(line);
    drop(pending);
    r.code
}

/// Each refused command gets 550 (naming the reason) and changes nothing.
fn refused(m: &Mirror, f: &mut Ftp, cmds: &[&str]) {
    for cmd in cmds {
        let before = m.snapshot();
        let transfer = ["RETR", "STOR", "APPE", "STOU", "LIST", "NLST", "MLSD"]
            .iter()
            .any(|v| cmd.starts_with(v));
        let code = if transfer {
            transfer_code(f, cmd)
        } else {
            let r = f.cmd(cmd);
            assert!(r.text().contains("denied"), "{cmd}: {:?}", r.text());
            r.code
        };
        assert_eq!(code, 550, "{cmd}");
        assert_eq!(m.snapshot(), before, "{cmd} changed the disk");
    }
}

#[test]
fn a_mirror_user_gets_exactly_its_rights() {
    let m = Mirror::new("cfg-user");
    let srv = start(&m, &m.config(USER_PERMS));
    let mut f = Ftp::login(srv.port, "mirror", PASS);
    // Read-only tree: reading works, nothing changes.
    assert_eq!(f.download(Mode::Pasv, "RETR /pub/file.txt"), b"public");
    for (cmd, code) in [
        ("SIZE /pub/file.txt", 213),
        ("MDTM /pub/file.txt", 213),
        ("MLST /pub/file.txt", 250),
        ("STAT /pub", 213),
        ("HASH /pub/file.txt", 213),
        ("CWD /pub", 250),
    ] {
        f.expect(cmd, code);
    }
    assert!(!f.download(Mode::Pasv, "LIST").is_empty());
    refused(
        &m,
        &mut f,
        &[
            "STOR /pub/file.txt",
            "STOR /pub/new.txt",
            "APPE /pub/file.txt",
            "STOU",
            "DELE /pub/file.txt",
            "MKD /pub/d",
            "RMD /pub",
            "RNFR /pub/file.txt",
            "SITE CHMOD 600 /pub/file.txt",
            "MFMT 20000101000000 /pub/file.txt",
        ],
    );
    f.expect("REST 1", 350);
    refused(&m, &mut f, &["STOR /pub/file.txt"]);
    // Writable incoming/.
    f.upload(Mode::Pasv, "STOR /incoming/a.txt", b"aaa");
    f.upload(Mode::Epsv, "APPE /incoming/a.txt", b"+");
    assert_eq!(fs::read(m.tree().join("incoming/a.txt")).unwrap(), b"aaa+");
    f.expect("MKD /incoming/d", 257);
    f.expect("RMD /incoming/d", 250);
    f.expect("RNFR /incoming/a.txt", 350);
    f.expect("RNTO /incoming/b.txt", 250);
    f.expect("SITE CHMOD 600 /incoming/b.txt", 200);
    f.expect("MFMT 20200102030405 /incoming/b.txt", 213);
    f.expect("SITE CPFR /pub/file.txt", 350);
    f.expect("SITE CPTO /incoming/copy.txt", 250);
    assert_eq!(
        fs::read(m.tree().join("incoming/copy.txt")).unwrap(),
        b"public"
    );
    f.expect("DELE /incoming/copy.txt", 250);
    // Moves and copies out of incoming/ into the read-only tree.
    f.expect("RNFR /incoming/b.txt", 350);
    refused(&m, &mut f, &["RNTO /pub/b.txt"]);
    f.expect("SITE CPFR /incoming/b.txt", 350);
    refused(&m, &mut f, &["SITE CPTO /pub/b.txt"]);
    // The private subtree is taken away again, even through `..`; the
    // directory holding it cannot be moved.
    refused(
        &m,
        &mut f,
        &[
            "RETR /incoming/private/secret.txt",
            "RETR /incoming/x/../private/secret.txt",
            "LIST /incoming/private",
            "SIZE /incoming/private/secret.txt",
            "CWD /incoming/private",
            "STOR /incoming/private/new.txt",
            "DELE /incoming/private/secret.txt",
            "RNFR /incoming/private/secret.txt",
            "RNFR /incoming",
        ],
    );
    f.expect("RNFR /incoming/b.txt", 350);
    refused(&m, &mut f, &["RNTO /incoming/private"]);
    // An operator's symlink is judged by the path it is reached through
    // (docs/users.md): /pub/link → incoming/private/secret.txt reads as /pub.
    assert_eq!(f.download(Mode::Pasv, "RETR /pub/link"), b"secret");
}

#[test]
fn a_virtual_folder_is_mounted_and_confined() {
    let m = Mirror::new("cfg-folder");
    let srv = start(&m, &m.config(USER_PERMS));
    let mut f = Ftp::login(srv.port, "mirror", PASS);
    assert_eq!(f.download(Mode::Pasv, "RETR /shared/s.txt"), b"shared");
    let names = String::from_utf8(f.download(Mode::Pasv, "NLST /")).unwrap();
    assert!(names.lines().any(|l| l == "shared"), "{names:?}");
    let mlsd = String::from_utf8(f.download(Mode::Pasv, "MLSD /")).unwrap();
    assert!(
        mlsd.lines()
            .any(|l| l.starts_with("type=dir;") && l.ends_with(" shared")),
        "{mlsd}"
    );
    f.expect("CWD /shared", 250);
    assert!(
        !m.tree().join("shared").exists(),
        "the mount point needs no directory"
    );
    // Rights inside the folder come from the rules: /shared is read-only,
    // /shared/up writable.
    refused(&m, &mut f, &["STOR /shared/x.txt", "DELE /shared/s.txt"]);
    f.upload(Mode::Pasv, "STOR /shared/up/new.txt", b"into the folder");
    assert_eq!(
        fs::read(m.dir.join("shared/up/new.txt")).unwrap(),
        b"into the folder"
    );
    // A rename cannot cross folders: 550 with the reason, nothing moved.
    f.upload(Mode::Pasv, "STOR /incoming/mv.txt", b"mv");
    f.expect("RNFR /incoming/mv.txt", 350);
    let before = m.snapshot();
    let r = f.cmd("RNTO /shared/up/mv.txt");
    assert_eq!(r.code, 550, "{r:?}");
    assert!(r.text().contains("virtual folders"), "{r:?}");
    assert_eq!(m.snapshot(), before);
    // A copy can (each side confined in its own root).
    f.expect("SITE CPFR /incoming/mv.txt", 350);
    f.expect("SITE CPTO /shared/up/mv.txt", 250);
    assert_eq!(fs::read(m.dir.join("shared/up/mv.txt")).unwrap(), b"mv");
    // `..` inside the folder stays in it.
    f.expect("CWD /shared/up", 250);
    f.expect("SIZE ../../pub/file.txt", 213);
    assert_eq!(f.download(Mode::Pasv, "RETR ../s.txt"), b"shared");
}

#[test]
fn anonymous_drop_directory_is_upload_only() {
    let m = Mirror::new("cfg-anon");
    let srv = start(&m, &m.config(USER_PERMS));
    let mut f = Ftp::anonymous(srv.port);
    f.upload(Mode::Pasv, "STOR /drop/new.txt", b"dropped");
    assert_eq!(fs::read(m.tree().join("drop/new.txt")).unwrap(), b"dropped");
    refused(
        &m,
        &mut f,
        &[
            "STOR /drop/new.txt",
            "STOR /drop/earlier.txt",
            "APPE /drop/earlier.txt",
            "RETR /drop/earlier.txt",
            "LIST /drop",
            "NLST /drop",
            "MLSD /drop",
            "SIZE /drop/earlier.txt",
            "DELE /drop/earlier.txt",
            "RNFR /drop/earlier.txt",
            "MKD /drop/sub",
            "STOR /pub/x.txt",
            "LIST /incoming",
            "CWD /incoming",
        ],
    );
    f.expect("CWD /drop", 250);
    f.upload(Mode::Pasv, "STOU", b"unique");
    assert_eq!(fs::read_dir(m.tree().join("drop")).unwrap().count(), 3);
    assert_eq!(f.download(Mode::Pasv, "RETR /pub/file.txt"), b"public");
}

#[test]
fn check_config_exit_codes_and_output() {
    let m = Mirror::new("cfg-check");
    let cfg = m.config(USER_PERMS);
    let root = m.tree();
    let out = run_limited(
        Command::new(BIN)
            .arg("check-config")
            .arg(&cfg)
            .arg("--root")
            .arg(&root),
        LIMIT,
    );
    out.assert_ok("check-config");
    assert!(
        out.stdout.contains("password_hash = \"(elided)\""),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains(pass_hash()),
        "the hash must not be printed"
    );
    assert!(out.stdout.contains("path = \"/shared\""), "{}", out.stdout);
    assert!(
        out.stdout.contains("\"/drop\" = [\"upload_only\"]"),
        "{}",
        out.stdout
    );
    // The documented example passes too (its root replaced by one that exists).
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ringftpd.example.toml");
    let out = run_limited(
        Command::new(BIN)
            .arg("check-config")
            .arg(&example)
            .arg("--root")
            .arg(&root),
        LIMIT,
    );
    out.assert_ok("check-config docs/ringftpd.example.toml");
    // A bad file: exit 2, one line naming file, line and key; same at start-up.
    let bad = m.dir.join("bad.toml");
    fs::write(&bad, "verbose = true\nsessions_max = \"many\"\n").unwrap();
    let want = format!(
        "ringftpd: config {}:2: key 'sessions_max': expected an integer, found string\n",
        bad.display()
    );
    for first in ["check-config", "--config"] {
        let out = run_limited(Command::new(BIN).arg(first).arg(&bad), LIMIT);
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        assert_eq!(
            (out.stdout.as_str(), out.stderr.as_str()),
            ("", want.as_str())
        );
    }
    let out = run_limited(Command::new(BIN).arg("check-config"), LIMIT);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

/// A server whose stderr lines can be waited for (for the reload messages).
struct Watched {
    child: Child,
    port: u16,
    stderr: mpsc::Receiver<String>,
}

impl Watched {
    fn start(root: &Path, cfg: &Path) -> Watched {
        let (mut child, line) = spawn_until_started(
            Command::new(BIN)
                .args(["--listen", "127.0.0.1:0", "--cores", "1", "--pasv-ports"])
                .arg(format!("{}-{}", PASV.0, PASV.1))
                .arg("--root")
                .arg(root)
                .arg("--config")
                .arg(cfg)
                .stdin(Stdio::null())
                .stderr(Stdio::piped()),
        );
        let (tx, stderr) = mpsc::channel();
        let err = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in err.lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let addr = line.split_whitespace().nth(3).expect("start line address");
        let port = addr.rsplit(':').next().unwrap().parse().expect("port");
        Watched {
            child,
            port,
            stderr,
        }
    }

    /// SIGHUP; the stderr lines up to the first that contains `done`.
    fn hup(&self, done: &str) -> Vec<String> {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).unwrap();
        let deadline = Instant::now() + LIMIT;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .stderr
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no {done:?} on stderr; saw {seen:?}"));
            let end = line.contains(done);
            seen.push(line);
            if end {
                return seen;
            }
        }
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }
}

#[test]
fn sighup_reloads_users_and_permissions_from_the_file() {
    let m = Mirror::new("cfg-reload");
    let read_only = r#"{ "/" = ["list", "read"] }"#;
    let cfg = m.config(read_only);
    let srv = Watched::start(&m.tree(), &cfg);
    let mut old = Ftp::login(srv.port, "mirror", PASS);
    assert_eq!(transfer_code(&mut old, "STOR /incoming/x.txt"), 550);
    // Grant write in incoming/, and change a key that needs a restart.
    m.config(r#"{ "/" = ["list", "read"], "/incoming" = ["list", "write"] }"#);
    let text = fs::read_to_string(&cfg)
        .unwrap()
        .replace("verbose = false", "verbose = true");
    fs::write(&cfg, text).unwrap();
    let lines = srv.hup("users and permissions reloaded");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("key 'verbose' changed; it takes effect after a restart")),
        "{lines:?}"
    );
    // The live session keeps its login's rights; a new login gets the new ones.
    assert_eq!(transfer_code(&mut old, "STOR /incoming/x.txt"), 550);
    let mut new = Ftp::login(srv.port, "mirror", PASS);
    new.upload(Mode::Pasv, "STOR /incoming/x.txt", b"x");
    // A broken file keeps the rules in force, and says why in one line.
    fs::write(&cfg, "bogus = 1\n").unwrap();
    let lines = srv.hup("reload failed");
    let want = format!(
        "ringftpd: reload failed, keeping the old users and permissions: config {}:1: key 'bogus': unknown key",
        cfg.display()
    );
    assert_eq!(lines.last(), Some(&want), "{lines:?}");
    let mut after = Ftp::login(srv.port, "mirror", PASS);
    after.upload(Mode::Pasv, "STOR /incoming/y.txt", b"y");
}
