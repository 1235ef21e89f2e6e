//! Long filesystem jobs — HASH and SITE CPTO — run on the helper pool in
//! steps of at most [`STEP_BYTES`]. After each step the job puts its own
//! continuation at the back of the pool's queue, so a 100 GiB hash never holds
//! a helper for long: logins, opens and listings of other sessions queued
//! meanwhile run between two steps. Nothing of this runs on a core's thread:
//! if the first continuation cannot be queued the request gets 450 instead.
//!
//! A job stops at its next step once its [`Cancel`] flag is set (ABOR, QUIT
//! or the connection closed), so nobody's hash runs on to the end of a huge
//! file; a cancelled copy removes its partial target.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crossbeam_channel::Sender;

use super::pool::{Job, JobOutput, JobTag, Route};
use crate::fs::FsError;
use crate::proto::session::FsOk;

/// Bytes hashed or copied per step before the job yields its helper.
pub const STEP_BYTES: u64 = 8 << 20;

/// A job that advances in steps.
pub trait Stepped: Send {
    /// Does up to [`STEP_BYTES`] of work: `Ok(None)` while more remains.
    fn step(&mut self) -> Result<Option<FsOk>, FsError>;

    /// The job was cancelled before its end: undo what must not stay.
    fn cancelled(&mut self) {}
}

/// Set by the worker when nobody wants a running job's answer any more.
#[derive(Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Where a stepped job's continuations go and its answer returns.
#[derive(Clone)]
pub struct Resubmit {
    pub jobs: Sender<Job>,
    pub route: Route,
    pub tag: JobTag,
    pub cancel: Cancel,
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
pub fn enqueue(task: Box<dyn Stepped>, again: Resubmit, first: bool) -> JobOutput {
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
    // Cancelled, or the worker is gone (shutdown): stop instead of reading
    // for nobody.
    let gone = again
        .route
        .tx
        .send((again.tag, JobOutput::Continued))
        .is_err();
    if gone || again.cancel.is_set() {
        task.cancelled();
        return JobOutput::Continued;
    }
    match task.step() {
        Err(e) => JobOutput::Fs(Err(e)),
        Ok(Some(done)) => JobOutput::Fs(Ok(done)),
        Ok(None) => enqueue(task, again, false),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::server::pool::Pool;

    /// Counts its steps; never finishes by itself.
    struct Endless {
        steps: Arc<AtomicUsize>,
        undone: Arc<AtomicBool>,
    }

    impl Stepped for Endless {
        fn step(&mut self) -> Result<Option<FsOk>, FsError> {
            self.steps.fetch_add(1, Ordering::SeqCst);
            Ok(None)
        }

        fn cancelled(&mut self) {
            self.undone.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_cancelled_job_stops_at_its_next_step_and_undoes() {
        let pool = Pool::start(1);
        let (tx, rx) = crossbeam_channel::unbounded();
        let wake: std::os::fd::OwnedFd =
            nix::sys::eventfd::EventFd::from_flags(nix::sys::eventfd::EfdFlags::EFD_CLOEXEC)
                .unwrap()
                .into();
        let again = Resubmit {
            jobs: pool.sender(),
            route: Route {
                tx,
                wake: Arc::new(wake),
            },
            tag: JobTag {
                conn: 0,
                conn_gen: 1,
                seq: 1,
            },
            cancel: Cancel::default(),
        };
        let (steps, undone) = (Arc::default(), Arc::default());
        let task = Endless {
            steps: Arc::clone(&steps),
            undone: Arc::clone(&undone),
        };
        assert!(matches!(
            enqueue(Box::new(task), again.clone(), true),
            JobOutput::Continued
        ));
        // Each step reports in; let a few run, then cancel.
        for _ in 0..3 {
            rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
        }
        again.cancel.cancel();
        while !undone.load(Ordering::SeqCst) {
            rx.recv_timeout(std::time::Duration::from_secs(10))
                .expect("the job went on after its cancel");
        }
        let n = steps.load(Ordering::SeqCst);
        drop(again);
        drop(pool); // joins the helper once the queue is empty and closed
        assert_eq!(steps.load(Ordering::SeqCst), n, "no step after the cancel");
    }
}
