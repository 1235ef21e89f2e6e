//! Data-connection addresses: PORT and PASV (RFC 959 §4.1.2, §4.2),
//! EPRT and EPSV (RFC 2428 §2, §3).

use std::net::{Ipv4Addr, SocketAddr};

/// Decodes a PORT argument `h1,h2,h3,h4,p1,p2` (spaces around numbers allowed,
/// each number 0..=255). `None` when malformed.
pub fn parse_port(arg: &str) -> Option<SocketAddr> {
    let _ = arg;
    todo!()
}

/// Decodes an EPRT argument `<d>proto<d>addr<d>port<d>` where `<d>` is any
/// printable ASCII character other than a digit (RFC 2428 §2): proto 1 needs
/// an IPv4 address, 2 an IPv6 one; port 1..=65535. `None` when malformed or
/// when the protocol is unknown (the session answers 522 for protocol 3+:
/// use [`eprt_protocol`] to tell).
pub fn parse_eprt(arg: &str) -> Option<SocketAddr> {
    let _ = arg;
    todo!()
}

/// The protocol number of an EPRT argument, if it has a well-formed one.
pub fn eprt_protocol(arg: &str) -> Option<u16> {
    let _ = arg;
    todo!()
}

/// The 227 text: `Entering Passive Mode (h1,h2,h3,h4,p1,p2).`
pub fn format_pasv(ip: Ipv4Addr, port: u16) -> String {
    let _ = (ip, port);
    todo!()
}

/// The 229 text: `Entering Extended Passive Mode (|||port|)`.
pub fn format_epsv(port: u16) -> String {
    let _ = port;
    todo!()
}
