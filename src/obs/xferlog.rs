//! The wu-ftpd transfer log ("xferlog"), one line per transfer, as AWStats
//! (`LogType=F`), webalizer (`-F ftp`) and ftpstats read it. Fields, space
//! separated (proftpd's xferlog(5)):
//!
//! ```text
//! current-time transfer-time remote-host file-size filename transfer-type
//! special-action-flag direction access-mode username service-name
//! authentication-method authenticated-user-id completion-status
//! ```
//!
//! - current-time: `ctime(3)`'s `DDD MMM dd hh:mm:ss YYYY` with the day
//!   padded by a space (`Wed May  1 …`), as wu-ftpd and vsftpd write it;
//!   AWStats' `%time3` takes one or two spaces there. **UTC**, not local
//!   time (see `obs::time`: no time-zone database, no hour that repeats when
//!   daylight saving ends, the same times as the JSON log).
//! - transfer-time: whole seconds, rounded to nearest.
//! - remote-host: the client's IP address (the proxied one behind HAProxy);
//!   no reverse DNS.
//! - file-size: bytes actually moved.
//! - filename: the virtual path the client saw (`/pub/file.iso`), not the
//!   server's filesystem path; each space or control character becomes `_`
//!   (xferlog(5)), so the field never splits or breaks the line.
//! - transfer-type `a` (TYPE A) or `b`; special-action-flag always `_`.
//! - direction `o` (outgoing, a download), `i` (incoming, an upload),
//!   `d` (deleted, DELE).
//! - access-mode `a` for anonymous, `r` for a named (real) user.
//! - username: the login name. wu-ftpd logged an anonymous user's password
//!   (the e-mail "ID string") here; ringftpd never logs a password, so
//!   anonymous users appear under the name they gave (`anonymous`, `ftp`).
//! - service-name `ftp`, or `ftps` on a TLS-protected control connection.
//! - authentication-method `0` (none: no RFC 931 ident lookup) and
//!   authenticated-user-id `*`.
//! - completion-status `c` (complete) or `i` (incomplete: aborted or broken).

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use super::time::CivilTime;
use super::writer::LogRecord;

/// Which way an xferlog line's file went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XferDirection {
    /// Download (RETR).
    Outgoing,
    /// Upload (STOR, APPE, STOU).
    Incoming,
    /// DELE.
    Deleted,
}

/// One transfer, as a worker hands it to the xferlog writer. Strings are
/// owned so the record can cross to the writer thread; it is formatted
/// there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XferRecord {
    /// When the transfer ended.
    pub time: SystemTime,
    pub duration: Duration,
    pub remote: IpAddr,
    pub bytes: u64,
    /// The virtual path, as bytes (a file name need not be UTF-8).
    pub path: Vec<u8>,
    pub ascii: bool,
    pub direction: XferDirection,
    pub anonymous: bool,
    pub user: String,
    /// Control connection under TLS (service `ftps`).
    pub tls: bool,
    pub complete: bool,
}

impl XferRecord {
    /// Appends the xferlog line for this record, `time` given broken down.
    pub fn format(&self, time: &CivilTime, out: &mut Vec<u8>) {
        out.extend_from_slice(time.ctime().as_bytes());
        let secs = (self.duration.as_millis() + 500) / 1000;
        out.extend_from_slice(
            format!(" {secs} {} {} ", self.remote.to_canonical(), self.bytes).as_bytes(),
        );
        push_field(out, &self.path);
        let fields = [
            if self.ascii { "a" } else { "b" },
            "_",
            match self.direction {
                XferDirection::Outgoing => "o",
                XferDirection::Incoming => "i",
                XferDirection::Deleted => "d",
            },
            if self.anonymous { "a" } else { "r" },
        ];
        for f in fields {
            out.push(b' ');
            out.extend_from_slice(f.as_bytes());
        }
        out.push(b' ');
        push_field(out, self.user.as_bytes());
        let service = if self.tls { "ftps" } else { "ftp" };
        let status = if self.complete { "c" } else { "i" };
        out.extend_from_slice(format!(" {service} 0 * {status}\n").as_bytes());
    }
}

impl LogRecord for XferRecord {
    fn write_line(&self, out: &mut Vec<u8>) {
        self.format(&CivilTime::from_system(self.time), out);
    }
}

