//! [`Root`]: a directory fd that every path is resolved beneath.
//!
//! Each public operation takes a [`VPath`], finds the root that serves it
//! (the home or a virtual folder, `mounts.rs`) with its path relative to that
//! root (`a/b`, `.` for the top), and works through a private `*_rel` twin;
//! the twins are what the confinement tests drive.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{self, AtFlags, FcntlArg, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{self, FchmodatFlags, FileStat, Mode, SFlag, UtimensatFlags};
use nix::sys::time::TimeSpec;
use nix::unistd::{self, UnlinkatFlags};

use super::errno::fs_error_from_errno;
use crate::proto::error::FsError;
use crate::proto::listing::{FileInfo, FileKind};
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

/// A confined directory tree, with any virtual folders mounted into it
/// (see `mounts.rs`). Cheap to share across threads (`Arc<Root>`).
#[derive(Debug)]
pub struct Root {
    /// O_PATH|O_DIRECTORY fd of the root: the base of every resolution.
    pub(super) fd: OwnedFd,
    /// The path it was opened from, for logs.
    path: PathBuf,
    /// Further confined trees at virtual paths; the longest prefix wins.
    pub(super) mounts: Vec<super::mounts::Mount>,
}

/// openat2 retries on EAGAIN (a concurrent rename or mount raced a `..`).
const EAGAIN_RETRIES: usize = 8;

/// Splits a relative path into parent and last component; refuses a last
/// component that is empty, `.` or `..` (the root itself has no name).
fn split_last(rel: &str) -> Result<(&str, &str), FsError> {
    let (parent, name) = match rel.rsplit_once('/') {
        Some(("", name)) => (".", name),
        Some(split) => split,
        None => (".", rel),
    };
    if name.is_empty() || name == "." || name == ".." {
        return Err(FsError::InvalidName);
    }
    Ok((parent, name))
}

fn kind_of(st: &FileStat) -> FileKind {
    match SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) {
        SFlag::S_IFREG => FileKind::File,
        SFlag::S_IFDIR => FileKind::Dir,
        SFlag::S_IFLNK => FileKind::Symlink,
        _ => FileKind::Other,
    }
}

pub(super) fn info_from_stat(name: &str, st: &FileStat) -> FileInfo {
    FileInfo {
        name: name.to_string(),
        kind: kind_of(st),
        size: u64::try_from(st.st_size).unwrap_or(0),
        mtime_secs: st.st_mtime,
        mode: st.st_mode & 0o7777,
        #[allow(clippy::unnecessary_cast)] // nlink_t is u32 on some targets
        nlink: st.st_nlink as u64,
    }
}

/// The name reported by `stat` for a relative path: last component, `/` for
/// the root.
fn display_name(rel: &str) -> &str {
    match rel {
        "." => "/",
        r => r.rsplit('/').next().unwrap_or(r),
    }
}

/// Clears O_NONBLOCK (used only so that opening a fifo cannot hang).
fn clear_nonblock(fd: &OwnedFd) -> Result<(), FsError> {
    let flags = fcntl::fcntl(fd, FcntlArg::F_GETFL).map_err(fs_error_from_errno)?;
    let flags = OFlag::from_bits_truncate(flags) - OFlag::O_NONBLOCK;
    fcntl::fcntl(fd, FcntlArg::F_SETFL(flags)).map_err(fs_error_from_errno)?;
    Ok(())
}

impl Root {
    /// Opens `path` as a root. Fails when it is missing or not a directory.
    pub fn open(path: &Path) -> Result<Root, FsError> {
        let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        let fd = fcntl::open(path, flags, Mode::empty()).map_err(fs_error_from_errno)?;
        Ok(Root {
            fd,
            path: display_root(path),
            mounts: Vec::new(),
        })
    }

    /// The path given to [`Root::open`], for logs and the start-up line.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Resolves `rel` beneath the root fd, as if the root were `/`.
    pub(super) fn open_at(&self, rel: &str, flags: OFlag, mode: Mode) -> Result<OwnedFd, FsError> {
        if rel.contains('\0') {
            return Err(FsError::InvalidName);
        }
        let how = OpenHow::new()
            .flags(flags | OFlag::O_CLOEXEC)
            .mode(mode)
            .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
        let mut tries = 0;
        loop {
            match fcntl::openat2(self.fd.as_fd(), rel, how) {
                Err(Errno::EAGAIN) if tries < EAGAIN_RETRIES => tries += 1,
                r => return r.map_err(fs_error_from_errno),
            }
        }
    }

