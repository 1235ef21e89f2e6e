//! Reply encoding (RFC 959 §4.2).
//!
//! A single-line reply is `CODE SP text CRLF`. A multi-line reply starts with
//! `CODE-`, ends with `CODE SP`, and every middle line that would begin with
//! three digits is indented by one space so it cannot be taken for the end.
//! Text can never inject a line: CR and NUL are dropped, and LF only ever
//! separates the lines of this one reply.
//!
//! Empty text gives `CODE SP CRLF` (the space is always written, so the line
//! is always a valid last line). A trailing `\n` in `text` gives an empty last
//! line (`CODE SP CRLF`).
//!
//! Every code the server sends is a named constant here (`OK`,
//! `FILE_UNAVAILABLE`, …), documented with the RFC that defines it.

// Reply codes: one name per code the server sends, and the few more the
// bench client reads. RFC 959 §4.2.1 lists the base set with its texts;
// the others name the RFC that adds them. Code passes these names, never
// a bare number; tests keep the numbers, since they check the wire.

/// 120: service ready in a while (RFC 959 §4.2.1); the bench waits for the 220.
pub const SERVICE_READY_SOON: u16 = 120;
/// 150: file status okay; about to open the data connection (RFC 959 §4.2.1).
pub const OPENING_DATA: u16 = 150;
/// 200: command okay (RFC 959 §4.2.1).
pub const OK: u16 = 200;
/// 202: command not implemented, superfluous at this site (RFC 959 §4.2.1: ACCT, ALLO).
pub const SUPERFLUOUS: u16 = 202;
/// 211: system status, or FEAT's list of features (RFC 959 §4.2.1, RFC 2389 §3.2).
pub const SYSTEM_STATUS: u16 = 211;
/// 213: file status (RFC 959 §4.2.1; SIZE, MDTM: RFC 3659 §4.2, §5.2; HASH).
pub const FILE_STATUS: u16 = 213;
/// 214: help message (RFC 959 §4.2.1).
pub const HELP: u16 = 214;
/// 215: NAME system type (RFC 959 §4.2.1).
pub const SYSTEM_TYPE: u16 = 215;
/// 220: service ready for new user (RFC 959 §4.2.1).
pub const SERVICE_READY: u16 = 220;
/// 221: service closing control connection (RFC 959 §4.2.1).
pub const CLOSING_CONTROL: u16 = 221;
/// 225: data connection open; no transfer in progress (RFC 959 §4.2.1: ABOR with nothing to abort).
pub const NO_TRANSFER: u16 = 225;
/// 226: closing data connection; file action successful (RFC 959 §4.2.1).
pub const CLOSING_DATA: u16 = 226;
/// 227: entering passive mode (h1,h2,h3,h4,p1,p2) (RFC 959 §4.2.1).
pub const ENTERING_PASSIVE: u16 = 227;
/// 229: entering extended passive mode (|||port|) (RFC 2428 §3).
pub const ENTERING_EXTENDED_PASSIVE: u16 = 229;
/// 230: user logged in, proceed (RFC 959 §4.2.1).
pub const LOGGED_IN: u16 = 230;
/// 234: security data exchange complete: AUTH TLS accepted (RFC 2228 §4, RFC 4217 §4).
pub const SECURITY_EXCHANGE_COMPLETE: u16 = 234;
/// 250: requested file action okay, completed (RFC 959 §4.2.1; MLST: RFC 3659 §7).
pub const FILE_ACTION_OK: u16 = 250;
/// 257: "PATHNAME" created, or the current directory (RFC 959 §4.2.1, Appendix II).
pub const PATH_CREATED: u16 = 257;
/// 331: user name okay, need password (RFC 959 §4.2.1).
pub const NEED_PASSWORD: u16 = 331;
/// 332: need account for login (RFC 959 §4.2.1); the bench accepts it after USER.
pub const NEED_ACCOUNT: u16 = 332;
/// 350: requested file action pending further information (RFC 959 §4.2.1: REST, RNFR, SITE CPFR).
pub const PENDING_FURTHER_INFO: u16 = 350;
/// 421: service not available, closing control connection (RFC 959 §4.2.1).
pub const SERVICE_NOT_AVAILABLE: u16 = 421;
/// 425: can't open data connection (RFC 959 §4.2.1).
pub const CANT_OPEN_DATA: u16 = 425;
/// 426: connection closed; transfer aborted (RFC 959 §4.2.1).
pub const TRANSFER_ABORTED: u16 = 426;
/// 450: requested file action not taken, file unavailable (busy) (RFC 959 §4.2.1).
pub const FILE_BUSY: u16 = 450;
/// 451: requested action aborted: local error in processing (RFC 959 §4.2.1).
pub const LOCAL_ERROR: u16 = 451;
/// 452: requested action not taken: insufficient storage space (RFC 959 §4.2.1).
pub const INSUFFICIENT_STORAGE: u16 = 452;
/// 500: syntax error, command unrecognized, or line too long (RFC 959 §4.2.1).
pub const SYNTAX_ERROR: u16 = 500;
/// 501: syntax error in parameters or arguments (RFC 959 §4.2.1).
pub const SYNTAX_ERROR_ARGS: u16 = 501;
/// 502: command not implemented (RFC 959 §4.2.1).
pub const NOT_IMPLEMENTED: u16 = 502;
/// 503: bad sequence of commands (RFC 959 §4.2.1).
pub const BAD_SEQUENCE: u16 = 503;
/// 504: command not implemented for that parameter (RFC 959 §4.2.1).
pub const NOT_IMPLEMENTED_PARAM: u16 = 504;
/// 521: data connection cannot be opened with this PROT setting (RFC 4217 §9).
pub const PROT_SETTING_REFUSED: u16 = 521;
/// 522: network protocol not supported (RFC 2428 §2-3: EPRT, EPSV).
pub const NETWORK_PROTOCOL_NOT_SUPPORTED: u16 = 522;
/// 522: the data connection's TLS negotiation failed or was refused
/// (RFC 4217 §10; the same number as [`NETWORK_PROTOCOL_NOT_SUPPORTED`]).
pub const DATA_TLS_FAILED: u16 = 522;
/// 530: not logged in (RFC 959 §4.2.1).
pub const NOT_LOGGED_IN: u16 = 530;
/// 534: request denied for policy reasons (RFC 2228 §4: PROT C where TLS is required).
pub const DENIED_BY_POLICY: u16 = 534;
/// 536: requested PROT level not supported by mechanism (RFC 2228 §4).
pub const PROT_LEVEL_NOT_SUPPORTED: u16 = 536;
/// 550: requested action not taken: file unavailable (not found, no access) (RFC 959 §4.2.1).
pub const FILE_UNAVAILABLE: u16 = 550;
/// 552: requested file action aborted: exceeded storage allocation (RFC 959 §4.2.1).
pub const EXCEEDED_STORAGE: u16 = 552;
/// 553: requested action not taken: file name not allowed (RFC 959 §4.2.1).
pub const FILE_NAME_NOT_ALLOWED: u16 = 553;
/// 554: requested action not taken: invalid REST parameter (RFC 1123 §4.1.3.4, RFC 3659 §5).
pub const INVALID_REST: u16 = 554;

