//! [`DirStream`]: a directory read one entry at a time, so a listing of a
//! huge directory never has to be held in memory (the server formats and
//! sends it in bounded chunks). Each entry is stat'ed without following
//! symlinks, relative to the directory's own fd.

use std::os::fd::OwnedFd;

use nix::dir::{Dir, OwningIter};
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{self, Mode};

use super::errno::fs_error_from_errno;
use super::root::{info_from_stat, Root};
use crate::proto::error::FsError;
use crate::proto::listing::FileInfo;
use crate::proto::path::VPath;

/// An open directory being read. `Send`, so a helper thread can keep it
/// between two chunks of a listing.
pub struct DirStream {
    entries: OwningIter,
    /// A second fd on the directory for fstatat while `entries` iterates.
    stat_fd: OwnedFd,
    /// Virtual folders mounted in this directory: listed after the real
    /// entries, which are skipped when they have a folder's name.
    folders: std::vec::IntoIter<FileInfo>,
    folder_names: Vec<String>,
}

impl Root {
    /// Opens directory `p` (inside the root) for reading entry by entry.
    pub fn dir_stream(&self, p: &VPath) -> Result<DirStream, FsError> {
        let (root, rel) = self.locate(p);
        let fd = root.open_at(rel, OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty())?;
        let stat_fd = fd.try_clone().map_err(|e| match e.raw_os_error() {
            Some(n) => fs_error_from_errno(Errno::from_raw(n)),
            None => FsError::Io(0),
        })?;
        let dir = Dir::from_fd(fd).map_err(fs_error_from_errno)?;
        let folders = self.folder_entries(p);
        Ok(DirStream {
            entries: dir.into_iter(),
            stat_fd,
            folder_names: folders.iter().map(|f| f.name.clone()).collect(),
            folders: folders.into_iter(),
        })
    }
}

impl DirStream {
    /// The next entry (never `.` or `..`, never a name that is not UTF-8),
    /// `None` at the end. Entries gone between readdir and stat are skipped.
    pub fn next_entry(&mut self) -> Option<Result<FileInfo, FsError>> {
        loop {
            let Some(entry) = self.entries.next() else {
                return self.folders.next().map(Ok);
            };
            let entry = match entry {
                Ok(e) => e,
                Err(e) => return Some(Err(fs_error_from_errno(e))),
            };
            let cname = entry.file_name();
            let Ok(name) = cname.to_str() else { continue };
            if name == "." || name == ".." || self.folder_names.iter().any(|f| f == name) {
                continue;
            }
            let Ok(st) = stat::fstatat(&self.stat_fd, cname, AtFlags::AT_SYMLINK_NOFOLLOW) else {
                continue;
            };
            return Some(Ok(info_from_stat(name, &st)));
        }
    }
}
