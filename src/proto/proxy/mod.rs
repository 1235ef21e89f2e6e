//! The PROXY protocol (HAProxy's `proxy-protocol.txt`, versions 1 and 2):
//! the header a load balancer sends before any byte of the proxied
//! connection, naming the client's real address. Pure: bytes in, addresses
//! out.
//!
//! The worker runs this before the greeting on a listener configured for it
//! (the spec, §2: "The receiver MUST NOT start processing the connection
//! before it receives a complete and valid PROXY protocol header ... This is
//! particularly important for protocols where the receiver is expected to
//! speak first (eg: SMTP, FTP or SSH)"), and the session is then built with
//! the proxied source address, never the balancer's.
//!
//! - [`parse`] looks at everything received so far and says [`Parse::NeedMore`],
//!   [`Parse::Done`] or [`Parse::Invalid`] (stateless; the caller keeps the bytes).
//! - [`Decoder`] keeps the bytes itself across receives (at most
//!   [`V2_HEADER_BYTES_MAX`]) and reports how many of the *latest* receive the
//!   header used, so the caller hands the rest to the session.
//!
//! Bounds: a v1 line is at most [`V1_HEADER_BYTES_MAX`] bytes including its
//! CRLF (spec §2.1); a v2 header is 16 bytes plus its length field, and one
//! longer than [`V2_HEADER_BYTES_MAX`] is refused rather than buffered.
//! Garbage is refused as soon as a byte shows it cannot be a header (the spec
//! asks to "abort the connection as soon as possible").
//!
//! What maps to [`Header::Local`] (use the real connection's addresses):
//! - v1 `UNKNOWN` (spec §2.1: "SHOULD accept the connection and use the real
//!   connection's parameters");
//! - v2 `LOCAL` (a health check from the balancer itself, §2.2);
//! - v2 `PROXY` with a family or transport this server does not serve:
//!   `AF_UNSPEC`, `AF_UNIX`, `UNSPEC` transport, or UDP. §2.2 lets a receiver
//!   support only some of the valid combinations "provided that it
//!   automatically falls back to the UNSPEC mode for the valid combinations
//!   above that it does not support". A nibble outside the assigned values is
//!   [`Invalid`], as §2.2 requires.
//!
//! TLVs after the v2 address block are skipped, never interpreted.
#![forbid(unsafe_code)]

mod v1;
mod v2;

#[cfg(test)]
mod tests;

use std::net::SocketAddr;

/// Longest v1 header, CRLF included (spec §2.1, the `UNKNOWN` worst case).
pub const V1_HEADER_BYTES_MAX: usize = 107;

/// Longest v2 header accepted: the 16 fixed bytes, the address block (216
/// bytes at most, for AF_UNIX) and room for the TLVs balancers send (ALPN,
/// authority, unique id up to 128 bytes, SSL details, CRC32C). The length
/// field could announce 65535 bytes; nobody legitimate sends that many.
pub const V2_HEADER_BYTES_MAX: usize = 4096;

/// The v2 signature (spec §2.2), the first 12 bytes of every v2 header.
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

/// What a complete header says about the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    /// Relayed on behalf of a client: `source` is the client, `destination`
    /// the address it connected to (on the balancer).
    Proxied {
        source: SocketAddr,
        destination: SocketAddr,
    },
    /// No address to take: use the real connection's endpoints.
    Local,
}

/// The verdict on the bytes seen so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parse {
    /// Valid so far, but incomplete: receive more and ask again.
    NeedMore,
    /// A complete, valid header of `consumed` bytes; anything after it
    /// belongs to the proxied protocol.
    Done { header: Header, consumed: usize },
    /// Not a valid header; close the connection.
    Invalid(Invalid),
}

/// Why the bytes are not a PROXY header. Each is final: more bytes will not
/// make them valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Invalid {
    /// The first bytes are neither `PROXY ` nor the v2 signature (a client
    /// that connected directly, or a balancer not configured to send it).
    NotProxyProtocol,
    /// No CRLF within the first [`V1_HEADER_BYTES_MAX`] bytes.
    V1TooLong,
    /// A CR or LF alone, or a byte that is not printable US-ASCII.
    V1BadCharacter,
    /// The protocol is not `TCP4`, `TCP6` or `UNKNOWN`.
    V1BadProtocol,
    /// Not exactly four fields after the protocol, or not one space apart.
    V1BadFields,
    /// An address that is not of the family the protocol names, or not in
    /// canonical form (leading zeros in IPv4, …).
    V1BadAddress,
    /// A port that is not a decimal in 0..=65535 without leading zeros.
    V1BadPort,
    /// The version nibble is not 2.
    V2BadVersion,
    /// The command nibble is neither LOCAL (0) nor PROXY (1).
    V2BadCommand,
    /// The family nibble is not one of the four assigned (0..=3).
    V2BadFamily,
    /// The transport nibble is not one of the three assigned (0..=2).
    V2BadTransport,
    /// The length field announces more than [`V2_HEADER_BYTES_MAX`] in all.
    V2TooLong,
    /// The length field is shorter than the address block of the family.
    V2AddressTooShort,
}

