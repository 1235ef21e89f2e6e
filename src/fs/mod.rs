//! Root confinement and filesystem operations.
//!
//! Every path is resolved relative to the session's root directory fd with
//! `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`: `..`, absolute symlinks
//! and symlinks pointing outside all stay inside the root, as in a chroot.
//! Operations on a name (unlink, mkdir, rename, …) open the parent directory
//! that way and act on the last component with the `*at` call, so no path is
//! ever resolved by the kernel from `/`.
//!
//! A user's tree may have virtual folders mounted into it (`mounts.rs`): each
//! path is first mapped to the root fd that serves it by the longest mount
//! prefix, then resolved beneath that fd the same way.
//!
//! These calls block (metadata I/O); the server runs them on its helper pool,
//! never on a core's thread. errno is mapped to [`FsError`] in [`errno`], the
//! only table of its kind.

mod dir_stream;
mod errno;
mod mounts;
mod root;
#[cfg(test)]
mod test_tree;

pub use dir_stream::DirStream;
pub use errno::fs_error_from_errno;
pub use root::{Root, WriteMode};

pub use crate::proto::error::FsError;
pub use crate::proto::listing::{FileInfo, FileKind};
