//! Checking downloaded bytes: either the sha256 of the expected content or a
//! known pattern that both sides can generate from the offset alone (so a
//! generated upload set can be checked on download without a local copy).

use sha2::{Digest, Sha256};

/// The pattern repeats every 251 bytes: a prime, so it never lines up with
/// power-of-two buffer or page sizes and a shifted chunk is detected.
const PERIOD: usize = 251;

/// Byte `i` of the pattern with seed `seed`.
pub fn pattern_byte(seed: u8, i: u64) -> u8 {
    ((i % PERIOD as u64) as u8)
        .wrapping_mul(7)
        .wrapping_add(seed)
}

/// Fills `buf` with the pattern starting at file offset `offset`.
pub fn fill_pattern(seed: u8, offset: u64, buf: &mut [u8]) {
    // One period, then whole-period copies: fast enough to check GB/s.
    let mut period = [0u8; PERIOD];
    for (k, b) in period.iter_mut().enumerate() {
        *b = pattern_byte(seed, offset + k as u64);
    }
    for chunk in buf.chunks_mut(PERIOD) {
        chunk.copy_from_slice(&period[..chunk.len()]);
    }
}

/// What the downloaded content must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Its sha256 (32 bytes) and length.
    Sha256 { digest: [u8; 32], len_bytes: u64 },
    /// The pattern with this seed, of this length.
    Pattern { seed: u8, len_bytes: u64 },
}

/// The sha256 and length of a local file (read once, before the run).
pub fn sha256_file(path: &std::path::Path) -> std::io::Result<Expect> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut len_bytes = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        len_bytes += n as u64;
    }
    Ok(Expect::Sha256 {
        digest: h.finalize().into(),
        len_bytes,
    })
}

/// Parses 64 hex digits.
pub fn parse_sha256(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (k, pair) in hex.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        out[k] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

/// Checks one download as its chunks arrive.
#[derive(Debug)]
pub struct Verifier {
    expect: Expect,
    hasher: Option<Sha256>,
    seen_bytes: u64,
    /// Offset of the first wrong byte (pattern mode).
    first_bad: Option<u64>,
    /// Reference chunk of the pattern, reused.
    scratch: Vec<u8>,
}

impl Verifier {
    pub fn new(expect: Expect) -> Verifier {
        let hasher = matches!(expect, Expect::Sha256 { .. }).then(Sha256::new);
        Verifier {
            expect,
            hasher,
            seen_bytes: 0,
            first_bad: None,
            scratch: Vec::new(),
        }
    }

    /// The next chunk of the download.
    pub fn update(&mut self, chunk: &[u8]) {
        match (&self.expect, &mut self.hasher) {
            (_, Some(h)) => h.update(chunk),
            (Expect::Pattern { seed, .. }, None) if self.first_bad.is_none() => {
                let seed = *seed;
                self.scratch.resize(chunk.len(), 0);
                fill_pattern(seed, self.seen_bytes, &mut self.scratch);
                if self.scratch[..] != *chunk {
                    let k = chunk.iter().zip(&self.scratch).position(|(a, b)| a != b);
                    self.first_bad = Some(self.seen_bytes + k.unwrap_or(0) as u64);
                }
            }
            _ => {}
        }
        self.seen_bytes += chunk.len() as u64;
    }

    /// `Ok` when length and content match; else why not.
    pub fn finish(self) -> Result<(), String> {
        let want_len = match self.expect {
            Expect::Sha256 { len_bytes, .. } | Expect::Pattern { len_bytes, .. } => len_bytes,
        };
        // u64::MAX: length unknown (pattern of an unknown file, sha256 without LEN).
        if want_len != u64::MAX && self.seen_bytes != want_len {
            return Err(format!("length {} != expected {want_len}", self.seen_bytes));
        }
        if let Some(at) = self.first_bad {
            return Err(format!("pattern differs at byte {at}"));
        }
        if let (Expect::Sha256 { digest, .. }, Some(h)) = (&self.expect, self.hasher) {
            let got: [u8; 32] = h.finalize().into();
            if got != *digest {
                return Err("sha256 differs".to_string());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(expect: Expect, data: &[u8], chunk: usize) -> Result<(), String> {
        let mut v = Verifier::new(expect);
        for c in data.chunks(chunk) {
            v.update(c);
        }
        v.finish()
    }

    #[test]
    fn pattern_accepts_itself_and_finds_one_corrupted_byte() {
        let mut data = vec![0u8; 100_003];
        fill_pattern(9, 0, &mut data);
        let exp = Expect::Pattern {
            seed: 9,
            len_bytes: data.len() as u64,
        };
        for chunk in [1, 250, 251, 4096, 1 << 20] {
            assert_eq!(run(exp.clone(), &data, chunk), Ok(()), "chunk {chunk}");
        }
        data[77_777] ^= 1;
        assert_eq!(
            run(exp.clone(), &data, 4096),
            Err("pattern differs at byte 77777".into())
        );
        data[77_777] ^= 1;
        assert!(run(exp, &data[..data.len() - 1], 4096)
            .unwrap_err()
            .starts_with("length"));
    }

    #[test]
    fn sha256_finds_one_corrupted_byte() {
        let data: Vec<u8> = (0..50_000u32).map(|i| (i * 31 % 256) as u8).collect();
        let digest: [u8; 32] = Sha256::digest(&data).into();
        let exp = Expect::Sha256 {
            digest,
            len_bytes: data.len() as u64,
        };
        assert_eq!(run(exp.clone(), &data, 1000), Ok(()));
        let mut bad = data.clone();
        bad[49_999] = bad[49_999].wrapping_add(1);
        assert_eq!(run(exp, &bad, 1000), Err("sha256 differs".into()));
    }

    #[test]
    fn sha256_hex() {
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let d = parse_sha256(hex).unwrap();
        assert_eq!(d, <[u8; 32]>::from(Sha256::digest(b"")));
        assert_eq!(parse_sha256("zz"), None);
        assert_eq!(parse_sha256(&hex.replace('e', "g")), None);
    }
}
