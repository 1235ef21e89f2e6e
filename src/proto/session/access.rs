//! The session's one door to the permission table ([`PathRules`]): every
//! command that names a path asks here, before any filesystem action is
//! queued, so a refusal (550 with the reason) never touches the disk.

use super::Session;
use crate::proto::path::VPath;
use crate::proto::perms::Perms;
use crate::proto::reply;
use crate::proto::rules::{Access, Denied, PathRules};

impl Session {
    fn rules(&self) -> Option<&PathRules> {
        self.login().map(|l| &*l.rules)
    }

    /// Asks the table; on a refusal replies 550 with the reason and returns
    /// `None`.
    fn ask<T>(&mut self, q: impl FnOnce(&PathRules) -> Result<T, Denied>) -> Option<T> {
        match self.rules().map(q).unwrap_or(Err(Denied::NotLoggedIn)) {
            Ok(v) => Some(v),
            Err(d) => {
                self.reply(reply::FILE_UNAVAILABLE, &format!("Permission denied: {d}."));
                None
            }
        }
    }

    /// True when `need` is granted at `p` as asked; otherwise replies 550.
    pub(super) fn permit_at(&mut self, p: &VPath, need: Perms) -> bool {
        self.ask(|t| t.check_full(p, need)).is_some()
    }

    /// For STOR/STOU: how `need` may go ahead at `p` (`CreateOnly` in an
    /// upload-only directory), or `None` after a 550.
    pub(super) fn permit_store(&mut self, p: &VPath, need: Perms) -> Option<Access> {
        self.ask(|t| t.check(p, need))
    }

    /// CWD: any right at `p` will do.
    pub(super) fn permit_enter(&mut self, p: &VPath) -> bool {
        self.ask(|t| t.may_enter(p)).is_some()
    }

    /// RNFR: `rename` at the source.
    pub(super) fn permit_rename_from(&mut self, from: &VPath) -> bool {
        self.ask(|t| t.check_rename_from(from)).is_some()
    }

    /// RNTO: `rename` at the source, `write` at the destination.
    pub(super) fn permit_rename(&mut self, from: &VPath, to: &VPath) -> bool {
        self.ask(|t| t.check_rename(from, to)).is_some()
    }

    /// Whether `p` may be written (for the MLSx `perm` facts).
    pub(super) fn can_write_at(&self, p: &VPath) -> bool {
        self.rules()
            .is_some_and(|t| t.check_full(p, Perms::WRITE).is_ok())
    }
}
