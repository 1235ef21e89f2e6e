//! `--log-format text`: the same content as the JSON log on one line,
//! `TIME EVENT key=value …` (logfmt style), for people reading a terminal
//! or journal:
//!
//! ```text
//! 2024-05-01T12:03:04.567Z transfer session=42 worker=1 client=192.0.2.10:50000 user=alice command="RETR /pub/a b.iso" …
//! ```
//!
//! A value is quoted when it is empty or holds a space, `"`, `=` or a byte
//! that needs escaping; inside quotes `"` and `\` are escaped, `\n`, `\r`,
//! `\t` written as such, and any other control byte, DEL or byte that is not
//! UTF-8 as `\xNN`, so the line stays one line and shows what a file name's
//! bytes really were.

use super::event::{LogEvent, Value};
use super::json::short_escape;
use super::time::CivilTime;

/// Appends `ev` as one text line and a newline.
pub fn write_event(ev: &LogEvent, out: &mut Vec<u8>) {
    out.extend_from_slice(CivilTime::from_system(ev.time).rfc3339_millis().as_bytes());
    out.push(b' ');
    out.extend_from_slice(ev.kind.name().as_bytes());
    ev.fields(|name, v| {
        out.push(b' ');
        out.extend_from_slice(name.as_bytes());
        out.push(b'=');
        match v {
            Value::Str(s) => write_value(out, s.as_bytes()),
            Value::Bytes(b) => write_value(out, b),
            Value::U64(n) => out.extend_from_slice(n.to_string().as_bytes()),
            Value::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        }
    });
    out.push(b'\n');
}

/// Appends a value, quoted and escaped when it needs to be.
pub fn write_value(out: &mut Vec<u8>, v: &[u8]) {
    let plain = !v.is_empty()
        && std::str::from_utf8(v).is_ok()
        && v.iter()
            .all(|&b| b > b' ' && b != b'"' && b != b'=' && b != b'\\' && b != 0x7f);
    if plain {
        out.extend_from_slice(v);
        return;
    }
    out.push(b'"');
    for chunk in v.utf8_chunks() {
        for c in chunk.valid().chars() {
            if let Some(e) = short_escape(c) {
                out.extend_from_slice(e);
                continue;
            }
            match c {
                c if (c as u32) < 0x20 || c == '\u{7f}' => {
                    out.extend_from_slice(format!("\\x{:02x}", c as u32).as_bytes())
                }
                c => {
                    let mut b = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                }
            }
        }
        for b in chunk.invalid() {
            out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::obs::event::{EventKind, LoggedCommand};
    use crate::obs::labels::{DataMode, Direction, TransferResult};

    fn line(ev: &LogEvent) -> String {
        let mut out = Vec::new();
        write_event(ev, &mut out);
        String::from_utf8(out).unwrap()
    }

    fn transfer(path: &[u8]) -> LogEvent {
        LogEvent {
            time: SystemTime::UNIX_EPOCH + Duration::from_millis(1_714_564_984_567),
            worker: 1,
            session: 42,
            client: Some("192.0.2.10:50000".parse().unwrap()),
            user: Some("alice".into()),
            kind: EventKind::Transfer {
                command: LoggedCommand::new(b"RETR /pub/a b.iso"),
                path: path.to_vec(),
                direction: Direction::Download,
                mode: DataMode::Pasv,
                result: TransferResult::Ok,
                reply: 226,
                bytes: 1234,
                duration: Duration::from_millis(20),
                error: None,
            },
        }
    }

    #[test]
    fn same_content_as_json_on_one_line() {
        assert_eq!(
            line(&transfer(b"/pub/a b.iso")),
            "2024-05-01T12:03:04.567Z transfer session=42 worker=1 client=192.0.2.10:50000 \
             user=alice command=\"RETR /pub/a b.iso\" path=\"/pub/a b.iso\" direction=download \
             mode=pasv result=ok reply=226 bytes=1234 duration_ms=20\n"
        );
    }

    #[test]
    fn hostile_values_stay_on_one_line() {
        let l = line(&transfer(b"/x\ny\r\"z\\\x01\x7f caf\xe9"));
        assert_eq!(l.matches('\n').count(), 1);
        assert!(l.contains(r#"path="/x\ny\r\"z\\\x01\x7f caf\xe9""#), "{l}");
    }

    #[test]
    fn empty_and_equals_signs_are_quoted() {
        let mut out = Vec::new();
        write_value(&mut out, b"");
        write_value(&mut out, b"a=b");
        write_value(&mut out, b"plain");
        assert_eq!(out, b"\"\"\"a=b\"plain");
    }

    #[test]
    fn pass_is_masked_in_text_too() {
        let mut ev = transfer(b"/");
        ev.kind = EventKind::Command {
            command: LoggedCommand::new(b"PASS topsecret"),
            reply: 230,
            duration: Duration::ZERO,
        };
        let l = line(&ev);
        assert!(
            l.contains("command=\"PASS ****\"") && !l.contains("topsecret"),
            "{l}"
        );
    }
}