    /// Opens the parent directory of `rel` (O_PATH) and returns it with the
    /// last component, for the `*at` calls.
    fn parent_of<'a>(&self, rel: &'a str) -> Result<(OwnedFd, &'a str), FsError> {
        let (parent, name) = split_last(rel)?;
        if name.contains('\0') {
            return Err(FsError::InvalidName);
        }
        let dir = self.open_at(parent, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty())?;
        Ok((dir, name))
    }

    /// Opens a directory below this root as a new root (a user's home).
    pub fn subroot(&self, p: &VPath) -> Result<Root, FsError> {
        let (r, rel) = self.locate(p);
        r.subroot_rel(rel)
    }

    fn subroot_rel(&self, rel: &str) -> Result<Root, FsError> {
        let fd = self.open_at(rel, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty())?;
        let path = match rel {
            "." => self.path.clone(),
            r => self.path.join(r),
        };
        Ok(Root {
            fd,
            path,
            mounts: Vec::new(),
        })
    }

    /// Metadata of `p`, following symlinks that stay inside the root. The
    /// `name` of the result is the last component (`/` for the root).
    pub fn stat(&self, p: &VPath) -> Result<FileInfo, FsError> {
        let (r, rel) = self.locate(p);
        let mut info = r.stat_rel(rel)?;
        // A folder's own root is named by its mount path, not `/`.
        if let (".", Some(name)) = (rel, p.file_name()) {
            info.name = name.to_string();
        }
        Ok(info)
    }

    fn stat_rel(&self, rel: &str) -> Result<FileInfo, FsError> {
        let fd = self.open_at(rel, OFlag::O_PATH, Mode::empty())?;
        let st = stat::fstat(&fd).map_err(fs_error_from_errno)?;
        Ok(info_from_stat(display_name(rel), &st))
    }

    /// The size of `p` when it is a regular file (a final symlink is not
    /// followed, as a quota scan does not follow it); `None` for anything
    /// else, or when it does not exist. For quota accounting.
    pub fn file_size(&self, p: &VPath) -> Option<u64> {
        let (r, rel) = self.locate(p);
        let fd = r
            .open_at(rel, OFlag::O_PATH | OFlag::O_NOFOLLOW, Mode::empty())
            .ok()?;
        let st = stat::fstat(&fd).ok()?;
        (kind_of(&st) == FileKind::File).then(|| u64::try_from(st.st_size).unwrap_or(0))
    }

    /// Opens a regular file for reading (O_RDONLY|O_CLOEXEC|O_NOCTTY);
    /// `IsADirectory` for a directory, `PermissionDenied` for anything not a
    /// regular file (fifos, devices).
    pub fn open_read(&self, p: &VPath) -> Result<(OwnedFd, FileInfo), FsError> {
        let (r, rel) = self.locate(p);
        r.open_read_rel(rel)
    }

    fn open_read_rel(&self, rel: &str) -> Result<(OwnedFd, FileInfo), FsError> {
        // O_NONBLOCK only so a fifo cannot block the open; cleared below.
        let flags = OFlag::O_RDONLY | OFlag::O_NOCTTY | OFlag::O_NONBLOCK;
        let fd = self.open_at(rel, flags, Mode::empty())?;
        let st = stat::fstat(&fd).map_err(fs_error_from_errno)?;
        let info = info_from_stat(display_name(rel), &st);
        match info.kind {
            FileKind::File => {}
            FileKind::Dir => return Err(FsError::IsADirectory),
            _ => return Err(FsError::PermissionDenied),
        }
        clear_nonblock(&fd)?;
        Ok((fd, info))
    }

    /// Opens (creating with mode 0644) a regular file for writing per `mode`.
    /// `At(n)` leaves the size as is; the caller writes at offset n.
    pub fn open_write(&self, p: &VPath, mode: WriteMode) -> Result<OwnedFd, FsError> {
        let (r, rel) = self.locate(p);
        r.open_write_rel(rel, mode)
    }

    fn open_write_rel(&self, rel: &str, mode: WriteMode) -> Result<OwnedFd, FsError> {
        split_last(rel)?;
        let extra = match mode {
            WriteMode::Truncate => OFlag::O_TRUNC,
            WriteMode::Append => OFlag::O_APPEND,
            WriteMode::At(_) => OFlag::empty(),
            WriteMode::CreateNew => OFlag::O_EXCL,
        };
        // O_NONBLOCK: an existing fifo without a reader fails (ENXIO) instead
        // of blocking; with a reader it opens and is refused below.
        let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_NOCTTY | OFlag::O_NONBLOCK | extra;
        let fd = match self.open_at(rel, flags, Mode::from_bits_truncate(0o644)) {
            Err(FsError::Io(e)) if e == libc::ENXIO => return Err(FsError::PermissionDenied),
            r => r?,
        };
        let st = stat::fstat(&fd).map_err(fs_error_from_errno)?;
        if kind_of(&st) != FileKind::File {
            return Err(FsError::PermissionDenied);
        }
        clear_nonblock(&fd)?;
        Ok(fd)
    }

    /// Entries of directory `p` (without `.` and `..`), each stat'ed without
    /// following symlinks, in directory order, at most `entries_max` of them
    /// (the rest are dropped and `truncated` is true).
    /// Folders mounted directly in `p` are listed as the directories they
    /// are, in place of any entry of the same name.
    pub fn read_dir(
        &self,
        p: &VPath,
        entries_max: usize,
    ) -> Result<(Vec<FileInfo>, bool), FsError> {
        let (r, rel) = self.locate(p);
        let (mut entries, mut truncated) = r.read_dir_rel(rel, entries_max)?;
        let folders = self.folder_entries(p);
        entries.retain(|e| !folders.iter().any(|f| f.name == e.name));
        for f in folders {
            if entries.len() == entries_max {
                truncated = true;
                break;
            }
            entries.push(f);
        }
        Ok((entries, truncated))
    }

    fn read_dir_rel(
        &self,
        rel: &str,
        entries_max: usize,
    ) -> Result<(Vec<FileInfo>, bool), FsError> {
        let fd = self.open_at(rel, OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty())?;
        // A second fd on the same directory for fstatat while `dir` iterates.
        let stat_fd = fd.try_clone().map_err(|e| match e.raw_os_error() {
            Some(n) => fs_error_from_errno(Errno::from_raw(n)),
            None => FsError::Io(0),
        })?;
        let mut dir = Dir::from_fd(fd).map_err(fs_error_from_errno)?;
        let mut out = Vec::new();
        for entry in dir.iter() {
            let entry = entry.map_err(fs_error_from_errno)?;
            let cname = entry.file_name();
            let Ok(name) = cname.to_str() else { continue };
            if name == "." || name == ".." {
                continue;
            }
            // Gone since readdir (a race): leave it out.
            let Ok(st) = stat::fstatat(&stat_fd, cname, AtFlags::AT_SYMLINK_NOFOLLOW) else {
                continue;
            };
            if out.len() == entries_max {
                return Ok((out, true));
            }
            out.push(info_from_stat(name, &st));
        }
        Ok((out, false))
    }

    /// MKD: mode 0755. `AlreadyExists` if the name exists.
    pub fn mkdir(&self, p: &VPath) -> Result<(), FsError> {
        let (r, rel) = self.locate(p);
        r.mkdir_rel(rel)
    }

    fn mkdir_rel(&self, rel: &str) -> Result<(), FsError> {
        let (dir, name) = self.parent_of(rel)?;
        stat::mkdirat(&dir, name, Mode::from_bits_truncate(0o755)).map_err(fs_error_from_errno)
    }

    /// RMD: the directory must be empty.
    pub fn rmdir(&self, p: &VPath) -> Result<(), FsError> {
        let (r, rel) = self.locate(p);
        r.remove_rel(rel, UnlinkatFlags::RemoveDir)
    }

    /// DELE: a file or symlink (not a directory: `IsADirectory`).
    pub fn unlink(&self, p: &VPath) -> Result<(), FsError> {
        let (r, rel) = self.locate(p);
        r.remove_rel(rel, UnlinkatFlags::NoRemoveDir)
    }

    /// The twin of both RMD (`RemoveDir`) and DELE (`NoRemoveDir`): one
    /// `unlinkat` whose flag says which kind of entry it may remove.
    fn remove_rel(&self, rel: &str, kind: UnlinkatFlags) -> Result<(), FsError> {
        let (dir, name) = self.parent_of(rel)?;
        unistd::unlinkat(&dir, name, kind).map_err(fs_error_from_errno)
    }

    /// RNFR/RNTO: renameat between the two parents, both inside this root
    /// and in the same folder; across folders (or file systems) it is
    /// `CrossDevice`.
    pub fn rename(&self, from: &VPath, to: &VPath) -> Result<(), FsError> {
        let ((r_from, from), (r_to, to)) = (self.locate(from), self.locate(to));
        if !std::ptr::eq(r_from, r_to) {
            return Err(FsError::CrossDevice);
        }
        r_from.rename_rel(from, to)
    }

    fn rename_rel(&self, from: &str, to: &str) -> Result<(), FsError> {
        let (from_dir, from_name) = self.parent_of(from)?;
        let (to_dir, to_name) = self.parent_of(to)?;
        // Both parents are open, so EXDEV here is a mount crossing, not an
        // escape (which is what it means from openat2).
        fcntl::renameat(&from_dir, from_name, &to_dir, to_name).map_err(|e| match e {
            Errno::EXDEV => FsError::CrossDevice,
            e => fs_error_from_errno(e),
        })
    }

    /// MFMT: sets the modification time (unix seconds), keeps atime.
    ///
    /// Acts on the name itself and never follows a final symlink (which could
    /// point outside the root); a symlink is refused with `PermissionDenied`.
    pub fn set_mtime(&self, p: &VPath, unix_secs: i64) -> Result<(), FsError> {
        let (r, rel) = self.locate(p);
        r.set_mtime_rel(rel, unix_secs)
    }

    fn set_mtime_rel(&self, rel: &str, unix_secs: i64) -> Result<(), FsError> {
        let (dir, name) = self.name_not_symlink(rel)?;
        let mtime = TimeSpec::new(unix_secs, 0);
        stat::utimensat(
            &dir,
            name,
            &TimeSpec::UTIME_OMIT,
            &mtime,
            UtimensatFlags::NoFollowSymlink,
        )
        .map_err(fs_error_from_errno)
    }

    /// SITE CHMOD: mode & 0o777 only (no setuid/setgid/sticky).
    ///
    /// Never follows a final symlink; a symlink is refused with
    /// `PermissionDenied` (Linux cannot chmod a link itself).
    pub fn chmod(&self, p: &VPath, mode: u32) -> Result<(), FsError> {
        let (r, rel) = self.locate(p);
        r.chmod_rel(rel, mode)
    }

    fn chmod_rel(&self, rel: &str, mode: u32) -> Result<(), FsError> {
        let (dir, name) = self.name_not_symlink(rel)?;
        let mode = Mode::from_bits_truncate(mode & 0o777);
        match stat::fchmodat(&dir, name, mode, FchmodatFlags::NoFollowSymlink) {
            // Swapped for a symlink since the check, or no /proc for glibc's
            // fallback: refuse rather than follow.
            Err(Errno::EOPNOTSUPP) => Err(FsError::PermissionDenied),
            r => r.map_err(fs_error_from_errno),
        }
    }

    /// Parent dir and last component of `rel`, refusing when it names a
    /// symlink.
    fn name_not_symlink<'a>(&self, rel: &'a str) -> Result<(OwnedFd, &'a str), FsError> {
        let (dir, name) = self.parent_of(rel)?;
        let st =
            stat::fstatat(&dir, name, AtFlags::AT_SYMLINK_NOFOLLOW).map_err(fs_error_from_errno)?;
        if kind_of(&st) == FileKind::Symlink {
            return Err(FsError::PermissionDenied);
        }
        Ok((dir, name))
    }
}

/// Kept for tests and logs: the absolute form of a root path.
pub fn display_root(p: &Path) -> PathBuf {
    p.to_path_buf()
}

#[cfg(test)]
#[path = "root_tests.rs"]
mod tests;
