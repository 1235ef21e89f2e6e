//! Address ranges in CIDR notation (RFC 4632 §3.1 for IPv4, RFC 4291 §2.3
//! for IPv6), for `--proxy-from`: which peers may send a PROXY header.
//!
//! IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2) are the
//! IPv4 address they carry, on both sides: a dual-stack listener reports an
//! IPv4 peer as `::ffff:10.0.0.5`, and that peer is inside `10.0.0.0/8`;
//! a range written `::ffff:10.0.0.0/104` is stored as `10.0.0.0/8`.
//! So `::/0` covers every IPv6 peer but no IPv4 one; trust both families with
//! `0.0.0.0/0` and `::/0` (nobody should).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// A network: the addresses whose first `prefix_len` bits equal `network`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    network: IpAddr,
    prefix_len: u8,
}

/// Why a range did not parse. The text names the mistake for the CLI error.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CidrError {
    /// The part before `/` is not an IPv4 or IPv6 address.
    BadAddress,
    /// The part after `/` is not a decimal within 0..=32 (IPv4) or 0..=128.
    BadPrefix,
    /// Bits beyond the prefix are set (`10.0.0.1/8`): likely a typo; the
    /// range meant is given.
    HostBitsSet { did_you_mean: Cidr },
}

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CidrError::BadAddress => f.write_str("not an IPv4 or IPv6 address"),
            CidrError::BadPrefix => {
                f.write_str("prefix length must be 0-32 for IPv4 and 0-128 for IPv6")
            }
            CidrError::HostBitsSet { did_you_mean } => {
                write!(f, "bits set after the prefix; did you mean {did_you_mean}?")
            }
        }
    }
}

impl std::error::Error for CidrError {}

impl Cidr {
    /// The range `network/prefix_len`, or why not (`prefix_len` too long for
    /// the family, or host bits set).
    pub fn new(network: IpAddr, prefix_len: u8) -> Result<Cidr, CidrError> {
        let (network, prefix_len) = canonical(network, prefix_len)?;
        let c = Cidr {
            network: mask(network, prefix_len),
            prefix_len,
        };
        if c.network != network {
            return Err(CidrError::HostBitsSet { did_you_mean: c });
        }
        Ok(c)
    }

    /// The first address of the range.
    pub fn network(&self) -> IpAddr {
        self.network
    }

    pub fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// Whether `ip` is in the range (an IPv4-mapped `ip` counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_ipv4() == self.network.is_ipv4() && mask(ip, self.prefix_len) == self.network
    }
}

/// Whether any range of `list` contains `ip`.
pub fn any_contains(list: &[Cidr], ip: IpAddr) -> bool {
    list.iter().any(|c| c.contains(ip))
}

/// An IPv4-mapped range becomes the IPv4 range it covers.
fn canonical(ip: IpAddr, prefix_len: u8) -> Result<(IpAddr, u8), CidrError> {
    let max = if ip.is_ipv4() { 32 } else { 128 };
    if prefix_len > max {
        return Err(CidrError::BadPrefix);
    }
    match ip {
        IpAddr::V6(v6) if prefix_len >= 96 => match v6.to_ipv4_mapped() {
            Some(v4) => Ok((IpAddr::V4(v4), prefix_len - 96)),
            None => Ok((ip, prefix_len)),
        },
        _ => Ok((ip, prefix_len)),
    }
}

fn mask(ip: IpAddr, prefix_len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = keep_prefix(u32::from(v4).into(), 32, prefix_len);
            // Only the low 32 bits can be set: the cast loses nothing.
            IpAddr::V4(Ipv4Addr::from(bits as u32))
        }
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(keep_prefix(v6.into(), 128, prefix_len))),
    }
}

/// `bits`, an address `width` bits wide, with all but its first
/// `prefix_len` bits cleared (`prefix_len` 0 clears them all).
fn keep_prefix(bits: u128, width: u32, prefix_len: u8) -> u128 {
    bits & u128::MAX
        .checked_shl(width - u32::from(prefix_len))
        .unwrap_or(0)
}

impl FromStr for Cidr {
    type Err = CidrError;

