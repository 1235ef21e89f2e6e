//! Commands answered from file metadata or by changing names: CWD, SIZE,
//! MDTM, MLST, MKD, RMD, DELE, RNFR/RNTO, MFMT, SITE CHMOD, STAT path
//! (RFC 959 §4.1.3, RFC 3659 §3–§4, §7).

use super::{Action, Busy, FsOk, FsOp, FsPurpose, Now, Session, Wait};
use crate::proto::error::FsError;
use crate::proto::listing::{self, FileInfo, FileKind};
use crate::proto::path::{quote_257, VPath};
use crate::proto::perms::Perms;
use crate::proto::reply;

impl Session {
    /// Resolves a client path against the working directory, or replies 553.
    pub(super) fn resolve(&mut self, arg: &str) -> Option<VPath> {
        match self.cwd.resolve(arg) {
            Ok(p) => Some(p),
            Err(_) => {
                self.reply(reply::FILE_NAME_NOT_ALLOWED, "File name not allowed.");
                None
            }
        }
    }

    pub(super) fn fs(&mut self, op: FsOp, purpose: FsPurpose) {
        self.actions.push_back(Action::Fs(op));
        self.wait(Wait::Fs(purpose));
    }

    /// Resolves `arg`, checks `perm`, and issues `op(path)` for `purpose(path)`.
    fn fs_on_path(
        &mut self,
        arg: &str,
        perm: Perms,
        op: fn(VPath) -> FsOp,
        purpose: fn(VPath) -> FsPurpose,
    ) {
        if let Some(p) = self.resolve(arg) {
            if self.permit_at(&p, perm) {
                self.fs(op(p.clone()), purpose(p));
            }
        }
    }

    pub(super) fn cmd_cwd(&mut self, arg: &str) {
        if let Some(p) = self.resolve(arg) {
            if self.permit_enter(&p) {
                self.fs(FsOp::Stat(p.clone()), FsPurpose::Cwd(p));
            }
        }
    }

    pub(super) fn cmd_size(&mut self, arg: &str) {
        self.fs_on_path(arg, Perms::READ, FsOp::Stat, |_| FsPurpose::Size);
    }

    pub(super) fn cmd_mdtm(&mut self, arg: &str) {
        self.fs_on_path(arg, Perms::READ, FsOp::Stat, |_| FsPurpose::Mdtm);
    }

    pub(super) fn cmd_mlst(&mut self, arg: Option<String>) {
        let arg = arg.unwrap_or_default();
        self.fs_on_path(&arg, Perms::LIST, FsOp::Stat, FsPurpose::Mlst);
    }

    pub(super) fn cmd_mkd(&mut self, arg: &str) {
        self.fs_on_path(arg, Perms::MKDIR, FsOp::Mkdir, FsPurpose::Mkd);
    }

    pub(super) fn cmd_rmd(&mut self, arg: &str) {
        self.fs_on_path(arg, Perms::MKDIR, FsOp::Rmdir, |_| FsPurpose::Rmd);
    }

    pub(super) fn cmd_dele(&mut self, arg: &str) {
        self.fs_on_path(arg, Perms::DELETE, FsOp::Delete, |_| FsPurpose::Dele);
    }

    pub(super) fn cmd_rnfr(&mut self, arg: &str) {
        if let Some(p) = self.resolve(arg) {
            if self.permit_rename_from(&p) {
                self.fs(FsOp::Stat(p.clone()), FsPurpose::Rnfr(p));
            }
        }
    }

    pub(super) fn cmd_rnto(&mut self, from: Option<VPath>, arg: &str) {
        let Some(from) = from else {
            return self.reply(reply::BAD_SEQUENCE, "RNFR required first.");
        };
        if let Some(to) = self.resolve(arg) {
            if self.permit_rename(&from, &to) {
                self.fs(FsOp::Rename { from, to }, FsPurpose::Rnto);
            }
        }
    }

