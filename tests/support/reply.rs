//! Reading one reply off the control connection: each line as sent (CRLF
//! asserted, then removed), where the reply ends decided by the crate's own
//! parser ([`ringftpd::bench::reply::ReplyParser`], RFC 959 §4.2).

use std::io::{BufRead, BufReader, ErrorKind};
use std::net::TcpStream;

use ringftpd::bench::reply::ReplyParser;

/// One (possibly multi-line) reply.
#[derive(Debug, Clone)]
pub struct Reply {
    pub code: u16,
    /// All lines, CRLF removed.
    pub lines: Vec<String>,
}

impl Reply {
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// The text after the code on the first line.
    pub fn first_text(&self) -> &str {
        self.lines[0].get(4..).unwrap_or("")
    }

    /// The reply as it came off the wire: every line with its CRLF.
    pub fn raw(&self) -> String {
        self.lines.iter().map(|l| format!("{l}\r\n")).collect()
    }
}

/// The next reply; `None` when the server closed the connection (or reset
/// it) before the reply's first line. Panics on a timeout, a close inside a
/// reply, a line without CRLF or a line that is not a reply line.
pub(super) fn read_reply(r: &mut BufReader<TcpStream>, waiting_for: &str) -> Option<Reply> {
    let mut parser = ReplyParser::default();
    let mut lines = Vec::new();
    let mut done = Vec::new();
    while done.is_empty() {
        let Some(line) = read_line(r, waiting_for) else {
            assert!(
                lines.is_empty(),
                "control connection closed inside the reply to {waiting_for:?}: {lines:?}"
            );
            return None;
        };
        parser
            .push(format!("{line}\r\n").as_bytes(), &mut done)
            .unwrap_or_else(|e| panic!("bad reply line {line:?} to {waiting_for:?}: {e:?}"));
        lines.push(line);
    }
    Some(Reply {
        code: done[0].code,
        lines,
    })
}

/// One CRLF-terminated line, without the CRLF; `None` at the end of the stream.
fn read_line(r: &mut BufReader<TcpStream>, waiting_for: &str) -> Option<String> {
    let mut buf = Vec::new();
    match r.read_until(b'\n', &mut buf) {
        Ok(0) => return None,
        Ok(_) => {}
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
            ) =>
        {
            return None
        }
        Err(e) => panic!("no reply to {waiting_for:?}: {e}"),
    }
    assert!(
        buf.ends_with(b"\r\n"),
        "reply line to {waiting_for:?} not CRLF-terminated: {:?}",
        String::from_utf8_lossy(&buf)
    );
    buf.truncate(buf.len() - 2);
    Some(String::from_utf8(buf).expect("reply is UTF-8"))
}
