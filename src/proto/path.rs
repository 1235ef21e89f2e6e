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
        let _ = arg;
        todo!()
    }

    /// The path as the client sees it (`/a/b`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path relative to the root for the fs layer: `a/b`, or `.` for the root.
    pub fn relative(&self) -> &str {
        todo!()
    }

    /// The last component, or `None` for the root.
    pub fn file_name(&self) -> Option<&str> {
        todo!()
    }

    /// The parent directory (the root's parent is the root).
    pub fn parent(&self) -> VPath {
        todo!()
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
    let _ = p;
    todo!()
}
