//! Test data (deterministic, position-dependent bytes) and sha256 helpers.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

/// Deterministic, position-dependent bytes: a reordered, dropped or repeated
/// block changes the hash.
pub fn pattern(size: u64, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(size as usize);
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while (out.len() as u64) < size {
        // xorshift64
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let take = ((size - out.len() as u64) as usize).min(8);
        out.extend_from_slice(&x.to_le_bytes()[..take]);
    }
    out
}

/// Writes `size` bytes of [`pattern`] to `path`; returns their sha256 (hex).
pub fn write_pattern_file(path: &Path, size: u64, seed: u64) -> String {
    sha256_hex(&write_random(path, size as usize, seed))
}

/// Writes `len` bytes of [`pattern`] to `p`; returns them.
pub fn write_random(p: &Path, len: usize, seed: u64) -> Vec<u8> {
    let data = pattern(len as u64, seed);
    fs::write(p, &data).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
    data
}

/// Writes a big file in 1 MiB blocks: one pseudo-random block, each copy
/// stamped with its block number so blocks differ. Returns the sha256 (hex).
pub fn write_big_file(path: &Path, size: u64) -> String {
    const BLOCK: usize = 1 << 20;
    let base = pattern(BLOCK as u64, 7);
    let mut block = base.clone();
    let mut file = std::io::BufWriter::with_capacity(BLOCK, fs::File::create(path).unwrap());
    let mut hasher = Sha256::new();
    let mut written = 0u64;
    let mut index = 0u64;
    while written < size {
        block[..8].copy_from_slice(&index.to_le_bytes());
        block[BLOCK - 8..].copy_from_slice(&(!index).to_le_bytes());
        let n = ((size - written) as usize).min(BLOCK);
        file.write_all(&block[..n]).unwrap();
        hasher.update(&block[..n]);
        written += n as u64;
        index += 1;
    }
    file.flush().unwrap();
    hex(&hasher.finalize())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// sha256 (hex) of everything `r` yields, and how many bytes that was.
pub fn sha256_reader(mut r: impl Read) -> std::io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok((hex(&hasher.finalize()), total));
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
}

pub fn sha256_file(path: &Path) -> String {
    let f = fs::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    sha256_reader(f).expect("read file").0
}
