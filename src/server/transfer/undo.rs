//! An upload that went past the quota (`store.rs` stopped receiving): the
//! transfer waits in `Stage::Undoing` while a helper removes the partial
//! file (APPE and REST+STOR: truncates it back), then ends with 552.

use super::{Body, Io, Stage, Step, Xfer};
use crate::fs::FsError;
use crate::proto::session::TransferError;
use crate::server::pool::JobOutput;

impl Xfer {
    /// The upload went past the quota: stop receiving, and have a helper
    /// remove what it wrote before the 552.
    pub(super) fn undo_upload(&mut self, io: &mut Io) -> Step {
        let over = Step::Done(Err(TransferError::Write(FsError::QuotaExceeded)));
        self.link.shutdown();
        let (Body::Store(b), Some(target)) = (&self.body, self.target.clone()) else {
            return over;
        };
        let Some(uq) = b.quota().cloned() else {
            return over;
        };
        let tag = io.tags.job();
        let root = self.root.clone();
        let work = Box::new(move || {
            uq.undo(&root, &target);
            JobOutput::Undone
        });
        if io.ctx.submit_job(tag, work).is_err() {
            // The helper queue is full: 552 at once, and the partial file
            // stays (its bytes stay counted, so the usage still matches
            // the disk). Removing it here would block the worker.
            return over;
        }
        self.stage = Stage::Undoing { seq: tag.seq };
        Step::Continue
    }

    /// A helper finished undoing a refused upload: 552.
    pub fn on_undone(&mut self, seq: u64) -> Step {
        match self.stage {
            Stage::Undoing { seq: s } if s == seq => {
                Step::Done(Err(TransferError::Write(FsError::QuotaExceeded)))
            }
            _ => Step::Continue,
        }
    }
}
