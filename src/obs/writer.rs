//! A log file's writer thread: workers hand it records, it formats and
//! appends them, and reopens the file when logrotate asks (SIGUSR1).
//!
//! Why a thread and per-worker channels: a worker must never block on a
//! disk, and must not share a cache line with other workers per event. Each
//! worker gets its own [`LogSender`] with its own bounded channel, so a send
//! touches only lines shared with the writer; a full channel drops the
//! record and counts it (in the sender's own counter, summed by
//! [`LogWriter::dropped_total`]) instead of waiting. Formatting (time
//! conversion, escaping) happens here, off the workers.
//!
//! Lines of different workers may interleave out of time order by a few
//! milliseconds; each line carries its own time.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{
    bounded, unbounded, Receiver, RecvTimeoutError, Select, Sender, TrySendError,
};

/// A record a worker sends; formatted on the writer thread.
pub trait LogRecord: Send + 'static {
    /// Appends this record as one line, newline included.
    fn write_line(&self, out: &mut Vec<u8>);
}

/// Where lines go.
#[derive(Debug, Clone)]
pub enum Sink {
    /// Appended to this file (created 0640 if missing); reopened on request.
    File(PathBuf),
    /// Standard error (reopen is a no-op).
    Stderr,
}

/// Records a worker may have queued before its sends are dropped.
pub const CHANNEL_RECORDS_MAX: usize = 4096;

/// How long [`LogWriter::reopen`] and [`LogWriter::flush`] wait for the
/// thread's answer.
const CONTROL_REPLY_SECS_MAX: u64 = 10;

enum Control<R> {
    /// A new worker's channel to watch.
    Attach(Receiver<R>),
    Reopen(Sender<io::Result<()>>),
    Flush(Sender<io::Result<()>>),
}

/// The handle the main thread keeps: hands out senders, reopens, stops.
/// Dropping it writes what is queued and ends the thread.
pub struct LogWriter<R: LogRecord> {
    control: Option<Sender<Control<R>>>,
    drops: Arc<Mutex<Vec<Arc<AtomicU64>>>>,
    thread: Option<JoinHandle<()>>,
    channel_records_max: usize,
}

/// One worker's end: never blocks. Send but not Clone: one per worker.
pub struct LogSender<R> {
    tx: Sender<R>,
    /// Written only through this sender (like a metrics block: one writer).
    dropped: Arc<AtomicU64>,
}

impl<R: LogRecord> LogSender<R> {
    /// Queues `record`; `false` (and a count) when the writer is behind or
    /// gone.
    pub fn send(&self, record: R) -> bool {
        match self.tx.try_send(record) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.store(self.dropped.load(Relaxed) + 1, Relaxed);
                false
            }
        }
    }
}

impl<R: LogRecord> LogWriter<R> {
    /// Opens `sink` (so a bad path fails at start-up) and starts the thread
    /// named `name`.
    pub fn start(name: &str, sink: Sink) -> io::Result<LogWriter<R>> {
        Self::start_with_capacity(name, sink, CHANNEL_RECORDS_MAX)
    }

    /// [`LogWriter::start`] with another per-sender channel size (tests).
    pub fn start_with_capacity(
        name: &str,
        sink: Sink,
        channel_records_max: usize,
    ) -> io::Result<LogWriter<R>> {
        let out = Output::open(sink)?;
        let (control, rx) = unbounded();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || run(out, rx))?;
        Ok(LogWriter {
            control: Some(control),
            drops: Arc::default(),
            thread: Some(thread),
            channel_records_max,
        })
    }

    /// A sender for one worker (call once per worker at start-up).
    pub fn sender(&self) -> LogSender<R> {
        let (tx, rx) = bounded(self.channel_records_max);
        let dropped = Arc::new(AtomicU64::new(0));
        self.drops
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(dropped.clone());
        if let Some(c) = &self.control {
            // Only fails when the thread is gone; the sender then counts
            // every record as dropped.
            let _ = c.send(Control::Attach(rx));
        }
        LogSender { tx, dropped }
    }

    /// Records dropped by every sender so far.
    pub fn dropped_total(&self) -> u64 {
        drops_total(&self.drops)
    }

    /// A reader of [`LogWriter::dropped_total`] for the metrics registry.
    pub fn drops_reader(&self) -> impl Fn() -> u64 + Send + Sync + 'static {
        let drops = self.drops.clone();
        move || drops_total(&drops)
    }

    /// Writes out what is queued, closes the file and opens its path again
    /// (logrotate has renamed it). On failure the old file stays in use and
    /// the error is returned.
    pub fn reopen(&self) -> io::Result<()> {
        self.ask(Control::Reopen)
    }

    /// Writes out every record queued before this call.
    pub fn flush(&self) -> io::Result<()> {
        self.ask(Control::Flush)
    }

    fn ask(&self, make: fn(Sender<io::Result<()>>) -> Control<R>) -> io::Result<()> {
        let (tx, rx) = bounded(1);
        let gone = || io::Error::other("log writer thread is gone");
        self.control
            .as_ref()
            .ok_or_else(gone)?
            .send(make(tx))
            .map_err(|_| gone())?;
        match rx.recv_timeout(Duration::from_secs(CONTROL_REPLY_SECS_MAX)) {
            Ok(r) => r,
            Err(RecvTimeoutError::Timeout) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "log writer did not answer (disk stalled?)",
            )),
            Err(RecvTimeoutError::Disconnected) => Err(gone()),
        }
    }
}

