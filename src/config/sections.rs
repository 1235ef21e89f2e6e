//! The `[anonymous]` and `[[user]]` sections: users, per-path permissions
//! and virtual folders, checked key by key with the line of each mistake.
//!
//! ```toml
//! [anonymous]
//! enabled = true
//! permissions = { "/" = ["list", "read"] }
//!
//! [[user]]
//! name = "bench"
//! password_hash = "$argon2id$..."
//! home = "/srv/ftp"
//! permissions = { "/" = ["list", "read"], "/incoming" = ["all"] }
//!
//! [[user.folder]]
//! path = "/shared"
//! host = "/srv/shared"
//! ```
//!
//! Both sections also take the per-login limits ([`LIMIT_KEYS`]):
//! `quota_bytes`, `quota_files` (at least 1; leave the key out for no
//! quota), `download_rate_bytes_per_sec`, `upload_rate_bytes_per_sec`
//! (0: unlimited; left out: the server's `--*-rate-bytes-per-sec` default).

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::error::{ConfigError, Src};
use crate::auth::{check_hash, check_name, Folder, Scope, UserEntry};
use crate::proto::path::VPath;
use crate::proto::perms::Perms;
use crate::proto::quota::UserLimits;
use crate::proto::rules::PathRules;

/// The per-login limit keys of `[anonymous]` and `[[user]]`.
pub const LIMIT_KEYS: [&str; 4] = [
    "quota_bytes",
    "quota_files",
    "download_rate_bytes_per_sec",
    "upload_rate_bytes_per_sec",
];

/// The `[anonymous]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnonSpec {
    /// `enabled` (default true); `--no-anonymous` still turns it off.
    pub enabled: bool,
    /// `permissions`; `None`: the flags' default (read-only, plus the
    /// drop-box of `--anon-dropbox`).
    pub rules: Option<PathRules>,
    /// Quota and rates of anonymous logins (one quota shared by all of them).
    pub limits: UserLimits,
}

/// A user and the line of its `name` key.
pub type UserAt = (UserEntry, usize);

type Entry<'a, 'i> = (&'a Spanned<Cow<'i, str>>, &'a Spanned<DeValue<'i>>);

/// A table's entries in file order (the map itself is sorted by key).
pub fn in_file_order<'a, 'i>(t: &'a DeTable<'i>) -> Vec<Entry<'a, 'i>> {
    let mut v: Vec<Entry<'a, 'i>> = t.iter().collect();
    v.sort_by_key(|(k, _)| k.span().start);
    v
}

fn table<'a, 'i>(
    src: Src,
    key: &str,
    v: &'a Spanned<DeValue<'i>>,
) -> Result<&'a DeTable<'i>, ConfigError> {
    v.get_ref()
        .as_table()
        .ok_or_else(|| wrong_type(src, key, v, "a table"))
}

fn array_of_tables<'a, 'i>(
    src: Src,
    key: &str,
    v: &'a Spanned<DeValue<'i>>,
) -> Result<&'a toml::de::DeArray<'i>, ConfigError> {
    v.get_ref().as_array().ok_or_else(|| {
        let why = format!("expected [[{key}]] tables (an array of tables)");
        src.err(v.span(), Some(key), why)
    })
}

fn missing(src: Src, v: &Spanned<DeValue<'_>>, key: &str, what: &str) -> ConfigError {
    src.err(v.span(), Some(key), format!("missing key '{what}'"))
}

fn string<'a>(src: Src, key: &str, v: &'a Spanned<DeValue<'_>>) -> Result<&'a str, ConfigError> {
    v.get_ref()
        .as_str()
        .ok_or_else(|| wrong_type(src, key, v, "a string"))
}

fn wrong_type(src: Src, key: &str, v: &Spanned<DeValue<'_>>, want: &str) -> ConfigError {
    let found = v.get_ref().type_str();
    src.err(
        v.span(),
        Some(key),
        format!("expected {want}, found {found}"),
    )
}

fn unknown(src: Src, key: &Spanned<Cow<'_, str>>, section: &str) -> ConfigError {
    let name = format!("{section}.{}", key.get_ref());
    src.err(key.span(), Some(&name), "unknown key")
}

