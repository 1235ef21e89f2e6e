//! Session scripts: whole conversations without sockets. Each test feeds
//! command lines and the server's answers to actions, and checks the exact
//! reply codes (RFC 959 §4.2, §5.4) and the actions asked for.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::proto::error::FsError;
use crate::proto::listing::{FileInfo, FileKind};
use crate::proto::perms::Perms;

pub(super) struct Script {
    pub(super) s: Session,
    pub(super) now: Now,
}

fn peer() -> SocketAddr {
    "127.0.0.1:40000".parse().unwrap()
}

fn local() -> SocketAddr {
    "127.0.0.1:2121".parse().unwrap()
}

fn file(name: &str, size: u64) -> FileInfo {
    FileInfo {
        name: name.into(),
        kind: FileKind::File,
        size,
        mtime_secs: 1_700_000_000,
        mode: 0o644,
        nlink: 1,
    }
}

fn dir(name: &str) -> FileInfo {
    FileInfo {
        name: name.into(),
        kind: FileKind::Dir,
        size: 4096,
        mtime_secs: 1_700_000_000,
        mode: 0o755,
        nlink: 2,
    }
}

impl Script {
    pub(super) fn with(cfg: SessionConfig, peer: SocketAddr, local: SocketAddr) -> Script {
        let now = Now {
            mono: Instant::now(),
            unix_secs: 1_700_000_000,
        };
        let mut s = Session::new(Arc::new(cfg), peer, local, now);
        let greeting = s.take_output().unwrap();
        assert!(
            greeting.starts_with(b"220 "),
            "greeting: {:?}",
            String::from_utf8_lossy(&greeting)
        );
        Script { s, now }
    }

    pub(super) fn new() -> Script {
        Script::with(SessionConfig::default(), peer(), local())
    }

    /// Sends a line; returns all reply text produced.
    pub(super) fn send(&mut self, line: &str) -> String {
        self.s
            .handle_input(format!("{line}\r\n").as_bytes(), self.now);
        self.out()
    }

    pub(super) fn out(&mut self) -> String {
        self.s
            .take_output()
            .map(|o| String::from_utf8(o).unwrap())
            .unwrap_or_default()
    }

    pub(super) fn event(&mut self, ev: Event) -> String {
        self.s.handle_event(ev, self.now);
        self.out()
    }

    pub(super) fn action(&mut self) -> Option<Action> {
        self.s.poll_action()
    }

    pub(super) fn expect_code(&mut self, line: &str, code: &str) -> String {
        let r = self.send(line);
        assert!(r.starts_with(code), "{line:?}: expected {code}, got {r:?}");
        r
    }

    /// Sends each line in turn; each reply must start with its code.
    pub(super) fn expect_codes(&mut self, steps: &[(&str, &str)]) {
        for (line, code) in steps {
            self.expect_code(line, code);
        }
    }

    /// Feeds `input` (raw, during a transfer): it must ask for the abort.
    pub(super) fn input_aborting(&mut self, input: &[u8]) {
        self.s.handle_input(input, self.now);
        assert_eq!(self.action(), Some(Action::Abort));
    }

    /// The transfer ends as aborted; returns the replies that follow.
    pub(super) fn transfer_aborted(&mut self) -> String {
        self.event(Event::TransferDone(Err(TransferError::Aborted)))
    }

    pub(super) fn login_as(&mut self, user: &str, perms: Perms) {
        self.login_ok(LoginOk::uniform(user, user == "anonymous", perms));
    }

    /// USER, PASS, and the server's answer `ok`.
    pub(super) fn login_ok(&mut self, ok: LoginOk) {
        self.expect_code(&format!("USER {}", ok.user), "331");
        assert_eq!(self.send("PASS secret"), "");
        assert!(matches!(self.action(), Some(Action::Login { .. })));
        let r = self.event(Event::Login(Some(ok)));
        assert!(r.starts_with("230"), "{r}");
    }

    pub(super) fn anon() -> Script {
        let mut s = Script::new();
        s.login_as("anonymous", Perms::READ_ONLY);
        s
    }

    pub(super) fn writer() -> Script {
        let mut s = Script::new();
        s.login_as("alice", Perms::ALL);
        s
    }

    /// Answers an expected Fs action with `r`; returns the reply.
    pub(super) fn fs(&mut self, expect: FsOp, r: Result<FsOk, FsError>) -> String {
        assert_eq!(self.action(), Some(Action::Fs(expect)));
        self.event(Event::Fs(r))
    }

    /// Sends `line`, then answers the Fs action it asks for, `op`, with `r`;
    /// returns the reply to the answer.
    pub(super) fn send_fs(&mut self, line: &str, op: FsOp, r: Result<FsOk, FsError>) -> String {
        self.send(line);
        self.fs(op, r)
    }

