//! [`Root`]: a directory fd that every path is resolved beneath.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use crate::proto::error::FsError;
use crate::proto::listing::FileInfo;
use crate::proto::path::VPath;

/// How STOR/APPE/STOU open their target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// STOR: create or truncate.
    Truncate,
    /// APPE: create or append at the end.
    Append,
    /// REST n + STOR: create if missing, do not truncate, writes start at n.
    At(u64),
    /// STOU and drop-box uploads: fail with `AlreadyExists` if the name exists
    /// (O_CREAT|O_EXCL).
    CreateNew,
}

/// A confined directory tree. Cheap to share across threads (`Arc<Root>`).
#[derive(Debug)]
pub struct Root {
    // private: the O_PATH|O_DIRECTORY fd of the root, and its path for logs
    _private: (),
}

impl Root {
    /// Opens `path` as a root. Fails when it is missing or not a directory.
    pub fn open(path: &Path) -> Result<Root, FsError> {
        let _ = path;
        todo!()
    }

    /// The path given to [`Root::open`], for logs and the start-up line.
    pub fn path(&self) -> &Path {
        todo!()
    }

    /// Opens a directory below this root as a new root (a user's home).
    pub fn subroot(&self, p: &VPath) -> Result<Root, FsError> {
        let _ = p;
        todo!()
    }

    /// Metadata of `p`, following symlinks that stay inside the root. The
    /// `name` of the result is the last component (`/` for the root).
    pub fn stat(&self, p: &VPath) -> Result<FileInfo, FsError> {
        let _ = p;
        todo!()
    }

    /// Opens a regular file for reading (O_RDONLY|O_CLOEXEC|O_NOCTTY);
    /// `IsADirectory` for a directory, `PermissionDenied` for anything not a
    /// regular file (fifos, devices).
    pub fn open_read(&self, p: &VPath) -> Result<(OwnedFd, FileInfo), FsError> {
        let _ = p;
        todo!()
    }

    /// Opens (creating with mode 0644) a regular file for writing per `mode`.
    /// `At(n)` leaves the size as is; the caller writes at offset n.
    pub fn open_write(&self, p: &VPath, mode: WriteMode) -> Result<OwnedFd, FsError> {
        let _ = (p, mode);
        todo!()
    }

    /// Entries of directory `p` (without `.` and `..`), each stat'ed without
    /// following symlinks, in directory order, at most `entries_max` of them
    /// (the rest are dropped and `truncated` is true).
    pub fn read_dir(&self, p: &VPath, entries_max: usize) -> Result<(Vec<FileInfo>, bool), FsError> {
        let _ = (p, entries_max);
        todo!()
    }

    /// MKD: mode 0755. `AlreadyExists` if the name exists.
    pub fn mkdir(&self, p: &VPath) -> Result<(), FsError> {
        let _ = p;
        todo!()
    }

    /// RMD: the directory must be empty.
    pub fn rmdir(&self, p: &VPath) -> Result<(), FsError> {
        let _ = p;
        todo!()
    }

    /// DELE: a file or symlink (not a directory: `IsADirectory`).
    pub fn unlink(&self, p: &VPath) -> Result<(), FsError> {
        let _ = p;
        todo!()
    }

    /// RNFR/RNTO: renameat between the two parents, both inside this root.
    pub fn rename(&self, from: &VPath, to: &VPath) -> Result<(), FsError> {
        let _ = (from, to);
        todo!()
    }

    /// MFMT: sets the modification time (unix seconds), keeps atime.
    pub fn set_mtime(&self, p: &VPath, unix_secs: i64) -> Result<(), FsError> {
        let _ = (p, unix_secs);
        todo!()
    }

    /// SITE CHMOD: mode & 0o777 only (no setuid/setgid/sticky).
    pub fn chmod(&self, p: &VPath, mode: u32) -> Result<(), FsError> {
        let _ = (p, mode);
        todo!()
    }
}

/// Kept for tests and logs: the absolute form of a root path.
pub fn display_root(p: &Path) -> PathBuf {
    p.to_path_buf()
}