/// `[anonymous]`.
pub fn anonymous(src: Src, v: &Spanned<DeValue<'_>>) -> Result<AnonSpec, ConfigError> {
    let mut spec = AnonSpec {
        enabled: true,
        rules: None,
        limits: UserLimits::default(),
    };
    for (k, v) in in_file_order(table(src, "anonymous", v)?) {
        let key = format!("anonymous.{}", k.get_ref());
        if limit(src, &key, v, &mut spec.limits)? {
            continue;
        }
        match k.get_ref().as_ref() {
            "enabled" => {
                spec.enabled = v
                    .get_ref()
                    .as_bool()
                    .ok_or_else(|| wrong_type(src, "anonymous.enabled", v, "true or false"))?;
            }
            "permissions" => spec.rules = Some(rules(src, "anonymous.permissions", v)?),
            _ => return Err(unknown(src, k, "anonymous")),
        }
    }
    Ok(spec)
}

/// One of [`LIMIT_KEYS`] into `limits`; false for any other key.
fn limit(
    src: Src,
    key: &str,
    v: &Spanned<DeValue<'_>>,
    limits: &mut UserLimits,
) -> Result<bool, ConfigError> {
    let name = key.rsplit('.').next().unwrap_or(key);
    let Some(slot) = (match name {
        "quota_bytes" => Some(&mut limits.quota_bytes),
        "quota_files" => Some(&mut limits.quota_files),
        "download_rate_bytes_per_sec" => Some(&mut limits.download_rate_bytes_per_sec),
        "upload_rate_bytes_per_sec" => Some(&mut limits.upload_rate_bytes_per_sec),
        _ => None,
    }) else {
        return Ok(false);
    };
    let n = match v.get_ref() {
        DeValue::Integer(i) => i128::from_str_radix(i.as_str(), i.radix()).ok(),
        _ => return Err(wrong_type(src, key, v, "an integer")),
    };
    let quota = name.starts_with("quota_");
    let least = if quota { 1 } else { 0 };
    let n = n
        .filter(|n| *n >= least && *n <= i128::from(i64::MAX))
        .ok_or_else(|| {
            let why = if quota {
                "must be at least 1 (leave the key out for no quota)"
            } else {
                "must be 0 (unlimited) or more"
            };
            src.err(v.span(), Some(key), why)
        })?;
    *slot = Some(n as u64);
    Ok(true)
}

/// A virtual path as written in the file: absolute and already normal
/// (`/incoming`, not `incoming` or `/a/../incoming`), so what is written is
/// what is matched.
fn vpath(src: Src, key: &str, v: &Spanned<impl AsRef<str>>) -> Result<VPath, ConfigError> {
    let s = v.get_ref().as_ref();
    let bad = || {
        src.err(
            v.span(),
            Some(key),
            format!("path '{s}' must be absolute and normalised (like /incoming)"),
        )
    };
    let p = VPath::root().resolve(s).map_err(|_| bad())?;
    if !s.starts_with('/') || p.as_str() != s {
        return Err(bad());
    }
    Ok(p)
}

/// `permissions = { "/path" = ["list", "read"], … }`.
fn rules(src: Src, key: &str, v: &Spanned<DeValue<'_>>) -> Result<PathRules, ConfigError> {
    let mut out = Vec::new();
    for (path, names) in in_file_order(table(src, key, v)?) {
        let at = vpath(src, key, path)?;
        let list = names
            .get_ref()
            .as_array()
            .ok_or_else(|| wrong_type(src, key, names, "an array of permission names"))?;
        let mut perms = Perms::NONE;
        for n in list.iter() {
            let word = string(src, key, n)?;
            let p = Perms::parse_name(word)
                .map_err(|e| src.err(n.span(), Some(key), format!("{at}: {e}")))?;
            perms = perms.with(p);
        }
        out.push((at, perms));
    }
    Ok(PathRules::new(out))
}

