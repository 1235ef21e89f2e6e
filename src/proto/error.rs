//! The closed set of filesystem failures a session can see, and the one table
//! that maps each to an FTP reply. The fs layer maps errno to [`FsError`];
//! the session never sees an errno.

use crate::proto::reply;
use std::fmt;

/// Why a filesystem request failed.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsError {
    /// ENOENT: the path or one of its parents does not exist.
    NotFound,
    /// EACCES/EPERM, or the user's permissions forbid it.
    PermissionDenied,
    /// EEXIST: the target already exists (MKD, STOU, drop-box overwrite).
    AlreadyExists,
    /// ENOTDIR: a component or the target is not a directory.
    NotADirectory,
    /// EISDIR: a file operation on a directory.
    IsADirectory,
    /// ENOTEMPTY: RMD on a directory with entries.
    NotEmpty,
    /// ENOSPC: the disk is full.
    NoSpace,
    /// EDQUOT/EFBIG: a quota or size limit.
    QuotaExceeded,
    /// ENAMETOOLONG.
    NameTooLong,
    /// A name the server refuses (NUL, CR, LF, not UTF-8, `.`/`..` as a target).
    InvalidName,
    /// EXDEV from resolution: the path would leave the root (symlink out, magic link).
    Escapes,
    /// ELOOP: too many symlinks.
    TooManyLinks,
    /// EMFILE/ENFILE: out of file descriptors.
    TooManyOpenFiles,
    /// Not an errno: the server's helper queue is full, so the request was
    /// not run (it never runs on a worker's thread instead).
    ServerBusy,
    /// EBUSY/ETXTBSY.
    Busy,
    /// RNTO between two virtual folders (or two file systems): a rename
    /// cannot cross them; a copy (SITE CPFR/CPTO) can.
    CrossDevice,
    /// Any other errno, kept for the log.
    Io(i32),
}

impl FsError {
    /// RFC 959 §4.2 reply code for this failure.
    pub fn reply_code(self) -> u16 {
        match self {
            FsError::NoSpace => reply::INSUFFICIENT_STORAGE,
            // A local resource, not the file: 451 ("local error in
            // processing"), as for other I/O errors; the client may retry.
            FsError::TooManyOpenFiles => reply::LOCAL_ERROR,
            FsError::ServerBusy | FsError::Busy => reply::FILE_BUSY,
            FsError::QuotaExceeded => reply::EXCEEDED_STORAGE,
            FsError::InvalidName | FsError::NameTooLong => reply::FILE_NAME_NOT_ALLOWED,
            FsError::Io(_) => reply::LOCAL_ERROR,
            _ => reply::FILE_UNAVAILABLE,
        }
    }

    /// Short human text for the reply.
    pub fn reply_text(self) -> &'static str {
        match self {
            FsError::NotFound => "No such file or directory",
            FsError::PermissionDenied => "Permission denied",
            FsError::AlreadyExists => "File exists",
            FsError::NotADirectory => "Not a directory",
            FsError::IsADirectory => "Is a directory",
            FsError::NotEmpty => "Directory not empty",
            FsError::NoSpace => "Insufficient storage space",
            FsError::QuotaExceeded => "Exceeded storage allocation",
            FsError::NameTooLong => "File name too long",
            FsError::InvalidName => "File name not allowed",
            FsError::Escapes => "No such file or directory",
            FsError::TooManyLinks => "Too many levels of symbolic links",
            FsError::TooManyOpenFiles => "Out of file descriptors, try again later",
            FsError::ServerBusy => "Server busy, try again later",
            FsError::Busy => "File busy",
            FsError::CrossDevice => "Cannot move across virtual folders or file systems",
            FsError::Io(_) => "Local error in processing",
        }
    }
}

impl fmt::Display for FsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FsError::Io(e) => write!(f, "{} (errno {e})", self.reply_text()),
            _ => f.write_str(self.reply_text()),
        }
    }
}

impl std::error::Error for FsError {}