fn drops_total(d: &Mutex<Vec<Arc<AtomicU64>>>) -> u64 {
    d.lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|c| c.load(Relaxed))
        .sum()
}

impl<R: LogRecord> Drop for LogWriter<R> {
    fn drop(&mut self) {
        // Closing the control channel tells the thread to finish.
        self.control = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The open sink.
struct Output {
    sink: Sink,
    w: BufWriter<Box<dyn Write + Send>>,
}

impl Output {
    fn open(sink: Sink) -> io::Result<Output> {
        let w: Box<dyn Write + Send> = match &sink {
            Sink::File(p) => Box::new(open_append(p)?),
            Sink::Stderr => Box::new(io::stderr()),
        };
        Ok(Output {
            sink,
            w: BufWriter::with_capacity(64 * 1024, w),
        })
    }

    fn reopen(&mut self) -> io::Result<()> {
        self.w.flush()?;
        if let Sink::File(p) = &self.sink {
            let f = open_append(p)?;
            self.w = BufWriter::with_capacity(64 * 1024, Box::new(f));
        }
        Ok(())
    }
}

fn open_append(p: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(p)
}

/// The thread: waits on the control channel and every worker's channel,
/// writes whatever is ready, flushes when all are empty.
fn run<R: LogRecord>(mut out: Output, control: Receiver<Control<R>>) {
    let mut workers: Vec<Receiver<R>> = Vec::new();
    let mut line = Vec::with_capacity(512);
    let mut write_error_reported = false;
    loop {
        let mut sel = Select::new();
        let control_idx = sel.recv(&control);
        for rx in &workers {
            sel.recv(rx);
        }
        let op = sel.select();
        let i = op.index();
        if i == control_idx {
            match op.recv(&control) {
                Ok(Control::Attach(rx)) => workers.push(rx),
                Ok(Control::Reopen(reply)) => {
                    drain_all(&workers, &mut out, &mut line);
                    let _ = reply.send(out.reopen());
                }
                Ok(Control::Flush(reply)) => {
                    drain_all(&workers, &mut out, &mut line);
                    let _ = reply.send(out.w.flush());
                }
                Err(_) => {
                    // The handle was dropped: write what is left and stop.
                    drain_all(&workers, &mut out, &mut line);
                    let _ = out.w.flush();
                    return;
                }
            }
            continue;
        }
        let w = i - 1;
        match op.recv(&workers[w]) {
            Ok(r) => {
                write_one(&r, &mut out, &mut line);
                drain_all(&workers, &mut out, &mut line);
                if let Err(e) = out.w.flush() {
                    if !write_error_reported {
                        eprintln!("ringftpd: writing a log failed: {e}");
                        write_error_reported = true;
                    }
                }
            }
            // That worker has ended.
            Err(_) => {
                workers.swap_remove(w);
            }
        }
    }
}

fn write_one<R: LogRecord>(r: &R, out: &mut Output, line: &mut Vec<u8>) {
    line.clear();
    r.write_line(line);
    // An error surfaces at the next flush.
    let _ = out.w.write_all(line);
}

/// Writes every record already queued on any channel.
fn drain_all<R: LogRecord>(workers: &[Receiver<R>], out: &mut Output, line: &mut Vec<u8>) {
    for rx in workers {
        while let Ok(r) = rx.try_recv() {
            write_one(&r, out, line);
        }
    }
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
