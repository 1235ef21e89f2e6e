//! The users file: one user per line, `name:hash:home:perms`; `#` starts a
//! comment line; blank lines are skipped.
//!
//! - `name`: 1–64 bytes of `[A-Za-z0-9._-]`, not `anonymous` or `ftp`.
//! - `hash`: argon2id or sha512-crypt (see [`super::hash`]).
//! - `home`: absolute host path of the user's root directory. It may contain
//!   `:` (the fields around it are split from both ends).
//! - `perms`: see [`crate::proto::perms::Perms::parse`]; must not be empty
//!   (write `none` for a user that may only log in).
//!
//! The whole file is checked when it loads, so a mistake stops the server at
//! start-up with the line number instead of surfacing as a failed login.
//! Error reasons never quote the hash field: it may be a plain-text password.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::hash::check_hash;
use super::{AuthPolicy, Scope};
use crate::proto::perms::Perms;
use crate::proto::quota::UserLimits;
use crate::proto::rules::PathRules;

/// Longest user name, in bytes.
const NAME_LEN_MAX: usize = 64;

/// One user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEntry {
    /// Login name.
    pub name: String,
    /// argon2id or sha512-crypt hash string.
    pub hash: String,
    /// Home, rules, folders and limits.
    pub scope: Scope,
}

/// A users file that failed to load: which line and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsersFileError {
    /// 1-based line number, 0 when the file could not be read.
    pub line: usize,
    /// What is wrong with it.
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

impl std::error::Error for UsersFileError {}

/// All named users.
#[derive(Debug, Clone, Default)]
pub struct UserDb {
    users: HashMap<String, UserEntry>,
}

