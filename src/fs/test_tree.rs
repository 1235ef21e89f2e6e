//! The fs tests' fixture: a directory tree of their own under the system
//! temp dir (unique per process, call and tag), removed on drop.

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

pub(super) struct TempTree {
    base: PathBuf,
}

impl TempTree {
    /// `ringftpd-<kind>-<pid>-<n>-<tag>` holding `dirs` (created with their
    /// parents) and then `files` (path, content).
    pub(super) fn new(kind: &str, tag: &str, dirs: &[&str], files: &[(&str, &[u8])]) -> TempTree {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let name = format!("ringftpd-{kind}-{}-{n}-{tag}", std::process::id());
        let base = std::env::temp_dir().join(name);
        let _ = fs::remove_dir_all(&base);
        for d in dirs {
            fs::create_dir_all(base.join(d)).unwrap();
        }
        for (f, content) in files {
            fs::write(base.join(f), content).unwrap();
        }
        TempTree { base }
    }

    /// `rel` inside the tree.
    pub(super) fn path(&self, rel: &str) -> PathBuf {
        self.base.join(rel)
    }
}

impl Drop for TempTree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.base);
    }
}
