//! Op tokens: what an engine completion is for. The bit layout (purpose,
//! 24-bit connection generation, slab index) is the engine's generic packer
//! (`engine/token.rs`); this file names the server's purposes.
//! The generation makes a completion for a closed connection whose slot was
//! reused recognisable, so it can never reach the new connection.

use crate::engine::token as bits;

/// What an op was submitted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Purpose {
    /// Multishot accept on control listener `index`.
    CtrlAccept = 1,
    CtrlRecv = 2,
    CtrlSend = 3,
    /// Multishot accept on a session's passive listener.
    PasvAccept = 4,
    /// Active-mode connect.
    DataConnect = 5,
    /// A transfer's send/recv/splice/poll/read/write.
    DataIo = 6,
    /// The worker's eventfd (helper results, stop).
    Wake = 7,
    /// shutdown(2) of a control connection on a direct descriptor.
    CtrlShutdown = 8,
}

impl Purpose {
    fn from_u8(b: u8) -> Option<Purpose> {
        Some(match b {
            1 => Purpose::CtrlAccept,
            2 => Purpose::CtrlRecv,
            3 => Purpose::CtrlSend,
            4 => Purpose::PasvAccept,
            5 => Purpose::DataConnect,
            6 => Purpose::DataIo,
            7 => Purpose::Wake,
            8 => Purpose::CtrlShutdown,
            _ => return None,
        })
    }
}

/// Packs a token.
pub fn pack(p: Purpose, index: usize, gen: u32) -> u64 {
    bits::pack(p as u8, index, gen)
}

/// Unpacks a token; `None` for a purpose byte this server never made.
pub fn unpack(t: u64) -> Option<(Purpose, usize, u32)> {
    let (p, index, gen) = bits::unpack(t);
    Some((Purpose::from_u8(p)?, index, gen))
}

/// Masks a generation counter to the bits a token carries.
pub fn gen_bits(gen: u32) -> u32 {
    bits::gen_bits(gen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = pack(Purpose::DataIo, 123_456, 0x1ab_cdef);
        assert_eq!(unpack(t), Some((Purpose::DataIo, 123_456, 0xab_cdef)));
        assert_eq!(unpack(0), None);
    }
}
