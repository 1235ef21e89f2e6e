//! Session scripts for per-path permissions ([`PathRules`]): every refusal is
//! a 550 naming the reason, and no refused command asks for filesystem work.

use std::sync::Arc;

use super::tests::{vp, Script};
use super::*;
use crate::proto::listing::{FileInfo, FileKind};
use crate::proto::perms::Perms;
use crate::proto::rules::PathRules;

/// A mirror user: read-only tree, writable `/incoming` with a private
/// subtree taken away, an upload-only `/drop`.
fn mirror() -> Script {
    let p = |s: &str| Perms::parse(s).unwrap();
    let rules = PathRules::new([
        (vp("/"), p("list,read")),
        (vp("/incoming"), p("all")),
        (vp("/incoming/private"), Perms::NONE),
        (vp("/drop"), Perms::UPLOAD_ONLY),
    ]);
    let mut s = Script::new();
    s.login_ok(LoginOk {
        user: "mirror".into(),
        anonymous: false,
        rules: Arc::new(rules),
        quota: None,
        rates: Default::default(),
    });
    s
}

fn info(kind: FileKind) -> FileInfo {
    FileInfo {
        name: "x".into(),
        kind,
        size: 1,
        mtime_secs: 1_700_000_000,
        mode: 0o644,
        nlink: 1,
    }
}

impl Script {
    /// Sends `line`, expects exactly `reply`, and no action at all.
    fn refused(&mut self, line: &str, reply: &str) {
        assert_eq!(self.send(line), format!("{reply}\r\n"), "{line}");
        assert_eq!(self.action(), None, "{line} must not reach the filesystem");
    }

    /// Sends a transfer command after PASV; returns the transfer asked for.
    fn transfer(&mut self, line: &str) -> Transfer {
        self.pasv(50000);
        assert_eq!(self.send(line), "", "{line}");
        match self.action() {
            Some(Action::Transfer(t)) => {
                self.event(Event::TransferDone(Err(TransferError::DataConnection)));
                t
            }
            other => panic!("{line}: {other:?}"),
        }
    }
}

#[test]
fn refusals_name_the_reason_and_touch_nothing() {
    let mut s = mirror();
    let no_write = "550 Permission denied: no write permission in /.";
    s.refused("STOR /pub/x", no_write);
    s.refused("STOU", no_write);
    s.refused(
        "MKD /pub/d",
        "550 Permission denied: no mkdir permission in /.",
    );
    s.refused(
        "DELE /pub/f",
        "550 Permission denied: no delete permission in /.",
    );
    s.refused(
        "SITE CHMOD 600 /pub/f",
        "550 Permission denied: no chmod permission in /.",
    );
    s.refused(
        "MFMT 20200101000000 /pub/f",
        "550 Permission denied: no chmod permission in /.",
    );
    s.refused(
        "RNFR /pub/f",
        "550 Permission denied: no rename permission in /.",
    );
    let private = "550 Permission denied: no read permission in /incoming/private.";
    s.refused("RETR /incoming/private/f", private);
    s.refused("SIZE /incoming/private/f", private);
    s.refused("MDTM /incoming/private/f", private);
    s.refused("HASH /incoming/private/f", private);
    let unlisted = "550 Permission denied: no list permission in /incoming/private.";
    s.refused("MLST /incoming/private", unlisted);
    s.refused("STAT /incoming/private", unlisted);
    s.refused("CWD /incoming/private", unlisted);
    s.refused("CWD /incoming/private/deeper", unlisted);
    for list in ["LIST", "NLST", "MLSD"] {
        s.pasv(50000);
        s.refused(&format!("{list} /incoming/private"), unlisted);
    }
    // `..` is resolved first: the private subtree is reached anyway.
    s.refused("RETR /incoming/x/../private/f", private);
    // Component boundaries: `/incoming/privateer` is under `/incoming`.
    s.asks_fs(
        "SIZE /incoming/privateer",
        FsOp::Stat(vp("/incoming/privateer")),
    );
}