/// Checks a user name (also for the config file's `[[user]] name`).
pub fn check_name(name: &str) -> Result<(), String> {
    if !valid_name(name) {
        return Err(format!(
            "bad user name '{}' (1-{NAME_LEN_MAX} of A-Z a-z 0-9 . _ -)",
            name.escape_default()
        ));
    }
    if AuthPolicy::is_anonymous_name(name) {
        return Err(format!("user name '{name}' is reserved for anonymous"));
    }
    Ok(())
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= NAME_LEN_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Parses one non-comment line into an entry; the error is the reason only.
fn parse_line(line: &str) -> Result<UserEntry, String> {
    const SHAPE: &str = "expected name:hash:home:perms";
    let (name, rest) = line.split_once(':').ok_or(SHAPE)?;
    let (hash, rest) = rest.split_once(':').ok_or(SHAPE)?;
    let (home, perms) = rest.rsplit_once(':').ok_or(SHAPE)?;
    check_name(name)?;
    check_hash(hash).map_err(|e| format!("user '{name}': {e}"))?;
    let home = PathBuf::from(home);
    if !home.is_absolute() {
        return Err(format!("user '{name}': home must be an absolute path"));
    }
    if perms.trim().is_empty() {
        return Err(format!("user '{name}': empty permissions (write 'none')"));
    }
    let perms = Perms::parse(perms).map_err(|e| format!("user '{name}': {e}"))?;
    Ok(UserEntry {
        name: name.to_string(),
        hash: hash.to_string(),
        scope: Scope {
            home,
            rules: Arc::new(PathRules::uniform(perms)),
            folders: Vec::new(),
            limits: UserLimits::default(),
        },
    })
}

impl UserDb {
    /// Reads and parses a users file.
    pub fn load(path: &Path) -> Result<UserDb, UsersFileError> {
        let text = std::fs::read_to_string(path).map_err(|e| UsersFileError {
            line: 0,
            reason: format!("cannot read users file {}: {e}", path.display()),
        })?;
        Self::parse(&text)
    }

    /// Parses users-file text. Duplicate names, bad hashes (including plain
    /// text), relative homes and unknown permissions are errors naming the line.
    pub fn parse(text: &str) -> Result<UserDb, UsersFileError> {
        let mut users = HashMap::new();
        let mut first_line = HashMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fail = |reason| UsersFileError {
                line: line_no,
                reason,
            };
            let entry = parse_line(line).map_err(fail)?;
            if let Some(prev) = first_line.insert(entry.name.clone(), line_no) {
                return Err(fail(format!(
                    "duplicate user '{}' (first on line {prev})",
                    entry.name
                )));
            }
            users.insert(entry.name.clone(), entry);
        }
        Ok(UserDb { users })
    }

    /// Adds a user; the error names a duplicate.
    pub fn insert(&mut self, entry: UserEntry) -> Result<(), String> {
        if self.users.contains_key(&entry.name) {
            return Err(format!("duplicate user '{}'", entry.name));
        }
        self.users.insert(entry.name.clone(), entry);
        Ok(())
    }

    /// Every user, sorted by name.
    pub fn entries(&self) -> Vec<&UserEntry> {
        let mut v: Vec<&UserEntry> = self.users.values().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
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

#[cfg(test)]
mod tests {
    use super::*;

    const ARGON: &str = "$argon2id$v=19$m=19456,t=2,p=1$K50qEiCLg2mJJFrjYT8wFg$gxpFtKVw34OspxCSpTRf7pQso1ggHMuK/t5wx66pRHU";
    const SHA: &str = "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1";

    fn err_of(text: &str) -> UsersFileError {
        UserDb::parse(text).unwrap_err()
    }

    #[test]
    fn parses_good_file() {
        let text = format!(
            "# users\n\nalice:{ARGON}:/srv/ftp/alice:all\r\n  bob.b-2:{SHA}:/srv/a:b/bob:list,read\n"
        );
        let db = UserDb::parse(&text).unwrap();
        assert_eq!(db.len(), 2);
        let alice = db.get("alice").unwrap();
        assert_eq!(alice.hash, ARGON);
        assert_eq!(*alice.scope.rules, PathRules::uniform(Perms::ALL));
        assert_eq!(alice.scope.home, PathBuf::from("/srv/ftp/alice"));
        let bob = db.get("bob.b-2").unwrap();
        assert_eq!(bob.scope.home, PathBuf::from("/srv/a:b/bob"));
        assert_eq!(*bob.scope.rules, PathRules::uniform(Perms::READ_ONLY));
        assert!(db.get("Alice").is_none());
        assert!(UserDb::parse("# nothing\n").unwrap().is_empty());
    }

    #[test]
    fn errors_name_the_line() {
        let dup = err_of(&format!("a:{SHA}:/h:all\n\na:{ARGON}:/h:ro\n"));
        assert_eq!(dup.line, 3);
        assert!(
            dup.reason.contains("duplicate") && dup.reason.contains("line 1"),
            "{dup}"
        );

        let plain = err_of("#\nalice:hunter2:/h:all\n");
        assert_eq!(plain.line, 2);
        assert!(!plain.reason.contains("hunter2"), "{plain}");

        let relative = err_of(&format!("a:{SHA}:srv/a:all"));
        assert_eq!(relative.line, 1);
        assert!(relative.reason.contains("absolute"), "{relative}");

        let perms = err_of(&format!("a:{SHA}:/h:read,fly"));
        assert!(perms.reason.contains("fly"), "{perms}");
        assert_eq!(err_of(&format!("a:{SHA}:/h:")).line, 1);

        assert_eq!(err_of(&format!("a:{SHA}:/h")).line, 1);
        assert_eq!(err_of("a:b").line, 1);
        assert_eq!(err_of("justaname").line, 1);

        assert!(err_of(&format!("FTP:{SHA}:/h:all"))
            .reason
            .contains("reserved"));
        assert!(err_of(&format!("a b:{SHA}:/h:all"))
            .reason
            .contains("bad user name"));
        assert!(err_of(&format!(":{SHA}:/h:all"))
            .reason
            .contains("bad user name"));
        let long = "x".repeat(65);
        assert!(err_of(&format!("{long}:{SHA}:/h:all"))
            .reason
            .contains("bad user name"));
        assert_eq!(
            err_of("a:b").to_string(),
            "line 1: expected name:hash:home:perms"
        );
    }

    #[test]
    fn load_reports_missing_file() {
        let e = UserDb::load(Path::new("/nonexistent/ringftpd-users")).unwrap_err();
        assert_eq!(e.line, 0);
        assert!(e.to_string().contains("/nonexistent/ringftpd-users"));
    }
}
