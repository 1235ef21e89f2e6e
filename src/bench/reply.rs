//! Reading server replies (RFC 959 §4.2) and the data addresses they carry
//! (227 of RFC 959 §4.1.2, 229 of RFC 2428 §3); writing PORT and EPRT.
//!
//! Servers differ in the details, so parsing is lenient where RFCs allow it
//! (bare LF line ends, 227 text without parentheses) and strict where a
//! mistake would desynchronise the session (the multi-line terminator).

use std::net::{IpAddr, SocketAddr};

use crate::proto::addr::parse_port;

/// Longest reply line accepted; beyond it the server is broken or hostile.
const LINE_MAX_BYTES: usize = 64 * 1024;

/// One complete reply: its code and its lines' text joined by `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub text: String,
}

impl Reply {
    /// 1yz: a preliminary reply, another one follows.
    pub fn is_preliminary(&self) -> bool {
        (100..200).contains(&self.code)
    }
    /// 2yz.
    pub fn is_ok(&self) -> bool {
        (200..300).contains(&self.code)
    }
}

/// The control stream did not follow RFC 959 §4.2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyError {
    /// A line that is neither `ddd`, `ddd text` nor `ddd-text` outside a
    /// multi-line reply.
    BadLine,
    /// A line longer than [`LINE_MAX_BYTES`].
    TooLong,
}

/// Splits the control stream into replies, across any chunking.
#[derive(Debug, Default)]
pub struct ReplyParser {
    partial: Vec<u8>,
    /// Code and text so far of an open multi-line reply.
    open: Option<(u16, String)>,
}

/// The code of a line starting with three digits, and the byte after them.
fn code_of(line: &[u8]) -> Option<(u16, Option<u8>)> {
    let digits = line.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = digits
        .iter()
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    Some((code, line.get(3).copied()))
}

impl ReplyParser {
    /// Feeds `bytes`; every reply completed by them is appended to `out`.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<Reply>) -> Result<(), ReplyError> {
        let mut rest = bytes;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            self.partial.extend_from_slice(&rest[..nl]);
            rest = &rest[nl + 1..];
            let mut line = std::mem::take(&mut self.partial);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if let Some(reply) = self.line(&line)? {
                out.push(reply);
            }
        }
        self.partial.extend_from_slice(rest);
        if self.partial.len() > LINE_MAX_BYTES {
            return Err(ReplyError::TooLong);
        }
        Ok(())
    }

    /// Bytes received after the last complete line.
    pub fn pending_bytes(&self) -> usize {
        self.partial.len()
    }

    fn line(&mut self, line: &[u8]) -> Result<Option<Reply>, ReplyError> {
        let text_of = |l: &[u8]| String::from_utf8_lossy(l.get(4..).unwrap_or(&[])).into_owned();
        if let Some((code, ref mut text)) = self.open {
            // RFC 959 §4.2: only "same code + SP" (or the bare code) ends it;
            // any other line, even one starting with digits, is body text.
            match code_of(line) {
                Some((c, None | Some(b' '))) if c == code => {
                    text.push('\n');
                    text.push_str(&text_of(line));
                    let text = std::mem::take(text);
                    self.open = None;
                    Ok(Some(Reply { code, text }))
                }
                _ => {
                    text.push('\n');
                    text.push_str(&String::from_utf8_lossy(line));
                    Ok(None)
                }
            }
        } else {
            match code_of(line) {
                Some((code, Some(b'-'))) => {
                    self.open = Some((code, text_of(line)));
                    Ok(None)
                }
                Some((code, None | Some(b' '))) => Ok(Some(Reply {
                    code,
                    text: text_of(line),
                })),
                _ => Err(ReplyError::BadLine),
            }
        }
    }
}

/// The address in a 227 reply. RFC 1123 §4.1.2.6: clients must scan for the
/// six numbers rather than expect the parentheses.
pub fn parse_227(text: &str) -> Option<SocketAddr> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let tail = &text[start..];
    let end = tail
        .find(|c: char| !(c.is_ascii_digit() || c == ',' || c == ' '))
        .unwrap_or(tail.len());
    parse_port(tail[..end].trim_end_matches([' ', ',']))
}

/// The port in a 229 reply `(<d><d><d>port<d>)`; the host is the control
/// connection's peer (RFC 2428 §3).
pub fn parse_229(text: &str, server_ip: IpAddr) -> Option<SocketAddr> {
    let open = text.find('(')?;
    let inner = text.as_bytes().get(open + 1..)?;
    let close = inner.iter().position(|&b| b == b')')?;
    let inner = &inner[..close];
    let d = *inner.first()?;
    // Shape: d d d digits d, all delimiters the same printable non-digit.
    if inner.len() < 5 || d.is_ascii_digit() || !(33..=126).contains(&d) {
        return None;
    }
    if inner[1] != d || inner[2] != d || inner[inner.len() - 1] != d {
        return None;
    }
    let digits = &inner[3..inner.len() - 1];
    if digits.is_empty() || digits.len() > 5 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let port: u16 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    (port != 0).then_some(SocketAddr::new(server_ip, port))
}

/// `PORT h1,h2,h3,h4,p1,p2` (RFC 959 §4.1.2); `None` for an IPv6 address.
pub fn port_command(addr: SocketAddr) -> Option<String> {
    let IpAddr::V4(ip) = addr.ip() else {
        return None;
    };
    let [a, b, c, d] = ip.octets();
    let [p1, p2] = addr.port().to_be_bytes();
    Some(format!("PORT {a},{b},{c},{d},{p1},{p2}\r\n"))
}

/// `EPRT |1|ip|port|` or `EPRT |2|ip|port|` (RFC 2428 §2).
pub fn eprt_command(addr: SocketAddr) -> String {
    let proto = if addr.is_ipv4() { 1 } else { 2 };
    format!("EPRT |{proto}|{}|{}|\r\n", addr.ip(), addr.port())
}

#[cfg(test)]
#[path = "reply_tests.rs"]
mod tests;
