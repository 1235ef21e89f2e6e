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
    fn single_line() {
        // RFC 959 §4.2: "CODE SP text CRLF".
        assert_eq!(enc(200, "OK"), "200 OK\r\n");
        assert_eq!(enc(220, ""), "220 \r\n");
        assert_eq!(enc(226, "Transfer complete"), "226 Transfer complete\r\n");
    }

    #[test]
    fn multi_line() {
        // RFC 959 §4.2: multi-line reply, "CODE-" first, "CODE SP" last.
        assert_eq!(
            enc(214, "Help\nUSER PASS\nEnd"),
            "214-Help\r\nUSER PASS\r\n214 End\r\n"
        );
        assert_eq!(enc(211, "a\nb"), "211-a\r\n211 b\r\n");
        assert_eq!(enc(211, "a\n"), "211-a\r\n211 \r\n");
        assert_eq!(enc(211, "a\n\nb"), "211-a\r\n\r\n211 b\r\n");
    }

    #[test]
    fn middle_line_starting_with_digits_is_indented() {
        // RFC 959 §4.2: a middle line beginning with a code must be indented.
        assert_eq!(
            enc(211, "x\n226 done\n5\ny"),
            "211-x\r\n 226 done\r\n 5\r\n211 y\r\n"
        );
        // A CR in front of the digits is stripped, so it must not hide them.
        assert_eq!(enc(211, "x\n\r226\ny"), "211-x\r\n 226\r\n211 y\r\n");
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
