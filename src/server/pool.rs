//! The helper pool: a few threads that run the blocking work a core must not
//! (file opens, metadata, directory reads, password hashes). A worker sends a
//! job with a reply route; the helper runs it, pushes the result on the
//! worker's channel and bumps the worker's eventfd so its ring wakes up.

use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};

/// A unit of blocking work and where its result goes.
pub struct Job {
    pub work: Box<dyn FnOnce() -> JobOutput + Send>,
    pub reply: Route,
    /// Which connection and which request of it (checked on return).
    pub tag: JobTag,
}

/// Identifies the request a result answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobTag {
    pub conn: usize,
    pub conn_gen: u32,
    /// A per-connection request sequence number.
    pub seq: u64,
}

/// The result types jobs produce.
pub enum JobOutput {
    Login(Option<(crate::proto::session::LoginOk, Arc<crate::fs::Root>)>),
    Fs(Result<crate::proto::session::FsOk, crate::fs::FsError>),
    OpenRead(Result<(OwnedFd, u64), crate::fs::FsError>),
    /// The target, STOU's name, and the upload's quota (if the login has one).
    OpenWrite(
        Result<(OwnedFd, Option<String>, Option<super::quota::UploadQuota>), crate::fs::FsError>,
    ),
    /// A refused upload's partial file was removed (or truncated back).
    Undone,
    /// A listing's first chunk (it opens the transfer).
    Listing(Result<super::listing_stream::ListChunk, crate::fs::FsError>),
    /// A later chunk of a listing.
    ListMore(Result<super::listing_stream::ListChunk, crate::fs::FsError>),
    /// A stepped job queued its next step; nothing to tell the worker.
    Continued,
}

/// A worker's return address: its channel and its eventfd.
#[derive(Clone)]
pub struct Route {
    pub tx: Sender<(JobTag, JobOutput)>,
    pub wake: Arc<OwnedFd>,
}

impl Route {
    fn deliver(&self, tag: JobTag, out: JobOutput) {
        if self.tx.send((tag, out)).is_ok() {
            // An eventfd write only fails when the counter would overflow,
            // which cannot happen with +1 per result drained by the worker.
            let _ = nix::unistd::write(&*self.wake, &1u64.to_ne_bytes());
        }
    }
}

/// The pool's threads and their job queue.
pub struct Pool {
    tx: Option<Sender<Job>>,
    threads: Vec<JoinHandle<()>>,
}

impl Pool {
    /// Starts `n` helper threads.
    pub fn start(n: usize) -> Pool {
        let (tx, rx): (Sender<Job>, Receiver<Job>) = crossbeam_channel::bounded(65_536);
        let threads = (0..n)
            .map(|i| {
                let rx = rx.clone();
                std::thread::Builder::new()
                    .name(format!("ringftpd-helper-{i}"))
                    .spawn(move || {
                        for job in rx {
                            let out = (job.work)();
                            if !matches!(out, JobOutput::Continued) {
                                job.reply.deliver(job.tag, out);
                            }
                        }
                    })
                    .expect("spawning a helper thread at start-up")
            })
            .collect();
        Pool {
            tx: Some(tx),
            threads,
        }
    }

    /// A handle workers use to submit jobs.
    pub fn sender(&self) -> Sender<Job> {
        self.tx.clone().expect("pool is running")
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.tx = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
