//! Op tokens: one u64 that says which owner an op's completion is for.
//! Layout: bits 0–7 a purpose byte chosen by the caller, 8–31 a 24-bit
//! generation, 32–63 a slab index. The generation makes a completion for a
//! closed owner whose slot was reused recognisable, so it never reaches the
//! new owner. The engine gives the bits no meaning; the server and the load
//! generator each name their purposes.
#![forbid(unsafe_code)]

use super::types::Token;

/// The generation bits a token carries.
pub const GEN_MASK: u32 = 0x00ff_ffff;

/// Packs a token. `index` must fit in 32 bits (slab indices do: they are
/// bounded by limits far below 2^32); higher bits would be lost.
pub fn pack(purpose: u8, index: usize, gen: u32) -> Token {
    debug_assert!(u32::try_from(index).is_ok(), "token index {index} > u32");
    ((index as u64) << 32) | (u64::from(gen & GEN_MASK) << 8) | u64::from(purpose)
}

/// Unpacks a token into (purpose, index, generation).
pub fn unpack(t: Token) -> (u8, usize, u32) {
    (
        (t & 0xff) as u8,
        (t >> 32) as usize,
        ((t >> 8) as u32) & GEN_MASK,
    )
}

/// Masks a generation counter to the bits a token carries.
pub fn gen_bits(gen: u32) -> u32 {
    gen & GEN_MASK
}

/// The generation after `gen`: wraps within 24 bits and skips 0, so 0 can
/// stand for "no owner" (listeners, the wake-up read).
pub fn next_gen(gen: u32) -> u32 {
    gen_bits(gen.wrapping_add(1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_masking() {
        let t = pack(6, 123_456, 0x1ab_cdef);
        assert_eq!(unpack(t), (6, 123_456, 0xab_cdef));
        assert_eq!(
            unpack(pack(255, u32::MAX as usize, GEN_MASK)),
            (255, u32::MAX as usize, GEN_MASK)
        );
        assert_eq!(unpack(0), (0, 0, 0));
    }

    #[test]
    fn generations_wrap_and_skip_zero() {
        assert_eq!(next_gen(0), 1);
        assert_eq!(next_gen(41), 42);
        assert_eq!(next_gen(GEN_MASK), 1);
        assert_eq!(next_gen(u32::MAX), 1);
    }
}
