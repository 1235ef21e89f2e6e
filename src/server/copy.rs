//! SITE CPTO: copy a regular file to a new name inside the same root, with
//! copy_file_range(2) (the kernel copies, or clones on filesystems that can),
//! falling back to pread/pwrite where it is refused. Run in steps by
//! [`super::bulk`], never on a core's thread.

use std::os::fd::AsFd;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::sync::Arc;

use nix::errno::Errno;

use super::bulk::{Stepped, STEP_BYTES};
use super::checksum::io_error;
use crate::fs::{fs_error_from_errno, FsError, Root, WriteMode};
use crate::proto::path::VPath;
use crate::proto::session::FsOk;

/// Buffer for the pread/pwrite fallback.
const FALLBACK_BYTES: usize = 256 * 1024;

/// A copy in progress.
pub struct CopyTask {
    src: std::fs::File,
    dst: std::fs::File,
    /// Where the target is, to remove a partial copy when cancelled.
    root: Arc<Root>,
    to: VPath,
    pos: u64,
    size: u64,
    /// copy_file_range was refused (EXDEV, EINVAL, …): copy by hand.
    fallback: bool,
}

impl CopyTask {
    /// Opens both ends. The target is created or truncated, but only after
    /// checking it is not the source itself (a hard link or a symlink to it).
    pub fn open(root: &Arc<Root>, from: &VPath, to: &VPath) -> Result<CopyTask, FsError> {
        let (src, info) = root.open_read(from)?;
        let dst = root.open_write(to, WriteMode::At(0))?;
        let (src, dst) = (std::fs::File::from(src), std::fs::File::from(dst));
        let (a, b) = (
            src.metadata().map_err(|e| io_error(&e))?,
            dst.metadata().map_err(|e| io_error(&e))?,
        );
        if a.dev() == b.dev() && a.ino() == b.ino() {
            return Err(FsError::InvalidName);
        }
        dst.set_len(0).map_err(|e| io_error(&e))?;
        Ok(CopyTask {
            src,
            dst,
            root: Arc::clone(root),
            to: to.clone(),
            pos: 0,
            size: info.size,
            fallback: false,
        })
    }

    /// Up to `len` bytes with copy_file_range; `Ok(0)` at end of file.
    fn kernel_copy(&mut self, len: usize) -> Result<usize, Errno> {
        let mut off_in = i64::try_from(self.pos).map_err(|_| Errno::EFBIG)?;
        let mut off_out = off_in;
        nix::fcntl::copy_file_range(
            self.src.as_fd(),
            Some(&mut off_in),
            self.dst.as_fd(),
            Some(&mut off_out),
            len,
        )
    }

    fn manual_copy(&mut self, len: usize, buf: &mut [u8]) -> Result<usize, FsError> {
        let want = len.min(buf.len());
        let n = loop {
            match self.src.read_at(&mut buf[..want], self.pos) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                r => break r.map_err(|e| io_error(&e))?,
            }
        };
        self.dst
            .write_all_at(&buf[..n], self.pos)
            .map_err(|e| io_error(&e))?;
        Ok(n)
    }
}

impl Stepped for CopyTask {
    fn step(&mut self) -> Result<Option<FsOk>, FsError> {
        let step_end = self.pos.saturating_add(STEP_BYTES).min(self.size);
        let mut buf = Vec::new();
        while self.pos < step_end {
            let len = usize::try_from(step_end - self.pos).unwrap_or(usize::MAX);
            let n = if self.fallback {
                if buf.is_empty() {
                    buf = vec![0; FALLBACK_BYTES];
                }
                self.manual_copy(len, &mut buf)?
            } else {
                match self.kernel_copy(len) {
                    Ok(n) => n,
                    Err(Errno::EINTR) => continue,
                    Err(Errno::EXDEV | Errno::EINVAL | Errno::ENOSYS | Errno::EOPNOTSUPP) => {
                        self.fallback = true;
                        continue;
                    }
                    Err(e) => return Err(fs_error_from_errno(e)),
                }
            };
            if n == 0 {
                // The source shrank since it was opened: the copy ends here.
                self.size = self.pos;
                break;
            }
            self.pos += n as u64;
        }
        Ok((self.pos >= self.size).then_some(FsOk::Done))
    }

    fn cancelled(&mut self) {
        // A partial copy would pass for the whole file.
        let _ = self.root.unlink(&self.to);
    }
}

/// A SITE CPTO holding its reservation until it ends.
pub struct HeldCopy {
    pub task: Box<dyn Stepped>,
    pub hold: Option<super::quota::CopyHold>,
}

impl Stepped for HeldCopy {
    fn step(&mut self) -> Result<Option<FsOk>, FsError> {
        let r = self.task.step();
        match &r {
            Err(_) => {
                if let Some(h) = self.hold.take() {
                    h.release();
                }
            }
            Ok(Some(_)) => self.hold = None,
            Ok(None) => {}
        }
        r
    }

    fn cancelled(&mut self) {
        self.task.cancelled();
        if let Some(h) = self.hold.take() {
            h.release();
        }
    }
}
