//! Structured log events (`--log-format text|json`): what happened on a
//! session, as a worker hands it to the log writer.
//!
//! No event type has a field that could carry a password or a hash: the
//! control line is only ever stored as a [`LoggedCommand`], whose sole
//! constructor replaces the argument of PASS (and ACCT and ADAT, which carry
//! credentials too) with `****`; errors and reasons are `&'static str` from
//! closed sets, so no runtime text reaches them.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use super::labels::{DataMode, Direction, RefusalReason, TransferResult};
use super::writer::LogRecord;

/// Longest command text kept (longer ones are cut and end in `…`).
pub const COMMAND_BYTES_MAX: usize = 512;

/// A control command as it may be logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedCommand(String);

/// Commands whose argument is a secret (RFC 959 §4.1.1 PASS and ACCT;
/// RFC 2228 §3 ADAT carries security data).
const SECRET_ARGUMENT: [&str; 3] = ["PASS", "ACCT", "ADAT"];

impl LoggedCommand {
    /// From a raw control line (CRLF optional). The verb is upper-cased;
    /// a secret argument becomes `****` whatever it was (even empty, so the
    /// log does not tell an empty password from another); other arguments
    /// are kept, invalid UTF-8 replaced by U+FFFD, cut at
    /// [`COMMAND_BYTES_MAX`].
    pub fn new(line: &[u8]) -> LoggedCommand {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let (verb, arg) = match line.iter().position(|&b| b == b' ') {
            Some(i) => (&line[..i], Some(&line[i + 1..])),
            None => (line, None),
        };
        let verb = String::from_utf8_lossy(verb).to_ascii_uppercase();
        if SECRET_ARGUMENT.contains(&verb.as_str()) {
            return LoggedCommand(format!("{verb} ****"));
        }
        let mut text = verb;
        if let Some(arg) = arg {
            text.push(' ');
            text.push_str(&String::from_utf8_lossy(arg));
        }
        if text.len() > COMMAND_BYTES_MAX {
            let mut cut = COMMAND_BYTES_MAX;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push('…');
        }
        LoggedCommand(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// QUIT.
    Quit,
    /// The client closed or reset the connection.
    ClientClosed,
    /// `--idle-timeout-secs` passed without a command.
    IdleTimeout,
    /// The server closed it (too many errors, a limit, a 421).
    ServerClosed,
    /// Shutdown or drain ended it.
    Shutdown,
}

impl CloseReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Quit => "quit",
            CloseReason::ClientClosed => "client_closed",
            CloseReason::IdleTimeout => "idle_timeout",
            CloseReason::ServerClosed => "server_closed",
            CloseReason::Shutdown => "shutdown",
        }
    }
}

/// One event. Common fields first; `kind` holds what applies to this
/// event only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    pub time: SystemTime,
    pub worker: u16,
    /// Unique per process run (the lead's choice: e.g. worker in the top
    /// bits and a per-worker counter below).
    pub session: u64,
    /// The client: the proxied address behind a PROXY-protocol balancer.
    pub client: Option<SocketAddr>,
    /// The login name, once known (USER given or logged in).
    pub user: Option<String>,
    pub kind: EventKind,
}

/// What happened, with the fields that belong to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// A connection was accepted and greeted. `proxy`: the balancer's
    /// address when the client came through the PROXY protocol.
    SessionOpen { proxy: Option<SocketAddr> },
    /// The session ended, `duration` after it opened.
    SessionClose {
        reason: CloseReason,
        duration: Duration,
    },
    /// A login was decided.
    Login { ok: bool, anonymous: bool },
    /// A command and its final reply (for `--log-commands`-style logging).
    Command {
        command: LoggedCommand,
        reply: u16,
        duration: Duration,
    },
    /// A transfer ended.
    Transfer {
        command: LoggedCommand,
        path: Vec<u8>,
        direction: Direction,
        mode: DataMode,
        result: TransferResult,
        reply: u16,
        bytes: u64,
        duration: Duration,
        /// Why it failed (`labels::transfer_error_name`), when it did.
        error: Option<&'static str>,
    },
    /// A connection was turned away before the session began.
    Refusal { reason: RefusalReason },
}

impl EventKind {
    /// The `event` field.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::SessionOpen { .. } => "session_open",
            EventKind::SessionClose { .. } => "session_close",
            EventKind::Login { .. } => "login",
            EventKind::Command { .. } => "command",
            EventKind::Transfer { .. } => "transfer",
            EventKind::Refusal { .. } => "refusal",
        }
    }
}

