//! What a bench op is for: the purpose byte of the engine's token packer
//! (`engine/token.rs`), with the session slot as index. Control ops carry the
//! session's generation, data ops the data channel's, so a late completion
//! never reaches a newer session or channel in the same slot.

use crate::engine::token as bits;

/// What an op was submitted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Purpose {
    CtrlConnect = 1,
    CtrlRecv = 2,
    CtrlSend = 3,
    DataConnect = 4,
    DataAccept = 5,
    DataRead = 6,
    DataSend = 7,
    DataPoll = 8,
}

impl Purpose {
    /// An op of the data channel (routed to it), not of the control session.
    pub fn is_data(self) -> bool {
        !matches!(
            self,
            Purpose::CtrlConnect | Purpose::CtrlRecv | Purpose::CtrlSend
        )
    }
}

/// Every purpose, to read one back from its byte.
const ALL: [Purpose; 8] = [
    Purpose::CtrlConnect,
    Purpose::CtrlRecv,
    Purpose::CtrlSend,
    Purpose::DataConnect,
    Purpose::DataAccept,
    Purpose::DataRead,
    Purpose::DataSend,
    Purpose::DataPoll,
];

/// The token of an op for `slot`, owner generation `gen`.
pub fn pack(p: Purpose, slot: usize, gen: u32) -> u64 {
    bits::pack(p as u8, slot, gen)
}

/// Purpose, slot and generation; `None` for a purpose byte the bench never made.
pub fn unpack(t: u64) -> Option<(Purpose, usize, u32)> {
    let (byte, slot, gen) = bits::unpack(t);
    let p = ALL.into_iter().find(|p| *p as u8 == byte)?;
    Some((p, slot, gen))
}

/// The next owner generation (24 bits, never 0).
pub fn next_gen(gen: u32) -> u32 {
    bits::next_gen(gen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for p in ALL {
            assert_eq!(
                unpack(pack(p, 29_999, 0xab_cdef)),
                Some((p, 29_999, 0xab_cdef))
            );
        }
        assert_eq!(unpack(0), None);
        assert!(Purpose::DataAccept.is_data() && !Purpose::CtrlSend.is_data());
    }
}
