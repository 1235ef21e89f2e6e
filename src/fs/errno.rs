//! errno → [`FsError`]: the one table.
//!
//! Kept in one place so every fs call reports the same failure the same way,
//! and the session (which never sees an errno) gets a closed set of reasons.

use crate::proto::error::FsError;
use nix::errno::Errno;

/// Maps an errno from a filesystem call to the session's error set.
pub fn fs_error_from_errno(e: Errno) -> FsError {
    match e {
        Errno::ENOENT => FsError::NotFound,
        Errno::EACCES | Errno::EPERM => FsError::PermissionDenied,
        Errno::EEXIST => FsError::AlreadyExists,
        Errno::ENOTDIR => FsError::NotADirectory,
        Errno::EISDIR => FsError::IsADirectory,
        Errno::ENOTEMPTY => FsError::NotEmpty,
        Errno::ENOSPC => FsError::NoSpace,
        Errno::EDQUOT | Errno::EFBIG => FsError::QuotaExceeded,
        Errno::ENAMETOOLONG => FsError::NameTooLong,
        Errno::EXDEV => FsError::Escapes,
        Errno::ELOOP => FsError::TooManyLinks,
        Errno::EMFILE | Errno::ENFILE => FsError::TooManyOpenFiles,
        Errno::EBUSY | Errno::ETXTBSY => FsError::Busy,
        other => FsError::Io(other as i32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases = [
            (Errno::ENOENT, FsError::NotFound),
            (Errno::EACCES, FsError::PermissionDenied),
            (Errno::EPERM, FsError::PermissionDenied),
            (Errno::EEXIST, FsError::AlreadyExists),
            (Errno::ENOTDIR, FsError::NotADirectory),
            (Errno::EISDIR, FsError::IsADirectory),
            (Errno::ENOTEMPTY, FsError::NotEmpty),
            (Errno::ENOSPC, FsError::NoSpace),
            (Errno::EDQUOT, FsError::QuotaExceeded),
            (Errno::EFBIG, FsError::QuotaExceeded),
            (Errno::ENAMETOOLONG, FsError::NameTooLong),
            (Errno::EXDEV, FsError::Escapes),
            (Errno::ELOOP, FsError::TooManyLinks),
            (Errno::EMFILE, FsError::TooManyOpenFiles),
            (Errno::ENFILE, FsError::TooManyOpenFiles),
            (Errno::EBUSY, FsError::Busy),
            (Errno::ETXTBSY, FsError::Busy),
            (Errno::EIO, FsError::Io(libc::EIO)),
        ];
        for (e, want) in cases {
            assert_eq!(fs_error_from_errno(e), want, "{e}");
        }
    }
}