#[test]
fn allowed_where_the_rules_say() {
    let mut s = mirror();
    s.stored("STOR /incoming/new", "/incoming/new", StoreMode::Truncate);
    let t = s.transfer("RETR /pub/f");
    assert!(matches!(t.kind, TransferKind::Retr { .. }));
    let TransferKind::List { can_write, .. } = s.transfer("LIST /incoming").kind else {
        panic!("not a listing")
    };
    assert!(can_write, "MLSD perm facts offer writing in /incoming");
    let TransferKind::List { can_write, .. } = s.transfer("MLSD /pub").kind else {
        panic!("not a listing")
    };
    assert!(!can_write);
    s.asks_fs("MKD /incoming/d", FsOp::Mkdir(vp("/incoming/d")));
}

#[test]
fn upload_only_directory_creates_new_files_only() {
    let mut s = mirror();
    s.stored("STOR /drop/new", "/drop/new", StoreMode::CreateNew);
    let upload_only = "550 Permission denied: /drop is upload-only (new files only).";
    s.pasv(50000);
    s.refused("RETR /drop/new", upload_only);
    s.refused("APPE /drop/new", upload_only);
    s.expect_code("REST 5", "350");
    s.refused("STOR /drop/new", upload_only);
    s.refused("SITE CPFR /drop/new", upload_only);
    s.refused("DELE /drop/new", upload_only);
    s.refused("STOR /drop/sub/new", upload_only);
    // It can be entered, and STOU there creates a new name.
    assert_eq!(s.send("CWD /drop"), "");
    let r = s.fs(FsOp::Stat(vp("/drop")), Ok(FsOk::Info(info(FileKind::Dir))));
    assert!(r.starts_with("250"), "{r}");
    s.stored("STOU", "/drop", StoreMode::Unique);
    s.pasv(50000);
    s.refused("LIST", upload_only);
}

#[test]
fn rename_and_copy_across_directories_with_mixed_rights() {
    let mut s = mirror();
    s.rnfr_ok("/incoming/a");
    // Into the read-only tree: no write there.
    s.refused(
        "RNTO /pub/a",
        "550 Permission denied: no write permission in /.",
    );
    // Into the upload-only directory: a rename could replace a file there.
    let upload_only = "550 Permission denied: /drop is upload-only (new files only).";
    s.move_refused("/incoming/a", "/drop/a", upload_only);
    // Onto the private subtree itself.
    let private = "550 Permission denied: no write permission in /incoming/private.";
    s.move_refused("/incoming/a", "/incoming/private", private);
    // Within /incoming: fine.
    s.rnfr_ok("/incoming/a");
    s.asks_fs(
        "RNTO /incoming/b",
        FsOp::Rename {
            from: vp("/incoming/a"),
            to: vp("/incoming/b"),
        },
    );
    s.event(Event::Fs(Ok(FsOk::Done)));
    // The directory that holds the private rule cannot be moved.
    s.refused(
        "RNFR /incoming",
        "550 Permission denied: /incoming has its own access rules and cannot be moved.",
    );
    // Copy: CPFR needs read (and copy) at the source, CPTO write at the target.
    assert!(s
        .fs_after(
            "SITE CPFR /incoming/a",
            FsOp::Stat(vp("/incoming/a")),
            FileKind::File
        )
        .starts_with("350"));
    s.refused(
        "SITE CPTO /pub/a",
        "550 Permission denied: no write+copy permission in /.",
    );
    s.refused(
        "SITE CPFR /pub/a",
        "550 Permission denied: no copy permission in /.",
    );
    s.asks_fs(
        "SITE CPTO /incoming/c",
        FsOp::Copy {
            from: vp("/incoming/a"),
            to: vp("/incoming/c"),
        },
    );
}