impl Invalid {
    /// A short, fixed description for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Invalid::NotProxyProtocol => "not a PROXY protocol header",
            Invalid::V1TooLong => "v1 header without CRLF in 107 bytes",
            Invalid::V1BadCharacter => "v1 header with a stray CR, LF or non-ASCII byte",
            Invalid::V1BadProtocol => "v1 protocol not TCP4, TCP6 or UNKNOWN",
            Invalid::V1BadFields => "v1 header without exactly four space-separated fields",
            Invalid::V1BadAddress => "v1 address not canonical or of the wrong family",
            Invalid::V1BadPort => "v1 port not a decimal in 0..=65535",
            Invalid::V2BadVersion => "v2 version not 2",
            Invalid::V2BadCommand => "v2 command not LOCAL or PROXY",
            Invalid::V2BadFamily => "v2 address family unassigned",
            Invalid::V2BadTransport => "v2 transport unassigned",
            Invalid::V2TooLong => "v2 header longer than the limit",
            Invalid::V2AddressTooShort => "v2 length shorter than its address block",
        }
    }
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Judges `buf`, everything received on the connection so far.
///
/// `NeedMore` is only returned while `buf` is a valid prefix of some header
/// and shorter than the longest allowed, so a caller that keeps appending
/// stops after at most [`V2_HEADER_BYTES_MAX`] bytes.
pub fn parse(buf: &[u8]) -> Parse {
    match buf.first() {
        None => Parse::NeedMore,
        Some(b'P') => v1::parse(buf),
        Some(b'\r') => v2::parse(buf),
        Some(_) => Parse::Invalid(Invalid::NotProxyProtocol),
    }
}

/// [`parse`] over several receives, keeping the partial header itself.
///
/// Feed each receive to [`Decoder::feed`]; on `Done { consumed, .. }`,
/// `consumed` counts bytes of *that* receive, so `input[consumed..]` is the
/// start of the proxied stream. After `Done` or `Invalid` the decoder is
/// finished and further feeds return the same verdict's kind
/// (`Invalid(NotProxyProtocol)` after Done, to catch a caller bug loudly).
#[derive(Debug, Default)]
pub struct Decoder {
    /// Bytes of earlier receives (empty while the header came in one piece).
    held: Vec<u8>,
    finished: Option<Parse>,
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Adds one receive and judges all bytes so far.
    pub fn feed(&mut self, input: &[u8]) -> Parse {
        if let Some(done) = self.finished {
            return match done {
                Parse::Invalid(e) => Parse::Invalid(e),
                _ => Parse::Invalid(Invalid::NotProxyProtocol),
            };
        }
        let verdict = if self.held.is_empty() {
            // The usual case: the whole header in the first receive, no copy.
            let v = parse(input);
            if v == Parse::NeedMore {
                self.held.extend_from_slice(input);
            }
            v
        } else {
            let before = self.held.len();
            // Never hold more than the longest header: `parse` decides
            // within that many bytes, so the rest cannot change the verdict.
            let room = V2_HEADER_BYTES_MAX.saturating_sub(before);
            self.held.extend_from_slice(&input[..input.len().min(room)]);
            match parse(&self.held) {
                // The held bytes were a strict prefix (they got NeedMore), so
                // the header ends inside this receive: `consumed > before`.
                Parse::Done { header, consumed } => Parse::Done {
                    header,
                    consumed: consumed.saturating_sub(before),
                },
                other => other,
            }
        };
        if verdict != Parse::NeedMore {
            self.finished = Some(verdict);
            self.held = Vec::new();
        }
        verdict
    }

    /// Bytes held from earlier receives (for a caller's own accounting).
    pub fn held_bytes(&self) -> usize {
        self.held.len()
    }
}