/// A field's value, in the order the formatters write them.
pub(crate) enum Value<'a> {
    Str(&'a str),
    Bytes(&'a [u8]),
    U64(u64),
    Bool(bool),
}

impl LogEvent {
    /// Every field that applies, as `(name, value)`, after `time` and
    /// `event` (which each formatter writes itself).
    pub(crate) fn fields(&self, mut f: impl FnMut(&'static str, Value<'_>)) {
        f("session", Value::U64(self.session));
        f("worker", Value::U64(u64::from(self.worker)));
        let client = self.client.map(|c| canonical(c).to_string());
        if let Some(c) = &client {
            f("client", Value::Str(c));
        }
        if let Some(u) = &self.user {
            f("user", Value::Str(u));
        }
        let ms = |d: &Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        match &self.kind {
            EventKind::SessionOpen { proxy } => {
                if let Some(p) = proxy {
                    f("proxy", Value::Str(&canonical(*p).to_string()));
                }
            }
            EventKind::SessionClose { reason, duration } => {
                f("reason", Value::Str(reason.as_str()));
                f("duration_ms", Value::U64(ms(duration)));
            }
            EventKind::Login { ok, anonymous } => {
                f("result", Value::Str(if *ok { "ok" } else { "failed" }));
                f("anonymous", Value::Bool(*anonymous));
            }
            EventKind::Command {
                command,
                reply,
                duration,
            } => {
                f("command", Value::Str(command.as_str()));
                f("reply", Value::U64(u64::from(*reply)));
                f("duration_ms", Value::U64(ms(duration)));
            }
            EventKind::Transfer {
                command,
                path,
                direction,
                mode,
                result,
                reply,
                bytes,
                duration,
                error,
            } => {
                f("command", Value::Str(command.as_str()));
                f("path", Value::Bytes(path));
                f("direction", Value::Str(direction.as_str()));
                f("mode", Value::Str(mode.as_str()));
                f("result", Value::Str(result.as_str()));
                f("reply", Value::U64(u64::from(*reply)));
                f("bytes", Value::U64(*bytes));
                f("duration_ms", Value::U64(ms(duration)));
                if let Some(e) = error {
                    f("error", Value::Str(e));
                }
            }
            EventKind::Refusal { reason } => f("reason", Value::Str(reason.as_str())),
        }
    }
}

/// An IPv4 client on a dual-stack socket is logged as IPv4.
fn canonical(a: SocketAddr) -> SocketAddr {
    SocketAddr::new(a.ip().to_canonical(), a.port())
}

/// Which formatter a [`FormattedEvent`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// An event with the format chosen at start-up: the record type the event
/// log's writer carries.
#[derive(Debug, Clone)]
pub struct FormattedEvent {
    pub format: LogFormat,
    pub event: LogEvent,
}

impl LogRecord for FormattedEvent {
    fn write_line(&self, out: &mut Vec<u8>) {
        match self.format {
            LogFormat::Text => super::text::write_event(&self.event, out),
            LogFormat::Json => super::json::write_event(&self.event, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pass_acct_adat_arguments_are_never_kept() {
        for (line, want) in [
            (&b"PASS hunter2\r\n"[..], "PASS ****"),
            (b"pass hunter2", "PASS ****"),
            (b"PASS", "PASS ****"),
            (b"PASS ", "PASS ****"),
            (b"PaSs \xff\xfe secret with spaces\r\n", "PASS ****"),
            (b"ACCT billing-secret", "ACCT ****"),
            (b"ADAT YWJjZA==", "ADAT ****"),
        ] {
            let c = LoggedCommand::new(line);
            assert_eq!(c.as_str(), want);
            assert!(!c.as_str().contains("hunter2") && !c.as_str().contains("secret"));
        }
    }

    #[test]
    fn other_commands_keep_their_argument() {
        assert_eq!(
            LoggedCommand::new(b"retr /pub/a b.iso\r\n").as_str(),
            "RETR /pub/a b.iso"
        );
        assert_eq!(LoggedCommand::new(b"USER alice").as_str(), "USER alice");
        assert_eq!(LoggedCommand::new(b"NOOP\r\n").as_str(), "NOOP");
        assert_eq!(
            LoggedCommand::new(b"RETR caf\xe9").as_str(),
            "RETR caf\u{fffd}"
        );
        // "PASSWORD" is not PASS.
        assert_eq!(LoggedCommand::new(b"PASSX y").as_str(), "PASSX y");
    }

    #[test]
    fn long_commands_are_cut_on_a_char_boundary() {
        let mut line = b"RETR ".to_vec();
        line.extend(std::iter::repeat_n("é".as_bytes(), 600).flatten());
        let c = LoggedCommand::new(&line);
        assert!(c.as_str().len() <= COMMAND_BYTES_MAX + '…'.len_utf8());
        assert!(c.as_str().ends_with('…'));
    }

    #[test]
    fn event_names() {
        let names: Vec<&str> = [
            EventKind::SessionOpen { proxy: None },
            EventKind::SessionClose {
                reason: CloseReason::Quit,
                duration: Duration::ZERO,
            },
            EventKind::Login {
                ok: true,
                anonymous: false,
            },
            EventKind::Refusal {
                reason: RefusalReason::Banned,
            },
        ]
        .iter()
        .map(EventKind::name)
        .collect();
        assert_eq!(names, ["session_open", "session_close", "login", "refusal"]);
    }
}
