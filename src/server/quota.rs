//! Storage quotas on the server side: the book of every user's usage (shared
//! by all workers), the scan that fills it, and the accounting of the
//! filesystem requests that free or take space. All of it runs on the helper
//! pool (logins and filesystem requests already do); the workers only add
//! an upload's bytes as they are written (`transfer/store.rs`).
//!
//! A user's tree (home and folders) is counted once, at the first login that
//! needs it: regular files, their apparent size (`st_size`), symlinks not
//! followed. From then on the counters move with each change the server
//! makes; changes made behind its back are seen at the next restart (or
//! when a reload changes the user's home or folders).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use crate::auth::{AuthPolicy, Grant};
use crate::fs::{FsError, Root};
use crate::proto::path::VPath;
use crate::proto::perms::Perms;
use crate::proto::quota::{Quota, Usage};

/// One user's counted usage and the trees it counts.
struct Counted {
    trees: Vec<PathBuf>,
    usage: Arc<Usage>,
    /// Set once the scan is done; later logins wait for it.
    scanned: OnceLock<()>,
}

/// Every user's usage, by name (`anonymous` for anonymous logins).
#[derive(Default)]
pub struct QuotaBook {
    users: Mutex<HashMap<String, Arc<Counted>>>,
}

/// True when the login may store anything anywhere: a read-only login
/// (anonymous on a mirror, most often) is never counted, so its tree is
/// never scanned.
fn may_store(g: &Grant) -> bool {
    let storing = [Perms::WRITE, Perms::APPEND, Perms::COPY, Perms::UPLOAD_ONLY];
    g.scope
        .rules
        .rules()
        .iter()
        .any(|r| storing.iter().any(|p| r.perms.contains(*p)))
}

/// The host trees a grant's quota covers: its home and each folder.
fn trees(g: &Grant) -> Vec<PathBuf> {
    let mut t = vec![g.scope.home.clone()];
    t.extend(g.scope.folders.iter().map(|f| f.host.clone()));
    t
}

impl QuotaBook {
    /// The quota of a login; counts the user's trees first if this is the
    /// first login that needs them. Blocking: call it on the helper pool.
    pub fn for_login(&self, g: &Grant) -> Option<Quota> {
        if !g.scope.limits.has_quota() || !may_store(g) {
            return None;
        }
        let trees = trees(g);
        let counted = {
            let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
            let entry = users.entry(g.user.clone()).or_insert_with(|| {
                Arc::new(Counted {
                    trees: trees.clone(),
                    usage: Arc::new(Usage::default()),
                    scanned: OnceLock::new(),
                })
            });
            if entry.trees != trees {
                // A reload moved the user's home or folders: count afresh.
                *entry = Arc::new(Counted {
                    trees: trees.clone(),
                    usage: Arc::new(Usage::default()),
                    scanned: OnceLock::new(),
                });
            }
            entry.clone()
        };
        counted.scanned.get_or_init(|| {
            let (bytes, files) = count_trees(&counted.trees);
            counted.usage.set(bytes, files);
        });
        Some(Quota {
            bytes_max: g.scope.limits.quota_bytes,
            files_max: g.scope.limits.quota_files,
            usage: counted.usage.clone(),
        })
    }

    /// After a reload: keeps the usage of users that still have a quota,
    /// forgets the rest (a user given a quota again is counted afresh).
    pub fn keep_only(&self, p: &AuthPolicy) {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        users.retain(|name, _| {
            if name == "anonymous" {
                return p.anonymous.is_some() && p.anon_limits.has_quota();
            }
            p.users
                .as_deref()
                .and_then(|db| db.get(name))
                .is_some_and(|u| u.scope.limits.has_quota())
        });
    }

    /// Usage of `user` as counted now (tests and logs).
    pub fn usage_of(&self, user: &str) -> Option<(u64, u64)> {
        let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        users.get(user).map(|c| (c.usage.bytes(), c.usage.files()))
    }
}

