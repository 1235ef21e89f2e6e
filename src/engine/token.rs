//! Op tokens: one u64 that says which owner an op's completion is for.
//! Layout: bits 0–7 a purpose byte, 8–31 a 24-bit generation, 32–63 a slab
//! index. The generation makes a completion for a closed owner whose slot
//! was reused recognisable, so it never reaches the new owner. The engine
//! gives the purposes no meaning: the server and the load generator each
//! name theirs with [`purposes!`], and both pack and unpack here.
#![forbid(unsafe_code)]

use super::types::Token;

/// The generation bits a token carries.
pub const GEN_MASK: u32 = 0x00ff_ffff;

/// A caller's names for the purpose byte: an enum declared with
/// [`purposes!`]. Its variants are numbered from 1, so a zeroed token is
/// nobody's.
pub trait Purposes: Copy + 'static {
    /// Every variant, in declaration order (variant `k` is byte `k + 1`).
    const ALL: &'static [Self];
    /// The byte this purpose is packed as.
    fn byte(self) -> u8;
}

/// Declares an op-purpose enum and implements [`Purposes`] for it (the
/// derives, the byte numbering and the table to read a byte back).
macro_rules! purposes {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u8)]
        $vis enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $crate::engine::token::Purposes for $name {
            const ALL: &'static [Self] = &[$($name::$variant,)+];
            fn byte(self) -> u8 {
                self as u8 + 1
            }
        }
    };
}
pub(crate) use purposes;

/// Packs a token. `index` must fit in 32 bits (slab indices do: they are
/// bounded by limits far below 2^32); higher bits would be lost.
pub fn pack<P: Purposes>(purpose: P, index: usize, gen: u32) -> Token {
    pack_byte(purpose.byte(), index, gen)
}

/// Unpacks a token into (purpose, index, generation); `None` for a purpose
/// byte that `P` never made.
pub fn unpack<P: Purposes>(t: Token) -> Option<(P, usize, u32)> {
    let (byte, index, gen) = unpack_byte(t);
    let p = P::ALL.get(usize::from(byte).checked_sub(1)?)?;
    Some((*p, index, gen))
}

fn pack_byte(purpose: u8, index: usize, gen: u32) -> Token {
    debug_assert!(u32::try_from(index).is_ok(), "token index {index} > u32");
    ((index as u64) << 32) | (u64::from(gen & GEN_MASK) << 8) | u64::from(purpose)
}

fn unpack_byte(t: Token) -> (u8, usize, u32) {
    (
        (t & 0xff) as u8,
        (t >> 32) as usize,
        ((t >> 8) as u32) & GEN_MASK,
    )
}

/// The generation after `gen`: wraps within 24 bits and skips 0, so 0 can
/// stand for "no owner" (listeners, the wake-up read).
pub fn next_gen(gen: u32) -> u32 {
    (gen.wrapping_add(1) & GEN_MASK).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    purposes! {
        enum Test {
            A,
            B,
        }
    }

    #[test]
    fn round_trip_and_masking() {
        let t = pack(Test::B, 123_456, 0x1ab_cdef);
        assert_eq!(unpack_byte(t), (2, 123_456, 0xab_cdef));
        assert_eq!(unpack(t), Some((Test::B, 123_456, 0xab_cdef)));
        assert_eq!(
            unpack_byte(pack_byte(255, u32::MAX as usize, GEN_MASK)),
            (255, u32::MAX as usize, GEN_MASK)
        );
        // Byte 0 and bytes past the last variant are nobody's.
        assert_eq!(unpack::<Test>(0), None);
        assert_eq!(unpack::<Test>(pack_byte(3, 1, 1)), None);
        assert_eq!(unpack(pack(Test::A, 7, 9)), Some((Test::A, 7, 9)));
    }

    #[test]
    fn generations_wrap_and_skip_zero() {
        assert_eq!(next_gen(0), 1);
        assert_eq!(next_gen(41), 42);
        assert_eq!(next_gen(GEN_MASK), 1);
        assert_eq!(next_gen(u32::MAX), 1);
    }
}
