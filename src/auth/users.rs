//! The users file: one user per line, `name:hash:home:perms`; `#` starts a
//! comment line; blank lines are skipped.
//!
//! - `name`: 1–64 bytes of `[A-Za-z0-9._-]`, not `anonymous` or `ftp`.
//! - `hash`: argon2id or sha512-crypt (see [`super::hash`]).
//! - `home`: absolute host path of the user's root directory.
//! - `perms`: see [`crate::proto::perms::Perms::parse`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::proto::perms::Perms;

/// One user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEntry {
    pub name: String,
    pub hash: String,
    pub home: PathBuf,
    pub perms: Perms,
}

/// A users file that failed to load: which line and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsersFileError {
    /// 1-based line number, 0 when the file could not be read.
    pub line: usize,
    pub reason: String,
}

impl std::fmt::Display for UsersFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.reason)
        } else {
            write!(f, "line {}: {}", self.line, self.reason)
        }
    }
}

/// All named users.
#[derive(Debug, Clone, Default)]
pub struct UserDb {
    users: HashMap<String, UserEntry>,
}

impl UserDb {
    /// Reads and parses a users file.
    pub fn load(path: &Path) -> Result<UserDb, UsersFileError> {
        let _ = path;
        todo!()
    }

    /// Parses users-file text. Duplicate names, bad hashes (including plain
    /// text), relative homes and unknown permissions are errors naming the line.
    pub fn parse(text: &str) -> Result<UserDb, UsersFileError> {
        let _ = text;
        todo!()
    }

    /// Looks a user up by exact name.
    pub fn get(&self, name: &str) -> Option<&UserEntry> {
        self.users.get(name)
    }

    /// Number of users.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// True when no users are defined.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}