/// Regular files under `trees` (not following symlinks): bytes and count.
/// Unreadable directories are skipped.
pub fn count_trees(trees: &[PathBuf]) -> (u64, u64) {
    let (mut bytes, mut files) = (0u64, 0u64);
    let mut dirs: Vec<PathBuf> = trees.to_vec();
    while let Some(dir) = dirs.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(meta) = e.metadata() else { continue };
            if meta.is_dir() {
                dirs.push(e.path());
            } else if meta.is_file() {
                bytes = bytes.saturating_add(meta.len());
                files += 1;
            }
        }
    }
    (bytes, files)
}

/// What an upload target was before it was opened.
#[derive(Debug, Clone, Copy, Default)]
pub struct Before {
    /// Size of the regular file that was there (`None`: none).
    pub size: Option<u64>,
}

/// Before opening an upload target: refuses a new file past the files
/// limit (counting it otherwise). Undo with [`undo_new_file`] if the open fails.
pub fn before_open(q: &Quota, root: &Root, p: &VPath) -> Result<Before, FsError> {
    let size = root.file_size(p);
    if size.is_none() && !q.try_add_file() {
        return Err(FsError::QuotaExceeded);
    }
    Ok(Before { size })
}

/// The open failed: the file counted by [`before_open`] was not made.
pub fn undo_new_file(q: &Quota, b: Before) {
    if b.size.is_none() {
        q.remove_file();
    }
}

/// Runs a DELE or RNTO and accounts for the file it removes or replaces.
pub fn removing(
    q: Option<&Quota>,
    root: &Root,
    gone: &VPath,
    op: impl FnOnce() -> Result<(), FsError>,
) -> Result<(), FsError> {
    let size = q.and_then(|_| root.file_size(gone));
    op()?;
    if let (Some(q), Some(n)) = (q, size) {
        q.shrink(n);
        q.remove_file();
    }
    Ok(())
}

/// A copy's reservation: the bytes it adds (the source's size less the
/// replaced target's) and whether it adds a file. Refused past the quota.
#[derive(Debug)]
pub struct CopyHold {
    quota: Quota,
    bytes: u64,
    new_file: bool,
}

impl CopyHold {
    /// Reserves room for copying `from` over `to`.
    pub fn reserve(q: &Quota, root: &Root, from: &VPath, to: &VPath) -> Result<CopyHold, FsError> {
        // The copy reads through a final symlink, so its source's size does too.
        let src = root.stat(from).map(|i| i.size).unwrap_or(0);
        let old = root.file_size(to);
        let old_size = old.unwrap_or(0);
        let (bytes, freed) = (src.saturating_sub(old_size), old_size.saturating_sub(src));
        let new_file = old.is_none();
        if new_file && !q.try_add_file() {
            return Err(FsError::QuotaExceeded);
        }
        if !q.try_grow(bytes) {
            if new_file {
                q.remove_file();
            }
            return Err(FsError::QuotaExceeded);
        }
        q.shrink(freed);
        Ok(CopyHold {
            quota: q.clone(),
            bytes,
            new_file,
        })
    }

    /// The copy did not happen (or its target was removed): gives the room
    /// back. Approximate when the copy replaced a file: the replaced bytes
    /// stay counted as freed.
    pub fn release(self) {
        self.quota.shrink(self.bytes);
        if self.new_file {
            self.quota.remove_file();
        }
    }
}

/// An upload's share of the quota: what its target counts for now, and
/// how to undo it when the upload goes past the limit.
#[derive(Debug, Clone)]
pub struct UploadQuota {
    pub quota: Quota,
    /// The target's size as counted (it grows as bytes are written).
    high: u64,
    /// APPE writes at the end whatever the offset.
    append: bool,
    /// Past the limit: remove the file (it is new, or was truncated by STOR),
    /// else truncate it back to `base` (APPE, REST+STOR).
    remove: bool,
    base: u64,
}

impl UploadQuota {
    /// A new, empty file (already counted in the files limit).
    pub fn new_file(q: &Quota) -> UploadQuota {
        UploadQuota {
            quota: q.clone(),
            high: 0,
            append: false,
            remove: true,
            base: 0,
        }
    }

