//! Who may log in and what they may do.
//!
//! - Anonymous (`USER anonymous` or `USER ftp`, any password): on by default,
//!   read-only, rooted at the server root.
//! - Named users from a users file ([`users`]), each line
//!   `name:hash:home:perms`, with argon2id (`$argon2id$…`) or sha512-crypt
//!   (`$6$…`) hashes. Plain-text passwords are refused when the file loads.
//!
//! Verifying a hash costs milliseconds of CPU: the server calls
//! [`AuthPolicy::authenticate`] on its helper pool, never on a core's thread.

mod hash;
mod users;

pub use hash::{hash_password, verify_password, HashError};
pub use users::{UserDb, UserEntry, UsersFileError};

use std::path::PathBuf;
use std::sync::Arc;

use crate::proto::perms::Perms;

/// Whether anonymous login is allowed, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnonMode {
    /// Anonymous login refused (530).
    Off,
    /// List and download only.
    ReadOnly,
}

/// What a successful login grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The user name (`anonymous` for anonymous logins).
    pub user: String,
    pub anonymous: bool,
    /// Home directory, relative to the server root when it is inside it, or an
    /// absolute path on the host (the fs layer opens it as the session's root).
    pub home: PathBuf,
    pub perms: Perms,
}

/// Why a login failed (all answered 530; the reason goes to the log only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No such user, or anonymous is off.
    UnknownUser,
    /// Hash did not match.
    BadPassword,
}

/// The login rules of the server: anonymous mode plus the users file.
#[derive(Debug, Clone)]
pub struct AuthPolicy {
    pub anonymous: AnonMode,
    /// Server root (anonymous home).
    pub root: PathBuf,
    pub users: Option<Arc<UserDb>>,
}

impl AuthPolicy {
    /// True when `user` names the anonymous account (`anonymous`, `ftp`,
    /// case-insensitive).
    pub fn is_anonymous_name(user: &str) -> bool {
        user.eq_ignore_ascii_case("anonymous") || user.eq_ignore_ascii_case("ftp")
    }

    /// Checks a login. Blocking (hash verification): run it off the core.
    /// A named user that does not exist still costs one hash verification, so
    /// timing does not tell which user names exist.
    pub fn authenticate(&self, user: &str, pass: &str) -> Result<Grant, AuthError> {
        let _ = (user, pass);
        todo!()
    }
}