    /// [`Script::send_fs`], and the reply must start with `code`.
    pub(super) fn expect_fs(&mut self, line: &str, op: FsOp, r: Result<FsOk, FsError>, code: &str) {
        let got = self.send_fs(line, op, r);
        assert!(
            got.starts_with(code),
            "{line:?}: expected {code}, got {got:?}"
        );
    }

    /// Sends `line`; returns the transfer it asks for.
    pub(super) fn transfer_asked(&mut self, line: &str) -> Transfer {
        self.send(line);
        let Some(Action::Transfer(t)) = self.action() else {
            panic!("{line}: no transfer")
        };
        t
    }

    pub(super) fn pasv(&mut self, port: u16) {
        assert_eq!(self.send("PASV"), "");
        assert_eq!(self.action(), Some(Action::OpenPassive));
        let r = self.event(Event::PassiveOpened(Some(port)));
        assert!(
            r.starts_with("227 Entering Passive Mode (127,0,0,1,"),
            "{r}"
        );
    }

    /// PASV on `port`, then `RETR big` up to its 150 (the transfer running).
    pub(super) fn running_retr(port: u16, size: Option<u64>) -> Script {
        let mut s = Script::anon();
        s.pasv(port);
        s.send("RETR big");
        assert!(matches!(s.action(), Some(Action::Transfer(_))));
        let r = s.event(Event::TransferReady { size, name: None });
        assert!(r.starts_with("150 "), "{r}");
        s
    }
}

pub(super) fn vp(s: &str) -> VPath {
    VPath::root().resolve(s).unwrap()
}

use crate::proto::path::VPath;

// RFC 959 §5.4: USER → 331, PASS → 230.
#[test]
fn login_anonymous_and_named() {
    let mut s = Script::anon();
    assert_eq!(s.s.user(), Some("anonymous"));
    s.expect_code("PASS again", "230");
    s.expect_code("USER bob", "530");
}

#[test]
fn failed_logins_then_421_close() {
    let mut s = Script::new();
    for i in 0..3 {
        s.expect_code("USER bob", "331");
        s.send("PASS wrong");
        assert!(matches!(s.action(), Some(Action::Login { .. })));
        let r = s.event(Event::Login(None));
        let want = if i < 2 { "530" } else { "421" };
        assert!(r.starts_with(want), "attempt {i}: {r}");
    }
    assert!(s.s.is_closing());
    assert_eq!(s.action(), Some(Action::ClosePassive));
    assert_eq!(s.action(), Some(Action::Close));
}

// RFC 959 §5.4: commands before login are refused with 530; PASS without USER is 503.
#[test]
fn before_login() {
    let mut s = Script::new();
    s.expect_codes(&[
        ("RETR x", "530"),
        ("LIST", "530"),
        ("PASS x", "503"),
        ("FEAT", "211-"),
        ("SYST", "215"),
        ("NOOP", "200"),
        ("FOO", "502"),
    ]);
}

#[test]
fn syntax_errors_and_unknown() {
    let mut s = Script::anon();
    s.expect_codes(&[
        ("", "500"),
        ("RETR", "501"),
        ("TYPE Z", "501"),
        ("REST abc", "501"),
        ("XYZZY", "502"),
        ("SMNT /x", "502"),
        ("MODE B", "504"),
        ("STRU R", "504"),
        ("MODE S", "200"),
        ("STRU F", "200"),
        ("ALLO 100", "202"),
        ("ACCT x", "202"),
    ]);
}

#[test]
fn line_too_long_is_500_once_and_session_goes_on() {
    let cfg = SessionConfig {
        line_len_max_bytes: 64,
        ..SessionConfig::default()
    };
    let mut s = Script::with(cfg, peer(), local());
    let long = format!("USER {}", "a".repeat(200));
    let r = s.send(&long);
    assert_eq!(r.matches("500 ").count(), 1, "{r}");
    s.expect_code("USER anonymous", "331");
}

// RFC 2389 §3.2: FEAT multi-line form; RFC 959 §4.2: continuation lines.
#[test]
fn feat_help_syst_opts() {
    let mut s = Script::anon();
    let r = s.send("FEAT");
    assert!(
        r.starts_with("211-") && r.ends_with("211 End\r\n") && r.contains("\r\n EPSV\r\n"),
        "{r}"
    );
    assert!(s.send("HELP").starts_with("214-"));
    s.expect_codes(&[
        ("HELP RETR", "214"),
        ("OPTS UTF8 ON", "200"),
        ("OPTS MLST type;size;", "200"),
        ("OPTS FOO", "501"),
    ]);
}