    /// Counts `len` bytes written at `offset`; false (nothing counted)
    /// when they would pass the limit.
    pub fn take(&mut self, offset: u64, len: u64) -> bool {
        let end = if self.append {
            self.high.saturating_add(len)
        } else {
            offset.saturating_add(len)
        };
        if !self.quota.try_grow(end.saturating_sub(self.high)) {
            return false;
        }
        self.high = self.high.max(end);
        true
    }

    /// Undoes a refused upload (on the helper pool): the partial file is
    /// removed, or truncated back to its size before the upload.
    pub fn undo(&self, root: &Root, p: &VPath) {
        if self.remove {
            if root.unlink(p).is_ok() {
                self.quota.shrink(self.high);
                self.quota.remove_file();
            }
            return;
        }
        let truncated = root
            .open_write(p, crate::fs::WriteMode::At(0))
            .map(std::fs::File::from)
            .is_ok_and(|f| f.set_len(self.base).is_ok());
        if truncated {
            self.quota.shrink(self.high.saturating_sub(self.base));
        }
    }
}

/// Opens an upload target under a quota: a new file must fit the files
/// limit; STOR over an existing file frees its bytes (O_TRUNC).
pub fn open_upload(
    q: &Quota,
    root: &Root,
    p: &VPath,
    append: bool,
    truncate: bool,
    open: impl FnOnce() -> Result<std::os::fd::OwnedFd, FsError>,
) -> Result<(std::os::fd::OwnedFd, UploadQuota), FsError> {
    let before = before_open(q, root, p)?;
    let fd = match open() {
        Ok(fd) => fd,
        Err(e) => {
            undo_new_file(q, before);
            return Err(e);
        }
    };
    let old = before.size.unwrap_or(0);
    let (high, remove) = if truncate {
        q.shrink(old);
        (0, true)
    } else {
        // The size now (another session may have written since the stat).
        let now = nix::sys::stat::fstat(&fd)
            .map(|st| u64::try_from(st.st_size).unwrap_or(0))
            .unwrap_or(old);
        (now, before.size.is_none())
    };
    Ok((
        fd,
        UploadQuota {
            quota: q.clone(),
            high,
            append,
            remove,
            base: high,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(bytes: u64, used: u64) -> Quota {
        Quota {
            bytes_max: Some(bytes),
            files_max: None,
            usage: Arc::new(Usage::new(used, 0)),
        }
    }

    #[test]
    fn an_upload_counts_growth_only() {
        // REST 10 + STOR over a 100-byte file: rewriting bytes 10..100 is
        // free, what goes past the old end is counted.
        let q = quota(150, 100);
        let mut u = UploadQuota {
            base: 100,
            high: 100,
            ..UploadQuota::new_file(&q)
        };
        assert!(u.take(10, 90));
        assert_eq!(q.usage.bytes(), 100);
        assert!(u.take(100, 50));
        assert_eq!(q.usage.bytes(), 150);
        assert!(!u.take(150, 1), "one byte past the limit");
        assert_eq!(q.usage.bytes(), 150);
    }

    #[test]
    fn an_append_counts_every_byte_whatever_the_offset() {
        let q = quota(1000, 300);
        let mut u = UploadQuota {
            append: true,
            remove: false,
            base: 300,
            high: 300,
            ..UploadQuota::new_file(&q)
        };
        // APPE writes at offset 0 in the transfer's terms (O_APPEND).
        assert!(u.take(0, 400));
        assert!(u.take(400, 300));
        assert_eq!(q.usage.bytes(), 1000);
        assert!(!u.take(700, 1));
    }

    #[test]
    fn a_tree_is_counted_without_following_symlinks() {
        let d = std::env::temp_dir().join(format!("ringftpd-quota-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("a/b")).unwrap();
        std::fs::write(d.join("a/one"), [0u8; 10]).unwrap();
        std::fs::write(d.join("a/b/two"), [0u8; 20]).unwrap();
        std::os::unix::fs::symlink(d.join("a/b/two"), d.join("link")).unwrap();
        std::os::unix::fs::symlink(&d, d.join("a/loop")).unwrap();
        assert_eq!(count_trees(std::slice::from_ref(&d)), (30, 2));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
