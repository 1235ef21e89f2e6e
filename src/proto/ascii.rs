//! TYPE A (RFC 959 §3.1.1.1): the network form ends lines with CRLF.
//! Both converters are streaming: a CR at the end of one chunk and the LF at
//! the start of the next are handled as one line ending.

/// File → network: bare LF becomes CRLF; an existing CRLF is kept as is.
#[derive(Debug, Default)]
pub struct ToNetwork {
    _private: (),
}

impl ToNetwork {
    /// Converts `input`, appending to `out`.
    pub fn convert(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let _ = (input, out);
        todo!()
    }
}

/// Network → file: CRLF becomes LF; a CR not followed by LF is kept.
#[derive(Debug, Default)]
pub struct FromNetwork {
    _private: (),
}

impl FromNetwork {
    /// Converts `input`, appending to `out`. A trailing CR is held back until
    /// the next chunk (or [`FromNetwork::finish`]).
    pub fn convert(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let _ = (input, out);
        todo!()
    }

    /// Flushes a held-back CR at the end of the transfer.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let _ = out;
        todo!()
    }
}
