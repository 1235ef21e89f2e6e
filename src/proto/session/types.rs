//! What a session asks of the server ([`Action`]) and what the server tells it
//! back ([`Event`]). Every action that expects an answer names the event that
//! answers it; the session waits for exactly that event.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::proto::error::FsError;
use crate::proto::hash::HashAlgo;
use crate::proto::listing::FileInfo;
use crate::proto::path::VPath;
use crate::proto::perms::Perms;
use crate::proto::quota::{Quota, Rates};
use crate::proto::reply;
use crate::proto::rules::PathRules;

/// The time, passed in: monotonic for timeouts, wall clock for listings.
#[derive(Debug, Clone, Copy)]
pub struct Now {
    pub mono: Instant,
    pub unix_secs: i64,
}

/// A filesystem request; answered by [`Event::Fs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsOp {
    /// Metadata, following symlinks inside the root. Answer: `FsOk::Info`.
    Stat(VPath),
    /// Directory entries (for STAT path). Answer: `FsOk::Entries`.
    ReadDir(VPath),
    Mkdir(VPath),
    Rmdir(VPath),
    Delete(VPath),
    Rename {
        from: VPath,
        to: VPath,
    },
    /// MFMT: set the modification time (unix seconds).
    SetMtime {
        path: VPath,
        unix_secs: i64,
    },
    /// SITE CHMOD: permission bits (0o777 at most).
    Chmod {
        path: VPath,
        mode: u32,
    },
    /// HASH and its X-aliases: hash bytes `start..end` (`end` exclusive;
    /// `None`: to the end of the file) of a regular file, off the core.
    /// Answer: `FsOk::Hash`.
    Hash {
        path: VPath,
        algo: HashAlgo,
        start: u64,
        end: Option<u64>,
    },
    /// SITE CPTO: copy regular file `from` to `to` (created or truncated),
    /// both inside the root. Answer: `FsOk::Done`.
    Copy {
        from: VPath,
        to: VPath,
    },
}

/// The answer to [`FsOp::Hash`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashDone {
    pub algo: HashAlgo,
    /// First byte hashed.
    pub start: u64,
    /// One past the last byte hashed (never beyond the file's end).
    pub end: u64,
    /// Lower-case hex digest.
    pub hex: String,
}

/// A successful [`FsOp`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsOk {
    /// Mkdir, Rmdir, Delete, Rename, SetMtime, Chmod.
    Done,
    /// Stat.
    Info(FileInfo),
    /// ReadDir: the entries and whether the list was cut at the limit.
    Entries(Vec<FileInfo>, bool),
    /// Hash.
    Hash(HashDone),
}

/// Listing format on the data connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFormat {
    /// LIST: `ls -l` lines.
    Long,
    /// NLST: names only.
    Names,
    /// MLSD: RFC 3659 facts.
    Machine,
}

/// How an upload opens its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreMode {
    /// STOR: create or truncate.
    Truncate,
    /// APPE: append.
    Append,
    /// REST n then STOR: write from offset n without truncating.
    At(u64),
    /// STOU: a new unique name in the given directory (the server picks it
    /// and reports it in [`Event::TransferReady`]).
    Unique,
    /// STOR where the rules allow creating only (`upload_only`, the
    /// anonymous drop-box): a new file, never an overwrite (O_CREAT|O_EXCL;
    /// an existing name gets 550).
    CreateNew,
}

/// Where the data connection comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataEndpoint {
    /// The session's passive listener (opened by [`Action::OpenPassive`]).
    Passive,
    /// Connect out to this address (PORT/EPRT, already checked).
    Active(SocketAddr),
}

/// A data transfer to run; answered by [`Event::TransferReady`] (or
/// [`Event::TransferDone`] with an error when it could not start), then
/// [`Event::TransferDone`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub endpoint: DataEndpoint,
    pub kind: TransferKind,
    /// TYPE A: convert line endings.
    pub ascii: bool,
    /// PROT P: the data connection is TLS, resuming the control session's.
    pub protected: bool,
}

/// What a transfer moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferKind {
    /// RETR from `offset`.
    Retr { path: VPath, offset: u64 },
    /// STOR/APPE/STOU (for `Unique`, `path` is the directory).
    Store { path: VPath, mode: StoreMode },
    /// LIST/NLST/MLSD of a directory (or one file for LIST/NLST). `glob`
    /// filters names of the listed directory; `show_hidden` keeps dot-files.
    List {
        path: VPath,
        format: ListFormat,
        glob: Option<String>,
        show_hidden: bool,
        can_write: bool,
    },
}