/// Appends `s` without CR, NUL and LF (the caller splits on LF first).
fn push_clean(out: &mut Vec<u8>, s: &str) {
    out.extend(s.bytes().filter(|&b| !matches!(b, b'\r' | b'\n' | b'\0')));
}

/// Appends the three-digit code and the separator (`-` or space).
fn push_code(out: &mut Vec<u8>, code: u16, sep: u8) {
    out.extend_from_slice(format!("{code:03}").as_bytes());
    out.push(sep);
}

/// Appends `code text` to `out`. A `text` containing `\n` becomes a multi-line
/// reply (one line per `\n`-separated part); CR and NUL in `text` are removed.
pub fn encode_into(code: u16, text: &str, out: &mut Vec<u8>) {
    let mut lines = text.split('\n');
    let first = lines.next().unwrap_or("");
    let Some(mut last) = lines.next() else {
        // RFC 959 §4.2: single line, "CODE SP text CRLF".
        push_code(out, code, b' ');
        push_clean(out, first);
        out.extend_from_slice(b"\r\n");
        return;
    };
    // RFC 959 §4.2: multi-line, "CODE-first", middle lines, "CODE SP last".
    push_code(out, code, b'-');
    push_clean(out, first);
    out.extend_from_slice(b"\r\n");
    for next in lines {
        push_middle(out, last);
        last = next;
    }
    push_code(out, code, b' ');
    push_clean(out, last);
    out.extend_from_slice(b"\r\n");
}

