//! Who may log in and what they may do.
//!
//! - Anonymous (`USER anonymous` or `USER ftp`, any password): on by default,
//!   read-only, rooted at the server root; its permission table may add an
//!   upload-only drop-box (`--anon-dropbox`) or come from the config file.
//! - Named users from a users file ([`users`]), each line
//!   `name:hash:home:perms`, or from the config file's `[[user]]` tables
//!   (built by `crate::config`), with argon2id (`$argon2id$…`) or
//!   sha512-crypt (`$6$…`) hashes. Plain-text passwords are refused when the
//!   file loads.
//! - Each login gets a [`PathRules`] table (per-path permissions, pure, in
//!   `proto` so the session can ask it) and its virtual [`Folder`]s.
//!
//! Password checks live here rather than in the session so that the pure
//! protocol layer never hashes and the policy (who is anonymous, what an
//! unknown user costs) is decided in one place.
//!
//! Verifying a hash costs milliseconds of CPU: the server calls
//! [`AuthPolicy::authenticate`] on its helper pool, never on a core's thread.

mod hash;
mod users;

pub(crate) use hash::check_hash;
pub use hash::{hash_password, is_supported_hash, verify_password, HashError};
pub use users::{check_name, UserDb, UserEntry, UsersFileError};

use std::path::PathBuf;
use std::sync::Arc;

use crate::proto::path::VPath;
use crate::proto::quota::UserLimits;
use crate::proto::rules::PathRules;

/// A host directory mounted into a user's tree at a virtual path (the
/// config file's `[[user.folder]]`); the fs layer confines it like the home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    /// Where it appears in the user's tree.
    pub path: VPath,
    /// Absolute host path of the directory.
    pub host: PathBuf,
}

/// Where a user lands and what they may do there: shared by a user's entry
/// in the database and the grant a login returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// Home directory, relative to the server root when it is inside it, or an
    /// absolute path on the host (the fs layer opens it as the session's root).
    pub home: PathBuf,
    /// What the session may do where.
    pub rules: Arc<PathRules>,
    /// Virtual folders mounted into the home.
    pub folders: Vec<Folder>,
    /// Quota and rates as configured (`None` rates: the server's default).
    pub limits: UserLimits,
}

/// What a successful login grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The user name (`anonymous` for anonymous logins).
    pub user: String,
    /// True for an anonymous login.
    pub anonymous: bool,
    /// Where the login lands and what it may do there.
    pub scope: Scope,
}

/// Why a login failed (all answered 530; the reason goes to the log only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No such user, or anonymous is off.
    UnknownUser,
    /// Hash did not match.
    BadPassword,
}

/// The login rules of the server: anonymous access plus the named users.
#[derive(Debug, Clone)]
pub struct AuthPolicy {
    /// Anonymous logins' permissions; `None`: anonymous is refused.
    pub anonymous: Option<Arc<PathRules>>,
    /// Server root (anonymous home).
    pub root: PathBuf,
    /// Named users (users file and config file); `None` when there are none.
    pub users: Option<Arc<UserDb>>,
    /// Quota and rates of anonymous logins (`[anonymous]`).
    pub anon_limits: UserLimits,
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
        if Self::is_anonymous_name(user) {
            return match &self.anonymous {
                None => Err(AuthError::UnknownUser),
                Some(rules) => Ok(Grant {
                    user: "anonymous".to_string(),
                    anonymous: true,
                    scope: Scope {
                        home: self.root.clone(),
                        rules: rules.clone(),
                        folders: Vec::new(),
                        limits: self.anon_limits,
                    },
                }),
            };
        }
        if pass.len() > PASSWORD_LEN_MAX {
            return Err(AuthError::BadPassword);
        }
        let Some(entry) = self.users.as_deref().and_then(|db| db.get(user)) else {
            // Same work as a real user with a default-cost argon2id hash.
            let _ = verify_password(DUMMY_HASH, pass);
            return Err(AuthError::UnknownUser);
        };
        match verify_password(&entry.hash, pass) {
            Ok(true) => Ok(Grant {
                user: entry.name.clone(),
                anonymous: false,
                scope: entry.scope.clone(),
            }),
            // A hash that fails to verify was checked at load: treat as a miss.
            Ok(false) | Err(_) => Err(AuthError::BadPassword),
        }
    }
}

/// Longest password verified, in bytes: sha512-crypt costs grow with the
/// square of the length, so longer ones are refused without hashing.
const PASSWORD_LEN_MAX: usize = 1024;

/// An argon2id hash with the default parameters (of a password nobody
/// knows), verified for unknown users so they cost as much as known ones.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$K50qEiCLg2mJJFrjYT8wFg$gxpFtKVw34OspxCSpTRf7pQso1ggHMuK/t5wx66pRHU";

#[cfg(test)]
mod tests;