    pub(super) fn cmd_mfmt(&mut self, unix_secs: i64, arg: &str) {
        if let Some(p) = self.resolve(arg) {
            if self.permit_at(&p, Perms::CHMOD) {
                self.fs(
                    FsOp::SetMtime {
                        path: p.clone(),
                        unix_secs,
                    },
                    FsPurpose::Mfmt(p, unix_secs),
                );
            }
        }
    }

    /// SITE CHMOD, SITE HELP (others: 504).
    pub(super) fn cmd_site(&mut self, rest: &str) {
        let mut words = rest.splitn(2, ' ');
        let sub = words.next().unwrap_or("").to_ascii_uppercase();
        let arg = words.next().unwrap_or("");
        match sub.as_str() {
            "CHMOD" => self.site_chmod(arg),
            "CPFR" => self.site_cpfr(arg),
            "CPTO" => self.site_cpto(arg),
            "QUOTA" => self.site_quota(),
            "HELP" => self.reply(reply::HELP, "SITE commands: CHMOD CPFR CPTO QUOTA HELP"),
            _ => self.reply(reply::NOT_IMPLEMENTED_PARAM, "Unknown SITE command."),
        }
    }

    fn site_chmod(&mut self, arg: &str) {
        let mut parts = arg.splitn(2, ' ');
        let mode = parts.next().and_then(|m| u32::from_str_radix(m, 8).ok());
        let path = parts.next().filter(|p| !p.is_empty());
        let (Some(mode), Some(path)) = (mode.filter(|m| *m <= 0o777), path) else {
            return self.reply(
                reply::SYNTAX_ERROR_ARGS,
                "Usage: SITE CHMOD <octal mode up to 777> <path>",
            );
        };
        if let Some(p) = self.resolve(path) {
            if self.permit_at(&p, Perms::CHMOD) {
                self.fs(FsOp::Chmod { path: p, mode }, FsPurpose::Chmod);
            }
        }
    }

    /// STAT <path> (RFC 959 §4.1.3): the listing on the control connection.
    pub(super) fn stat_path(&mut self, arg: &str) {
        self.fs_on_path(arg, Perms::LIST, FsOp::Stat, FsPurpose::StatPath);
    }

    /// The answer to an [`FsOp`].
    pub(super) fn on_fs(&mut self, r: Result<FsOk, FsError>, now: Now) {
        let Busy::Waiting(Wait::Fs(purpose)) = std::mem::replace(&mut self.busy, Busy::Idle) else {
            return;
        };
        match r {
            Err(e) => self.fs_failed(&purpose, e),
            Ok(FsOk::Info(info)) => self.on_info(purpose, info, now),
            Ok(FsOk::Entries(entries, truncated)) => {
                self.on_entries(purpose, &entries, truncated, now)
            }
            Ok(FsOk::Done) => self.on_done(purpose),
            Ok(FsOk::Hash(h)) => self.on_hash(purpose, h),
        }
    }

    fn fs_failed(&mut self, purpose: &FsPurpose, e: FsError) {
        match purpose {
            FsPurpose::Cwd(_) => self.reply(reply::FILE_UNAVAILABLE, "Failed to change directory."),
            FsPurpose::Size => self.reply(reply::FILE_UNAVAILABLE, "Could not get file size."),
            _ => self.reply(e.reply_code(), &format!("{}.", e.reply_text())),
        }
    }

