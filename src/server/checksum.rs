//! HASH: a file's SHA-256, SHA-1, MD5 or CRC-32 over a byte range, read with
//! pread in bounded chunks (draft-bryan-ftpext-hash-02). Run in steps by
//! [`super::bulk`], never on a core's thread.

use std::os::unix::fs::FileExt;

use sha2::Digest;

use super::bulk::{Stepped, STEP_BYTES};
use crate::fs::{fs_error_from_errno, FsError, Root};
use crate::proto::hash::{to_hex, HashAlgo};
use crate::proto::path::VPath;
use crate::proto::session::{FsOk, HashDone};

/// Read size per pread.
const READ_BYTES: usize = 256 * 1024;

enum Hasher {
    Sha256(sha2::Sha256),
    Sha1(sha1::Sha1),
    Md5(md5::Md5),
    Crc32(crc32fast::Hasher),
}

impl Hasher {
    fn new(algo: HashAlgo) -> Hasher {
        match algo {
            HashAlgo::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            HashAlgo::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            HashAlgo::Md5 => Hasher::Md5(md5::Md5::new()),
            HashAlgo::Crc32 => Hasher::Crc32(crc32fast::Hasher::new()),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha1(h) => h.update(data),
            Hasher::Md5(h) => h.update(data),
            Hasher::Crc32(h) => h.update(data),
        }
    }

    fn hex(self) -> String {
        match self {
            Hasher::Sha256(h) => to_hex(&h.finalize()),
            Hasher::Sha1(h) => to_hex(&h.finalize()),
            Hasher::Md5(h) => to_hex(&h.finalize()),
            Hasher::Crc32(h) => to_hex(&h.finalize().to_be_bytes()),
        }
    }
}

/// A hash in progress: the open file and how far it has got.
pub struct HashTask {
    file: std::fs::File,
    algo: HashAlgo,
    hasher: Option<Hasher>,
    start: u64,
    pos: u64,
    end: u64,
    buf: Vec<u8>,
}

impl HashTask {
    /// Opens a regular file for hashing `start..end` (clamped to its size).
    pub fn open(
        root: &Root,
        path: &VPath,
        algo: HashAlgo,
        start: u64,
        end: Option<u64>,
    ) -> Result<HashTask, FsError> {
        let (fd, info) = root.open_read(path)?;
        let end = end.map_or(info.size, |e| e.min(info.size));
        let start = start.min(end);
        Ok(HashTask {
            file: std::fs::File::from(fd),
            algo,
            hasher: Some(Hasher::new(algo)),
            start,
            pos: start,
            end,
            buf: Vec::new(),
        })
    }
}

impl Stepped for HashTask {
    fn step(&mut self) -> Result<Option<FsOk>, FsError> {
        if self.buf.is_empty() {
            self.buf = vec![0; READ_BYTES];
        }
        let step_end = self.pos.saturating_add(STEP_BYTES).min(self.end);
        let hasher = self.hasher.as_mut().ok_or(FsError::Io(0))?;
        while self.pos < step_end {
            let want = usize::try_from(step_end - self.pos)
                .unwrap_or(READ_BYTES)
                .min(READ_BYTES);
            let n = match self.file.read_at(&mut self.buf[..want], self.pos) {
                Ok(0) => {
                    // The file shrank since it was opened: hash what there was.
                    self.end = self.pos;
                    break;
                }
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_error(&e)),
            };
            hasher.update(&self.buf[..n]);
            self.pos += n as u64;
        }
        if self.pos < self.end {
            return Ok(None);
        }
        let hex = self.hasher.take().ok_or(FsError::Io(0))?.hex();
        Ok(Some(FsOk::Hash(HashDone {
            algo: self.algo,
            start: self.start,
            end: self.pos,
            hex,
        })))
    }
}

/// A std I/O error → the fs layer's errno table.
pub fn io_error(e: &std::io::Error) -> FsError {
    match e.raw_os_error() {
        Some(n) => fs_error_from_errno(nix::errno::Errno::from_raw(n)),
        None => FsError::Io(0),
    }
}