#[test]
fn pwd_cwd_cdup() {
    let mut s = Script::anon();
    s.expect_code("PWD", "257 \"/\"");
    let pub_dir = Ok(FsOk::Info(dir("pub")));
    s.expect_fs("CWD pub", FsOp::Stat(vp("/pub")), pub_dir, "250");
    s.expect_code("PWD", "257 \"/pub\"");
    let a_file = Ok(FsOk::Info(file("file", 1)));
    s.expect_fs("XCWD file", FsOp::Stat(vp("/pub/file")), a_file, "550");
    let missing = Err(FsError::NotFound);
    s.expect_fs("CWD nope", FsOp::Stat(vp("/pub/nope")), missing, "550");
    s.expect_code("CDUP", "250");
    s.expect_code("XPWD", "257 \"/\"");
    // `..` above the root stays at the root.
    let root = Ok(FsOk::Info(dir("/")));
    s.expect_fs("CWD ../../..", FsOp::Stat(vp("/")), root, "250");
}

#[test]
fn size_mdtm_mlst() {
    let mut s = Script::anon();
    let stat = |p: &str| FsOp::Stat(vp(p));
    let a_bin = |size| Ok(FsOk::Info(file("a.bin", size)));
    assert_eq!(
        s.send_fs("SIZE a.bin", stat("/a.bin"), a_bin(4095)),
        "213 4095\r\n"
    );
    s.expect_fs("SIZE pub", stat("/pub"), Ok(FsOk::Info(dir("pub"))), "550");
    let r = s.send_fs("MDTM a.bin", stat("/a.bin"), a_bin(1));
    assert_eq!(r, "213 20231114221320\r\n");
    let r = s.send_fs("MLST a.bin", stat("/a.bin"), a_bin(1));
    // RFC 3659 §7.2: 250- header, one line starting with a space, 250 end.
    assert!(
        r.starts_with("250-") && r.contains("\r\n type=file;size=1;") && r.ends_with("250 End\r\n"),
        "{r}"
    );
}

#[test]
fn anonymous_cannot_write() {
    let mut s = Script::anon();
    for cmd in [
        "STOR x",
        "APPE x",
        "DELE x",
        "MKD d",
        "RMD d",
        "RNFR x",
        "SITE CHMOD 644 x",
        "STOU",
    ] {
        s.expect_code(cmd, "550");
        assert_eq!(s.action(), None, "{cmd} must not reach the filesystem");
    }
}

#[test]
fn mkd_rmd_dele_rename_mfmt_chmod() {
    let mut s = Script::writer();
    let done = || Ok(FsOk::Done);
    let r = s.send_fs("MKD new \"dir\"", FsOp::Mkdir(vp("/new \"dir\"")), done());
    assert_eq!(r, "257 \"/new \"\"dir\"\"\" created.\r\n");
    s.expect_fs(
        "RMD d",
        FsOp::Rmdir(vp("/d")),
        Err(FsError::NotEmpty),
        "550",
    );
    s.expect_fs("DELE f", FsOp::Delete(vp("/f")), done(), "250");
    let a = || Ok(FsOk::Info(file("a", 1)));
    s.expect_fs("RNFR a", FsOp::Stat(vp("/a")), a(), "350");
    let rename = FsOp::Rename {
        from: vp("/a"),
        to: vp("/b"),
    };
    s.expect_fs("RNTO b", rename, done(), "250");
    s.expect_code("RNTO c", "503");
    // RFC 959 §4.1.3: another command between RNFR and RNTO cancels the rename.
    s.send_fs("RNFR a", FsOp::Stat(vp("/a")), a());
    s.expect_code("NOOP", "200");
    s.expect_code("RNTO b", "503");
    let mfmt = FsOp::SetMtime {
        path: vp("/b"),
        unix_secs: 1_704_164_645,
    };
    let r = s.send_fs("MFMT 20240102030405 b", mfmt, done());
    assert_eq!(r, "213 Modify=20240102030405; /b\r\n");
    let chmod = FsOp::Chmod {
        path: vp("/b"),
        mode: 0o600,
    };
    s.expect_fs("SITE CHMOD 600 b", chmod, done(), "200");
    s.expect_code("SITE CHMOD 7777 b", "501");
    s.expect_code("SITE FOO", "504");
    s.expect_fs(
        "DELE nope",
        FsOp::Delete(vp("/nope")),
        Err(FsError::NotFound),
        "550",
    );
}

