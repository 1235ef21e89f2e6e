//! The control channel's input side, bytes → lines (RFC 959 §4.1):
//! [`LineBuffer`] accepts CRLF and bare LF, strips Telnet IAC sequences
//! (RFC 854; clients send IAC IP / IAC DM before ABOR, RFC 959 §4.1.3) and
//! enforces the line-length limit. [`super::command::parse`] takes it from
//! there.

use std::collections::VecDeque;

/// A line longer than the limit. The whole line (up to its LF) is discarded and
/// reported once, so the session answers 500 once and goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineTooLong;

/// Telnet command bytes (RFC 854): IAC and the option verbs WILL..DONT.
const IAC: u8 = 0xFF;
const OPT_FIRST: u8 = 0xFB;
const OPT_LAST: u8 = 0xFE;

/// Where the Telnet filter is inside an IAC sequence (RFC 854).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TelnetState {
    /// Plain data.
    Data,
    /// Got IAC; the next byte says what follows.
    Iac,
    /// Got IAC WILL/WONT/DO/DONT; the next byte is the option code, dropped.
    Option,
}

/// Splits control bytes into lines with a length limit.
#[derive(Debug)]
pub struct LineBuffer {
    /// Longest line content accepted (without CR/LF).
    max: usize,
    /// The incomplete line, IAC-filtered; at most `max + 1` bytes (a final CR).
    line: Vec<u8>,
    /// Dropping the rest of an overlong line up to its LF.
    discarding: bool,
    telnet: TelnetState,
    /// Complete lines (and overlong-line reports) not yet taken.
    ready: VecDeque<Result<Vec<u8>, LineTooLong>>,
}

impl LineBuffer {
    /// `line_len_max_bytes` counts the line without its CR/LF.
    pub fn new(line_len_max_bytes: usize) -> Self {
        LineBuffer {
            max: line_len_max_bytes,
            line: Vec::new(),
            discarding: false,
            telnet: TelnetState::Data,
            ready: VecDeque::new(),
        }
    }

    /// Appends received bytes. Memory stays bounded by the limit: bytes of an
    /// overlong line are dropped as they arrive.
    pub fn push(&mut self, bytes: &[u8]) {
        for &b in bytes {
            // RFC 854: IAC sequences are Telnet commands, not data; RFC 959
            // §4.1.3 (ABOR) has clients send IAC IP and IAC DM (Synch).
            match (self.telnet, b) {
                (TelnetState::Data, IAC) => self.telnet = TelnetState::Iac,
                (TelnetState::Data, _) => self.data_byte(b),
                (TelnetState::Iac, IAC) => {
                    self.telnet = TelnetState::Data;
                    self.data_byte(IAC);
                }
                (TelnetState::Iac, OPT_FIRST..=OPT_LAST) => self.telnet = TelnetState::Option,
                (TelnetState::Iac | TelnetState::Option, _) => {
                    self.telnet = TelnetState::Data;
                }
            }
        }
    }

    /// One byte of line data after Telnet filtering.
    fn data_byte(&mut self, b: u8) {
        // RFC 959 §4.1 / §5.3: commands end with CRLF; a bare LF is accepted too.
        if b == b'\n' {
            if self.discarding {
                self.discarding = false;
            } else {
                let mut line = std::mem::take(&mut self.line);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                self.ready.push_back(Ok(line));
            }
            return;
        }
        if self.discarding {
            return;
        }
        // A CR may still turn out to be the line ending, so it may sit one
        // past the limit; any other byte must fit within it.
        let len_after = if b == b'\r' {
            self.line.len()
        } else {
            self.line.len().saturating_add(1)
        };
        if len_after > self.max {
            self.line = Vec::new();
            self.discarding = true;
            self.ready.push_back(Err(LineTooLong));
            return;
        }
        self.line.push(b);
    }

    /// The next complete line without its line ending and with Telnet IAC
    /// commands removed (`IAC IAC` stays one 0xFF byte), or `Err(LineTooLong)`
    /// once per overlong line. `None` when no complete line is buffered.
    pub fn next_line(&mut self) -> Option<Result<Vec<u8>, LineTooLong>> {
        self.ready.pop_front()
    }

    /// Complete lines (and overlong-line reports) not yet taken (for back-pressure).
    pub fn ready_lines(&self) -> usize {
        self.ready.len()
    }

