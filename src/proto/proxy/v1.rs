//! Version 1, the text line (spec §2.1):
//! `PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{Header, Invalid, Parse, V1_HEADER_BYTES_MAX};

const PREFIX: &[u8] = b"PROXY ";

pub(super) fn parse(buf: &[u8]) -> Parse {
    let seen = &buf[..buf.len().min(PREFIX.len())];
    if !PREFIX.starts_with(seen) {
        return Parse::Invalid(Invalid::NotProxyProtocol);
    }
    // Check every byte as it arrives, so a bad line is refused without
    // waiting for a CRLF that may never come.
    let window = &buf[..buf.len().min(V1_HEADER_BYTES_MAX)];
    for (i, &b) in window.iter().enumerate() {
        match b {
            b'\r' => match window.get(i + 1) {
                Some(b'\n') => {
                    return match line(&window[PREFIX.len().min(i)..i]) {
                        Ok(header) => Parse::Done {
                            header,
                            consumed: i + 2,
                        },
                        Err(e) => Parse::Invalid(e),
                    };
                }
                Some(_) => return Parse::Invalid(Invalid::V1BadCharacter),
                None => {}
            },
            0x20..=0x7e => {}
            // A lone LF (§2.1: "must not tolerate a single CR or LF"), or a
            // control or non-ASCII byte.
            _ => return Parse::Invalid(Invalid::V1BadCharacter),
        }
    }
    if window.len() >= V1_HEADER_BYTES_MAX {
        Parse::Invalid(Invalid::V1TooLong)
    } else {
        Parse::NeedMore
    }
}

/// The part between `PROXY ` and the CRLF.
fn line(rest: &[u8]) -> Result<Header, Invalid> {
    let (proto, fields) = match rest.iter().position(|&b| b == b' ') {
        Some(sp) => (&rest[..sp], Some(&rest[sp + 1..])),
        None => (rest, None),
    };
    let v6 = match proto {
        // §2.1: "the receiver must ignore anything presented before the
        // CRLF is found".
        b"UNKNOWN" => return Ok(Header::Local),
        b"TCP4" => false,
        b"TCP6" => true,
        _ => return Err(Invalid::V1BadProtocol),
    };
    let fields = fields.ok_or(Invalid::V1BadFields)?;
    let mut parts = fields.split(|&b| b == b' ');
    let mut next = || parts.next().filter(|p| !p.is_empty());
    let (Some(src), Some(dst), Some(sport), Some(dport)) = (next(), next(), next(), next()) else {
        return Err(Invalid::V1BadFields);
    };
    if parts.next().is_some() {
        return Err(Invalid::V1BadFields);
    }
    let (src, dst) = (address(src, v6)?, address(dst, v6)?);
    Ok(Header::Proxied {
        source: SocketAddr::new(src, port(sport)?),
        destination: SocketAddr::new(dst, port(dport)?),
    })
}

fn address(text: &[u8], v6: bool) -> Result<IpAddr, Invalid> {
    let text = std::str::from_utf8(text).map_err(|_| Invalid::V1BadAddress)?;
    // std's parsers already refuse IPv4 octets with leading zeros (§2.1:
    // "Heading zeroes are not permitted").
    let ip = if v6 {
        text.parse::<Ipv6Addr>().map(IpAddr::V6)
    } else {
        text.parse::<Ipv4Addr>().map(IpAddr::V4)
    };
    ip.map_err(|_| Invalid::V1BadAddress)
}

fn port(text: &[u8]) -> Result<u16, Invalid> {
    let leading_zero = text.len() > 1 && text[0] == b'0';
    if text.len() > 5 || leading_zero || !text.iter().all(u8::is_ascii_digit) {
        return Err(Invalid::V1BadPort);
    }
    let n = text.iter().fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'));
    u16::try_from(n).map_err(|_| Invalid::V1BadPort)
}