/// Appends `field` with spaces and control characters (C0, DEL) replaced
/// by `_`; an empty field becomes `_` so the column count holds.
fn push_field(out: &mut Vec<u8>, field: &[u8]) {
    if field.is_empty() {
        out.push(b'_');
        return;
    }
    out.extend(
        field
            .iter()
            .map(|&b| if b <= b' ' || b == 0x7f { b'_' } else { b }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> XferRecord {
        XferRecord {
            time: SystemTime::UNIX_EPOCH + Duration::from_secs(1_714_564_984),
            duration: Duration::from_millis(2_400),
            remote: "192.0.2.10".parse().unwrap(),
            bytes: 1_048_576,
            path: b"/pub/file.iso".to_vec(),
            ascii: false,
            direction: XferDirection::Outgoing,
            anonymous: true,
            user: "anonymous".into(),
            tls: false,
            complete: true,
        }
    }

    fn line(r: &XferRecord) -> String {
        let mut out = Vec::new();
        r.write_line(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_download_field_by_field() {
        let l = line(&record());
        assert_eq!(
            l,
            "Wed May  1 12:03:04 2024 2 192.0.2.10 1048576 /pub/file.iso b _ o a anonymous ftp 0 * c\n"
        );
        // 5 time tokens + 13 fields, split the way AWStats' "\s" separator
        // with its %time3 does (one or more spaces).
        let f: Vec<&str> = l.split_whitespace().collect();
        assert_eq!(f.len(), 18);
        assert_eq!(&f[..5], ["Wed", "May", "1", "12:03:04", "2024"]);
        assert_eq!(f[5], "2"); // transfer-time
        assert_eq!(f[6], "192.0.2.10"); // remote-host
        assert_eq!(f[7], "1048576"); // file-size
        assert_eq!(f[8], "/pub/file.iso"); // filename
        assert_eq!(f[9], "b"); // transfer-type
        assert_eq!(f[10], "_"); // special-action-flag
        assert_eq!(f[11], "o"); // direction
        assert_eq!(f[12], "a"); // access-mode
        assert_eq!(f[13], "anonymous"); // username
        assert_eq!(f[14], "ftp"); // service-name
        assert_eq!(f[15], "0"); // authentication-method
        assert_eq!(f[16], "*"); // authenticated-user-id
        assert_eq!(f[17], "c"); // completion-status
    }

    #[test]
    fn an_incomplete_ascii_upload_by_a_real_user_over_tls() {
        let r = XferRecord {
            time: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            duration: Duration::from_millis(499),
            remote: "2001:db8::7".parse().unwrap(),
            bytes: 10,
            path: b"/home/in.txt".to_vec(),
            ascii: true,
            direction: XferDirection::Incoming,
            anonymous: false,
            user: "alice".into(),
            tls: true,
            complete: false,
        };
        assert_eq!(
            line(&r),
            "Tue Nov 14 22:13:20 2023 0 2001:db8::7 10 /home/in.txt a _ i r alice ftps 0 * i\n"
        );
    }

    #[test]
    fn a_delete_and_a_mapped_address() {
        let mut r = record();
        r.direction = XferDirection::Deleted;
        r.bytes = 0;
        r.remote = "::ffff:10.1.2.3".parse().unwrap();
        let l = line(&r);
        assert!(l.contains(" 10.1.2.3 0 /pub/file.iso b _ d a "), "{l}");
    }

    #[test]
    fn spaces_and_control_characters_in_names_become_underscores() {
        let mut r = record();
        r.path = b"/pub/my file\nname\r\twith\x7fdel\x00.txt".to_vec();
        r.user = "bad user\n".into();
        let l = line(&r);
        assert_eq!(l.matches('\n').count(), 1);
        assert!(l.ends_with("\n"));
        let f: Vec<&str> = l.split(' ').filter(|s| !s.is_empty()).collect();
        assert_eq!(f.len(), 18, "{l}");
        assert_eq!(f[8], "/pub/my_file_name__with_del_.txt");
        assert_eq!(f[13], "bad_user_");
    }

    #[test]
    fn empty_fields_keep_their_column_and_non_utf8_bytes_pass() {
        let mut r = record();
        r.path = Vec::new();
        r.user = String::new();
        let l = line(&r);
        assert_eq!(l.split_whitespace().count(), 18);
        r.path = b"/caf\xe9".to_vec();
        let mut out = Vec::new();
        r.write_line(&mut out);
        assert!(out.windows(5).any(|w| w == b"/caf\xe9"));
    }

    #[test]
    fn transfer_time_rounds_to_whole_seconds() {
        let mut r = record();
        for (ms, s) in [
            (0, "0"),
            (499, "0"),
            (500, "1"),
            (1_499, "1"),
            (3_600_000, "3600"),
        ] {
            r.duration = Duration::from_millis(ms);
            assert_eq!(line(&r).split_whitespace().nth(5), Some(s), "{ms} ms");
        }
    }
}
