//! TYPE A (RFC 959 §3.1.1.1): the network form ends lines with CRLF.
//! Both converters are streaming: a CR at the end of one chunk and the LF at
//! the start of the next are handled as one line ending.
//!
//! Output bounds, for callers that convert into fixed buffers:
//! [`ToNetwork::convert`] writes at most [`ToNetwork::max_output`] bytes, and
//! [`FromNetwork::convert`] at most [`FromNetwork::max_output`] (one more
//! than its input: the CR held back from the previous chunk comes out first).

/// File → network: bare LF becomes CRLF; an existing CRLF is kept as is.
#[derive(Debug, Default)]
pub struct ToNetwork {
    /// The last byte converted was a CR (possibly at the end of the previous chunk).
    prev_cr: bool,
}

impl ToNetwork {
    /// The most bytes one [`ToNetwork::convert`] of `input_len` bytes writes
    /// (every byte an LF that becomes CRLF).
    pub const fn max_output(input_len: usize) -> usize {
        input_len.saturating_mul(2)
    }

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
    /// The most bytes one [`FromNetwork::convert`] (or `finish`) of
    /// `input_len` bytes writes: the input, plus a CR held from the chunk before.
    pub const fn max_output(input_len: usize) -> usize {
        input_len.saturating_add(1)
    }

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

    /// `chunks`, as bytes, through `convert`.
    fn run(convert: fn(&[&[u8]]) -> Vec<u8>, chunks: &[&str]) -> Vec<u8> {
        let chunks: Vec<&[u8]> = chunks.iter().map(|c| c.as_bytes()).collect();
        convert(&chunks)
    }

    #[test]
    fn to_network() {
        for (chunks, want) in [
            // RFC 959 §3.1.1.1: lines end with CRLF on the wire.
            (&["a\nb\n"][..], "a\r\nb\r\n"),
            (&["a\r\nb"], "a\r\nb"),
            (&["\n\n"], "\r\n\r\n"),
            (&["a\rb"], "a\rb"),
            (&[""], ""),
            (&["\r\r\n"], "\r\r\n"),
            // RFC 959 §3.1.1.1: an existing CRLF split across chunks is not doubled.
            (&["a\r", "\nb"], "a\r\nb"),
            (&["a\r", "", "\nb"], "a\r\nb"),
            (&["a", "\n"], "a\r\n"),
            (&["a\r", "x\n"], "a\rx\r\n"),
            (&["\r", "\n", "\n"], "\r\n\r\n"),
        ] {
            assert_eq!(run(to_net, chunks), want.as_bytes(), "{chunks:?}");
        }
    }

    #[test]
    fn from_network() {
        for (chunks, want) in [
            // RFC 959 §3.1.1.1: CRLF becomes the local newline.
            (&["a\r\nb\r\n"][..], "a\nb\n"),
            (&["a\rb"], "a\rb"),
            (&["a\nb"], "a\nb"),
            (&["\r\r\n"], "\r\n"),
            (&["a\r"], "a\r"),
            // RFC 959 §3.1.1.1: CR at a chunk end plus LF at the next start is one EOL.
            (&["a\r", "\nb"], "a\nb"),
            (&["a\r", "", "\nb"], "a\nb"),
            (&["a\r", "b"], "a\rb"),
            (&["a\r", "\r", "\n"], "a\r\n"),
        ] {
            assert_eq!(run(from_net, chunks), want.as_bytes(), "{chunks:?}");
        }
        let mut c = FromNetwork::default();
        let mut out = Vec::new();
        c.convert(b"x\r", &mut out);
        assert_eq!(out, b"x");
        c.finish(&mut out);
        assert_eq!(out, b"x\r");
    }

    /// Bytes made mostly of CR and LF, so every arrangement of line ends
    /// (lone CR, lone LF, CRLF, CR CR LF, …) occurs at every offset.
    fn line_end_heavy() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        proptest::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'a')], 0..64)
    }

    /// Cuts `data` at the given (sorted, deduplicated) points.
    fn cut<'a>(data: &'a [u8], points: &[usize]) -> Vec<&'a [u8]> {
        let mut cuts: Vec<usize> = points.iter().map(|p| p % (data.len() + 1)).collect();
        cuts.sort_unstable();
        cuts.dedup();
        let mut out = Vec::new();
        let mut start = 0;
        for c in cuts.into_iter().chain([data.len()]) {
            out.push(&data[start..c]);
            start = c;
        }
        out
    }

    /// Every input over {CR, LF, a} up to 7 bytes, cut at every pair of
    /// points: each step's output within its bound, the result cut-independent.
    #[test]
    fn every_step_fits_its_bound_exhaustively() {
        for len in 0..=7u32 {
            for code in 0..3usize.pow(len) {
                let data: Vec<u8> = (0..len)
                    .map(|i| [b'\r', b'\n', b'a'][code / 3usize.pow(i) % 3])
                    .collect();
                let (want_from, want_to) = (from_net(&[&data]), to_net(&[&data]));
                for i in 0..=data.len() {
                    for j in i..=data.len() {
                        let chunks = [&data[..i], &data[i..j], &data[j..]];
                        let (mut from, mut to) = (FromNetwork::default(), ToNetwork::default());
                        let (mut got_from, mut got_to) = (Vec::new(), Vec::new());
                        for ch in chunks {
                            let before = (got_from.len(), got_to.len());
                            from.convert(ch, &mut got_from);
                            to.convert(ch, &mut got_to);
                            assert!(got_from.len() - before.0 <= FromNetwork::max_output(ch.len()));
                            assert!(got_to.len() - before.1 <= ToNetwork::max_output(ch.len()));
                        }
                        from.finish(&mut got_from);
                        assert_eq!(got_from, want_from, "{data:?} cut {i} {j}");
                        assert_eq!(got_to, want_to, "{data:?} cut {i} {j}");
                    }
                }
            }
        }
    }

    proptest::proptest! {
        /// RFC 959 §3.1.1.1 both ways: every step's output fits the bound a
        /// fixed buffer is sized by, and the result does not depend on the cuts.
        #[test]
        fn every_step_fits_its_bound_for_every_split(
            data in line_end_heavy(),
            points in proptest::collection::vec(0usize..1000, 0..8),
        ) {
            let chunks = cut(&data, &points);
            let mut from = FromNetwork::default();
            let mut to = ToNetwork::default();
            let (mut all_from, mut all_to) = (Vec::new(), Vec::new());
            for ch in &chunks {
                let mut step = Vec::new();
                from.convert(ch, &mut step);
                proptest::prop_assert!(step.len() <= FromNetwork::max_output(ch.len()));
                all_from.extend_from_slice(&step);
                step.clear();
                to.convert(ch, &mut step);
                proptest::prop_assert!(step.len() <= ToNetwork::max_output(ch.len()));
                all_to.extend_from_slice(&step);
            }
            let mut tail = Vec::new();
            from.finish(&mut tail);
            proptest::prop_assert!(tail.len() <= FromNetwork::max_output(0));
            all_from.extend_from_slice(&tail);
            proptest::prop_assert_eq!(all_from, from_net(&[&data]));
            proptest::prop_assert_eq!(all_to, to_net(&[&data]));
        }
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
