//! Session scripts for HASH / OPTS HASH / X-hash aliases, SITE CPFR/CPTO, the
//! RFC 775 aliases, ACCT/ALLO/SMNT and odd names: no sockets, exact codes.

use super::tests::{vp, Script};
use super::*;
use crate::proto::error::FsError;
use crate::proto::hash::HashAlgo;
use crate::proto::listing::{FileInfo, FileKind};
use crate::proto::perms::Perms;

fn info(kind: FileKind) -> FileInfo {
    FileInfo {
        name: "x".into(),
        kind,
        size: 10,
        mtime_secs: 1_700_000_000,
        mode: 0o644,
        nlink: 1,
    }
}

/// What these scripts add to the harness of `tests.rs`.
impl Script {
    /// A named user with `perms`, logged in.
    fn logged_in(perms: Perms) -> Script {
        let mut s = Script::new();
        s.login_as("u", perms);
        s
    }

    fn expect(&mut self, line: &str, code: &str) -> String {
        self.expect_code(line, code)
    }

    /// Sends `line`, checks it asks for `op`, answers `r`; returns the reply.
    fn fs_cmd(&mut self, line: &str, op: FsOp, r: Result<FsOk, FsError>) -> String {
        assert_eq!(self.send(line), "", "{line}: no reply before the fs answer");
        self.fs(op, r)
    }

    /// [`Script::fs_cmd`] for a line that stats `path`, answered with an
    /// entry of `kind`.
    fn stat_cmd(&mut self, line: &str, path: &str, kind: FileKind) -> String {
        self.fs_cmd(line, FsOp::Stat(vp(path)), Ok(FsOk::Info(info(kind))))
    }
}

/// The HASH of `path` from `start` to `end` (None: the end of the file).
fn hash(path: &str, algo: HashAlgo, start: u64, end: Option<u64>) -> FsOp {
    FsOp::Hash {
        path: vp(path),
        algo,
        start,
        end,
    }
}

fn done(algo: HashAlgo, start: u64, end: u64, hex: &str) -> Result<FsOk, FsError> {
    Ok(FsOk::Hash(HashDone {
        algo,
        start,
        end,
        hex: hex.into(),
    }))
}

#[test]
fn hash_default_sha256_whole_file() {
    // draft-bryan-ftpext-hash-02 §3: 213 <algo> <start>-<end> <hex> <path>.
    let mut s = Script::logged_in(Perms::READ_ONLY);
    let op = hash("/a b.iso", HashAlgo::Sha256, 0, None);
    let r = s.fs_cmd("HASH a b.iso", op, done(HashAlgo::Sha256, 0, 50, "ab12"));
    assert_eq!(r, "213 SHA-256 0-49 ab12 a b.iso\r\n");
}

#[test]
fn opts_hash_selects_lists_and_marks_feat() {
    let mut s = Script::logged_in(Perms::READ_ONLY);
    assert_eq!(s.send("OPTS HASH"), "200 SHA-256\r\n");
    assert_eq!(s.send("OPTS HASH md5"), "200 MD5\r\n");
    assert_eq!(s.send("OPTS HASH"), "200 MD5\r\n");
    s.expect("OPTS HASH SHA-512", "504");
    let feat = s.send("FEAT");
    assert!(
        feat.contains("\r\n HASH SHA-256;SHA-1;MD5*;CRC32\r\n"),
        "{feat}"
    );
    let op = hash("/f", HashAlgo::Md5, 0, None);
    assert!(s
        .fs_cmd("HASH f", op, done(HashAlgo::Md5, 0, 3, "00"))
        .starts_with("213 MD5 0-2 00 f"));
}

#[test]
fn hash_honours_rest_once_and_maps_errors() {
    let mut s = Script::logged_in(Perms::READ_ONLY);
    s.expect("REST 100", "350");
    let op = hash("/f", HashAlgo::Sha256, 100, None);
    assert!(s
        .fs_cmd("HASH f", op, done(HashAlgo::Sha256, 100, 200, "aa"))
        .starts_with("213 SHA-256 100-199 aa f"));
    // REST was used up: the next HASH starts at 0, and a missing file is 550.
    for (name, e, code) in [
        ("g", FsError::NotFound, "550"),
        ("d", FsError::IsADirectory, "550"),
        ("b", FsError::Busy, "450"),
    ] {
        let op = hash(&format!("/{name}"), HashAlgo::Sha256, 0, None);
        let r = s.fs_cmd(&format!("HASH {name}"), op, Err(e));
        assert!(r.starts_with(code), "{e:?}: {r}");
    }
    s.expect("HASH", "501");
}

#[test]
fn hash_needs_read_permission_and_login() {
    let mut s = Script::logged_in(Perms::LIST);
    s.expect("HASH f", "550");
    s.expect("XCRC f", "550");
    assert_eq!(s.action(), None);
    let mut fresh = Script::logged_in(Perms::READ_ONLY);
    fresh.expect_codes(&[("REIN", "220"), ("HASH f", "530"), ("XMD5 f", "530")]);
}