/// Why a transfer did not complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferError {
    /// Opening the file or directory failed (before any data connection).
    Fs(FsError),
    /// No data connection could be made (425).
    DataConnection,
    /// The data connection broke mid-transfer (426).
    ConnectionLost,
    /// Writing the uploaded data failed (451/452/552).
    Write(FsError),
    /// Reading the file failed mid-transfer (451).
    Read(FsError),
    /// Cancelled by ABOR (426, then 226 for the ABOR).
    Aborted,
    /// The transfer made no progress for the stall limit (426).
    Stalled,
    /// RETR after a REST beyond the end of the file (554, RFC 1123 §4.1.3.4:
    /// the file cannot be repositioned as the REST asked).
    RestartBeyondEnd,
    /// The file shrank while it was being sent, so the client got fewer (or,
    /// on the sendfile path, zero-filled) bytes than its size said (451).
    SourceChanged,
    /// PROT P: the data connection's TLS handshake failed (522).
    TlsHandshake,
    /// PROT P: the data connection did not resume this control connection's
    /// TLS session (a fresh handshake, or another session's ticket) (522).
    TlsNotResumed,
}

impl TransferError {
    /// The reply code for a transfer that ended this way (one table, used by
    /// the session's reply and the server's logs and metrics).
    pub fn reply_code(self) -> u16 {
        match self {
            TransferError::Fs(fe) => fe.reply_code(),
            TransferError::DataConnection => reply::CANT_OPEN_DATA,
            TransferError::ConnectionLost | TransferError::Aborted | TransferError::Stalled => {
                reply::TRANSFER_ABORTED
            }
            TransferError::RestartBeyondEnd => reply::INVALID_REST,
            TransferError::SourceChanged => reply::LOCAL_ERROR,
            // RFC 4217 §10: 522 when the data connection's TLS is refused.
            TransferError::TlsHandshake | TransferError::TlsNotResumed => reply::DATA_TLS_FAILED,
            TransferError::Write(fe) | TransferError::Read(fe) => match fe {
                FsError::NoSpace => reply::INSUFFICIENT_STORAGE,
                FsError::QuotaExceeded => reply::EXCEEDED_STORAGE,
                _ => reply::LOCAL_ERROR,
            },
        }
    }
}

/// What a session asks the server to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Check a login off the core. Answer: [`Event::Login`].
    Login { user: String, pass: String },
    /// Run a filesystem request. Answer: [`Event::Fs`].
    Fs(FsOp),
    /// Open (or replace) this session's passive listener on the control
    /// connection's local address. Answer: [`Event::PassiveOpened`].
    OpenPassive,
    /// Close the passive listener and any unused data connection.
    ClosePassive,
    /// Start a transfer.
    Transfer(Transfer),
    /// Report bytes moved so far by the running transfer. Answer: [`Event::Progress`].
    QueryProgress,
    /// Cancel the running transfer. Answer: its [`Event::TransferDone`] with `Aborted`.
    Abort,
    /// Stop the running long filesystem request (HASH, SITE CPTO) after ABOR,
    /// QUIT or a closed connection. No answer: the session has already
    /// replied, and the request's [`Event::Fs`] must not be delivered.
    CancelFs,
    /// Select a virtual host's root before login (HOST, RFC 7151). The server
    /// answers [`Event::HostSelected`].
    SelectHost(String),
    /// Flush pending output, then close the control connection.
    Close,
    /// AUTH TLS was answered 234: send what is queued in the clear, then
    /// run the TLS handshake; everything after is TLS. No answer (a failed
    /// handshake closes the connection).
    StartTls,
}

/// A login that succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginOk {
    pub user: String,
    pub anonymous: bool,
    /// What the login may do where; fixed for the session's life (a reload
    /// of the configuration applies to later logins).
    pub rules: Arc<PathRules>,
    /// The user's storage quota (`None`: no quota), shared by its sessions.
    pub quota: Option<Quota>,
    /// The rates its transfers run at.
    pub rates: Rates,
}

impl LoginOk {
    /// A login with the same permissions everywhere.
    pub fn uniform(user: &str, anonymous: bool, perms: Perms) -> LoginOk {
        LoginOk {
            user: user.to_string(),
            anonymous,
            rules: Arc::new(PathRules::uniform(perms)),
            quota: None,
            rates: Rates::default(),
        }
    }
}

/// What the server tells a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Answer to [`Action::Login`]: `None` when refused.
    Login(Option<LoginOk>),
    /// Answer to [`Action::Login`] when the server cannot check logins now
    /// (its helper queue is full): 421, and the connection closes.
    LoginBusy,
    /// Answer to [`Action::Fs`].
    Fs(Result<FsOk, FsError>),
    /// Answer to [`Action::OpenPassive`]: the port, or `None` when no port or
    /// listener could be had.
    PassiveOpened(Option<u16>),
    /// The transfer's source or target is open; `size` of a download, and for
    /// STOU the name chosen. The session answers 150.
    TransferReady {
        size: Option<u64>,
        name: Option<String>,
    },
    /// The transfer ended: bytes moved, or why not.
    TransferDone(Result<u64, TransferError>),
    /// Answer to [`Action::QueryProgress`].
    Progress(u64),
    /// Answer to [`Action::SelectHost`]: `Some(greeting)` when the host is known.
    HostSelected(Option<String>),
}
