//! Operations wiring: the `obs` pieces a server runs with.
//!
//! - [`Ops`] is the main thread's part: the metrics registry and its
//!   `/metrics` thread (`--metrics-listen`), the xferlog (`--xferlog`) and
//!   event log (`--log-format`, `--log-file`) writer threads, reopened on
//!   SIGUSR1.
//! - [`WorkerObs`] is one worker's part, moved into its thread: its own
//!   metric block and its own log channels, so counting an event is a plain
//!   store and logging one is a `try_send` that never blocks (see
//!   `obs::metrics::block` and `obs::writer`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::args::{Args, LogFormatArg};
use crate::obs::event::{EventKind, FormattedEvent, LogEvent, LogFormat};
use crate::obs::http::MetricsServer;
use crate::obs::labels::RefusalReason;
use crate::obs::metrics::{Registry, WorkerMetrics};
use crate::obs::writer::{LogSender, LogWriter, Sink};
use crate::obs::xferlog::XferRecord;

/// The main thread's handles; dropping it flushes and stops the log
/// writers and the metrics thread.
pub struct Ops {
    metrics: Option<MetricsServer>,
    xferlog: Option<LogWriter<XferRecord>>,
    events: Option<LogWriter<FormattedEvent>>,
}

/// What a worker logs and counts with.
pub struct WorkerObs {
    pub metrics: WorkerMetrics,
    xferlog: Option<LogSender<XferRecord>>,
    events: Option<(LogSender<FormattedEvent>, LogFormat)>,
    worker: u16,
    sessions: u64,
}

/// The common fields of a session's events.
#[derive(Debug, Clone, Copy)]
pub struct Who<'a> {
    pub session: u64,
    pub client: SocketAddr,
    pub user: Option<&'a str>,
}

impl Ops {
    /// Opens the log files (a bad path fails here, at start-up), starts the
    /// writer threads and the metrics endpoint; one [`WorkerObs`] per worker.
    pub fn start(args: &Args, workers: usize) -> Result<(Ops, Vec<WorkerObs>), String> {
        let xferlog = match &args.xferlog {
            Some(p) => Some(
                LogWriter::start("ringftpd-xferlog", Sink::File(p.clone()))
                    .map_err(|e| format!("--xferlog {}: {e}", p.display()))?,
            ),
            None => None,
        };
        let format = match args.log_format {
            Some(LogFormatArg::Json) => LogFormat::Json,
            _ => LogFormat::Text,
        };
        let events = match (&args.log_file, args.log_format) {
            (Some(p), _) => Some(
                LogWriter::start("ringftpd-events", Sink::File(p.clone()))
                    .map_err(|e| format!("--log-file {}: {e}", p.display()))?,
            ),
            (None, Some(_)) => Some(
                LogWriter::start("ringftpd-events", Sink::Stderr)
                    .map_err(|e| format!("event log: {e}"))?,
            ),
            (None, None) => None,
        };
        let (mut registry, blocks) = Registry::new(workers);
        if let Some(w) = &xferlog {
            registry.add_log_drops("xferlog", w.drops_reader());
        }
        if let Some(w) = &events {
            registry.add_log_drops("events", w.drops_reader());
        }
        let metrics = match args.metrics_listen {
            Some(addr) => Some(
                MetricsServer::start(addr, Arc::new(registry))
                    .map_err(|e| format!("--metrics-listen {addr}: {e}"))?,
            ),
            None => None,
        };
        let per_worker = blocks
            .into_iter()
            .enumerate()
            .map(|(k, metrics)| WorkerObs {
                metrics,
                xferlog: xferlog.as_ref().map(LogWriter::sender),
                events: events.as_ref().map(|w| (w.sender(), format)),
                worker: u16::try_from(k).unwrap_or(u16::MAX),
                sessions: 0,
            })
            .collect();
        let ops = Ops {
            metrics,
            xferlog,
            events,
        };
        Ok((ops, per_worker))
    }

    /// The address `/metrics` is served on (its port, when 0 was asked).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(MetricsServer::local_addr)
    }

    /// SIGUSR1: the log files are closed and opened again (logrotate).
    pub fn reopen_logs(&self) -> Result<(), String> {
        let mut errs = Vec::new();
        if let Some(w) = &self.xferlog {
            if let Err(e) = w.reopen() {
                errs.push(format!("xferlog: {e}"));
            }
        }
        if let Some(w) = &self.events {
            if let Err(e) = w.reopen() {
                errs.push(format!("event log: {e}"));
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs.join("; "))
        }
    }

    /// Writes out every queued line (before the process exits).
    pub fn flush(&self) {
        if let Some(w) = &self.xferlog {
            let _ = w.flush();
        }
        if let Some(w) = &self.events {
            let _ = w.flush();
        }
    }
}

impl WorkerObs {
    /// A session id unique in this process run: the worker in the top 16
    /// bits, its own count below.
    pub fn next_session_id(&mut self) -> u64 {
        self.sessions += 1;
        (u64::from(self.worker) << 48) | (self.sessions & ((1 << 48) - 1))
    }

    /// True when an event log is configured (so callers skip building
    /// events nobody reads).
    pub fn logs_events(&self) -> bool {
        self.events.is_some()
    }

    /// Hands one event to the event log (dropped and counted when it is behind).
    pub fn event(&self, who: Who<'_>, kind: EventKind) {
        let Some((tx, format)) = &self.events else {
            return;
        };
        let event = LogEvent {
            time: SystemTime::now(),
            worker: self.worker,
            session: who.session,
            client: Some(who.client),
            user: who.user.map(str::to_string),
            kind,
        };
        tx.send(FormattedEvent {
            format: *format,
            event,
        });
    }

    /// Hands one transfer to the xferlog.
    pub fn xferlog(&self, make: impl FnOnce() -> XferRecord) {
        if let Some(tx) = &self.xferlog {
            tx.send(make());
        }
    }

    /// A connection turned away before its session began: counted, logged.
    pub fn refused(&mut self, client: SocketAddr, reason: RefusalReason) {
        self.metrics.refused(reason);
        if self.logs_events() {
            let session = self.next_session_id();
            let who = Who {
                session,
                client,
                user: None,
            };
            self.event(who, EventKind::Refusal { reason });
        }
    }

    /// A session ended.
    pub fn session_closed(
        &self,
        who: Who<'_>,
        reason: crate::obs::event::CloseReason,
        duration: Duration,
    ) {
        self.metrics.session_closed();
        self.event(who, EventKind::SessionClose { reason, duration });
    }
}