#[test]
fn x_hash_aliases_reply_hex_only() {
    let mut s = Script::logged_in(Perms::READ_ONLY);
    for (verb, algo) in [
        ("XSHA256", HashAlgo::Sha256),
        ("XSHA1", HashAlgo::Sha1),
        ("XMD5", HashAlgo::Md5),
        ("XCRC", HashAlgo::Crc32),
    ] {
        let op = hash("/f", algo, 0, None);
        assert_eq!(
            s.fs_cmd(&format!("{verb} f"), op, done(algo, 0, 9, "beef")),
            "213 beef\r\n"
        );
    }
    // A range: start and end (exclusive) offsets after the path.
    let op = hash("/my file", HashAlgo::Crc32, 5, Some(9));
    assert_eq!(
        s.fs_cmd("XCRC my file 5 9", op, done(HashAlgo::Crc32, 5, 9, "01")),
        "213 01\r\n"
    );
    let op = hash("/q 1", HashAlgo::Md5, 0, Some(4));
    assert_eq!(
        s.fs_cmd("XMD5 \"q 1\" 0 4", op, done(HashAlgo::Md5, 0, 4, "02")),
        "213 02\r\n"
    );
    s.expect("XCRC f 9 5", "501");
    s.expect("XCRC \"f\" 1", "501");
}

#[test]
fn site_cpfr_cpto_copy_within_the_root() {
    let mut s = Script::logged_in(Perms::ALL);
    s.expect("SITE CPTO b", "503");
    let r = s.stat_cmd("SITE CPFR a", "/a", FileKind::File);
    assert!(r.starts_with("350"), "{r}");
    s.expect("NOOP", "200"); // the source is kept until CPTO (ProFTPD mod_copy)
    let op = FsOp::Copy {
        from: vp("/a"),
        to: vp("/dir/b c"),
    };
    assert_eq!(
        s.fs_cmd("SITE CPTO dir/b c", op, Ok(FsOk::Done)),
        "250 Copy successful.\r\n"
    );
    s.expect("SITE CPTO again", "503");
    // Errors: missing source, a directory, the same name, a failed copy.
    let nope = FsOp::Stat(vp("/nope"));
    assert!(s
        .fs_cmd("SITE CPFR nope", nope, Err(FsError::NotFound))
        .starts_with("550"));
    assert!(s
        .stat_cmd("SITE CPFR d", "/d", FileKind::Dir)
        .starts_with("550"));
    assert!(s
        .stat_cmd("SITE CPFR a", "/a", FileKind::File)
        .starts_with("350"));
    s.expect("SITE CPTO /a", "553");
    let op = FsOp::Copy {
        from: vp("/a"),
        to: vp("/full"),
    };
    assert!(s
        .fs_cmd("SITE CPTO full", op, Err(FsError::NoSpace))
        .starts_with("452"));
    s.expect("SITE CPFR", "501");
    let h = s.expect("SITE HELP", "214");
    assert!(h.contains("CPFR CPTO"), "{h}");
}

#[test]
fn site_copy_needs_read_write_and_copy_rights() {
    let mut s = Script::logged_in(Perms::READ_ONLY);
    s.expect("SITE CPFR a", "550");
    let mut s = Script::logged_in(Perms::READ.with(Perms::COPY));
    assert!(s
        .stat_cmd("SITE CPFR a", "/a", FileKind::File)
        .starts_with("350"));
    s.expect("SITE CPTO b", "550"); // no WRITE
    assert_eq!(s.action(), None);
    let mut s = Script::logged_in(Perms::ALL);
    assert!(s
        .stat_cmd("SITE CPFR a", "/a", FileKind::File)
        .starts_with("350"));
    s.expect("REIN", "220"); // REIN forgets the source
    s.send("USER u");
    s.send("PASS p");
    s.action();
    s.event(Event::Login(Some(LoginOk::uniform("u", false, Perms::ALL))));
    s.expect("SITE CPTO b", "503");
}

#[test]
fn rfc775_aliases_acct_allo_smnt() {
    let mut s = Script::logged_in(Perms::ALL);
    s.expect_codes(&[
        ("ACCT billing", "202"),
        ("ALLO 1000", "202"),
        ("ALLO", "202"),
        ("SMNT /mnt", "502"),
    ]);
    assert_eq!(s.send("XPWD"), "257 \"/\" is the current directory\r\n");
    let r = s.stat_cmd("XCWD pub", "/pub", FileKind::Dir);
    assert!(r.starts_with("250"), "{r}");
    s.expect("XCUP", "250");
    assert_eq!(s.send("XPWD"), "257 \"/\" is the current directory\r\n");
    assert!(s
        .fs_cmd("XMKD new dir", FsOp::Mkdir(vp("/new dir")), Ok(FsOk::Done))
        .starts_with("257 \"/new dir\""));
    assert!(s
        .fs_cmd("XRMD new dir", FsOp::Rmdir(vp("/new dir")), Ok(FsOk::Done))
        .starts_with("250"));
    let help = s.expect("HELP", "214");
    for v in ["HASH", "XCRC", "XMD5", "XSHA1", "XSHA256", "XPWD"] {
        assert!(help.contains(v), "HELP lacks {v}");
    }
}

