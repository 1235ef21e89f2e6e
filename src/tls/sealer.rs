//! TLS application-data records sealed here, for a connection that only
//! sends after its handshake (a download under PROT P).
//!
//! rustls' buffered connection copies the plaintext into a fresh `Vec` per
//! record, encrypts it there, and `write_tls` copies every record again into
//! the caller's buffer. A [`RecordSealer`] is built from the transmit secret
//! rustls hands over after the handshake (`dangerous_extract_secrets`, the
//! step a kTLS set-up takes) and writes each record straight into the
//! caller's reused buffer: header, plaintext copied into place (the one copy
//! encryption needs), sealed in place, tag appended. Records are full size
//! (16 KiB of plaintext, the last one shorter).
//!
//! Framing (the AEAD suites rustls' ring provider offers):
//!
//! - TLS 1.3 (RFC 8446 §5.2): outer type application_data, version 0x0303;
//!   the real content type is appended to the plaintext before sealing;
//!   AAD = the 5-byte record header; nonce = iv XOR seq (§5.3).
//! - TLS 1.2 AES-GCM (RFC 5288 §3): an 8-byte explicit nonce after the
//!   header; AAD = seq ‖ type ‖ version ‖ plaintext length (RFC 5246
//!   §6.2.3.3). rustls makes the explicit part iv\[4..\] XOR seq, so the
//!   nonce is iv XOR seq as for the others, and the explicit nonce on the
//!   wire is its last 8 bytes (rustls `crypto/ring/tls12.rs`, `gcm_iv` and
//!   `GcmMessageEncrypter`, whose key block iv the extracted `Iv` is).
//! - TLS 1.2 ChaCha20-Poly1305 (RFC 7905 §2): no explicit nonce; nonce =
//!   iv XOR seq; the same AAD as GCM.
//!
//! kTLS would take the same extracted secret and sequence number through
//! `setsockopt(SOL_TLS, TLS_TX)`; this sealer is the user-space stand-in.

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey, NONCE_LEN};
use rustls::{ConnectionTrafficSecrets, ProtocolVersion};

/// Most plaintext in one record (RFC 8446 §5.1, RFC 5246 §6.2.1: 2^14).
pub const RECORD_PLAIN_MAX_BYTES: usize = 16 * 1024;

const HEADER_LEN: usize = 5;
const TAG_LEN: usize = 16;
/// TLS 1.2 AES-GCM's explicit nonce (RFC 5288 §3).
const EXPLICIT_NONCE_LEN: usize = 8;
const CONTENT_ALERT: u8 = 0x15;
const CONTENT_APPLICATION_DATA: u8 = 0x17;
/// The record version every record carries (TLS 1.3's legacy_record_version).
const RECORD_VERSION: [u8; 2] = [0x03, 0x03];
/// Sequence numbers stop here, where rustls' own do (`SEQ_SOFT_LIMIT`): a
/// nonce is never reused, and there is no wrap to think about.
const SEQ_MAX: u64 = 0xffff_ffff_ffff_0000;

/// Why a record could not be sealed: the connection can send no more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SealError {
    /// The sequence number reached its limit (2^64 - 2^16 records; the
    /// sealer cannot update keys, so the connection must end).
    SequenceExhausted,
    /// ring refused to seal (only for inputs beyond its limits, which
    /// records of at most 16 KiB never reach).
    Crypto,
}

/// How records are framed and their nonce and AAD made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Tls13,
    Tls12Gcm,
    Tls12Chacha,
}

/// Seals application data and close_notify for one direction of one
/// connection, from the secret and sequence number rustls handed over.
pub struct RecordSealer {
    key: LessSafeKey,
    iv: [u8; NONCE_LEN],
    /// The next record's sequence number.
    seq: u64,
    framing: Framing,
}

impl std::fmt::Debug for RecordSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key or iv.
        f.debug_struct("RecordSealer")
            .field("framing", &self.framing)
            .field("seq", &self.seq)
            .finish()
    }
}

