//! File hash algorithms for HASH and its X-aliases (draft-bryan-ftpext-hash-02,
//! §3–§4): their names on the wire and in FEAT. The hashing itself runs in the
//! server's helper pool; this module only names things.

/// A hash algorithm a client may select with `OPTS HASH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HashAlgo {
    /// SHA-256 (the default, draft-bryan-ftpext-hash-02 §4).
    #[default]
    Sha256,
    Sha1,
    Md5,
    /// CRC-32 (IEEE 802.3), as XCRC reports it: 8 hex digits.
    Crc32,
}

impl HashAlgo {
    /// Every algorithm, in the order FEAT lists them.
    pub const ALL: [HashAlgo; 4] = [
        HashAlgo::Sha256,
        HashAlgo::Sha1,
        HashAlgo::Md5,
        HashAlgo::Crc32,
    ];

    /// The IANA-style name used in replies (`SHA-256`, `SHA-1`, `MD5`, `CRC32`).
    pub fn name(self) -> &'static str {
        match self {
            HashAlgo::Sha256 => "SHA-256",
            HashAlgo::Sha1 => "SHA-1",
            HashAlgo::Md5 => "MD5",
            HashAlgo::Crc32 => "CRC32",
        }
    }

    /// Parses a name as sent in `OPTS HASH` (case-insensitive; `SHA256`,
    /// `SHA1` and `CRC-32` are accepted too).
    pub fn parse(s: &str) -> Option<HashAlgo> {
        let up = s.to_ascii_uppercase();
        Some(match up.as_str() {
            "SHA-256" | "SHA256" => HashAlgo::Sha256,
            "SHA-1" | "SHA1" => HashAlgo::Sha1,
            "MD5" => HashAlgo::Md5,
            "CRC32" | "CRC-32" => HashAlgo::Crc32,
            _ => return None,
        })
    }

    /// The FEAT line: `HASH SHA-256*;SHA-1;MD5;CRC32`, the selected one
    /// marked with `*` (draft-bryan-ftpext-hash-02 §3.1).
    pub fn feat_line(selected: HashAlgo) -> String {
        let names: Vec<String> = HashAlgo::ALL
            .iter()
            .map(|a| {
                if *a == selected {
                    format!("{}*", a.name())
                } else {
                    a.name().to_string()
                }
            })
            .collect();
        format!("HASH {}", names.join(";"))
    }
}

/// Lower-case hexadecimal of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_feat_marks_the_selected() {
        for a in HashAlgo::ALL {
            assert_eq!(HashAlgo::parse(a.name()), Some(a));
        }
        assert_eq!(HashAlgo::parse("sha256"), Some(HashAlgo::Sha256));
        assert_eq!(HashAlgo::parse("SHA-512"), None);
        assert_eq!(
            HashAlgo::feat_line(HashAlgo::Md5),
            "HASH SHA-256;SHA-1;MD5*;CRC32"
        );
        assert_eq!(to_hex(&[0x00, 0xab, 0xff]), "00abff");
    }
}