    fn on_info(&mut self, purpose: FsPurpose, info: FileInfo, now: Now) {
        let is_dir = info.kind == FileKind::Dir;
        match purpose {
            FsPurpose::Cwd(p) if is_dir => {
                self.cwd = p;
                self.reply(reply::FILE_ACTION_OK, "Directory successfully changed.");
            }
            FsPurpose::Cwd(_) => self.reply(reply::FILE_UNAVAILABLE, "Failed to change directory."),
            FsPurpose::Size if info.kind == FileKind::File => {
                self.reply(reply::FILE_STATUS, &info.size.to_string())
            }
            FsPurpose::Size => self.reply(reply::FILE_UNAVAILABLE, "Could not get file size."),
            FsPurpose::Mdtm => self.reply(
                reply::FILE_STATUS,
                &listing::format_timeval(info.mtime_secs),
            ),
            FsPurpose::Mlst(p) => self.mlst_reply(&p, info),
            FsPurpose::Rnfr(p) => {
                self.rename_from = Some(p);
                self.reply(reply::PENDING_FURTHER_INFO, "Ready for RNTO.");
            }
            FsPurpose::StatPath(p) if is_dir => {
                self.actions.push_back(Action::Fs(FsOp::ReadDir(p.clone())));
                self.wait(Wait::Fs(FsPurpose::StatDir(p)));
            }
            FsPurpose::StatPath(p) => {
                self.stat_listing(&p, std::slice::from_ref(&info), false, now)
            }
            FsPurpose::Cpfr(p) => self.on_cpfr(p, &info),
            other => self.fs_failed(&other, FsError::Io(0)),
        }
    }

    fn on_entries(&mut self, purpose: FsPurpose, entries: &[FileInfo], truncated: bool, now: Now) {
        match purpose {
            FsPurpose::StatDir(p) => self.stat_listing(&p, entries, truncated, now),
            other => self.fs_failed(&other, FsError::Io(0)),
        }
    }

    fn on_done(&mut self, purpose: FsPurpose) {
        match purpose {
            FsPurpose::Mkd(p) => self.reply(
                reply::PATH_CREATED,
                &format!("{} created.", quote_257(p.as_str())),
            ),
            FsPurpose::Rmd => self.reply(
                reply::FILE_ACTION_OK,
                "Remove directory operation successful.",
            ),
            FsPurpose::Dele => self.reply(reply::FILE_ACTION_OK, "Delete operation successful."),
            FsPurpose::Rnto => self.reply(reply::FILE_ACTION_OK, "Rename successful."),
            FsPurpose::Mfmt(p, t) => {
                let text = format!("Modify={}; {}", listing::format_timeval(t), p.as_str());
                self.reply(reply::FILE_STATUS, &text);
            }
            FsPurpose::Chmod => self.reply(reply::OK, "SITE CHMOD command ok."),
            FsPurpose::Cpto => self.reply(reply::FILE_ACTION_OK, "Copy successful."),
            other => self.fs_failed(&other, FsError::Io(0)),
        }
    }

    /// RFC 3659 §7.2: `250-` header, one indented fact line, `250 End`.
    fn mlst_reply(&mut self, p: &VPath, mut info: FileInfo) {
        info.name = p.as_str().to_string();
        let mut facts = Vec::new();
        listing::format_mlsx(&info, self.can_write_at(p), &mut facts);
        let line = String::from_utf8_lossy(&facts).into_owned();
        self.reply_block(
            reply::FILE_ACTION_OK,
            &format!("Listing {}", p.as_str()),
            &[line],
            "End",
        );
    }

    fn stat_listing(&mut self, p: &VPath, entries: &[FileInfo], truncated: bool, now: Now) {
        let mut lines = Vec::with_capacity(entries.len());
        let mut buf = Vec::new();
        for e in entries
            .iter()
            .filter(|e| listing::is_listable_name(&e.name))
        {
            buf.clear();
            listing::format_list_line(e, now.unix_secs, &mut buf);
            let s = String::from_utf8_lossy(&buf);
            lines.push(s.trim_end_matches(['\r', '\n']).to_string());
        }
        if truncated {
            lines.push("(listing truncated at the server's limit)".to_string());
        }
        self.reply_block(
            reply::FILE_STATUS,
            &format!("Status of {}:", p.as_str()),
            &lines,
            "End of status",
        );
    }
}