/// `code text` as a fresh buffer (see [`encode_into`]), for a line sent on
/// its own, such as a refusal before the session starts.
pub fn encode(code: u16, text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(code, text, &mut out);
    out
}

/// One middle line of a multi-line reply. RFC 959 §4.2 only requires indenting
/// lines that begin with a code; any leading digit is indented to be safe.
fn push_middle(out: &mut Vec<u8>, line: &str) {
    let starts_with_digit = line
        .bytes()
        .find(|&b| !matches!(b, b'\r' | b'\0'))
        .is_some_and(|b| b.is_ascii_digit());
    if starts_with_digit {
        out.push(b' ');
    }
    push_clean(out, line);
    out.extend_from_slice(b"\r\n");
}

/// Appends a multi-line reply whose first and last lines are `first` and
/// `last`, with `body` lines between them, each body line indented by one
/// space (the FEAT, STAT and MLST form, RFC 2389 §3.2, RFC 3659 §7.2).
///
/// CR, LF and NUL are removed from every part, so each part is exactly one line.
pub fn encode_block_into(code: u16, first: &str, body: &[String], last: &str, out: &mut Vec<u8>) {
    push_code(out, code, b'-');
    push_clean(out, first);
    out.extend_from_slice(b"\r\n");
    for line in body {
        out.push(b' ');
        push_clean(out, line);
        out.extend_from_slice(b"\r\n");
    }
    push_code(out, code, b' ');
    push_clean(out, last);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(code: u16, text: &str) -> String {
        let mut out = Vec::new();
        encode_into(code, text, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn single_and_multi_line() {
        for (code, text, want) in [
            // RFC 959 §4.2: "CODE SP text CRLF".
            (200, "OK", "200 OK\r\n"),
            (220, "", "220 \r\n"),
            (226, "Transfer complete", "226 Transfer complete\r\n"),
            // RFC 959 §4.2: multi-line reply, "CODE-" first, "CODE SP" last.
            (
                214,
                "Help\nUSER PASS\nEnd",
                "214-Help\r\nUSER PASS\r\n214 End\r\n",
            ),
            (211, "a\nb", "211-a\r\n211 b\r\n"),
            (211, "a\n", "211-a\r\n211 \r\n"),
            (211, "a\n\nb", "211-a\r\n\r\n211 b\r\n"),
            // RFC 959 §4.2: a middle line beginning with a code must be
            // indented.
            (
                211,
                "x\n226 done\n5\ny",
                "211-x\r\n 226 done\r\n 5\r\n211 y\r\n",
            ),
            // A CR in front of the digits is stripped, so it must not hide them.
            (211, "x\n\r226\ny", "211-x\r\n 226\r\n211 y\r\n"),
        ] {
            assert_eq!(enc(code, text), want, "{text:?}");
        }
    }

    #[test]
    fn injection_attempts() {
        // RFC 959 §4.2: text cannot end the reply early or start a new one.
        let out = enc(550, "file\r\n226 fake");
        assert_eq!(out, "550-file\r\n550 226 fake\r\n");
        assert!(!out.contains("\r\n226"));
        assert_eq!(enc(550, "a\rb\0c"), "550 abc\r\n");
        assert_eq!(enc(550, "\r226 fake"), "550 226 fake\r\n");
        // Every line of output ends with CRLF and no bare CR/LF exists.
        let out = enc(211, "a\r\n\r\n\n226 x\r");
        for line in out.split_terminator("\r\n") {
            assert!(!line.contains('\r') && !line.contains('\n'));
            assert!(!line.starts_with("226"));
        }
    }

    #[test]
    fn block() {
        // RFC 2389 §3.2 (FEAT): feature lines indented by one space.
        let mut out = Vec::new();
        let body = vec![
            "MDTM".to_string(),
            "SIZE".to_string(),
            "226 x\r\n227 y".to_string(),
        ];
        encode_block_into(211, "Features:", &body, "End", &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "211-Features:\r\n MDTM\r\n SIZE\r\n 226 x227 y\r\n211 End\r\n"
        );
        let mut out = Vec::new();
        encode_block_into(250, "a\nb", &[], "c\r\n250 d", &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "250-ab\r\n250 c250 d\r\n");
    }
}
