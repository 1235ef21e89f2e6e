//! Virtual paths: what the client sees, always absolute, normalised and inside
//! the user's root. `..` is resolved lexically and stops at `/`, so the fs layer
//! only ever receives a path below the root (and resolves symlinks with
//! RESOLVE_IN_ROOT, which catches the rest).

use std::fmt;

/// Longest virtual path accepted, in bytes.
pub const PATH_LEN_MAX_BYTES: usize = 4096;

/// Why a client path was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    /// NUL, CR or LF in the path.
    InvalidChar,
    /// Longer than [`PATH_LEN_MAX_BYTES`].
    TooLong,
}

/// An absolute normalised path: `/` or `/a/b`, no empty, `.` or `..` components,
/// no trailing slash.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VPath(String);

impl VPath {
    /// The root, `/`.
    pub fn root() -> VPath {
        VPath("/".to_string())
    }

    /// Resolves a client argument against `self` (the working directory):
    /// absolute when it starts with `/`, else relative; `.`, empty components
    /// and repeated slashes vanish; `..` drops one component and never goes
    /// above `/`.
    pub fn resolve(&self, arg: &str) -> Result<VPath, PathError> {
        if arg.bytes().any(|b| matches!(b, b'\0' | b'\r' | b'\n')) {
            return Err(PathError::InvalidChar);
        }
        let mut parts: Vec<&str> = Vec::new();
        if !arg.starts_with('/') {
            parts.extend(self.0.split('/').filter(|c| !c.is_empty()));
        }
        for comp in arg.split('/') {
            match comp {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                c => parts.push(c),
            }
        }
        if parts.is_empty() {
            return Ok(VPath::root());
        }
        let len: usize = parts.iter().map(|c| c.len().saturating_add(1)).sum();
        if len > PATH_LEN_MAX_BYTES {
            return Err(PathError::TooLong);
        }
        let mut out = String::with_capacity(len);
        for c in parts {
            out.push('/');
            out.push_str(c);
        }
        Ok(VPath(out))
    }

    /// The path as the client sees it (`/a/b`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path relative to the root for the fs layer: `a/b`, or `.` for the root.
    pub fn relative(&self) -> &str {
        match self.0.strip_prefix('/') {
            Some("") | None => ".",
            Some(rest) => rest,
        }
    }

    /// The last component, or `None` for the root.
    pub fn file_name(&self) -> Option<&str> {
        if self.is_root() {
            return None;
        }
        self.0.rsplit('/').next().filter(|s| !s.is_empty())
    }

    /// The parent directory (the root's parent is the root).
    pub fn parent(&self) -> VPath {
        match self.0.rfind('/') {
            Some(0) | None => VPath::root(),
            Some(i) => VPath(self.0.get(..i).unwrap_or("/").to_string()),
        }
    }

    /// True for `/`.
    pub fn is_root(&self) -> bool {
        self.0 == "/"
    }
}

impl fmt::Display for VPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Quotes a path for a 257 reply (RFC 959 Appendix II): `"` doubled.
pub fn quote_257(p: &str) -> String {
    let mut out = String::with_capacity(p.len().saturating_add(2));
    out.push('"');
    for ch in p.chars() {
        if ch == '"' {
            out.push('"');
        }
        out.push(ch);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(cwd: &str, arg: &str) -> Result<VPath, PathError> {
        VPath::root().resolve(cwd).and_then(|c| c.resolve(arg))
    }

    #[test]
    fn resolve_absolute_and_relative_normalised() {
        // RFC 959 §4.1.1 CWD: pathname relative to the working directory.
        for (cwd, arg, want) in [
            ("/a", "b", "/a/b"),
            ("/a", "/b", "/b"),
            ("/a/b", "", "/a/b"),
            ("/a/b", ".", "/a/b"),
            ("/a/b", "/", "/"),
            // Normalised: repeated and trailing slashes, `.` and `..`.
            ("/", "//a///b/./../c", "/a/c"),
            ("/x", "a/b/", "/x/a/b"),
            ("/", " lead space", "/ lead space"),
            ("/", "...", "/..."),
        ] {
            assert_eq!(r(cwd, arg).unwrap().as_str(), want, "{cwd} {arg}");
        }
    }

    #[test]
    fn dotdot_clamps_at_root() {
        assert_eq!(r("/", "..").unwrap(), VPath::root());
        assert_eq!(r("/a", "../../../..").unwrap(), VPath::root());
        assert_eq!(r("/a", "../../etc/passwd").unwrap().as_str(), "/etc/passwd");
        assert_eq!(r("/", "/../a/..").unwrap(), VPath::root());
    }

    #[test]
    fn invalid_chars() {
        // RFC 959 §3.1.1.1 / §4.1: CR LF end a command; NUL is never a path byte.
        for bad in ["a\0b", "a\rb", "a\nb", "\n"] {
            assert_eq!(VPath::root().resolve(bad), Err(PathError::InvalidChar));
        }
    }

    #[test]
    fn length_limit_on_result() {
        let ok = format!("/{}", "a".repeat(PATH_LEN_MAX_BYTES - 1));
        assert_eq!(VPath::root().resolve(&ok).unwrap().as_str().len(), 4096);
        let over = format!("/{}", "a".repeat(PATH_LEN_MAX_BYTES));
        assert_eq!(VPath::root().resolve(&over), Err(PathError::TooLong));
        // A long argument whose result is short is fine.
        let collapse = format!("{}/..", "b".repeat(5000));
        assert_eq!(VPath::root().resolve(&collapse).unwrap(), VPath::root());
        // Relative to a deep cwd, the result counts.
        let cwd = VPath::root().resolve(&"c".repeat(4000)).unwrap();
        assert_eq!(cwd.resolve(&"d".repeat(100)), Err(PathError::TooLong));
    }

    #[test]
    fn accessors() {
        let p = r("/", "a/b").unwrap();
        assert_eq!(p.relative(), "a/b");
        assert_eq!(VPath::root().relative(), ".");
        assert_eq!(p.file_name(), Some("b"));
        assert_eq!(VPath::root().file_name(), None);
        assert_eq!(p.parent().as_str(), "/a");
        assert_eq!(p.parent().parent(), VPath::root());
        assert_eq!(VPath::root().parent(), VPath::root());
        assert!(VPath::root().is_root());
        assert!(!p.is_root());
        assert_eq!(p.to_string(), "/a/b");
    }

    #[test]
    fn quote_257_doubles_quotes() {
        // RFC 959 Appendix II: embedded '"' doubled in the 257 reply.
        assert_eq!(quote_257("/a\"b"), "\"/a\"\"b\"");
        assert_eq!(quote_257("/"), "\"/\"");
    }
}
