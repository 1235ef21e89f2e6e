//! Reply encoding (RFC 959 §4.2).
//!
//! A single-line reply is `CODE SP text CRLF`. A multi-line reply starts with
//! `CODE-`, ends with `CODE SP`, and every middle line that would begin with
//! three digits is indented by one space so it cannot be taken for the end.
//! Text can never inject a line: CR and NUL are dropped, and LF only ever
//! separates the lines of this one reply.

/// Appends `code text` to `out`. A `text` containing `\n` becomes a multi-line
/// reply (one line per `\n`-separated part); CR and NUL in `text` are removed.
pub fn encode_into(code: u16, text: &str, out: &mut Vec<u8>) {
    let _ = (code, text, out);
    todo!()
}

/// Appends a multi-line reply whose first and last lines are `first` and
/// `last`, with `body` lines between them, each body line indented by one
/// space (the FEAT, STAT and MLST form, RFC 2389 §3.2, RFC 3659 §7.2).
pub fn encode_block_into(code: u16, first: &str, body: &[String], last: &str, out: &mut Vec<u8>) {
    let _ = (code, first, body, last, out);
    todo!()
}