#[test]
fn odd_names_pass_through_and_control_bytes_are_refused() {
    let mut s = Script::logged_in(Perms::ALL);
    // Leading dash, UTF-8, spaces (leading ones too: RFC 959 §5.3.1 has one SP).
    for (arg, path) in [
        ("-rf", "/-rf"),
        ("Grüße 日本.txt", "/Grüße 日本.txt"),
        ("  two", "/  two"),
    ] {
        assert!(s
            .fs_cmd(
                &format!("DELE {arg}"),
                FsOp::Delete(vp(path)),
                Ok(FsOk::Done)
            )
            .starts_with("250"));
    }
    // NUL and a lone CR inside a line are refused before anything runs.
    s.s.handle_input(b"DELE a\0b\r\nMKD a\rb\r\n", s.now);
    assert_eq!(
        s.out(),
        "501 Invalid character in command.\r\n501 Invalid character in command.\r\n"
    );
    assert_eq!(s.action(), None);
    // A reply quoting a name never gains a line: 257 doubles quotes only.
    assert!(s
        .fs_cmd("MKD a\"b", FsOp::Mkdir(vp("/a\"b")), Ok(FsOk::Done))
        .starts_with("257 \"/a\"\"b\" created."));
}

#[test]
fn rest_beyond_any_file_offset_is_501_and_keeps_no_marker() {
    // Kernel offsets are signed 64-bit (RFC 3659 §5.3 leaves the range to the server).
    let mut s = Script::logged_in(Perms::ALL);
    s.expect_codes(&[
        ("REST 18446744073709551615", "501"),
        ("REST 9223372036854775808", "501"),
        ("REST 9223372036854775807", "350"),
    ]);
    s.expect("REST 99999999999999999999", "501"); // not a u64 at all
    s.expect("REST 5", "350");
    s.expect("REST 18446744073709551615", "501");
    // The refused REST cleared the earlier marker: HASH starts at 0.
    let op = hash("/f", HashAlgo::Sha256, 0, None);
    assert!(s
        .fs_cmd("HASH f", op, done(HashAlgo::Sha256, 0, 1, "aa"))
        .starts_with("213"));
}

/// Starts HASH (or SITE CPTO) and leaves it running.
fn start_long_job(copy: bool) -> Script {
    let mut s = Script::logged_in(Perms::ALL);
    if copy {
        let r = s.stat_cmd("SITE CPFR a", "/a", FileKind::File);
        assert!(r.starts_with("350"), "{r}");
        assert_eq!(s.send("SITE CPTO b"), "");
        let want = FsOp::Copy {
            from: vp("/a"),
            to: vp("/b"),
        };
        assert_eq!(s.action(), Some(Action::Fs(want)));
    } else {
        assert_eq!(s.send("HASH big"), "");
        assert!(matches!(s.action(), Some(Action::Fs(FsOp::Hash { .. }))));
    }
    s
}

#[test]
fn abor_stops_a_running_hash_or_copy() {
    for (copy, what) in [(false, "HASH"), (true, "Copy")] {
        let mut s = start_long_job(copy);
        // A line other than ABOR/QUIT waits for the job, NOOP too: its
        // reply must not come before the job's.
        assert_eq!(s.send("PWD"), "");
        assert_eq!(s.send("NOOP"), "");
        let r = s.send("ABOR");
        assert_eq!(
            r,
            format!("426 {what} aborted.\r\n226 ABOR successful.\r\n257 \"/\" is the current directory\r\n200 NOOP ok.\r\n")
        );
        assert_eq!(s.action(), Some(Action::CancelFs));
        // The job's late answer changes nothing.
        assert_eq!(s.event(Event::Fs(Ok(FsOk::Done))), "");
        s.expect("NOOP", "200");
    }
}

#[test]
fn abor_after_telnet_ip_and_synch_stops_a_hash() {
    let mut s = start_long_job(false);
    s.s.handle_input(b"\xff\xf4\xff\xf2ABOR\r\n", s.now);
    let r = s.out();
    assert!(r.starts_with("426 HASH aborted.\r\n226 "), "{r}");
    assert_eq!(s.action(), Some(Action::CancelFs));
}

#[test]
fn quit_or_a_closed_connection_stops_a_running_job() {
    let mut s = start_long_job(false);
    assert_eq!(s.send("QUIT"), "221 Goodbye.\r\n");
    assert_eq!(s.action(), Some(Action::CancelFs));
    assert!(s.s.is_closing());
    let mut s = start_long_job(true);
    s.s.handle_closed();
    assert_eq!(s.action(), Some(Action::CancelFs));
    // A short filesystem request is not cancelled: its answer is harmless.
    let mut s = Script::logged_in(Perms::ALL);
    assert_eq!(s.send("SIZE f"), "");
    assert!(matches!(s.action(), Some(Action::Fs(FsOp::Stat(_)))));
    s.s.handle_closed();
    assert_eq!(s.action(), Some(Action::ClosePassive));
}
