//! The control channel's input side: bytes → lines → commands (RFC 959 §4.1, §5.3).
//!
//! [`LineBuffer`] accepts CRLF and bare LF, strips Telnet IAC sequences
//! (RFC 854; clients send IAC IP / IAC DM before ABOR, RFC 959 §4.1.3) and
//! enforces the line-length limit. [`parse`] turns one line into a [`Command`];
//! verbs are case-insensitive, arguments are kept as sent (UTF-8, RFC 2640).

use std::net::SocketAddr;

/// A line longer than the limit. The whole line (up to its LF) is discarded and
/// reported once, so the session answers 500 once and goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineTooLong;

/// Splits control bytes into lines with a length limit.
#[derive(Debug)]
pub struct LineBuffer {
    // private fields chosen by the implementation
    _private: (),
}

impl LineBuffer {
    /// `line_len_max_bytes` counts the line without its CR/LF.
    pub fn new(line_len_max_bytes: usize) -> Self {
        let _ = line_len_max_bytes;
        todo!()
    }

    /// Appends received bytes. Memory stays bounded by the limit: bytes of an
    /// overlong line are dropped as they arrive.
    pub fn push(&mut self, bytes: &[u8]) {
        let _ = bytes;
        todo!()
    }

    /// The next complete line without its line ending and with Telnet IAC
    /// commands removed (`IAC IAC` stays one 0xFF byte), or `Err(LineTooLong)`
    /// once per overlong line. `None` when no complete line is buffered.
    pub fn next_line(&mut self) -> Option<Result<Vec<u8>, LineTooLong>> {
        todo!()
    }

    /// Bytes of an incomplete line held (for limits and tests).
    pub fn pending_bytes(&self) -> usize {
        todo!()
    }
}

/// TYPE argument (RFC 959 §3.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeCode {
    /// `A` or `A N`: ASCII, non-print.
    Ascii,
    /// `I` or `L 8`: image (binary).
    Image,
}

/// EPSV argument (RFC 2428 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpsvArg {
    /// No argument: same protocol as the control connection.
    Default,
    /// `EPSV 1` (IPv4) or `EPSV 2` (IPv6); any other number is kept for a 522.
    Proto(u16),
    /// `EPSV ALL`: from now on only EPSV is accepted for data setup.
    All,
}

/// One parsed command. Path arguments are kept as the client sent them; the
/// session resolves them against the working directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    User(String),
    Pass(String),
    Acct(String),
    Cwd(String),
    /// CDUP and XCUP.
    Cdup,
    Smnt(String),
    Rein,
    Quit,
    /// PORT h1,h2,h3,h4,p1,p2 (already decoded).
    Port(SocketAddr),
    Pasv,
    /// EPRT |proto|addr|port| (already decoded).
    Eprt(SocketAddr),
    Epsv(EpsvArg),
    Type(TypeCode),
    /// STRU F only; others are parsed and refused by the session (504).
    Stru(char),
    /// MODE S only; others are parsed and refused by the session (504).
    Mode(char),
    Retr(String),
    Stor(String),
    Stou(Option<String>),
    Appe(String),
    Allo(String),
    Rest(u64),
    Rnfr(String),
    Rnto(String),
    Abor,
    Dele(String),
    /// RMD and XRMD.
    Rmd(String),
    /// MKD and XMKD.
    Mkd(String),
    /// PWD and XPWD.
    Pwd,
    /// LIST [options] [path]: the raw argument (options like `-la` included).
    List(Option<String>),
    /// NLST [options] [path]: the raw argument.
    Nlst(Option<String>),
    /// SITE <rest>: the raw argument (SITE CHMOD, CPFR, CPTO, HELP are parsed by the session).
    Site(String),
    Syst,
    Stat(Option<String>),
    Help(Option<String>),
    Noop,
    Feat,
    /// OPTS <rest>: the raw argument.
    Opts(String),
    Size(String),
    Mdtm(String),
    Mlsd(Option<String>),
    Mlst(Option<String>),
    /// HOST <name> (RFC 7151).
    Host(String),
    /// MFMT YYYYMMDDHHMMSS path: (unix seconds UTC, path).
    Mfmt(i64, String),
    /// HASH path (RFC draft-bryan-ftpext-hash).
    Hash(String),
    /// A verb this server does not implement (upper-cased), for a 502.
    Unknown(String),
}

/// Why a line could not be parsed; the session answers 500 or 501.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Blank line or no verb (500).
    Empty,
    /// Bytes that are not UTF-8, or a CR or NUL inside the line (501).
    BadEncoding,
    /// A known verb with a missing or malformed argument (501); the verb, upper-cased.
    BadArgument(String),
}

/// Parses one line (no line ending) into a command.
///
/// Aliases map to one variant: XPWD→Pwd, XCWD→Cwd, XCUP→Cdup, XMKD→Mkd,
/// XRMD→Rmd (RFC 775). Verbs that take a required path (RETR, STOR, DELE, …)
/// give `BadArgument` without one; `REST` needs a decimal u64; `TYPE` accepts
/// `A`, `A N`, `I`, `L 8` (case-insensitive) and gives `BadArgument` otherwise.
pub fn parse(line: &[u8]) -> Result<Command, ParseError> {
    let _ = line;
    todo!()
}
