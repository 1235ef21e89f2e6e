//! HASH, OPTS HASH (draft-bryan-ftpext-hash-02 §3–§4) and the de-facto
//! XSHA256/XSHA1/XMD5/XCRC commands. The file is hashed off the core by the
//! server ([`FsOp::Hash`]); the session checks rights and words the reply.
//!
//! Ranges: HASH hashes from a preceding REST offset to the end of the file
//! and reports `start-end` with `end` the last byte hashed (inclusive, as the
//! draft's byte ranges are; an empty range reports `start-start`). The X-aliases
//! take `path [start end]` with `end` exclusive (a byte offset) and answer
//! `213 <hex>` alone.

use super::{FsOp, FsPurpose, HashDone, Session};
use crate::proto::hash::HashAlgo;
use crate::proto::perms::Perms;
use crate::proto::reply;

impl Session {
    /// HASH path: the selected algorithm, from REST to the end.
    pub(super) fn cmd_hash(&mut self, arg: &str) {
        let start = std::mem::take(&mut self.rest);
        let algo = self.hash_algo;
        self.hash_request(arg, algo, start, None, false);
    }

    /// XSHA256/XSHA1/XMD5/XCRC path [start end].
    pub(super) fn cmd_xhash(&mut self, algo: HashAlgo, arg: &str) {
        self.rest = 0;
        let Some((path, start, end)) = split_x_args(arg) else {
            return self.reply(
                reply::SYNTAX_ERROR_ARGS,
                "Usage: X<hash> <path> [<start> <end>]",
            );
        };
        if end.is_some_and(|e| e < start) {
            return self.reply(reply::SYNTAX_ERROR_ARGS, "Range end before its start.");
        }
        self.hash_request(&path, algo, start, end, true);
    }

    fn hash_request(&mut self, arg: &str, algo: HashAlgo, start: u64, end: Option<u64>, x: bool) {
        let Some(path) = self.resolve(arg) else {
            return;
        };
        if self.permit_at(&path, Perms::READ) {
            let purpose = FsPurpose::Hash {
                shown: arg.to_string(),
                x,
            };
            self.fs(
                FsOp::Hash {
                    path,
                    algo,
                    start,
                    end,
                },
                purpose,
            );
        }
    }

    /// OPTS HASH [algo] (draft-bryan-ftpext-hash-02 §4): no argument names
    /// the selected algorithm; an argument selects one (504 if unknown).
    pub(super) fn opts_hash(&mut self, value: &str) {
        if value.is_empty() {
            return self.reply(reply::OK, self.hash_algo.name());
        }
        match HashAlgo::parse(value) {
            Some(a) => {
                self.hash_algo = a;
                self.reply(reply::OK, a.name());
            }
            None => self.reply(
                reply::NOT_IMPLEMENTED_PARAM,
                "Unknown algorithm; use SHA-256, SHA-1, MD5 or CRC32.",
            ),
        }
    }

    /// The hash came back.
    pub(super) fn on_hash(&mut self, purpose: FsPurpose, h: HashDone) {
        let FsPurpose::Hash { shown, x } = purpose else {
            return self.reply(reply::LOCAL_ERROR, "Local error in processing.");
        };
        if x {
            return self.reply(reply::FILE_STATUS, &h.hex);
        }
        let last = h.end.saturating_sub(1).max(h.start);
        let text = format!("{} {}-{} {} {}", h.algo.name(), h.start, last, h.hex, shown);
        self.reply(reply::FILE_STATUS, &text);
    }
}

/// `path`, `path start end`, or `"quoted path" start end`. Two trailing
/// decimal words are a range; anything else is all path.
fn split_x_args(arg: &str) -> Option<(String, u64, Option<u64>)> {
    if let Some(rest) = arg.strip_prefix('"') {
        let (path, tail) = rest.split_once('"')?;
        let nums: Vec<&str> = tail.split(' ').filter(|w| !w.is_empty()).collect();
        return match nums.as_slice() {
            [] => Some((path.to_string(), 0, None)),
            [s, e] => Some((path.to_string(), num(s)?, Some(num(e)?))),
            _ => None,
        };
    }
    let mut words = arg.rsplitn(3, ' ');
    let (e, s, path) = (words.next(), words.next(), words.next());
    match (path, s.and_then(num), e.and_then(num)) {
        (Some(p), Some(s), Some(e)) if !p.is_empty() => Some((p.to_string(), s, Some(e))),
        _ => Some((arg.to_string(), 0, None)),
    }
}

fn num(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::split_x_args;

    #[test]
    fn x_args() {
        assert_eq!(split_x_args("a b"), Some(("a b".into(), 0, None)));
        assert_eq!(split_x_args("a b 1 9"), Some(("a b".into(), 1, Some(9))));
        assert_eq!(
            split_x_args("\"a 1\" 2 3"),
            Some(("a 1".into(), 2, Some(3)))
        );
        assert_eq!(split_x_args("\"a 1\""), Some(("a 1".into(), 0, None)));
        assert_eq!(split_x_args("\"a\" 1"), None);
        assert_eq!(split_x_args("5 6"), Some(("5 6".into(), 0, None)));
    }
}
