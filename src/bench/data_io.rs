//! What a data channel works with, given by its worker for each step: the
//! ring and counters ([`Io`]), the worker's settings ([`DataCfg`]), the slot's
//! reused buffers ([`Spare`]); and what a step answers ([`Step`]). The
//! channel itself is `data.rs`.

use super::stats::{Live, Stats};
use crate::engine::{CompletionKind, Pipe, Ring, SharedFd};

/// Settings of every channel of a worker.
pub struct DataCfg {
    pub buf_bytes: usize,
    /// Downloads (not listings) go to /dev/null by splice.
    pub splice: bool,
    pub pattern_seed: u8,
    pub devnull: Option<SharedFd>,
}

/// A slot's buffers and pipe, reused by each of its transfers. An op in
/// flight owns its buffer; the completion gives it back here.
#[derive(Default)]
pub struct Spare {
    pub read_buf: Option<Vec<u8>>,
    pub up_buf: Option<Vec<u8>>,
    pub pipe: Option<Pipe>,
}

impl Spare {
    /// Keeps the buffer a stale data completion hands back.
    pub fn take_back(&mut self, kind: CompletionKind, buf_bytes: usize) {
        match kind {
            CompletionKind::Read(_, buf) => {
                self.read_buf.get_or_insert(buf);
            }
            // Control sends are small; only an upload buffer is worth keeping.
            CompletionKind::Send(_, buf) if buf.capacity() >= buf_bytes => {
                self.up_buf.get_or_insert(buf);
            }
            _ => {}
        }
    }
}

/// What a channel needs from its worker for one step.
pub struct Io<'a> {
    pub ring: &'a mut Ring,
    pub stats: &'a mut Stats,
    pub live: &'a Live,
    pub spare: &'a mut Spare,
    pub cfg: &'a DataCfg,
}

/// What the worker must tell the client after a step.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Nothing yet.
    Continue,
    /// The data connection is up (connected or accepted).
    Opened,
    /// The channel is over: EOF read or every byte sent (`Ok`), or the
    /// local failure, named for the error counts.
    Done(Result<(), String>),
}