impl Script {
    /// RNFR `from` (accepted), then RNTO `to` refused with `reply`.
    fn move_refused(&mut self, from: &str, to: &str, reply: &str) {
        self.rnfr_ok(from);
        self.refused(&format!("RNTO {to}"), reply);
    }

    /// RNFR `from`, its Stat answered with a file: 350.
    fn rnfr_ok(&mut self, from: &str) {
        let r = self.fs_after(
            &format!("RNFR {from}"),
            FsOp::Stat(vp(from)),
            FileKind::File,
        );
        assert!(r.starts_with("350"), "{r}");
    }

    /// `line` (after PASV) asks to store at `path` in `mode`.
    fn stored(&mut self, line: &str, path: &str, mode: StoreMode) {
        let t = self.transfer(line);
        let path = vp(path);
        assert_eq!(t.kind, TransferKind::Store { path, mode }, "{line}");
    }

    /// Sends `line`: no reply yet, it asks for `op`.
    fn asks_fs(&mut self, line: &str, op: FsOp) {
        assert_eq!(self.send(line), "", "{line}");
        assert_eq!(self.action(), Some(Action::Fs(op)));
    }

    /// Sends `line`, answers its Stat with an entry of `kind`; the reply.
    fn fs_after(&mut self, line: &str, op: FsOp, kind: FileKind) -> String {
        assert_eq!(self.send(line), "", "{line}");
        self.fs(op, Ok(FsOk::Info(info(kind))))
    }
}

mod quota_lines {
    use std::sync::Arc;

    use super::super::tests::Script;
    use super::super::*;
    use crate::proto::perms::Perms;
    use crate::proto::quota::{Quota, Rates, Usage};
    use crate::proto::rules::PathRules;

    fn with_quota(quota: Option<Quota>, rates: Rates) -> Script {
        let mut s = Script::new();
        s.login_ok(LoginOk {
            user: "q".into(),
            anonymous: false,
            rules: Arc::new(PathRules::uniform(Perms::ALL)),
            quota,
            rates,
        });
        s
    }

    #[test]
    fn site_quota_shows_usage_limits_and_rates_without_touching_the_disk() {
        let usage = Arc::new(Usage::new(1500, 2));
        let q = Quota {
            bytes_max: Some(4000),
            files_max: Some(10),
            usage: usage.clone(),
        };
        let rates = Rates {
            download_bytes_per_sec: 0,
            upload_bytes_per_sec: 65536,
        };
        let mut s = with_quota(Some(q), rates);
        assert_eq!(
            s.send("SITE QUOTA"),
            "211-Quota and rates:\r\n Bytes used: 1500 of 4000 (2500 left)\r\n \
             Files used: 2 of 10 (8 left)\r\n Download rate: unlimited\r\n \
             Upload rate: 65536 bytes/s\r\n211 End\r\n"
        );
        assert_eq!(s.action(), None);
        // The usage is shared: another session's upload shows at once.
        usage.set(3999, 3);
        let r = s.send("site quota");
        assert!(r.contains(" Bytes used: 3999 of 4000 (1 left)\r\n"), "{r}");
        // STAT adds the same lines.
        let r = s.send("STAT");
        assert!(r.contains(" Files used: 3 of 10 (7 left)\r\n"), "{r}");
        assert!(r.contains(" Upload rate: 65536 bytes/s\r\n"), "{r}");
        assert!(s.send("SITE HELP").contains("QUOTA"));
    }

    #[test]
    fn site_quota_without_a_quota_and_before_login() {
        let mut s = with_quota(None, Rates::default());
        assert_eq!(
            s.send("SITE QUOTA"),
            "211-Quota and rates:\r\n No storage quota\r\n Download rate: unlimited\r\n \
             Upload rate: unlimited\r\n211 End\r\n"
        );
        let mut fresh = Script::new();
        assert!(fresh.send("SITE QUOTA").starts_with("530"));
    }
}