/// `[[user]]` tables.
pub fn users(src: Src, v: &Spanned<DeValue<'_>>) -> Result<Vec<UserAt>, ConfigError> {
    let list = array_of_tables(src, "user", v)?;
    let mut out: Vec<UserAt> = Vec::new();
    for item in list.iter() {
        let (user, line) = user(src, item)?;
        if let Some((_, first)) = out.iter().find(|(u, _)| u.name == user.name) {
            return Err(ConfigError {
                file: src.path.to_path_buf(),
                line,
                key: Some("user.name".into()),
                reason: format!("duplicate user '{}' (first on line {first})", user.name),
            });
        }
        out.push((user, line));
    }
    Ok(out)
}

fn user(src: Src, v: &Spanned<DeValue<'_>>) -> Result<UserAt, ConfigError> {
    let t = table(src, "user", v)?;
    let (mut name, mut hash, mut home, mut rules_) = (None, None, None, None);
    let mut folders = Vec::new();
    let mut limits = UserLimits::default();
    let mut name_line = src.line(v.span().start);
    for (k, v) in in_file_order(t) {
        let key = format!("user.{}", k.get_ref());
        if limit(src, &key, v, &mut limits)? {
            continue;
        }
        let at = |r: String| src.err(v.span(), Some(&key), r);
        match k.get_ref().as_ref() {
            "name" => {
                let s = string(src, &key, v)?;
                check_name(s).map_err(at)?;
                name_line = src.line(k.span().start);
                name = Some(s.to_string());
            }
            "password_hash" => {
                let s = string(src, &key, v)?;
                // The reason never quotes the value: it may be a password.
                check_hash(s).map_err(|e| at(e.to_string()))?;
                hash = Some(s.to_string());
            }
            "home" => {
                let s = PathBuf::from(string(src, &key, v)?);
                if !s.is_absolute() {
                    return Err(at("home must be an absolute path".into()));
                }
                home = Some(s);
            }
            "permissions" => rules_ = Some(rules(src, &key, v)?),
            "folder" => folders = self::folders(src, v)?,
            _ => return Err(unknown(src, k, "user")),
        }
    }
    let missing = |what: &str| missing(src, v, "user", what);
    let name = name.ok_or_else(|| missing("name"))?;
    let mut rules = rules_.ok_or_else(|| missing("permissions"))?;
    for f in &folders {
        rules = rules.with_fixed(f.path.clone());
    }
    let entry = UserEntry {
        hash: hash.ok_or_else(|| missing("password_hash"))?,
        scope: Scope {
            home: home.ok_or_else(|| missing("home"))?,
            rules: Arc::new(rules),
            folders,
            limits,
        },
        name,
    };
    Ok((entry, name_line))
}

/// `[[user.folder]]` tables: `path` (virtual, not `/`) and `host` (absolute).
fn folders(src: Src, v: &Spanned<DeValue<'_>>) -> Result<Vec<Folder>, ConfigError> {
    let list = array_of_tables(src, "user.folder", v)?;
    let mut out: Vec<Folder> = Vec::new();
    for item in list.iter() {
        let (mut path, mut host) = (None, None);
        for (k, v) in in_file_order(table(src, "user.folder", item)?) {
            let key = format!("user.folder.{}", k.get_ref());
            match k.get_ref().as_ref() {
                "path" => {
                    let s = string(src, &key, v)?;
                    let p = vpath(src, &key, &Spanned::new(v.span(), s))?;
                    if p.is_root() || out.iter().any(|f| f.path == p) {
                        let why = format!("'{p}' is the root or another folder's path");
                        return Err(src.err(v.span(), Some(&key), why));
                    }
                    path = Some(p);
                }
                "host" => {
                    let h = PathBuf::from(string(src, &key, v)?);
                    if !h.is_absolute() {
                        return Err(src.err(v.span(), Some(&key), "must be an absolute path"));
                    }
                    host = Some(h);
                }
                _ => return Err(unknown(src, k, "user.folder")),
            }
        }
        let missing = |what: &str| missing(src, item, "user.folder", what);
        out.push(Folder {
            path: path.ok_or_else(|| missing("path"))?,
            host: host.ok_or_else(|| missing("host"))?,
        });
    }
    Ok(out)
}
