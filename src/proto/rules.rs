//! Per-path permissions: which [`Perms`] hold where in a user's tree.
//!
//! A [`PathRules`] is a table of virtual path prefixes, each with a set of
//! permissions. The longest prefix that matches a path *component-wise*
//! decides (`/inc` does not cover `/incoming`), so a deeper rule can take
//! rights away again (`/incoming/private = []`). `/` always has a rule
//! (none at all unless given).
//!
//! The table is built once per login (by `auth` from the users file or the
//! config file) and asked by the session before every filesystem request; it
//! is pure, so it is tested without a tree on disk.
//!
//! Paths are the session's lexically normalised [`VPath`]s: `..` was resolved
//! before the question is asked, and what is checked is exactly what the fs
//! layer will open relative to the user's root. Symlinks are *not* looked at
//! (that would need the disk, and race with it): a link is judged by the rule
//! of the path it is reached through. Users cannot make links over FTP, so a
//! link is the operator's grant (docs/users.md).
//!
//! Moves are the one place where a lexical check is not enough: renaming a
//! directory carries everything below it to a new path, under other rules. So
//! a path that a rule (or a virtual folder) names, or any directory above one,
//! cannot be renamed away or renamed over ([`Denied::Fixed`]).

use std::fmt;

use super::path::VPath;
use super::perms::Perms;

/// One prefix and what it grants at and below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub path: VPath,
    pub perms: Perms,
}

/// How an allowed request may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// As asked.
    Full,
    /// Only by creating a new file (O_CREAT|O_EXCL): `upload_only` without
    /// `write`. Returned for a WRITE request only.
    CreateOnly,
}

/// Why a request was refused; the text goes into the 550 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// The rule at `rule` lacks `missing`.
    Missing { missing: Perms, rule: VPath },
    /// `rule` is upload-only, and this is not the creation of a new file
    /// directly in it.
    UploadOnly { rule: VPath },
    /// `path` has its own rule or is a virtual folder (or holds one below
    /// it): it cannot be renamed away or over.
    Fixed { path: VPath },
    /// No login, so no table to ask.
    NotLoggedIn,
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denied::Missing { missing, rule } => {
                write!(f, "no {} permission in {rule}", missing.names().join("+"))
            }
            Denied::UploadOnly { rule } => {
                write!(f, "{rule} is upload-only (new files only)")
            }
            Denied::Fixed { path } => {
                write!(f, "{path} has its own access rules and cannot be moved")
            }
            Denied::NotLoggedIn => f.write_str("not logged in"),
        }
    }
}

/// The permission table of one login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRules {
    /// Sorted by path; `/` is always first.
    rules: Vec<Rule>,
    /// Further paths that may not be renamed (virtual folders).
    fixed: Vec<VPath>,
}

/// True when `p` is `base` or below it, component-wise.
pub fn is_within(p: &VPath, base: &VPath) -> bool {
    let (p, b) = (p.as_str(), base.as_str());
    base.is_root() || p == b || p.strip_prefix(b).is_some_and(|rest| rest.starts_with('/'))
}

impl PathRules {
    /// The same permissions everywhere (the users file's `perms` field).
    pub fn uniform(perms: Perms) -> PathRules {
        PathRules::new([(VPath::root(), perms)])
    }

    /// A table from `(prefix, perms)` pairs; a later pair for the same path
    /// replaces an earlier one; `/` gets no permission unless given.
    pub fn new(rules: impl IntoIterator<Item = (VPath, Perms)>) -> PathRules {
        let mut t = PathRules {
            rules: vec![Rule {
                path: VPath::root(),
                perms: Perms::NONE,
            }],
            fixed: Vec::new(),
        };
        for (path, perms) in rules {
            t = t.with_rule(path, perms);
        }
        t
    }

    /// Read-only everywhere, upload-only in `dir` (`--anon-dropbox DIR`).
    pub fn dropbox(dir: VPath) -> PathRules {
        PathRules::new([(VPath::root(), Perms::READ_ONLY), (dir, Perms::UPLOAD_ONLY)])
    }

    /// Sets the rule at `path` (replacing one already there).
    pub fn with_rule(mut self, path: VPath, perms: Perms) -> PathRules {
        match self
            .rules
            .binary_search_by(|r| r.path.as_str().cmp(path.as_str()))
        {
            Ok(i) => self.rules[i].perms = perms,
            Err(i) => self.rules.insert(i, Rule { path, perms }),
        }
        self
    }

    /// Marks `path` as one that cannot be renamed (a virtual folder).
    pub fn with_fixed(mut self, path: VPath) -> PathRules {
        if !self.fixed.contains(&path) {
            self.fixed.push(path);
        }
        self
    }

    /// Every rule, sorted by path (`/` first).
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule that decides for `p`: the longest component-wise prefix.
    pub fn rule_for(&self, p: &VPath) -> &Rule {
        // Sorted order puts a prefix before the paths it covers, so the last
        // match is the longest.
        self.rules
            .iter()
            .rfind(|r| is_within(p, &r.path))
            .unwrap_or(&self.rules[0])
    }

    /// May the session do something needing `need` at `p`?
    pub fn check(&self, p: &VPath, need: Perms) -> Result<Access, Denied> {
        let rule = self.rule_for(p);
        if rule.perms.contains(need) {
            return Ok(Access::Full);
        }
        if !rule.perms.contains(Perms::UPLOAD_ONLY) {
            return Err(Denied::Missing {
                missing: need.without(rule.perms),
                rule: rule.path.clone(),
            });
        }
        if need == Perms::WRITE && *p != rule.path && p.parent() == rule.path {
            Ok(Access::CreateOnly)
        } else {
            Err(Denied::UploadOnly {
                rule: rule.path.clone(),
            })
        }
    }

    /// Like [`PathRules::check`], where only [`Access::Full`] will do.
    pub fn check_full(&self, p: &VPath, need: Perms) -> Result<(), Denied> {
        match self.check(p, need)? {
            Access::Full => Ok(()),
            Access::CreateOnly => Err(Denied::UploadOnly {
                rule: self.rule_for(p).path.clone(),
            }),
        }
    }

    /// CWD: any right at all at `p` lets the session stand there (an
    /// upload-only directory must be enterable to STOR into it).
    pub fn may_enter(&self, p: &VPath) -> Result<(), Denied> {
        let rule = self.rule_for(p);
        if rule.perms.is_empty() {
            Err(Denied::Missing {
                missing: Perms::LIST,
                rule: rule.path.clone(),
            })
        } else {
            Ok(())
        }
    }

    /// RNFR: `rename` at the source, which must not be fixed.
    pub fn check_rename_from(&self, from: &VPath) -> Result<(), Denied> {
        self.check_full(from, Perms::RENAME)?;
        self.not_fixed(from)
    }

    /// RNTO: the source's check again, and `write` at the destination (rename
    /// replaces an existing name, so upload-only is not enough), which must
    /// not be fixed either.
    pub fn check_rename(&self, from: &VPath, to: &VPath) -> Result<(), Denied> {
        self.check_rename_from(from)?;
        self.check_full(to, Perms::WRITE)?;
        self.not_fixed(to)
    }

    /// Refuses `p` when a rule or a fixed path is at or below it.
    fn not_fixed(&self, p: &VPath) -> Result<(), Denied> {
        let rule_paths = self.rules.iter().skip(1).map(|r| &r.path);
        match rule_paths.chain(&self.fixed).find(|f| is_within(f, p)) {
            Some(f) => Err(Denied::Fixed { path: f.clone() }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
