//! TYPE A (RFC 959 §3.1.1.1): the network form ends lines with CRLF.
//! Both converters are streaming: a CR at the end of one chunk and the LF at
//! the start of the next are handled as one line ending.

/// File → network: bare LF becomes CRLF; an existing CRLF is kept as is.
#[derive(Debug, Default)]
pub struct ToNetwork {
    /// The last byte converted was a CR (possibly at the end of the previous chunk).
    prev_cr: bool,
}

impl ToNetwork {
    /// Converts `input`, appending to `out`.
    pub fn convert(&mut self, input: &[u8], out: &mut Vec<u8>) {
        // RFC 959 §3.1.1.1: end-of-line in NVT-ASCII is CRLF.
        out.reserve(input.len());
        let mut rest = input;
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            let (run, tail) = rest.split_at(i);
            out.extend_from_slice(run);
            let cr_before = match run.last() {
                Some(&b) => b == b'\r',
                None => self.prev_cr,
            };
            if !cr_before {
                out.push(b'\r');
            }
            out.push(b'\n');
            self.prev_cr = false;
            rest = tail.get(1..).unwrap_or(&[]);
        }
        out.extend_from_slice(rest);
        if let Some(&b) = rest.last() {
            self.prev_cr = b == b'\r';
        }
    }
}

/// Network → file: CRLF becomes LF; a CR not followed by LF is kept.
#[derive(Debug, Default)]
pub struct FromNetwork {
    /// A CR ended the previous chunk and has not been written yet.
    held_cr: bool,
}

impl FromNetwork {
    /// Converts `input`, appending to `out`. A trailing CR is held back until
    /// the next chunk (or [`FromNetwork::finish`]).
    pub fn convert(&mut self, input: &[u8], out: &mut Vec<u8>) {
        // RFC 959 §3.1.1.1: CRLF on the wire is the local end-of-line (LF).
        out.reserve(input.len());
        let mut rest = input;
        if self.held_cr {
            match rest.first() {
                None => return,
                Some(b'\n') => {}
                Some(_) => out.push(b'\r'),
            }
            self.held_cr = false;
        }
        while let Some(i) = rest.iter().position(|&b| b == b'\r') {
            let (run, tail) = rest.split_at(i);
            out.extend_from_slice(run);
            match tail.get(1) {
                // CRLF: drop the CR, the LF is copied with the next run.
                Some(b'\n') => {}
                // Lone CR: kept.
                Some(_) => out.push(b'\r'),
                // CR at the end of the chunk: wait for the next one.
                None => {
                    self.held_cr = true;
                    return;
                }
            }
            rest = tail.get(1..).unwrap_or(&[]);
        }
        out.extend_from_slice(rest);
    }

    /// Flushes a held-back CR at the end of the transfer.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.held_cr {
            out.push(b'\r');
            self.held_cr = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_net(chunks: &[&[u8]]) -> Vec<u8> {
        let mut c = ToNetwork::default();
        let mut out = Vec::new();
        for ch in chunks {
            c.convert(ch, &mut out);
        }
        out
    }

    fn from_net(chunks: &[&[u8]]) -> Vec<u8> {
        let mut c = FromNetwork::default();
        let mut out = Vec::new();
        for ch in chunks {
            c.convert(ch, &mut out);
        }
        c.finish(&mut out);
        out
    }

    #[test]
    fn to_network_basic() {
        // RFC 959 §3.1.1.1: lines end with CRLF on the wire.
        assert_eq!(to_net(&[b"a\nb\n"]), b"a\r\nb\r\n");
        assert_eq!(to_net(&[b"a\r\nb"]), b"a\r\nb");
        assert_eq!(to_net(&[b"\n\n"]), b"\r\n\r\n");
        assert_eq!(to_net(&[b"a\rb"]), b"a\rb");
        assert_eq!(to_net(&[b""]), b"");
        assert_eq!(to_net(&[b"\r\r\n"]), b"\r\r\n");
    }

    #[test]
    fn to_network_across_chunks() {
        // RFC 959 §3.1.1.1: an existing CRLF split across chunks is not doubled.
        assert_eq!(to_net(&[b"a\r", b"\nb"]), b"a\r\nb");
        assert_eq!(to_net(&[b"a\r", b"", b"\nb"]), b"a\r\nb");
        assert_eq!(to_net(&[b"a", b"\n"]), b"a\r\n");
        assert_eq!(to_net(&[b"a\r", b"x\n"]), b"a\rx\r\n");
        assert_eq!(to_net(&[b"\r", b"\n", b"\n"]), b"\r\n\r\n");
    }

    #[test]
    fn from_network_basic() {
        // RFC 959 §3.1.1.1: CRLF becomes the local newline.
        assert_eq!(from_net(&[b"a\r\nb\r\n"]), b"a\nb\n");
        assert_eq!(from_net(&[b"a\rb"]), b"a\rb");
        assert_eq!(from_net(&[b"a\nb"]), b"a\nb");
        assert_eq!(from_net(&[b"\r\r\n"]), b"\r\n");
        assert_eq!(from_net(&[b"a\r"]), b"a\r");
    }

    #[test]
    fn from_network_across_chunks() {
        // RFC 959 §3.1.1.1: CR at a chunk end plus LF at the next start is one EOL.
        assert_eq!(from_net(&[b"a\r", b"\nb"]), b"a\nb");
        assert_eq!(from_net(&[b"a\r", b"", b"\nb"]), b"a\nb");
        assert_eq!(from_net(&[b"a\r", b"b"]), b"a\rb");
        assert_eq!(from_net(&[b"a\r", b"\r", b"\n"]), b"a\r\n");
        let mut c = FromNetwork::default();
        let mut out = Vec::new();
        c.convert(b"x\r", &mut out);
        assert_eq!(out, b"x");
        c.finish(&mut out);
        assert_eq!(out, b"x\r");
    }

    #[test]
    fn round_trip_every_split() {
        // RFC 959 §3.1.1.1: the conversion is independent of chunking.
        let file: &[u8] = b"one\ntwo\r\nthree\r\rfour\n\nend\r";
        let whole_net = to_net(&[file]);
        for i in 0..=whole_net.len() {
            let (a, b) = whole_net.split_at(i);
            assert_eq!(from_net(&[a, b]), from_net(&[&whole_net]), "split {i}");
        }
        for i in 0..=file.len() {
            let (a, b) = file.split_at(i);
            assert_eq!(to_net(&[a, b]), whole_net, "split {i}");
        }
    }
}
