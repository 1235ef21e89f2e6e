//! Virtual folders: further host directories mounted into a user's tree at
//! virtual paths (the config file's `[[user.folder]]`).
//!
//! A [`Root`] holds its own directory fd and a list of [`Mount`]s, each a
//! confined root of its own. Every operation first maps the session's path to
//! *(which root fd, path relative to it)* by the longest mount prefix
//! (component-wise: a folder at `/shared` does not cover `/shared2`), then
//! resolves the rest with openat2 `RESOLVE_IN_ROOT` beneath that fd, so `..`
//! and symlinks inside a folder stay inside that folder, exactly as in the
//! home. The session's paths are lexically normalised before they get here,
//! so `/shared/../x` is already `/x` (the home).
//!
//! - A folder's root cannot be removed or renamed (its relative path is `.`,
//!   which has no name: `InvalidName`).
//! - A rename between two roots is `CrossDevice` (550 with that reason); a
//!   copy (SITE CPTO) opens the source in one and the target in the other,
//!   each confined, so it works.
//! - Listing the directory a folder is mounted in shows the folder as a
//!   directory (with the folder root's own metadata), in place of any real
//!   entry of that name; the mount point need not exist in the home.

use std::path::Path;

use nix::sys::stat;

use super::root::{info_from_stat, Root};
use crate::proto::error::FsError;
use crate::proto::listing::FileInfo;
use crate::proto::path::VPath;
use crate::proto::rules::is_within;

/// One folder: where it appears and the confined tree behind it.
#[derive(Debug)]
pub struct Mount {
    at: VPath,
    root: Root,
}

impl Root {
    /// Mounts host directory `host` at virtual path `at` (not `/`); a later
    /// folder at the same path replaces an earlier one.
    pub fn with_folder(mut self, at: VPath, host: &Path) -> Result<Root, FsError> {
        if at.is_root() {
            return Err(FsError::InvalidName);
        }
        let root = Root::open(host)?;
        self.mounts.retain(|m| m.at != at);
        self.mounts.push(Mount { at, root });
        Ok(self)
    }

    /// The root that serves `p`, and `p` relative to it (`.` for its top).
    pub(super) fn locate<'a>(&'a self, p: &'a VPath) -> (&'a Root, &'a str) {
        let best = self
            .mounts
            .iter()
            .filter(|m| is_within(p, &m.at))
            .max_by_key(|m| m.at.as_str().len());
        match best {
            None => (self, p.relative()),
            Some(m) => {
                let rest = p.as_str()[m.at.as_str().len()..].trim_start_matches('/');
                (&m.root, if rest.is_empty() { "." } else { rest })
            }
        }
    }

    /// Entries for the folders mounted directly in directory `p`; a folder
    /// whose directory cannot be stat'ed (removed on the host) is left out.
    pub(super) fn folder_entries(&self, p: &VPath) -> Vec<FileInfo> {
        let mut out: Vec<FileInfo> = self
            .mounts
            .iter()
            .filter(|m| m.at.parent() == *p)
            .filter_map(|m| {
                let st = stat::fstat(&m.root.fd).ok()?;
                Some(info_from_stat(m.at.file_name()?, &st))
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }
}

#[cfg(test)]
#[path = "mounts_tests.rs"]
mod tests;