    /// Bytes of an incomplete line held (for limits and tests).
    pub fn pending_bytes(&self) -> usize {
        self.line.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::command::{parse, ParseError};

    fn lines(buf: &mut LineBuffer) -> Vec<Result<Vec<u8>, LineTooLong>> {
        std::iter::from_fn(|| buf.next_line()).collect()
    }

    fn ok(s: &[u8]) -> Result<Vec<u8>, LineTooLong> {
        Ok(s.to_vec())
    }

    #[test]
    fn crlf_and_bare_lf() {
        // RFC 959 §4.1: commands end with CRLF; bare LF accepted for robustness.
        let mut b = LineBuffer::new(100);
        b.push(b"USER a\r\nPASS b\nNOOP");
        assert_eq!(lines(&mut b), vec![ok(b"USER a"), ok(b"PASS b")]);
        assert_eq!(b.pending_bytes(), 4);
        b.push(b"\r\n\n");
        assert_eq!(lines(&mut b), vec![ok(b"NOOP"), ok(b"")]);
        assert_eq!(b.pending_bytes(), 0);
        assert_eq!(b.next_line(), None);
    }

    #[test]
    fn crlf_split_across_pushes() {
        // RFC 959 §4.1: the CRLF may arrive in two segments.
        let mut b = LineBuffer::new(100);
        b.push(b"NOOP\r");
        assert_eq!(b.next_line(), None);
        b.push(b"\n");
        assert_eq!(lines(&mut b), vec![ok(b"NOOP")]);
        for (i, byte) in b"RETR x\r\n".iter().enumerate() {
            b.push(&[*byte]);
            assert_eq!(b.next_line().is_some(), i == 7);
        }
    }

    #[test]
    fn bare_cr_stays_in_line() {
        // RFC 959 §4.1: only CRLF (or LF) ends a line; a stray CR is data, refused by parse.
        let mut b = LineBuffer::new(100);
        b.push(b"DELE a\rb\r\r\n");
        let line = b.next_line().unwrap().unwrap();
        assert_eq!(line, b"DELE a\rb\r");
        assert_eq!(parse(&line), Err(ParseError::BadEncoding));
    }

    #[test]
    fn telnet_iac_stripped() {
        // RFC 854 IAC commands; RFC 959 §4.1.3 ABOR preceded by IAC IP, IAC DM.
        let mut b = LineBuffer::new(100);
        b.push(b"\xFF\xF4\xFF\xF2ABOR\r\n");
        b.push(b"A\xFF\xFB\x01B\xFF\xFE\x22C\r\n");
        b.push(b"X\xFF\xFFY\n");
        assert_eq!(lines(&mut b), vec![ok(b"ABOR"), ok(b"ABC"), ok(b"X\xFFY")]);
    }

    #[test]
    fn telnet_iac_split_across_pushes() {
        // RFC 854: a command sequence may be split by TCP segmentation.
        let input: &[u8] = b"\xFF\xF4\xFF\xFD\x06AB\xFF\xFFOR\r\n";
        for split in 0..=input.len() {
            let mut b = LineBuffer::new(100);
            b.push(&input[..split]);
            b.push(&input[split..]);
            assert_eq!(lines(&mut b), vec![ok(b"AB\xFFOR")], "split {split}");
        }
        let mut b = LineBuffer::new(100);
        for byte in input {
            b.push(&[*byte]);
        }
        assert_eq!(lines(&mut b), vec![ok(b"AB\xFFOR")]);
    }

    #[test]
    fn line_limit_exact_and_over() {
        // RFC 959 §4.1: line length is the server's limit; 500 once per long line.
        let mut b = LineBuffer::new(8);
        b.push(b"12345678\r\n12345678\n123456789\r\nNOOP\r\n");
        assert_eq!(
            lines(&mut b),
            vec![
                ok(b"12345678"),
                ok(b"12345678"),
                Err(LineTooLong),
                ok(b"NOOP")
            ]
        );
        // CR at the limit is only the line ending when LF follows.
        b.push(b"12345678\rX\r\nNOOP\n");
        assert_eq!(lines(&mut b), vec![Err(LineTooLong), ok(b"NOOP")]);
    }

    #[test]
    fn overlong_line_bounded_memory_single_error() {
        // RFC 959 §4.1: reported once, bytes dropped as they arrive.
        let mut b = LineBuffer::new(16);
        for _ in 0..1000 {
            b.push(&[b'x'; 100]);
            assert!(b.pending_bytes() <= 17);
        }
        b.push(b"\r\n");
        b.push(b"QUIT\r\n");
        assert_eq!(lines(&mut b), vec![Err(LineTooLong), ok(b"QUIT")]);
        // IAC bytes do not count against the limit.
        let mut b = LineBuffer::new(4);
        b.push(b"\xFF\xF4\xFF\xF2NOOP\r\n");
        assert_eq!(lines(&mut b), vec![ok(b"NOOP")]);
        let mut z = LineBuffer::new(0);
        z.push(b"\r\nA\r\n");
        assert_eq!(lines(&mut z), vec![ok(b""), Err(LineTooLong)]);
    }
}
