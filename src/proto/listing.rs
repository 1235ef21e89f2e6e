//! Listing formats: LIST (the `ls -l` form every client parses), NLST (names),
//! MLSD/MLST facts (RFC 3659 §7), and the MDTM time form (RFC 3659 §2.3).
//! Dates are computed from unix seconds here (no clock, no time crate).

use std::fmt::Write as _;

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

const SECS_PER_DAY: i64 = 86_400;
/// 0000-01-01T00:00:00Z: formatting clamps earlier times to this.
const MIN_FORMAT_SECS: i64 = -62_167_219_200;
/// 9999-12-31T23:59:59Z: formatting clamps later times to this.
const MAX_FORMAT_SECS: i64 = 253_402_300_799;
/// The LIST time column shows HH:MM within this distance of now.
const RECENT_SECS: i64 = 180 * SECS_PER_DAY;
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A UTC calendar time (proleptic Gregorian), year clamped to 0..=9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    min: i64,
    sec: i64,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (era-based, 400-year cycles).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`]: (year, month, day).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Unix seconds to a calendar time; out-of-range values are clamped to
/// 0000-01-01 00:00:00 and 9999-12-31 23:59:59 so the year has four digits.
fn civil(unix_secs: i64) -> Civil {
    let secs = unix_secs.clamp(MIN_FORMAT_SECS, MAX_FORMAT_SECS);
    let days = secs.div_euclid(SECS_PER_DAY);
    let tod = secs.rem_euclid(SECS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    Civil {
        year,
        month,
        day,
        hour: tod / 3600,
        min: tod % 3600 / 60,
        sec: tod % 60,
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Appends `s` without CR, LF and NUL, so a name can never end a line early.
fn push_name(out: &mut Vec<u8>, s: &str) {
    out.extend(s.bytes().filter(|&b| !matches!(b, b'\r' | b'\n' | b'\0')));
}

/// True when `name` can be written into a listing or reply without injecting a
/// line: no CR, LF or NUL. Entries failing this are left out of listings.
pub fn is_listable_name(name: &str) -> bool {
    !name.bytes().any(|b| matches!(b, b'\r' | b'\n' | b'\0'))
}

/// The `ls -l` mode column: type letter and nine permission letters, with
/// setuid/setgid (`s`/`S`) and sticky (`t`/`T`) shown in the execute slots.
fn mode_string(kind: FileKind, mode: u32) -> String {
    let type_char = match kind {
        FileKind::Dir => 'd',
        FileKind::File => '-',
        FileKind::Symlink => 'l',
        FileKind::Other => '?',
    };
    let mut s = String::with_capacity(10);
    s.push(type_char);
    // (read bit, write bit, exec bit, special bit, special letter)
    let triads = [
        (0o400, 0o200, 0o100, 0o4000, 's'),
        (0o040, 0o020, 0o010, 0o2000, 's'),
        (0o004, 0o002, 0o001, 0o1000, 't'),
    ];
    for (r, w, x, special, letter) in triads {
        s.push(if mode & r != 0 { 'r' } else { '-' });
        s.push(if mode & w != 0 { 'w' } else { '-' });
        let exec = mode & x != 0;
        s.push(match (mode & special != 0, exec) {
            (true, true) => letter,
            (true, false) => letter.to_ascii_uppercase(),
            (false, true) => 'x',
            (false, false) => '-',
        });
    }
    s
}

/// Appends one LIST line with CRLF:
/// `drwxr-xr-x 1 ftp ftp 4096 Nov 24 12:00 name` — the time column shows
/// `HH:MM` for entries within 180 days of `now_secs`, the year otherwise.
///
/// Exact form: `{mode} {nlink:>3} ftp ftp {size:>12} {Mon} {day:>2} {HH:MM| YYYY} {name}`.
/// CR, LF and NUL are dropped from the name (callers should filter with
/// [`is_listable_name`] first).
pub fn format_list_line(info: &FileInfo, now_secs: i64, out: &mut Vec<u8>) {
    let t = civil(info.mtime_secs);
    let month = usize::try_from(t.month - 1)
        .ok()
        .and_then(|i| MONTHS.get(i))
        .copied()
        .unwrap_or("Jan");
    let age = i128::from(now_secs) - i128::from(info.mtime_secs);
    let mut line = format!(
        "{} {:>3} ftp ftp {:>12} {} {:>2} ",
        mode_string(info.kind, info.mode),
        info.nlink,
        info.size,
        month,
        t.day
    );
    // `ls -l` convention: recent entries show the time, older ones the year.
    if age.abs() < i128::from(RECENT_SECS) {
        let _ = write!(line, "{:02}:{:02} ", t.hour, t.min);
    } else {
        let _ = write!(line, " {:04} ", t.year);
    }
    out.extend_from_slice(line.as_bytes());
    push_name(out, &info.name);
    out.extend_from_slice(b"\r\n");
}

/// Appends one NLST line (`name` CRLF).
///
/// CR, LF and NUL are dropped from the name (RFC 959 §4.1.3 NLST: one name per line).
pub fn format_nlst_line(name: &str, out: &mut Vec<u8>) {
    push_name(out, name);
    out.extend_from_slice(b"\r\n");
}

/// Appends the MLSx facts and name without a line ending:
/// `type=file;size=12;modify=20261124120000;perm=r; name` (RFC 3659 §7.2).
/// `type` is `dir`/`file`/`OS.unix=symlink`; `perm` letters depend on `can_write`.
/// For MLSD append CRLF yourself; for MLST the caller indents by one space.
///
/// Other kinds get `type=OS.unix=other`. `size` is omitted for directories.
/// `perm` (RFC 3659 §7.5.5): files `r` (+`adfw` when writable), directories
/// `el` (+`cmpf` when writable); symlinks and others as files.
pub fn format_mlsx(info: &FileInfo, can_write: bool, out: &mut Vec<u8>) {
    // RFC 3659 §7.5.1 (type), §7.5.7 (size), §7.5.3 (modify), §7.5.5 (perm).
    let (type_fact, perm) = match (info.kind, can_write) {
        (FileKind::Dir, false) => ("dir", "el"),
        (FileKind::Dir, true) => ("dir", "elcmpf"),
        (FileKind::File, false) => ("file", "r"),
        (FileKind::File, true) => ("file", "radfw"),
        (FileKind::Symlink, false) => ("OS.unix=symlink", "r"),
        (FileKind::Symlink, true) => ("OS.unix=symlink", "radfw"),
        (FileKind::Other, false) => ("OS.unix=other", "r"),
        (FileKind::Other, true) => ("OS.unix=other", "radfw"),
    };
    let mut facts = format!("type={type_fact};");
    if info.kind != FileKind::Dir {
        let _ = write!(facts, "size={};", info.size);
    }
    let _ = write!(
        facts,
        "modify={};perm={perm}; ",
        format_timeval(info.mtime_secs)
    );
    out.extend_from_slice(facts.as_bytes());
    push_name(out, &info.name);
}

/// `YYYYMMDDHHMMSS` in UTC (MDTM, MLSx modify).
///
/// Times before year 0 or after 9999 are clamped (RFC 3659 §2.3 time-val has
/// a four-digit year).
pub fn format_timeval(unix_secs: i64) -> String {
    let t = civil(unix_secs);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year, t.month, t.day, t.hour, t.min, t.sec
    )
}

/// The two- or four-digit decimal at `s[range]`; all bytes must be ASCII digits.
fn digits(s: &[u8], start: usize, len: usize) -> Option<i64> {
    let field = s.get(start..start.checked_add(len)?)?;
    field.iter().try_fold(0i64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
    })
}

/// Parses `YYYYMMDDHHMMSS` (optionally followed by `.sss`, ignored) as UTC
/// unix seconds; `None` when malformed or out of range.
///
/// RFC 3659 §2.3: `time-val = 14DIGIT [ "." 1*DIGIT ]`. A seconds value of 60
/// (leap second) is accepted and read as 59.
pub fn parse_timeval(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let (main, frac) = match s.split_once('.') {
        Some((m, f)) => (m.as_bytes(), Some(f.as_bytes())),
        None => (b, None),
    };
    if main.len() != 14 {
        return None;
    }
    if let Some(f) = frac {
        if f.is_empty() || !f.iter().all(u8::is_ascii_digit) {
            return None;
        }
    }
    let year = digits(main, 0, 4)?;
    let month = digits(main, 4, 2)?;
    let day = digits(main, 6, 2)?;
    let hour = digits(main, 8, 2)?;
    let min = digits(main, 10, 2)?;
    let sec = digits(main, 12, 2)?;
    let valid = (1..=12).contains(&month)
        && day >= 1
        && day <= days_in_month(year, month)
        && hour <= 23
        && min <= 59
        && sec <= 60;
    if !valid {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * SECS_PER_DAY + hour * 3600 + min * 60 + sec.min(59))
}

/// One bracket expression starting at `pat[start] == '['`: whether it matches
/// `c` and the index after its closing `]`. `None` when unterminated (the `[`
/// is then a literal). `[!x]`/`[^x]` negate; `]` first is a literal member.
fn match_class(pat: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start.checked_add(1)?;
    let negate = matches!(pat.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let lo = *pat.get(i)?;
        if lo == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        match (pat.get(i + 1), pat.get(i + 2)) {
            (Some('-'), Some(&hi)) if hi != ']' => {
                matched |= lo <= c && c <= hi;
                i += 3;
            }
            _ => {
                matched |= lo == c;
                i += 1;
            }
        }
    }
}

/// Whether the single token at `pat[pi]` (not `*`) matches `c`, and the index after it.
fn match_token(pat: &[char], pi: usize, c: char) -> Option<(bool, usize)> {
    match pat.get(pi)? {
        '?' => Some((true, pi + 1)),
        '[' => Some(match_class(pat, pi, c).unwrap_or((c == '[', pi + 1))),
        &lit => Some((lit == c, pi + 1)),
    }
}

/// Matches a simple glob (`*`, `?`, `[abc]`) against a name; used for
/// `NLST *.iso`. Runs in time bounded by name × pattern length.
///
/// Also supports ranges `[a-z]` and negation `[!x]` / `[^x]`.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let pat: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0usize, 0usize);
    // Only the most recent `*` needs remembering: (pattern index after it,
    // name index it currently extends to). Earlier stars can never help more.
    let mut star: Option<(usize, usize)> = None;
    while let Some(&c) = name.get(ni) {
        if pat.get(pi) == Some(&'*') {
            pi += 1;
            star = Some((pi, ni));
            continue;
        }
        if let Some((true, next)) = match_token(&pat, pi, c) {
            pi = next;
            ni += 1;
            continue;
        }
        match star {
            Some((sp, sn)) => {
                pi = sp;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    pat.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&p| p == '*'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(kind: FileKind, mtime: i64) -> FileInfo {
        FileInfo {
            name: "name".to_string(),
            kind,
            size: 4096,
            mtime_secs: mtime,
            mode: 0o755,
            nlink: 1,
        }
    }

    fn list(i: &FileInfo, now: i64) -> String {
        let mut out = Vec::new();
        format_list_line(i, now, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn timeval_known_points() {
        // RFC 3659 §2.3: time-val = YYYYMMDDHHMMSS, UTC.
        assert_eq!(format_timeval(0), "19700101000000");
        assert_eq!(format_timeval(-1), "19691231235959");
        assert_eq!(format_timeval(951_782_400), "20000229000000");
        assert_eq!(format_timeval(1_709_164_800), "20240229000000");
        assert_eq!(format_timeval(1_764_000_000), "20251124160000");
        assert_eq!(format_timeval(4_107_542_400), "21000301000000");
    }

    #[test]
    fn timeval_clamps_extremes() {
        // RFC 3659 §2.3: four-digit years only; no panic on any i64.
        assert_eq!(format_timeval(i64::MIN), "00000101000000");
        assert_eq!(format_timeval(i64::MAX), "99991231235959");
        assert_eq!(format_timeval(MAX_FORMAT_SECS), "99991231235959");
        assert_eq!(format_timeval(MIN_FORMAT_SECS), "00000101000000");
    }

    #[test]
    fn timeval_round_trips() {
        // RFC 3659 §3 (MDTM) and RFC 3659 §7.5.3 (modify) share the form.
        let samples = [
            0,
            -1,
            86_399,
            68_169_600,    // 1972-02-29 (leap)
            951_868_799,   // 2000-02-29 23:59:59
            1_709_251_199, // 2024-02-29 23:59:59
            4_102_444_800, // 2100-01-01
            MIN_FORMAT_SECS,
            MAX_FORMAT_SECS,
        ];
        for s in samples {
            assert_eq!(parse_timeval(&format_timeval(s)), Some(s), "{s}");
        }
        let mut t = -10_000_000_000i64;
        while t < 10_000_000_000 {
            assert_eq!(parse_timeval(&format_timeval(t)), Some(t));
            t += 7_777_777;
        }
    }

    #[test]
    fn parse_timeval_rules() {
        // RFC 3659 §2.3: 14DIGIT [ "." 1*DIGIT ].
        assert_eq!(parse_timeval("19700101000000"), Some(0));
        assert_eq!(parse_timeval("19700101000000.123"), Some(0));
        assert_eq!(parse_timeval("20000229000000"), Some(951_782_400));
        assert_eq!(parse_timeval("19700101000060"), Some(59));
        for bad in [
            "",
            "1970010100000",
            "197001010000000",
            "19700101000000.",
            "19700101000000.1a",
            "19701301000000",
            "19700001000000",
            "19700100000000",
            "19700132000000",
            "21000229000000",
            "19990229000000",
            "19700431000000",
            "19700101240000",
            "19700101006000",
            "19700101000061",
            "1970010100000a",
            "+9700101000000",
            "1970-1-1000000",
            "١٩٧٠0101000000",
        ] {
            assert_eq!(parse_timeval(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn list_line_recent_and_old() {
        // `ls -l` form: HH:MM within 180 days, year otherwise.
        let now = 1_764_000_000; // 2025-11-24 16:00:00
        let recent = info(FileKind::Dir, now - 3600);
        assert_eq!(
            list(&recent, now),
            "drwxr-xr-x   1 ftp ftp         4096 Nov 24 15:00 name\r\n"
        );
        let old = info(FileKind::File, 0);
        assert_eq!(
            list(&old, now),
            "-rwxr-xr-x   1 ftp ftp         4096 Jan  1  1970 name\r\n"
        );
        let future = info(FileKind::File, now + 400 * SECS_PER_DAY);
        assert!(list(&future, now).contains(" Dec 29  2026 name"));
        let edge = info(FileKind::File, now - RECENT_SECS);
        assert!(list(&edge, now).contains("  2025 name"));
        let edge_in = info(FileKind::File, now - RECENT_SECS + 1);
        assert!(list(&edge_in, now).contains(" 16:00 name"));
        // Extreme values must not panic.
        let _ = list(&info(FileKind::Other, i64::MIN), i64::MAX);
        let _ = list(&info(FileKind::Other, i64::MAX), i64::MIN);
    }

    #[test]
    fn list_line_modes() {
        let mut i = info(FileKind::Symlink, 0);
        i.mode = 0o7777;
        assert!(list(&i, 0).starts_with("lrwsrwsrwt "));
        i.mode = 0o7000;
        assert!(list(&i, 0).starts_with("l--S--S--T "));
        i.kind = FileKind::Other;
        i.mode = 0o640;
        assert!(list(&i, 0).starts_with("?rw-r----- "));
        i.name = "bad\r\n226 x".into();
        assert!(list(&i, 0).ends_with(" bad226 x\r\n"));
    }

    #[test]
    fn nlst_and_listable() {
        // RFC 959 §4.1.3 NLST: one name per CRLF line.
        let mut out = Vec::new();
        format_nlst_line("a b", &mut out);
        format_nlst_line("x\ny", &mut out);
        assert_eq!(out, b"a b\r\nxy\r\n");
        assert!(is_listable_name("normal name.txt"));
        assert!(is_listable_name("ünïcode"));
        for bad in ["a\rb", "a\nb", "a\0b"] {
            assert!(!is_listable_name(bad));
        }
    }

    #[test]
    fn mlsx_facts() {
        // RFC 3659 §7.2 entry form, §7.5.1 type, §7.5.5 perm.
        let mlsx = |i: &FileInfo, w: bool| {
            let mut out = Vec::new();
            format_mlsx(i, w, &mut out);
            String::from_utf8(out).unwrap()
        };
        let mut f = info(FileKind::File, 1_764_000_000);
        f.size = 12;
        assert_eq!(
            mlsx(&f, false),
            "type=file;size=12;modify=20251124160000;perm=r; name"
        );
        assert!(mlsx(&f, true).contains(";perm=radfw; "));
        let d = info(FileKind::Dir, 0);
        assert_eq!(
            mlsx(&d, false),
            "type=dir;modify=19700101000000;perm=el; name"
        );
        assert!(mlsx(&d, true).contains(";perm=elcmpf; "));
        assert!(mlsx(&info(FileKind::Symlink, 0), false).starts_with("type=OS.unix=symlink;"));
        assert!(mlsx(&info(FileKind::Other, 0), false).starts_with("type=OS.unix=other;"));
    }

    #[test]
    fn glob_basic_and_classes() {
        // Shell-style globbing as used by NLST arguments (RFC 959 §4.1.3 leaves it to the server).
        for (pattern, name, want) in [
            ("*.iso", "debian.iso", true),
            ("*.iso", "debian.iso.sig", false),
            ("?.txt", "a.txt", true),
            ("?.txt", "ab.txt", false),
            ("*", "", true),
            ("", "", true),
            ("", "a", false),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("**", "abc", true),
            ("é?", "éü", true),
            // Classes: sets, ranges, negation with `!` or `^`; an unclosed
            // `[` is a literal.
            ("[abc].txt", "b.txt", true),
            ("[abc].txt", "d.txt", false),
            ("file[0-9]", "file7", true),
            ("file[0-9]", "filex", false),
            ("[!x]y", "ay", true),
            ("[!x]y", "xy", false),
            ("[^x]y", "ay", true),
            ("[]]", "]", true),
            ("[a-]", "-", true),
            ("[", "[", true),
            ("a[b", "a[b", true),
            ("[!]", "x", false),
            ("[!]", "[!]", true),
        ] {
            assert_eq!(glob_match(pattern, name), want, "{pattern} {name}");
        }
    }

    #[test]
    fn glob_pathological_is_fast() {
        // No exponential backtracking: a*a*a*...b against a long run of 'a'.
        let name = "a".repeat(10_000);
        let pattern = format!("{}b", "a*".repeat(50));
        let start = std::time::Instant::now();
        assert!(!glob_match(&pattern, &name));
        assert!(glob_match(&format!("{}a", "a*".repeat(50)), &name));
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }
}
