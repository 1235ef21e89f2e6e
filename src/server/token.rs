//! Op tokens: what an engine completion is for. The bit layout (purpose,
//! 24-bit connection generation, slab index) and the packing are the
//! engine's (`engine/token.rs`); this file names the server's purposes.
//! The generation makes a completion for a closed connection whose slot was
//! reused recognisable, so it can never reach the new connection.

pub use crate::engine::token::{next_gen, pack, unpack};

crate::engine::token::purposes! {
    /// What an op was submitted for.
    pub enum Purpose {
        /// Multishot accept on control listener `index`.
        CtrlAccept,
        CtrlRecv,
        CtrlSend,
        /// Multishot accept on a session's passive listener.
        PasvAccept,
        /// Active-mode connect.
        DataConnect,
        /// A transfer's send/recv/splice/poll/read/write.
        DataIo,
        /// The worker's eventfd (helper results, stop).
        Wake,
        /// shutdown(2) of a control connection on a direct descriptor.
        CtrlShutdown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = pack(Purpose::DataIo, 123_456, 0x1ab_cdef);
        assert_eq!(unpack(t), Some((Purpose::DataIo, 123_456, 0xab_cdef)));
        assert_eq!(unpack::<Purpose>(0), None);
    }
}
