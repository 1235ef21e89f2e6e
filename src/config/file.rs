//! Reading a config file: TOML parsed with spans (so every error has its
//! line), top-level keys turned into flag arguments (see [`super::flags`]),
//! and the user sections into users (see [`super::sections`]).

use std::path::{Path, PathBuf};

use clap::Command;
use toml::de::DeTable;

use super::error::{ConfigError, Src};
use super::flags::{check_values, flag_keys, key_of};
use super::sections::{self, in_file_order, AnonSpec, UserAt};

/// One top-level key and the arguments it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFlag {
    pub key: String,
    /// clap's id of the flag.
    pub id: String,
    pub line: usize,
    /// `--key=value`, once per value.
    pub args: Vec<String>,
}

/// Everything a config file says, checked.
#[derive(Debug, Clone)]
pub struct FileSettings {
    pub path: PathBuf,
    /// In file order.
    pub flags: Vec<FileFlag>,
    pub anonymous: Option<AnonSpec>,
    pub users: Vec<UserAt>,
}

impl FileSettings {
    /// The line of `key`, when the file sets it.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        self.flags.iter().find(|f| f.key == key).map(|f| f.line)
    }
}

/// Reads and checks `path` against the flags of `cmd`.
pub fn load(path: &Path, cmd: &Command) -> Result<FileSettings, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: path.to_path_buf(),
        line: 0,
        key: None,
        reason: format!("cannot read: {e}"),
    })?;
    parse(path, &text, cmd)
}

/// Checks config text (`path` is for the messages).
pub fn parse(path: &Path, text: &str, cmd: &Command) -> Result<FileSettings, ConfigError> {
    let src = Src { path, text };
    let doc = DeTable::parse(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let message = e.message().trim_end();
        // A duplicate key's span is the key: name it.
        let key = text
            .get(span.clone())
            .filter(|k| message.contains("key") && is_bare_key(k));
        src.err(span, key, message.to_string())
    })?;
    let keys = flag_keys(cmd);
    let mut out = FileSettings {
        path: path.to_path_buf(),
        flags: Vec::new(),
        anonymous: None,
        users: Vec::new(),
    };
    for (k, v) in in_file_order(doc.get_ref()) {
        let name = k.get_ref().as_ref();
        match name {
            "anonymous" => out.anonymous = Some(sections::anonymous(src, v)?),
            "user" => out.users = sections::users(src, v)?,
            _ => {
                let at = |reason: String| src.err(k.span(), Some(name), reason);
                let Some(fk) = keys.iter().find(|f| f.key == name) else {
                    let hint = match keys.iter().find(|f| f.long == name) {
                        Some(f) => format!("unknown key (write '{}')", f.key),
                        None => "unknown key".to_string(),
                    };
                    return Err(at(hint));
                };
                let args = fk.to_args(v.get_ref()).map_err(at)?;
                check_values(cmd, &args).map_err(at)?;
                out.flags.push(FileFlag {
                    key: fk.key.clone(),
                    id: fk.id.clone(),
                    line: src.line(k.span().start),
                    args,
                });
            }
        }
    }
    Ok(out)
}

fn is_bare_key(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The key of the flag a start-up check complains about: the first word of
/// the message (`root /x: …`) or its first `--flag`.
pub fn blamed_key(message: &str) -> Vec<String> {
    let first = message.split_whitespace().next().unwrap_or("");
    let flag = message
        .split_whitespace()
        .find_map(|w| w.strip_prefix("--"))
        .map(|w| w.trim_end_matches(|c: char| !c.is_ascii_alphanumeric()));
    [Some(first), flag]
        .into_iter()
        .flatten()
        .map(key_of)
        .collect()
}
