//! What a worker's connections share: the ring, the clock of this pass of
//! the event loop, the way to the helper pool, the passive-port slice, pooled
//! pipes and the queue of uploads waiting for a registered buffer. Kept apart
//! from the connection table so a connection and the context can be borrowed
//! at once.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::Sender;

use super::kept_listeners::KeptListeners;
use super::ops::WorkerObs;
use super::pool::{Job, JobOutput, JobTag, Route};
use super::shared::Shared;
use crate::engine::{Pipe, Ring};
use crate::proto::pace::Pace;
use crate::proto::session::Now;

/// The helper pool's queue is full: the request gets a "busy" answer (450
/// or 421) instead of running on the worker's thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HelpersBusy;

/// Everything of a worker except its connections.
pub struct Ctx {
    pub id: usize,
    pub ring: Ring,
    pub shared: Arc<Shared>,
    jobs: Sender<Job>,
    pub route: Route,
    pub pasv_slice: (u16, u16),
    pub pasv_cursor: u16,
    /// Passive listeners kept between transfers, for any session's next
    /// PASV/EPSV (`server/kept_listeners.rs`).
    pub kept_listeners: KeptListeners,
    /// Pipes of clean, drained splice transfers, for the next one.
    pub pipes: Vec<Pipe>,
    /// Connections waiting for a registered buffer (index, generation).
    pub buf_waiters: VecDeque<(usize, u32)>,
    /// Reused scratch space (TYPE A conversion).
    pub scratch: Vec<u8>,
    /// The time of this pass of the event loop (read once per pass).
    pub now: Now,
    /// This worker's metric block and log channels.
    pub obs: WorkerObs,
    /// This worker's share of `--server-download-rate-bytes-per-sec`.
    pace_down: Option<Pace>,
    /// This worker's share of `--server-upload-rate-bytes-per-sec`.
    pace_up: Option<Pace>,
}

/// The clock, read once.
pub fn read_clock() -> Now {
    let unix_secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    Now {
        mono: Instant::now(),
        unix_secs,
    }
}

impl Ctx {
    pub fn new(
        id: usize,
        ring: Ring,
        shared: Arc<Shared>,
        jobs: Sender<Job>,
        route: Route,
        pasv_slice: (u16, u16),
        obs: WorkerObs,
    ) -> Ctx {
        let now = read_clock();
        let a = &shared.args;
        // The server-wide rates are split evenly: each worker paces its own
        // sessions with no shared state on the data path.
        let share = |rate: u64| rate.div_ceil(shared.workers.max(1) as u64);
        let pace_down = Pace::new(
            share(a.server_download_rate_bytes_per_sec),
            u64::from(a.retr_chunk_bytes),
            now.mono,
        );
        let pace_up = Pace::new(
            share(a.server_upload_rate_bytes_per_sec),
            u64::from(a.upload_buffer_size_bytes),
            now.mono,
        );
        Ctx {
            id,
            ring,
            shared,
            jobs,
            route,
            pasv_slice,
            pasv_cursor: pasv_slice.1,
            kept_listeners: KeptListeners::default(),
            pipes: Vec::new(),
            buf_waiters: VecDeque::new(),
            scratch: Vec::new(),
            now,
            obs,
            pace_down,
            pace_up,
        }
    }

    /// The worker's pace for uploads (`up`) or downloads; `None` when that
    /// way is unlimited or the transfer is not `paced` (listings).
    pub fn pace_for(&mut self, up: bool, paced: bool) -> Option<&mut Pace> {
        match (paced, up) {
            (false, _) => None,
            (true, true) => self.pace_up.as_mut(),
            (true, false) => self.pace_down.as_mut(),
        }
    }

    /// Reads the clock for the next pass of the event loop.
    pub fn tick_clock(&mut self) {
        self.now = read_clock();
    }

    /// A handle to the helper queue (for jobs that re-queue themselves).
    pub fn jobs(&self) -> Sender<Job> {
        self.jobs.clone()
    }

    /// Submits blocking work for connection `tag`. A full queue is refused:
    /// the architecture forbids running it here instead.
    pub fn submit_job(
        &mut self,
        tag: JobTag,
        work: Box<dyn FnOnce() -> JobOutput + Send>,
    ) -> Result<(), HelpersBusy> {
        let job = Job {
            work,
            reply: self.route.clone(),
            tag,
        };
        self.jobs.try_send(job).map_err(|_| HelpersBusy)
    }

    /// Logs one line when `--verbose` is on.
    pub fn log(&self, msg: std::fmt::Arguments<'_>) {
        if self.shared.args.verbose {
            eprintln!("ringftpd[w{}]: {msg}", self.id);
        }
    }
}
