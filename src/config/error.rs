//! [`ConfigError`]: one line naming the file, the line and the key.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A config file that failed to load: `config FILE:LINE: key 'x': reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based; 0 when no line applies (the file could not be read).
    pub line: usize,
    /// The key at fault (`sessions_max`, `user.home`), if one is.
    pub key: Option<String>,
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "config {}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        f.write_str(": ")?;
        if let Some(k) = &self.key {
            write!(f, "key '{k}': ")?;
        }
        // One line, whatever the reason quotes.
        f.write_str(&self.reason.replace(['\n', '\r'], " "))
    }
}

impl std::error::Error for ConfigError {}

/// The text being read, to turn byte spans into line numbers.
#[derive(Clone, Copy)]
pub struct Src<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

impl Src<'_> {
    /// The 1-based line of byte offset `at`.
    pub fn line(&self, at: usize) -> usize {
        let end = at.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    /// An error at `span`, about `key` (if any).
    pub fn err(
        &self,
        span: Range<usize>,
        key: Option<&str>,
        reason: impl Into<String>,
    ) -> ConfigError {
        ConfigError {
            file: self.path.to_path_buf(),
            line: self.line(span.start),
            key: key.map(str::to_string),
            reason: reason.into(),
        }
    }
}
