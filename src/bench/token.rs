//! What a bench op is for: the purpose byte of the engine's token packer
//! (`engine/token.rs`), with the session slot as index. Control ops carry the
//! session's generation, data ops the data channel's, so a late completion
//! never reaches a newer session or channel in the same slot.

pub use crate::engine::token::{next_gen, pack, unpack};

crate::engine::token::purposes! {
    /// What an op was submitted for.
    pub enum Purpose {
        /// Connecting the control connection.
        CtrlConnect,
        /// A control receive.
        CtrlRecv,
        /// A control send.
        CtrlSend,
        /// Active or passive data connect.
        DataConnect,
        /// Accepting the server's active-mode data connection.
        DataAccept,
        /// A data read (download, or TLS records).
        DataRead,
        /// A data send (upload, or TLS records).
        DataSend,
        /// Waiting for data to splice into the sink.
        DataPoll,
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::token::Purposes;

    #[test]
    fn round_trip() {
        for &p in Purpose::ALL {
            assert_eq!(
                unpack(pack(p, 29_999, 0xab_cdef)),
                Some((p, 29_999, 0xab_cdef))
            );
        }
        assert_eq!(unpack::<Purpose>(0), None);
        assert!(Purpose::DataAccept.is_data() && !Purpose::CtrlSend.is_data());
    }
}
