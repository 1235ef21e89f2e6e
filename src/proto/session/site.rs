//! SITE CPFR / SITE CPTO: server-side copy (the de-facto commands of
//! ProFTPD's mod_copy). CPFR needs READ and COPY on the source, CPTO WRITE
//! and COPY on the target — the rights of a download and an upload — and the
//! copy happens inside the user's root, off the core ([`FsOp::Copy`]).
//!
//! The source named by CPFR is kept until CPTO (or REIN); CPTO without it
//! gets 503.
//!
//! SITE QUOTA: the login's storage quota (bytes and files used, the limits)
//! and its transfer rates, as a 211 block.

use super::{Auth, FsOp, FsPurpose, Session};
use crate::proto::listing::{FileInfo, FileKind};
use crate::proto::path::VPath;
use crate::proto::perms::Perms;
use crate::proto::reply;

impl Session {
    pub(super) fn site_cpfr(&mut self, arg: &str) {
        if arg.is_empty() {
            return self.reply(reply::SYNTAX_ERROR_ARGS, "Usage: SITE CPFR <path>");
        }
        let Some(p) = self.resolve(arg) else { return };
        if self.permit_at(&p, Perms::READ.with(Perms::COPY)) {
            self.fs(FsOp::Stat(p.clone()), FsPurpose::Cpfr(p));
        }
    }

    pub(super) fn on_cpfr(&mut self, p: VPath, info: &FileInfo) {
        if info.kind != FileKind::File {
            return self.reply(reply::FILE_UNAVAILABLE, "Not a regular file.");
        }
        self.copy_from = Some(p);
        self.reply(
            reply::PENDING_FURTHER_INFO,
            "File exists, ready for destination name.",
        );
    }

    pub(super) fn site_cpto(&mut self, arg: &str) {
        if arg.is_empty() {
            return self.reply(reply::SYNTAX_ERROR_ARGS, "Usage: SITE CPTO <path>");
        }
        let Some(from) = self.copy_from.clone() else {
            return self.reply(reply::BAD_SEQUENCE, "Use SITE CPFR first.");
        };
        let Some(to) = self.resolve(arg) else { return };
        if to == from {
            return self.reply(
                reply::FILE_NAME_NOT_ALLOWED,
                "Source and destination are the same file.",
            );
        }
        if self.permit_at(&to, Perms::WRITE.with(Perms::COPY)) {
            self.copy_from = None;
            self.fs(FsOp::Copy { from, to }, FsPurpose::Cpto);
        }
    }

    /// SITE QUOTA: usage and limits of the login.
    pub(super) fn site_quota(&mut self) {
        let body = self.limit_lines();
        self.reply_block(reply::SYSTEM_STATUS, "Quota and rates:", &body, "End");
    }

    /// The quota and rate lines of SITE QUOTA and STAT (none before login).
    pub(super) fn limit_lines(&self) -> Vec<String> {
        let Auth::LoggedIn(l) = &self.auth else {
            return Vec::new();
        };
        let mut lines = match &l.quota {
            Some(q) => q.lines(),
            None => vec!["No storage quota".to_string()],
        };
        let rate = |what: &str, r: u64| match r {
            0 => format!("{what} rate: unlimited"),
            r => format!("{what} rate: {r} bytes/s"),
        };
        lines.push(rate("Download", l.rates.download_bytes_per_sec));
        lines.push(rate("Upload", l.rates.upload_bytes_per_sec));
        lines
    }
}
