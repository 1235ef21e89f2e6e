//! errno → [`FsError`]: the one table.

use crate::proto::error::FsError;
use nix::errno::Errno;

/// Maps an errno from a filesystem call to the session's error set.
pub fn fs_error_from_errno(e: Errno) -> FsError {
    let _ = e;
    todo!()
}
