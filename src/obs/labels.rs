//! The closed sets every metric label and log field takes its values from.
//! No label can carry a user name, a path or an address: each is an enum
//! with a fixed name per variant, so the number of time series is fixed at
//! compile time.

use crate::proto::session::TransferError;

/// Which way a transfer moves data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// RETR: server to client.
    Download,
    /// STOR, APPE, STOU: client to server.
    Upload,
    /// LIST, NLST, MLSD: a listing on the data connection.
    List,
}

impl Direction {
    pub const ALL: [Direction; 3] = [Direction::Download, Direction::Upload, Direction::List];

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Download => "download",
            Direction::Upload => "upload",
            Direction::List => "list",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// The command that set up the data connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataMode {
    /// PASV (RFC 959 §4.1.2).
    Pasv,
    /// EPSV (RFC 2428 §3).
    Epsv,
    /// PORT (RFC 959 §4.1.2).
    Port,
    /// EPRT (RFC 2428 §2).
    Eprt,
}

impl DataMode {
    pub const ALL: [DataMode; 4] = [
        DataMode::Pasv,
        DataMode::Epsv,
        DataMode::Port,
        DataMode::Eprt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DataMode::Pasv => "pasv",
            DataMode::Epsv => "epsv",
            DataMode::Port => "port",
            DataMode::Eprt => "eprt",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// How a transfer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransferResult {
    /// 226: every byte moved.
    Ok,
    /// Could not start, or broke (425, 426, 450, 451, 452, 550, 552).
    Failed,
    /// ABOR (426 then 226).
    Aborted,
}

impl TransferResult {
    pub const ALL: [TransferResult; 3] = [
        TransferResult::Ok,
        TransferResult::Failed,
        TransferResult::Aborted,
    ];

    /// The result of the session's `Event::TransferDone`.
    pub fn of(done: &Result<u64, TransferError>) -> TransferResult {
        match done {
            Ok(_) => TransferResult::Ok,
            Err(TransferError::Aborted) => TransferResult::Aborted,
            Err(_) => TransferResult::Failed,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TransferResult::Ok => "ok",
            TransferResult::Failed => "failed",
            TransferResult::Aborted => "aborted",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// A fixed name for why a transfer failed (the log's `error` field).
pub fn transfer_error_name(e: &TransferError) -> &'static str {
    match e {
        TransferError::Fs(_) => "open_failed",
        TransferError::DataConnection => "data_connection",
        TransferError::ConnectionLost => "connection_lost",
        TransferError::Write(_) => "write_failed",
        TransferError::Read(_) => "read_failed",
        TransferError::Aborted => "aborted",
        TransferError::Stalled => "stalled",
        TransferError::RestartBeyondEnd => "restart_beyond_end",
        TransferError::SourceChanged => "source_changed",
        TransferError::TlsHandshake => "tls_handshake",
        TransferError::TlsNotResumed => "tls_not_resumed",
    }
}

/// Why a connection was turned away before or at the greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalReason {
    /// Banned after repeated failed logins (`server::limits::Refusal::Banned`).
    Banned,
    /// `--sessions-per-ip-max` reached.
    SessionsPerIp,
    /// `--connections-per-ip-per-sec-max` reached.
    ConnectionRate,
    /// `--sessions-max` reached.
    SessionsMax,
    /// A PROXY header that was missing, malformed or too slow.
    ProxyHeader,
    /// A PROXY header from a peer outside `--proxy-from`.
    ProxyUntrusted,
    /// The server is draining for shutdown or restart.
    Draining,
}

impl RefusalReason {
    pub const ALL: [RefusalReason; 7] = [
        RefusalReason::Banned,
        RefusalReason::SessionsPerIp,
        RefusalReason::ConnectionRate,
        RefusalReason::SessionsMax,
        RefusalReason::ProxyHeader,
        RefusalReason::ProxyUntrusted,
        RefusalReason::Draining,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RefusalReason::Banned => "banned",
            RefusalReason::SessionsPerIp => "sessions_per_ip",
            RefusalReason::ConnectionRate => "connection_rate",
            RefusalReason::SessionsMax => "sessions_max",
            RefusalReason::ProxyHeader => "proxy_header",
            RefusalReason::ProxyUntrusted => "proxy_untrusted",
            RefusalReason::Draining => "draining",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_match_all_order() {
        for (i, d) in Direction::ALL.iter().enumerate() {
            assert_eq!(d.index(), i);
        }
        for (i, m) in DataMode::ALL.iter().enumerate() {
            assert_eq!(m.index(), i);
        }
        for (i, r) in TransferResult::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
        for (i, r) in RefusalReason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
    }

    #[test]
    fn transfer_result_of_session_outcome() {
        assert_eq!(TransferResult::of(&Ok(5)), TransferResult::Ok);
        assert_eq!(
            TransferResult::of(&Err(TransferError::Aborted)),
            TransferResult::Aborted
        );
        assert_eq!(
            TransferResult::of(&Err(TransferError::ConnectionLost)),
            TransferResult::Failed
        );
        assert_eq!(transfer_error_name(&TransferError::Stalled), "stalled");
    }
}
