//! Listing formats: LIST (the `ls -l` form every client parses), NLST (names),
//! MLSD/MLST facts (RFC 3659 §7), and the MDTM time form (RFC 3659 §2.3).
//! Dates are computed from unix seconds here (no clock, no time crate).

/// What kind of directory entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    File,
    Dir,
    Symlink,
    Other,
}

/// One entry's metadata as the fs layer reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// Entry name (no slash). May be anything the filesystem allows.
    pub name: String,
    pub kind: FileKind,
    pub size: u64,
    /// Modification time, unix seconds UTC.
    pub mtime_secs: i64,
    /// Permission bits (`st_mode & 0o7777`).
    pub mode: u32,
    pub nlink: u64,
}

/// True when `name` can be written into a listing or reply without injecting a
/// line: no CR, LF or NUL. Entries failing this are left out of listings.
pub fn is_listable_name(name: &str) -> bool {
    let _ = name;
    todo!()
}

/// Appends one LIST line with CRLF:
/// `drwxr-xr-x 1 ftp ftp 4096 Nov 24 12:00 name` — the time column shows
/// `HH:MM` for entries within 180 days of `now_secs`, the year otherwise.
pub fn format_list_line(info: &FileInfo, now_secs: i64, out: &mut Vec<u8>) {
    let _ = (info, now_secs, out);
    todo!()
}

/// Appends one NLST line (`name` CRLF).
pub fn format_nlst_line(name: &str, out: &mut Vec<u8>) {
    let _ = (name, out);
    todo!()
}

/// Appends the MLSx facts and name without a line ending:
/// `type=file;size=12;modify=20261124120000;perm=r; name` (RFC 3659 §7.2).
/// `type` is `dir`/`file`/`OS.unix=symlink`; `perm` letters depend on `can_write`.
/// For MLSD append CRLF yourself; for MLST the caller indents by one space.
pub fn format_mlsx(info: &FileInfo, can_write: bool, out: &mut Vec<u8>) {
    let _ = (info, can_write, out);
    todo!()
}

/// `YYYYMMDDHHMMSS` in UTC (MDTM, MLSx modify).
pub fn format_timeval(unix_secs: i64) -> String {
    let _ = unix_secs;
    todo!()
}

/// Parses `YYYYMMDDHHMMSS` (optionally followed by `.sss`, ignored) as UTC
/// unix seconds; `None` when malformed or out of range.
pub fn parse_timeval(s: &str) -> Option<i64> {
    let _ = s;
    todo!()
}

/// Matches a simple glob (`*`, `?`, `[abc]`) against a name; used for
/// `NLST *.iso`. Runs in time bounded by name × pattern length.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let _ = (pattern, name);
    todo!()
}
