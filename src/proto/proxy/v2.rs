//! Version 2, the binary header (spec §2.2): the 12-byte signature, a
//! version/command byte, a family/transport byte, a 16-bit big-endian length,
//! then that many bytes (addresses, then TLVs).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{Header, Invalid, Parse, V2_HEADER_BYTES_MAX, V2_SIGNATURE};

const FIXED_BYTES: usize = 16;

const CMD_LOCAL: u8 = 0x0;
const CMD_PROXY: u8 = 0x1;

const AF_UNSPEC: u8 = 0x0;
const AF_INET: u8 = 0x1;
const AF_INET6: u8 = 0x2;
const AF_UNIX: u8 = 0x3;

const TRANSPORT_UNSPEC: u8 = 0x0;
const TRANSPORT_STREAM: u8 = 0x1;
const TRANSPORT_DGRAM: u8 = 0x2;

/// Address block sizes (§2.2): two addresses and two ports.
const INET_ADDR_BYTES: usize = 2 * 4 + 2 * 2;
const INET6_ADDR_BYTES: usize = 2 * 16 + 2 * 2;

pub(super) fn parse(buf: &[u8]) -> Parse {
    let sig = &buf[..buf.len().min(V2_SIGNATURE.len())];
    if !V2_SIGNATURE.starts_with(sig) {
        return Parse::Invalid(Invalid::NotProxyProtocol);
    }
    // Judge the version/command and family/transport bytes as soon as each
    // arrives.
    if let Some(&ver_cmd) = buf.get(12) {
        if ver_cmd >> 4 != 2 {
            return Parse::Invalid(Invalid::V2BadVersion);
        }
        if !matches!(ver_cmd & 0xf, CMD_LOCAL | CMD_PROXY) {
            return Parse::Invalid(Invalid::V2BadCommand);
        }
    }
    if let Some(&fam) = buf.get(13) {
        if fam >> 4 > AF_UNIX {
            return Parse::Invalid(Invalid::V2BadFamily);
        }
        if fam & 0xf > TRANSPORT_DGRAM {
            return Parse::Invalid(Invalid::V2BadTransport);
        }
    }
    let Some(len) = buf.get(14..FIXED_BYTES) else {
        return Parse::NeedMore;
    };
    let total = FIXED_BYTES + usize::from(u16::from_be_bytes([len[0], len[1]]));
    if total > V2_HEADER_BYTES_MAX {
        return Parse::Invalid(Invalid::V2TooLong);
    }
    let Some(header) = buf.get(..total) else {
        return Parse::NeedMore;
    };
    match decode(header[12] & 0xf, header[13], &header[FIXED_BYTES..]) {
        Ok(header) => Parse::Done {
            header,
            consumed: total,
        },
        Err(e) => Parse::Invalid(e),
    }
}

/// The command, the family/transport byte and the bytes after the fixed
/// part (addresses, then TLVs, which are ignored).
fn decode(cmd: u8, fam: u8, block: &[u8]) -> Result<Header, Invalid> {
    if cmd == CMD_LOCAL {
        // §2.2: "must use the real connection endpoints and discard the
        // protocol block including the family which is ignored".
        return Ok(Header::Local);
    }
    match (fam >> 4, fam & 0xf) {
        (AF_INET, TRANSPORT_STREAM) => {
            let a = block
                .get(..INET_ADDR_BYTES)
                .ok_or(Invalid::V2AddressTooShort)?;
            let ip = |o: usize| Ipv4Addr::new(a[o], a[o + 1], a[o + 2], a[o + 3]);
            Ok(proxied(ip(0).into(), ip(4).into(), &a[8..12]))
        }
        (AF_INET6, TRANSPORT_STREAM) => {
            let a = block
                .get(..INET6_ADDR_BYTES)
                .ok_or(Invalid::V2AddressTooShort)?;
            let ip = |o: usize| {
                let mut octets = [0u8; 16];
                octets.copy_from_slice(&a[o..o + 16]);
                Ipv6Addr::from(octets)
            };
            Ok(proxied(ip(0).into(), ip(16).into(), &a[32..36]))
        }
        // Valid combinations this server does not serve (UNSPEC, AF_UNIX,
        // UDP): §2.2 asks a receiver to fall back to UNSPEC mode, that is,
        // to use the real endpoints.
        (
            AF_UNSPEC | AF_INET | AF_INET6 | AF_UNIX,
            TRANSPORT_UNSPEC | TRANSPORT_STREAM | TRANSPORT_DGRAM,
        ) => Ok(Header::Local),
        // `parse` refused unassigned nibbles already.
        (_, t) if t > TRANSPORT_DGRAM => Err(Invalid::V2BadTransport),
        _ => Err(Invalid::V2BadFamily),
    }
}

fn proxied(src: std::net::IpAddr, dst: std::net::IpAddr, ports: &[u8]) -> Header {
    Header::Proxied {
        source: SocketAddr::new(src, u16::from_be_bytes([ports[0], ports[1]])),
        destination: SocketAddr::new(dst, u16::from_be_bytes([ports[2], ports[3]])),
    }
}