impl RecordSealer {
    /// A sealer for `version` from an extracted transmit secret, whose next
    /// record has sequence number `seq`. `None` for a version or AEAD it
    /// does not know (the caller keeps rustls then, if it still can).
    pub fn new(
        version: ProtocolVersion,
        seq: u64,
        secrets: &ConnectionTrafficSecrets,
    ) -> Option<RecordSealer> {
        let (alg, key, iv, chacha) = match secrets {
            ConnectionTrafficSecrets::Aes128Gcm { key, iv } => (&aead::AES_128_GCM, key, iv, false),
            ConnectionTrafficSecrets::Aes256Gcm { key, iv } => (&aead::AES_256_GCM, key, iv, false),
            ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv } => {
                (&aead::CHACHA20_POLY1305, key, iv, true)
            }
            _ => return None,
        };
        let framing = match (version, chacha) {
            (ProtocolVersion::TLSv1_3, _) => Framing::Tls13,
            (ProtocolVersion::TLSv1_2, false) => Framing::Tls12Gcm,
            (ProtocolVersion::TLSv1_2, true) => Framing::Tls12Chacha,
            _ => return None,
        };
        let key = LessSafeKey::new(UnboundKey::new(alg, key.as_ref()).ok()?);
        let iv: [u8; NONCE_LEN] = iv.as_ref().try_into().ok()?;
        Some(RecordSealer {
            key,
            iv,
            seq,
            framing,
        })
    }

    /// The bytes `plain_len` bytes of plaintext take once sealed.
    pub fn sealed_len(&self, plain_len: usize) -> usize {
        let records = plain_len.div_ceil(RECORD_PLAIN_MAX_BYTES);
        plain_len + records * self.overhead()
    }

    /// Bytes each record adds to its plaintext.
    fn overhead(&self) -> usize {
        HEADER_LEN
            + TAG_LEN
            + match self.framing {
                Framing::Tls13 => 1,
                Framing::Tls12Gcm => EXPLICIT_NONCE_LEN,
                Framing::Tls12Chacha => 0,
            }
    }

    /// Appends `plain` to `out` as application-data records of 16 KiB of
    /// plaintext each (the last one shorter; none for an empty `plain`).
    /// `out` grows once by the exact amount, so a buffer that is reused
    /// allocates nothing once warm. On an error `out` is as it was.
    pub fn seal(&mut self, plain: &[u8], out: &mut Vec<u8>) -> Result<(), SealError> {
        let start = out.len();
        out.reserve(self.sealed_len(plain.len()));
        for chunk in plain.chunks(RECORD_PLAIN_MAX_BYTES) {
            if let Err(e) = self.seal_record(CONTENT_APPLICATION_DATA, chunk, out) {
                out.truncate(start);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Appends the close_notify alert (RFC 8446 §6.1: level warning,
    /// description close_notify), sealed.
    pub fn close_notify(&mut self, out: &mut Vec<u8>) -> Result<(), SealError> {
        self.seal_record(CONTENT_ALERT, &[1, 0], out)
    }

    /// One record of `typ` carrying `chunk` (at most 16 KiB).
    fn seal_record(&mut self, typ: u8, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), SealError> {
        if self.seq >= SEQ_MAX {
            return Err(SealError::SequenceExhausted);
        }
        let start = out.len();
        let payload_len = chunk.len() + self.overhead() - HEADER_LEN;
        let outer = match self.framing {
            Framing::Tls13 => CONTENT_APPLICATION_DATA,
            Framing::Tls12Gcm | Framing::Tls12Chacha => typ,
        };
        // A record is at most 2^14 + 256 bytes, so the length fits 16 bits.
        let [len_hi, len_lo] = (payload_len as u16).to_be_bytes();
        let header = [outer, RECORD_VERSION[0], RECORD_VERSION[1], len_hi, len_lo];
        out.extend_from_slice(&header);
        let nonce = self.nonce();
        if self.framing == Framing::Tls12Gcm {
            out.extend_from_slice(&nonce[NONCE_LEN - EXPLICIT_NONCE_LEN..]);
        }
        let body = out.len();
        out.extend_from_slice(chunk);
        let mut aad = [0u8; 13];
        let aad_len = match self.framing {
            Framing::Tls13 => {
                // RFC 8446 §5.2: TLSInnerPlaintext = content ‖ type.
                out.push(typ);
                aad[..HEADER_LEN].copy_from_slice(&header);
                HEADER_LEN
            }
            Framing::Tls12Gcm | Framing::Tls12Chacha => {
                aad[..8].copy_from_slice(&self.seq.to_be_bytes());
                aad[8] = typ;
                aad[9..11].copy_from_slice(&RECORD_VERSION);
                aad[11..13].copy_from_slice(&(chunk.len() as u16).to_be_bytes());
                13
            }
        };
        let sealed = self.key.seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&aad[..aad_len]),
            &mut out[body..],
        );
        match sealed {
            Ok(tag) => {
                out.extend_from_slice(tag.as_ref());
                self.seq += 1;
                Ok(())
            }
            Err(_) => {
                out.truncate(start);
                Err(SealError::Crypto)
            }
        }
    }

    /// iv XOR the sequence number (big-endian, in the last 8 bytes).
    fn nonce(&self) -> [u8; NONCE_LEN] {
        let mut n = self.iv;
        for (b, s) in n[NONCE_LEN - 8..].iter_mut().zip(self.seq.to_be_bytes()) {
            *b ^= s;
        }
        n
    }
}

#[cfg(test)]
impl RecordSealer {
    /// Tests: the next sequence number.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Tests: jumps to sequence number `seq`.
    pub fn set_seq(&mut self, seq: u64) {
        self.seq = seq;
    }
}
