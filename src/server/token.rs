//! Op tokens: what an engine completion is for. Layout (u64):
//! bits 0–7 purpose, 8–31 connection generation (24 bits), 32–63 slab index.
//! The generation makes a completion for a closed connection whose slot was
//! reused recognisable, so it can never reach the new connection.

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
    /// The delay before a failed login's answer (`guard.rs`).
    LoginDelay = 8,
}

const GEN_MASK: u32 = 0x00ff_ffff;

/// Packs a token.
pub fn pack(p: Purpose, index: usize, gen: u32) -> u64 {
    ((index as u64) << 32) | (u64::from(gen & GEN_MASK) << 8) | p as u64
}

/// Unpacks a token; `None` for a purpose byte this server never made.
pub fn unpack(t: u64) -> Option<(Purpose, usize, u32)> {
    let p = match t & 0xff {
        1 => Purpose::CtrlAccept,
        2 => Purpose::CtrlRecv,
        3 => Purpose::CtrlSend,
        4 => Purpose::PasvAccept,
        5 => Purpose::DataConnect,
        6 => Purpose::DataIo,
        7 => Purpose::Wake,
        8 => Purpose::LoginDelay,
        _ => return None,
    };
    Some((p, (t >> 32) as usize, ((t >> 8) as u32) & GEN_MASK))
}

/// Masks a generation counter to the bits a token carries.
pub fn gen_bits(gen: u32) -> u32 {
    gen & GEN_MASK
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
