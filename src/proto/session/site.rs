//! SITE CPFR / SITE CPTO: server-side copy (the de-facto commands of
//! ProFTPD's mod_copy). CPFR needs READ and COPY on the source, CPTO WRITE
//! and COPY on the target — the rights of a download and an upload — and the
//! copy happens inside the user's root, off the core ([`FsOp::Copy`]).
//!
//! The source named by CPFR is kept until CPTO (or REIN); CPTO without it
//! gets 503.

use super::{FsOp, FsPurpose, Session};
use crate::proto::listing::{FileInfo, FileKind};
use crate::proto::path::VPath;
use crate::proto::perms::Perms;

impl Session {
    pub(super) fn site_cpfr(&mut self, arg: &str) {
        if arg.is_empty() {
            return self.reply(501, "Usage: SITE CPFR <path>");
        }
        let Some(p) = self.resolve(arg) else { return };
        if self.permit_at(&p, Perms::READ.with(Perms::COPY)) {
            self.fs(FsOp::Stat(p.clone()), FsPurpose::Cpfr(p));
        }
    }

    pub(super) fn on_cpfr(&mut self, p: VPath, info: &FileInfo) {
        if info.kind != FileKind::File {
            return self.reply(550, "Not a regular file.");
        }
        self.copy_from = Some(p);
        self.reply(350, "File exists, ready for destination name.");
    }

    pub(super) fn site_cpto(&mut self, arg: &str) {
        if arg.is_empty() {
            return self.reply(501, "Usage: SITE CPTO <path>");
        }
        let Some(from) = self.copy_from.clone() else {
            return self.reply(503, "Use SITE CPFR first.");
        };
        let Some(to) = self.resolve(arg) else { return };
        if to == from {
            return self.reply(553, "Source and destination are the same file.");
        }
        if self.permit_at(&to, Perms::WRITE.with(Perms::COPY)) {
            self.copy_from = None;
            self.fs(FsOp::Copy { from, to }, FsPurpose::Cpto);
        }
    }
}