    /// `10.0.0.0/8`, `2001:db8::/32`, `::1/128`; a bare address is a
    /// one-address range (`/32` or `/128`).
    fn from_str(s: &str) -> Result<Cidr, CidrError> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let ip: IpAddr = addr.parse().map_err(|_| CidrError::BadAddress)?;
        let prefix_len = match prefix {
            None => {
                if ip.is_ipv4() {
                    32
                } else {
                    128
                }
            }
            Some(p) => {
                // Digits only: u8's parser would take "+8".
                if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(CidrError::BadPrefix);
                }
                p.parse::<u8>().map_err(|_| CidrError::BadPrefix)?
            }
        };
        Cidr::new(ip, prefix_len)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_ipv4_ipv6_and_bare_addresses() {
        assert_eq!(c("10.0.0.0/8").to_string(), "10.0.0.0/8");
        assert_eq!(c("::1/128").to_string(), "::1/128");
        assert_eq!(c("2001:db8::/32").to_string(), "2001:db8::/32");
        assert_eq!(c("192.0.2.7").to_string(), "192.0.2.7/32");
        assert_eq!(c("::1").to_string(), "::1/128");
        assert_eq!(c("0.0.0.0/0").prefix_len(), 0);
        assert_eq!(c("::/0").network(), ip("::"));
    }

    #[test]
    fn refuses_bad_text() {
        for s in [
            "",
            "/8",
            "10.0.0.0/",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/+8",
            "10.0.0.0/08a",
            "10.0.0.0/1000",
            "10.0.0/8",
            "host/8",
            "10.0.0.0/8/8",
            "fe80::1%eth0/64",
            " 10.0.0.0/8",
        ] {
            assert!(s.parse::<Cidr>().is_err(), "{s:?}");
        }
        assert_eq!("10.0.0.0/33".parse::<Cidr>(), Err(CidrError::BadPrefix));
        assert_eq!("x/8".parse::<Cidr>(), Err(CidrError::BadAddress));
    }

    #[test]
    fn host_bits_set_is_refused_with_the_range_meant() {
        let e = "10.1.2.3/8".parse::<Cidr>().unwrap_err();
        assert_eq!(
            e,
            CidrError::HostBitsSet {
                did_you_mean: c("10.0.0.0/8")
            }
        );
        assert!(e.to_string().contains("10.0.0.0/8"));
        assert!("2001:db8::1/32".parse::<Cidr>().is_err());
    }

    #[test]
    fn contains_ipv4() {
        let r = c("10.0.0.0/8");
        assert!(r.contains(ip("10.0.0.0")));
        assert!(r.contains(ip("10.255.255.255")));
        assert!(!r.contains(ip("11.0.0.0")));
        assert!(!r.contains(ip("9.255.255.255")));
        assert!(c("0.0.0.0/0").contains(ip("203.0.113.9")));
        assert!(c("192.0.2.7/32").contains(ip("192.0.2.7")));
        assert!(!c("192.0.2.7/32").contains(ip("192.0.2.6")));
        assert!(c("172.16.0.0/12").contains(ip("172.31.255.1")));
        assert!(!c("172.16.0.0/12").contains(ip("172.32.0.1")));
    }

    #[test]
    fn contains_ipv6() {
        let r = c("2001:db8::/32");
        assert!(r.contains(ip("2001:db8:ffff::1")));
        assert!(!r.contains(ip("2001:db9::1")));
        assert!(c("::1/128").contains(ip("::1")));
        assert!(!c("::1/128").contains(ip("::2")));
        assert!(c("::/0").contains(ip("2001:db8::1")));
    }

    #[test]
    fn families_never_mix() {
        assert!(!c("0.0.0.0/0").contains(ip("2001:db8::1")));
        assert!(!c("::/0").contains(ip("10.0.0.1")));
        // `::a00:1` is IPv4-compatible, not IPv4-mapped: an IPv6 address.
        assert!(!c("10.0.0.0/8").contains(ip("::a00:1")));
    }

    #[test]
    fn ipv4_mapped_peers_and_ranges_are_ipv4() {
        assert!(c("10.0.0.0/8").contains(ip("::ffff:10.1.2.3")));
        assert!(!c("10.0.0.0/8").contains(ip("::ffff:11.1.2.3")));
        assert_eq!(c("::ffff:10.0.0.0/104"), c("10.0.0.0/8"));
        assert_eq!(c("::ffff:192.0.2.7"), c("192.0.2.7/32"));
        assert!(c("::ffff:10.0.0.0/104").contains(ip("10.9.9.9")));
        // Shorter than /96 it is an IPv6 range, mapped space and more.
        assert!(c("::/64").contains(ip("::1")));
        assert!(!c("::/64").contains(ip("::ffff:10.0.0.1")));
    }

    #[test]
    fn any_contains_checks_each() {
        let list = [c("10.0.0.0/8"), c("::1/128")];
        assert!(any_contains(&list, ip("10.2.3.4")));
        assert!(any_contains(&list, ip("::1")));
        assert!(!any_contains(&list, ip("127.0.0.1")));
        assert!(!any_contains(&[], ip("10.2.3.4")));
    }
}
