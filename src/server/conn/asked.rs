//! The one helper-pool request a connection's session waits for: a login
//! check or a filesystem op (HASH and SITE CPTO run in steps and can be
//! stopped). An answer to anything else (a cancelled or replaced request)
//! is recognised by its sequence number and dropped.

use std::sync::Arc;

use crate::fs::Root;
use crate::proto::quota::Quota;
use crate::proto::session::FsOp;
use crate::server::bulk::{Cancel, Resubmit};
use crate::server::ctx::Ctx;
use crate::server::jobs;
use crate::server::tags::Tags;

/// What the connection has asked the helper pool for.
pub(super) enum Asked {
    Nothing,
    /// A password check.
    Login {
        seq: u64,
    },
    /// A filesystem op; `cancel` stops a stepped one, `deleting` is the
    /// path of a DELE (for the xferlog).
    Fs {
        seq: u64,
        cancel: Cancel,
        deleting: Option<String>,
    },
}

impl Asked {
    /// Asks for the password check; false when the helper queue is full.
    pub(super) fn login(
        &mut self,
        ctx: &mut Ctx,
        tags: &mut Tags,
        user: String,
        pass: String,
    ) -> bool {
        let tag = tags.job();
        let shared = ctx.shared.clone();
        let work = Box::new(move || jobs::login(&shared, &user, &pass));
        let sent = ctx.submit_job(tag, work).is_ok();
        *self = if sent {
            Asked::Login { seq: tag.seq }
        } else {
            Asked::Nothing
        };
        sent
    }

    /// Asks for `op` under `root`; false when the helper queue is full.
    pub(super) fn fs(
        &mut self,
        ctx: &mut Ctx,
        tags: &mut Tags,
        root: Arc<Root>,
        op: FsOp,
        quota: Option<Quota>,
    ) -> bool {
        let deleting = match &op {
            FsOp::Delete(p) => Some(p.as_str().to_string()),
            _ => None,
        };
        let tag = tags.job();
        let cancel = Cancel::default();
        let again = Resubmit {
            jobs: ctx.jobs(),
            route: ctx.route.clone(),
            tag,
            cancel: cancel.clone(),
        };
        let work = jobs::work_for(root, op, ctx.shared.args.list_entries_max, again, quota);
        let sent = ctx.submit_job(tag, work).is_ok();
        *self = if sent {
            Asked::Fs {
                seq: tag.seq,
                cancel,
                deleting,
            }
        } else {
            Asked::Nothing
        };
        sent
    }

    /// True when `seq` answers the request waited for.
    pub(super) fn is(&self, seq: u64) -> bool {
        match self {
            Asked::Nothing => false,
            Asked::Login { seq: s } | Asked::Fs { seq: s, .. } => *s == seq,
        }
    }

    /// The request was answered: forgets it; the path of a DELE.
    pub(super) fn answered(&mut self) -> Option<String> {
        match std::mem::replace(self, Asked::Nothing) {
            Asked::Fs { deleting, .. } => deleting,
            Asked::Nothing | Asked::Login { .. } => None,
        }
    }

    /// Stops a running stepped job and forgets the request; its answer, if
    /// one still comes, is dropped.
    pub(super) fn cancel(&mut self) {
        if let Asked::Fs { cancel, .. } = std::mem::replace(self, Asked::Nothing) {
            cancel.cancel();
        }
    }
}
