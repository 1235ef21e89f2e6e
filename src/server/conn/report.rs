//! What a connection tells the operator: its session id and client for the
//! event log, the replies it sent (counted by code), the data mode last set
//! up, and one xferlog line, event and count per transfer.
//!
//! The data mode is read from the replies: the session says which command
//! set the data connection up (227 PASV, 229 EPSV, `200 PORT`/`200 EPRT`),
//! and the transfer that follows uses it; so the protocol core needs no
//! field for the metrics' sake.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use crate::obs::event::{CloseReason, EventKind, LoggedCommand};
use crate::obs::labels::{transfer_error_name, DataMode, Direction, TransferResult};
use crate::obs::xferlog::{XferDirection, XferRecord};
use crate::proto::reply;
use crate::proto::session::{ListFormat, StoreMode, TransferError, TransferKind};
use crate::server::ops::{Who, WorkerObs};

/// One connection's reporting state.
pub(super) struct Report {
    pub session: u64,
    /// The client: the proxied address behind a PROXY-protocol balancer.
    pub peer: SocketAddr,
    /// The balancer's address, when the client came through one.
    pub proxy: Option<SocketAddr>,
    opened: Instant,
    /// The name given with USER (then the login name).
    pub user: Option<String>,
    pub anonymous: bool,
    mode: DataMode,
    /// The last final reply's code, and whether it was an idle timeout.
    last_code: u16,
    timed_out: bool,
    /// The session was counted in the sessions gauge (and must be taken out).
    pub counted: bool,
}

/// What a finished transfer was, for the logs.
pub(super) struct Finished<'a> {
    pub kind: &'a TransferKind,
    pub ascii: bool,
    pub bytes: u64,
    pub started: Instant,
}

impl Report {
    pub(super) fn new(session: u64, peer: SocketAddr, now: Instant) -> Report {
        Report {
            session,
            peer,
            proxy: None,
            opened: now,
            user: None,
            anonymous: false,
            mode: DataMode::Pasv,
            last_code: 0,
            timed_out: false,
            counted: false,
        }
    }

