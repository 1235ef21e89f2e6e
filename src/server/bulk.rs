//! Long filesystem jobs — HASH and SITE CPTO — run on the helper pool in
//! steps of at most [`STEP_BYTES`]. After each step the job puts its own
//! continuation at the back of the pool's queue, so a 100 GiB hash never holds
//! a helper for long: logins, opens and listings of other sessions queued
//! meanwhile run between two steps. Nothing of this runs on a core's thread:
//! if the first continuation cannot be queued the request gets 450 instead.

use std::sync::Arc;

use crossbeam_channel::Sender;

use super::pool::{Job, JobOutput, JobTag, Route};
use super::{checksum, copy, jobs};
use crate::fs::{FsError, Root};
use crate::proto::session::{FsOk, FsOp};

/// Bytes hashed or copied per step before the job yields its helper.
pub const STEP_BYTES: u64 = 8 << 20;

/// A job that advances in steps.
pub trait Stepped: Send {
    /// Does up to [`STEP_BYTES`] of work: `Ok(None)` while more remains.
    fn step(&mut self) -> Result<Option<FsOk>, FsError>;
}

/// Where a stepped job's continuations go and its answer returns.
#[derive(Clone)]
pub struct Resubmit {
    pub jobs: Sender<Job>,
    pub route: Route,
    pub tag: JobTag,
}

/// The helper work for an [`FsOp`]: stepped for Hash and Copy, one call for
/// the rest.
pub fn work_for(
    root: Arc<Root>,
    op: FsOp,
    entries_max: usize,
    again: Resubmit,
) -> Box<dyn FnOnce() -> JobOutput + Send> {
    match op {
        FsOp::Hash {
            path,
            algo,
            start,
            end,
        } => Box::new(
            move || match checksum::HashTask::open(&root, &path, algo, start, end) {
                Ok(task) => enqueue(Box::new(task), again, true),
                Err(e) => JobOutput::Fs(Err(e)),
            },
        ),
        FsOp::Copy { from, to } => {
            Box::new(move || match copy::CopyTask::open(&root, &from, &to) {
                Ok(task) => enqueue(Box::new(task), again, true),
                Err(e) => JobOutput::Fs(Err(e)),
            })
        }
        other => Box::new(move || jobs::fs_op(&root, other, entries_max)),
    }
}

/// Runs a stepped job to the end in the calling thread (for callers that
/// are themselves off the core).
pub fn run_to_end(mut task: Box<dyn Stepped>) -> Result<FsOk, FsError> {
    loop {
        if let Some(done) = task.step()? {
            return Ok(done);
        }
    }
}

/// Queues the next step. `first`: called where the thread is unknown (the
/// worker may have run the opening inline when the queue was full), so a full
/// queue is answered 450 rather than hashing here.
fn enqueue(task: Box<dyn Stepped>, again: Resubmit, first: bool) -> JobOutput {
    let next = again.clone();
    let job = Job {
        work: Box::new(move || step(task, next)),
        reply: again.route.clone(),
        tag: again.tag,
    };
    match again.jobs.try_send(job) {
        Ok(()) => JobOutput::Continued,
        Err(_) if first => JobOutput::Fs(Err(FsError::Busy)),
        // On a helper already: finish here rather than drop the request.
        Err(e) => (e.into_inner().work)(),
    }
}

fn step(mut task: Box<dyn Stepped>, again: Resubmit) -> JobOutput {
    // The worker is gone (shutdown): stop instead of reading for nobody.
    if again
        .route
        .tx
        .send((again.tag, JobOutput::Continued))
        .is_err()
    {
        return JobOutput::Continued;
    }
    match task.step() {
        Err(e) => JobOutput::Fs(Err(e)),
        Ok(Some(done)) => JobOutput::Fs(Ok(done)),
        Ok(None) => enqueue(task, again, false),
    }
}
