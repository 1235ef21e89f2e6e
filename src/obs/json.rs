//! `--log-format json`: one JSON object per line (RFC 8259), with `time`
//! (RFC 3339, UTC, milliseconds) and `event` first, then only the fields
//! that apply to that event.
//!
//! Strings are escaped per RFC 8259 §7: `"` and `\`, and every control
//! character (U+0000..U+001F) as `\n`, `\r`, `\t`, `\b`, `\f` or `\u00XX`;
//! DEL and U+2028/U+2029 are escaped too, so the line is safe to paste into
//! JavaScript and shows no invisible bytes. Bytes that are not UTF-8 (a
//! file name is a byte string) become U+FFFD, so the line is always valid
//! UTF-8 and valid JSON.

use super::event::{LogEvent, Value};
use super::time::CivilTime;

/// The escapes JSON and the text format share (quote, backslash, and the
/// three whitespace controls), or `None`.
pub(super) fn short_escape(c: char) -> Option<&'static [u8]> {
    Some(match c {
        '"' => b"\\\"",
        '\\' => b"\\\\",
        '\n' => b"\\n",
        '\r' => b"\\r",
        '\t' => b"\\t",
        _ => return None,
    })
}

/// Appends `s` as a JSON string, quotes included.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for c in s.chars() {
        if let Some(e) = short_escape(c) {
            out.extend_from_slice(e);
            continue;
        }
        match c {
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            c if (c as u32) < 0x20 || c == '\u{7f}' || c == '\u{2028}' || c == '\u{2029}' => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => {
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// Appends a byte string as a JSON string (invalid UTF-8 → U+FFFD).
pub fn write_bytes(out: &mut Vec<u8>, b: &[u8]) {
    write_str(out, &String::from_utf8_lossy(b));
}

/// Appends `ev` as one JSON object and a newline.
pub fn write_event(ev: &LogEvent, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"time\":");
    write_str(out, &CivilTime::from_system(ev.time).rfc3339_millis());
    out.extend_from_slice(b",\"event\":");
    write_str(out, ev.kind.name());
    ev.fields(|name, v| {
        out.push(b',');
        write_str(out, name);
        out.push(b':');
        match v {
            Value::Str(s) => write_str(out, s),
            Value::Bytes(b) => write_bytes(out, b),
            Value::U64(n) => out.extend_from_slice(n.to_string().as_bytes()),
            Value::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        }
    });
    out.extend_from_slice(b"}\n");
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use proptest::prelude::*;
    use serde_json::Value as J;

    use super::*;
    use crate::obs::event::{CloseReason, EventKind, LoggedCommand};
    use crate::obs::labels::{DataMode, Direction, RefusalReason, TransferResult};

    fn at(secs: u64, millis: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis)
    }

    fn base(kind: EventKind) -> LogEvent {
        LogEvent {
            time: at(1_714_564_984, 567),
            worker: 1,
            session: 42,
            client: Some("[::ffff:192.0.2.10]:50000".parse().unwrap()),
            user: Some("alice".into()),
            kind,
        }
    }

    fn parse(ev: &LogEvent) -> serde_json::Map<String, J> {
        let mut out = Vec::new();
        write_event(ev, &mut out);
        let text = String::from_utf8(out).expect("valid UTF-8");
        assert!(
            text.ends_with('\n') && text.matches('\n').count() == 1,
            "{text:?}"
        );
        match serde_json::from_str::<J>(&text).expect("valid JSON") {
            J::Object(m) => m,
            other => panic!("not an object: {other}"),
        }
    }

    fn keys(m: &serde_json::Map<String, J>) -> Vec<&str> {
        m.keys().map(String::as_str).collect()
    }

    #[test]
    fn transfer_has_every_field_and_values_parse_back() {
        let m = parse(&base(EventKind::Transfer {
            command: LoggedCommand::new(b"RETR /pub/a b.iso"),
            path: b"/pub/a b.iso".to_vec(),
            direction: Direction::Download,
            mode: DataMode::Epsv,
            result: TransferResult::Failed,
            reply: 426,
            bytes: 1234,
            duration: Duration::from_millis(1500),
            error: Some("connection_lost"),
        }));
        assert_eq!(m["time"], "2024-05-01T12:03:04.567Z");
        assert_eq!(m["event"], "transfer");
        assert_eq!(m["session"], 42);
        assert_eq!(m["worker"], 1);
        assert_eq!(m["client"], "192.0.2.10:50000");
        assert_eq!(m["user"], "alice");
        assert_eq!(m["command"], "RETR /pub/a b.iso");
        assert_eq!(m["path"], "/pub/a b.iso");
        assert_eq!(m["direction"], "download");
        assert_eq!(m["mode"], "epsv");
        assert_eq!(m["result"], "failed");
        assert_eq!(m["reply"], 426);
        assert_eq!(m["bytes"], 1234);
        assert_eq!(m["duration_ms"], 1500);
        assert_eq!(m["error"], "connection_lost");
    }

    #[test]
    fn only_fields_that_apply() {
        let mut ev = base(EventKind::SessionOpen { proxy: None });
        ev.user = None;
        ev.client = None;
        let m = parse(&ev);
        // serde_json's map is sorted by key.
        assert_eq!(keys(&m), ["event", "session", "time", "worker"]);
        let m = parse(&base(EventKind::SessionOpen {
            proxy: Some("10.0.0.1:41000".parse().unwrap()),
        }));
        assert_eq!(m["proxy"], "10.0.0.1:41000");
        let m = parse(&base(EventKind::SessionClose {
            reason: CloseReason::IdleTimeout,
            duration: Duration::from_secs(301),
        }));
        assert_eq!(m["reason"], "idle_timeout");
        assert_eq!(m["duration_ms"], 301_000);
        let m = parse(&base(EventKind::Login {
            ok: false,
            anonymous: false,
        }));
        assert_eq!(m["result"], "failed");
        assert_eq!(m["anonymous"], false);
        assert!(!m.contains_key("bytes") && !m.contains_key("command"));
        let m = parse(&base(EventKind::Refusal {
            reason: RefusalReason::ConnectionRate,
        }));
        assert_eq!(
            keys(&m),
            ["client", "event", "reason", "session", "time", "user", "worker"]
        );
    }

    #[test]
    fn a_password_never_appears() {
        let m = parse(&base(EventKind::Command {
            command: LoggedCommand::new(b"PASS s3cr\"et\\\r\n"),
            reply: 230,
            duration: Duration::from_millis(80),
        }));
        assert_eq!(m["command"], "PASS ****");
        let mut out = Vec::new();
        write_event(
            &base(EventKind::Command {
                command: LoggedCommand::new(b"PASS s3cret"),
                reply: 530,
                duration: Duration::ZERO,
            }),
            &mut out,
        );
        assert!(!String::from_utf8(out).unwrap().contains("s3cret"));
    }

    #[test]
    fn hostile_names_escape_and_round_trip() {
        let name = "quote\" back\\slash\nnew\rret\ttab\u{0}nul\u{1f}us\u{7f}del\u{2028}ls é 😀";
        let mut ev = base(EventKind::Login {
            ok: true,
            anonymous: false,
        });
        ev.user = Some(name.into());
        let m = parse(&ev);
        assert_eq!(m["user"], name);
        let mut out = Vec::new();
        write_str(&mut out, "\u{0}\u{1f}\u{7f}\u{2028}\u{8}\u{c}");
        assert_eq!(out, b"\"\\u0000\\u001f\\u007f\\u2028\\b\\f\"");
    }

    #[test]
    fn non_utf8_path_bytes_become_replacement_characters() {
        let m = parse(&base(EventKind::Transfer {
            command: LoggedCommand::new(b"STOR caf\xe9\xff"),
            path: b"/in/caf\xe9\xff.txt".to_vec(),
            direction: Direction::Upload,
            mode: DataMode::Pasv,
            result: TransferResult::Ok,
            reply: 226,
            bytes: 0,
            duration: Duration::ZERO,
            error: None,
        }));
        assert_eq!(m["path"], "/in/caf\u{fffd}\u{fffd}.txt");
        assert_eq!(m["command"], "STOR caf\u{fffd}\u{fffd}");
        assert!(!m.contains_key("error"));
    }

    proptest! {
        #[test]
        fn any_bytes_make_valid_json_that_round_trips_lossily(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut out = Vec::new();
            write_bytes(&mut out, &b);
            let s = std::str::from_utf8(&out).expect("UTF-8");
            let back: String = serde_json::from_str(s).expect("JSON string");
            prop_assert_eq!(back, String::from_utf8_lossy(&b).into_owned());
            prop_assert!(!out.iter().any(|&c| c < 0x20 || c == 0x7f));
        }

        #[test]
        fn any_string_round_trips(s in any::<String>()) {
            let mut out = Vec::new();
            write_str(&mut out, &s);
            let back: String = serde_json::from_slice(&out).expect("JSON string");
            prop_assert_eq!(back, s);
        }
    }
}