    pub(super) fn who(&self) -> Who<'_> {
        Who {
            session: self.session,
            client: self.peer,
            user: self.user.as_deref(),
        }
    }

    /// The session is open (greeted): counted and logged.
    pub(super) fn opened(&mut self, obs: &WorkerObs) {
        self.counted = true;
        obs.metrics.session_opened();
        obs.event(self.who(), EventKind::SessionOpen { proxy: self.proxy });
    }

    /// The session is over (`client_left`: the client closed first).
    pub(super) fn closed(&self, obs: &WorkerObs, client_left: bool, draining: bool, now: Instant) {
        if !self.counted {
            return;
        }
        let reason = if client_left {
            CloseReason::ClientClosed
        } else if self.last_code == reply::CLOSING_CONTROL {
            CloseReason::Quit
        } else if self.timed_out {
            CloseReason::IdleTimeout
        } else if draining {
            CloseReason::Shutdown
        } else {
            CloseReason::ServerClosed
        };
        let duration = now.saturating_duration_since(self.opened);
        obs.session_closed(self.who(), reason, duration);
    }

    /// Counts the replies in `bytes` (whole lines the session just wrote)
    /// and notes the data mode they set up.
    pub(super) fn scan_replies(&mut self, bytes: &[u8], obs: &WorkerObs) {
        for line in bytes.split(|&b| b == b'\n') {
            // A final reply line: three digits and a space (RFC 959 §4.2);
            // a multi-line reply's other lines are not counted.
            let [a, b, c, b' ', rest @ ..] = line else {
                continue;
            };
            if !(a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit()) {
                continue;
            }
            let code = u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0');
            obs.metrics.reply(code);
            self.last_code = code;
            self.timed_out = code == reply::SERVICE_NOT_AVAILABLE && rest.starts_with(b"Timeout");
            match code {
                reply::ENTERING_PASSIVE => self.mode = DataMode::Pasv,
                reply::ENTERING_EXTENDED_PASSIVE => self.mode = DataMode::Epsv,
                reply::OK if rest.starts_with(b"PORT ") => self.mode = DataMode::Port,
                reply::OK if rest.starts_with(b"EPRT ") => self.mode = DataMode::Eprt,
                _ => {}
            }
        }
    }

    /// A transfer ended: metrics, the event log and the xferlog.
    pub(super) fn transfer_ended(
        &self,
        obs: &WorkerObs,
        t: Finished<'_>,
        r: &Result<u64, TransferError>,
        now: Instant,
    ) {
        let direction = direction_of(t.kind);
        let result = TransferResult::of(r);
        let duration = now.saturating_duration_since(t.started);
        obs.metrics
            .transfer_done(direction, self.mode, result, duration);
        let (verb, path) = command_of(t.kind);
        if obs.logs_events() {
            let mut line = verb.as_bytes().to_vec();
            line.push(b' ');
            line.extend_from_slice(path.as_bytes());
            let kind = EventKind::Transfer {
                command: LoggedCommand::new(&line),
                path: path.as_bytes().to_vec(),
                direction,
                mode: self.mode,
                result,
                reply: r
                    .as_ref()
                    .map_or_else(|e| e.reply_code(), |_| reply::CLOSING_DATA),
                bytes: t.bytes,
                duration,
                error: r.as_ref().err().map(transfer_error_name),
            };
            obs.event(self.who(), kind);
        }
        let xfer_dir = match direction {
            Direction::Download => XferDirection::Outgoing,
            Direction::Upload => XferDirection::Incoming,
            Direction::List => return,
        };
        if matches!(
            r,
            Err(TransferError::Fs(_) | TransferError::RestartBeyondEnd)
        ) {
            // The file was never opened (or not at that offset): no
            // transfer took place, so no xferlog line (as wu-ftpd).
            return;
        }
        obs.xferlog(|| XferRecord {
            time: SystemTime::now(),
            duration,
            remote: self.peer.ip(),
            bytes: t.bytes,
            path: path.as_bytes().to_vec(),
            ascii: t.ascii,
            direction: xfer_dir,
            anonymous: self.anonymous,
            user: self.user.clone().unwrap_or_default(),
            tls: false,
            complete: r.is_ok(),
        });
    }

    /// A file was deleted (DELE): one xferlog line with direction `d`.
    pub(super) fn deleted(&self, obs: &WorkerObs, path: &str) {
        obs.xferlog(|| XferRecord {
            time: SystemTime::now(),
            duration: Duration::ZERO,
            remote: self.peer.ip(),
            bytes: 0,
            path: path.as_bytes().to_vec(),
            ascii: false,
            direction: XferDirection::Deleted,
            anonymous: self.anonymous,
            user: self.user.clone().unwrap_or_default(),
            tls: false,
            complete: true,
        });
    }
}

pub(super) fn direction_of(kind: &TransferKind) -> Direction {
    match kind {
        TransferKind::Retr { .. } => Direction::Download,
        TransferKind::Store { .. } => Direction::Upload,
        TransferKind::List { .. } => Direction::List,
    }
}

/// The command that started a transfer, and its path.
fn command_of(kind: &TransferKind) -> (&'static str, &str) {
    match kind {
        TransferKind::Retr { path, .. } => ("RETR", path.as_str()),
        TransferKind::Store { path, mode } => (
            match mode {
                StoreMode::Append => "APPE",
                StoreMode::Unique => "STOU",
                _ => "STOR",
            },
            path.as_str(),
        ),
        TransferKind::List { path, format, .. } => (
            match format {
                ListFormat::Long => "LIST",
                ListFormat::Names => "NLST",
                ListFormat::Machine => "MLSD",
            },
            path.as_str(),
        ),
    }
}
