//! Data-connection addresses: PORT and PASV (RFC 959 §4.1.2, §4.2),
//! EPRT and EPSV (RFC 2428 §2, §3).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Parses an all-digit decimal field of at most `max_digits` digits.
fn parse_decimal(s: &str, max_digits: usize) -> Option<u32> {
    if s.is_empty() || s.len() > max_digits || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Decodes a PORT argument `h1,h2,h3,h4,p1,p2` (spaces around numbers allowed,
/// each number 0..=255). `None` when malformed.
pub fn parse_port(arg: &str) -> Option<SocketAddr> {
    // RFC 959 §4.1.2: host-port ::= host-number "," port-number, six decimal bytes.
    let mut bytes = [0u8; 6];
    let mut fields = arg.split(',');
    for slot in &mut bytes {
        let field = fields.next()?.trim_matches(' ');
        let value = parse_decimal(field, 3)?;
        *slot = u8::try_from(value).ok()?;
    }
    if fields.next().is_some() {
        return None;
    }
    let [a, b, c, d, p1, p2] = bytes;
    let ip = Ipv4Addr::new(a, b, c, d);
    let port = u16::from_be_bytes([p1, p2]);
    Some(SocketAddr::new(IpAddr::V4(ip), port))
}

/// The fields of `<d>proto<d>addr<d>port<d>`, or `None` when the shape is wrong.
fn split_eprt(arg: &str) -> Option<(&str, &str, &str)> {
    // RFC 2428 §2: the delimiter is any char in ASCII 33..126 except digits.
    let delim = *arg.as_bytes().first()?;
    if !(33..=126).contains(&delim) || delim.is_ascii_digit() {
        return None;
    }
    let delim = char::from(delim);
    let mut fields = arg.split(delim);
    let lead = fields.next()?;
    let proto = fields.next()?;
    let addr = fields.next()?;
    let port = fields.next()?;
    let tail = fields.next()?;
    if !lead.is_empty() || !tail.is_empty() || fields.next().is_some() {
        return None;
    }
    Some((proto, addr, port))
}

/// Decodes an EPRT argument `<d>proto<d>addr<d>port<d>` where `<d>` is any
/// printable ASCII character other than a digit (RFC 2428 §2): proto 1 needs
/// an IPv4 address, 2 an IPv6 one; port 1..=65535. `None` when malformed or
/// when the protocol is unknown (the session answers 522 for protocol 3+:
/// use [`eprt_protocol`] to tell).
///
/// An IPv4-mapped IPv6 address under protocol 2 is refused (`None`): the
/// client must use protocol 1 for an IPv4 peer.
pub fn parse_eprt(arg: &str) -> Option<SocketAddr> {
    let (proto, addr, port) = split_eprt(arg)?;
    let port = u16::try_from(parse_decimal(port, 5)?).ok()?;
    if port == 0 {
        return None;
    }
    let ip = match parse_decimal(proto, 5)? {
        1 => IpAddr::V4(addr.parse::<Ipv4Addr>().ok()?),
        2 => {
            let v6 = addr.parse::<Ipv6Addr>().ok()?;
            if v6.to_ipv4_mapped().is_some() {
                return None;
            }
            IpAddr::V6(v6)
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// The protocol number of an EPRT argument, if it has a well-formed one.
pub fn eprt_protocol(arg: &str) -> Option<u16> {
    let (proto, _, _) = split_eprt(arg)?;
    u16::try_from(parse_decimal(proto, 5)?).ok()
}

/// The 227 text: `Entering Passive Mode (h1,h2,h3,h4,p1,p2).`
pub fn format_pasv(ip: Ipv4Addr, port: u16) -> String {
    // RFC 959 §4.1.2 (PASV) and the 227 reply of §4.2.
    let [a, b, c, d] = ip.octets();
    let [p1, p2] = port.to_be_bytes();
    format!("Entering Passive Mode ({a},{b},{c},{d},{p1},{p2}).")
}

/// The 229 text: `Entering Extended Passive Mode (|||port|)`.
pub fn format_epsv(port: u16) -> String {
    // RFC 2428 §3: the 229 reply carries only the port, delimiter '|'.
    format!("Entering Extended Passive Mode (|||{port}|)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: [u8; 4], port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::from(a)), port)
    }

    #[test]
    fn port_valid() {
        // RFC 959 §4.1.2: PORT h1,h2,h3,h4,p1,p2.
        assert_eq!(
            parse_port("127,0,0,1,195,80"),
            Some(v4([127, 0, 0, 1], 50000))
        );
        assert_eq!(
            parse_port(" 10 , 0,0 ,2,0,21 "),
            Some(v4([10, 0, 0, 2], 21))
        );
        assert_eq!(parse_port("0,0,0,0,0,0"), Some(v4([0, 0, 0, 0], 0)));
        assert_eq!(
            parse_port("255,255,255,255,255,255"),
            Some(v4([255; 4], 65535))
        );
        assert_eq!(
            parse_port("001,002,003,004,000,021"),
            Some(v4([1, 2, 3, 4], 21))
        );
    }

    #[test]
    fn port_malformed() {
        // RFC 959 §4.1.2: each field is one byte in decimal.
        for bad in [
            "",
            "256,0,0,1,0,21",
            "1,2,3,4,5,256",
            "1,2,3,4,5",
            "1,2,3,4,5,6,7",
            "1,2,3,4,5,",
            "1,2,,4,5,6",
            "a,2,3,4,5,6",
            "1,2,3,4,5,-6",
            "1,2,3,4,5,+6",
            "1,2,3,4,5,0006",
            "99999999999999999999,0,0,0,0,0",
            "1.2.3.4,5,6",
            "1,2,3,4,5,6\t",
        ] {
            assert_eq!(parse_port(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn eprt_valid() {
        // RFC 2428 §2: EPRT |1|132.235.1.2|6275| and |2|1080::8:800:200C:417A|5282|.
        assert_eq!(
            parse_eprt("|1|132.235.1.2|6275|"),
            Some(v4([132, 235, 1, 2], 6275))
        );
        let v6: Ipv6Addr = "1080::8:800:200C:417A".parse().unwrap();
        assert_eq!(
            parse_eprt("|2|1080::8:800:200C:417A|5282|"),
            Some(SocketAddr::new(IpAddr::V6(v6), 5282))
        );
        assert_eq!(
            parse_eprt("!1!10.0.0.1!65535!"),
            Some(v4([10, 0, 0, 1], 65535))
        );
        assert_eq!(parse_eprt("~1~10.0.0.1~1~"), Some(v4([10, 0, 0, 1], 1)));
    }

    #[test]
    fn eprt_malformed() {
        // RFC 2428 §2: delimiter printable non-digit; net-prt 1 (IPv4) or 2 (IPv6).
        for bad in [
            "",
            "|",
            "|1|10.0.0.1|21",
            "|1|10.0.0.1|21||",
            "1|1|10.0.0.1|21|",
            " |1|10.0.0.1|21| ",
            "|1|10.0.0.1|0|",
            "|1|10.0.0.1|65536|",
            "|1|10.0.0.1|-1|",
            "|1|::1|21|",
            "|2|10.0.0.1|21|",
            "|2|[::1]|21|",
            "|2|::ffff:10.0.0.1|21|",
            "|3|10.0.0.1|21|",
            "|0|10.0.0.1|21|",
            "||10.0.0.1|21|",
            "|1||21|",
            "|1|10.0.0.256|21|",
            "\u{7f}1\u{7f}10.0.0.1\u{7f}21\u{7f}",
            "é1é10.0.0.1é21é",
        ] {
            assert_eq!(parse_eprt(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn eprt_protocol_number() {
        // RFC 2428 §2: unknown protocol gets 522, so the number must be recoverable.
        assert_eq!(eprt_protocol("|3|whatever|21|"), Some(3));
        assert_eq!(eprt_protocol("|1|10.0.0.1|21|"), Some(1));
        assert_eq!(eprt_protocol("|x|10.0.0.1|21|"), None);
        assert_eq!(eprt_protocol("|99999999|a|1|"), None);
        assert_eq!(eprt_protocol("|3|a|1"), None);
    }

    #[test]
    fn pasv_epsv_text() {
        // RFC 959 §4.2 (227) and RFC 2428 §3 (229).
        assert_eq!(
            format_pasv(Ipv4Addr::new(127, 0, 0, 1), 50000),
            "Entering Passive Mode (127,0,0,1,195,80)."
        );
        assert_eq!(
            format_epsv(50000),
            "Entering Extended Passive Mode (|||50000|)"
        );
        let text = format_pasv(Ipv4Addr::new(192, 168, 1, 9), 1);
        let inner = text.split('(').nth(1).unwrap().trim_end_matches(").");
        assert_eq!(parse_port(inner), Some(v4([192, 168, 1, 9], 1)));
    }
}