#[test]
fn list_options_glob_and_formats() {
    let mut s = Script::anon();
    let list = |path: &str, format, glob: Option<&str>, show_hidden| TransferKind::List {
        path: vp(path),
        format,
        glob: glob.map(Into::into),
        show_hidden,
        can_write: false,
    };
    let cases = [
        (
            50_011,
            "LIST -la pub",
            list("/pub", ListFormat::Long, None, true),
        ),
        (
            50_012,
            "NLST *.iso",
            list("/", ListFormat::Names, Some("*.iso"), false),
        ),
    ];
    for (port, line, want) in cases {
        s.pasv(port);
        assert_eq!(s.transfer_asked(line).kind, want);
        s.event(Event::TransferDone(Ok(0)));
    }
    s.pasv(50_013);
    assert!(matches!(
        s.transfer_asked("MLSD").kind,
        TransferKind::List {
            format: ListFormat::Machine,
            ..
        }
    ));
}

#[test]
fn stat_path_lists_on_control() {
    let mut s = Script::anon();
    s.send("STAT pub");
    assert_eq!(s.fs(FsOp::Stat(vp("/pub")), Ok(FsOk::Info(dir("pub")))), "");
    let r = s.fs(
        FsOp::ReadDir(vp("/pub")),
        Ok(FsOk::Entries(
            vec![file("a", 1), file("bad\r\nname", 1)],
            false,
        )),
    );
    assert!(r.starts_with("213-Status of /pub:\r\n -rw-r--r--"), "{r}");
    assert!(
        r.ends_with("213 End of status\r\n") && !r.contains("bad"),
        "{r}"
    );
    let r = s.send("STAT");
    assert!(
        r.starts_with("211-") && r.contains("Logged in as anonymous"),
        "{r}"
    );
}

#[test]
fn stou_reports_the_name() {
    let mut s = Script::writer();
    s.pasv(50_014);
    assert_eq!(
        s.transfer_asked("STOU").kind,
        TransferKind::Store {
            path: vp("/"),
            mode: StoreMode::Unique
        }
    );
    assert_eq!(
        s.event(Event::TransferReady {
            size: None,
            name: Some("ftp1.0".into())
        }),
        "150 FILE: ftp1.0\r\n"
    );
}

#[test]
fn transfer_errors_map_to_codes() {
    let cases = [
        (TransferError::DataConnection, "425"),
        (TransferError::ConnectionLost, "426"),
        (TransferError::Stalled, "426"),
        (TransferError::Write(FsError::NoSpace), "452"),
        (TransferError::Write(FsError::QuotaExceeded), "552"),
        (TransferError::Read(FsError::Io(5)), "451"),
    ];
    for (e, code) in cases {
        let mut s = Script::writer();
        s.pasv(50_015);
        s.send("STOR x");
        s.action();
        let r = s.event(Event::TransferDone(Err(e)));
        assert!(r.starts_with(code), "{e:?}: {r}");
    }
}

#[test]
fn rein_host_and_quit() {
    let mut s = Script::new();
    s.send("HOST ftp.example.org");
    assert_eq!(
        s.action(),
        Some(Action::SelectHost("ftp.example.org".into()))
    );
    assert!(s
        .event(Event::HostSelected(Some("welcome".into())))
        .starts_with("220 welcome"));
    s.expect_code("HOST again", "503");
    s.login_as("anonymous", Perms::READ_ONLY);
    s.expect_codes(&[
        ("HOST late", "503"),
        ("REIN", "220"),
        ("LIST", "530"),
        ("QUIT", "221"),
    ]);
    assert!(s.s.is_closing());
    s.send("NOOP");
    assert_eq!(s.out(), "");
}

#[test]
fn idle_timeout_421() {
    let cfg = SessionConfig {
        idle_timeout_secs: 10,
        ..SessionConfig::default()
    };
    let mut s = Script::with(cfg, peer(), local());
    let later = Now {
        mono: s.now.mono + Duration::from_secs(5),
        unix_secs: 0,
    };
    s.s.handle_tick(later);
    assert_eq!(s.out(), "");
    let later = Now {
        mono: s.now.mono + Duration::from_secs(11),
        unix_secs: 0,
    };
    s.s.handle_tick(later);
    assert!(s.out().starts_with("421"));
    assert!(s.s.is_closing());
}

#[test]
fn path_with_control_chars_is_refused() {
    let mut s = Script::anon();
    let r = s.send("RETR a\rb");
    assert!(r.starts_with("501"), "{r}");
    s.s.handle_input(b"RETR a\0b\r\n", s.now);
    assert!(s.out().starts_with("501"));
}

#[test]
fn one_command_at_a_time() {
    let mut s = Script::anon();
    // Two commands in one packet: the second waits for the first's answer.
    s.s.handle_input(b"SIZE a\r\nPWD\r\n", s.now);
    assert_eq!(s.out(), "");
    let r = s.fs(FsOp::Stat(vp("/a")), Ok(FsOk::Info(file("a", 3))));
    assert_eq!(r, "213 3\r\n257 \"/\" is the current directory\r\n");
}
