//! The control channel's commands (RFC 959 §4.1, §5.3): [`parse`] turns one
//! line (cut by [`super::line::LineBuffer`]) into a [`Command`]; verbs are
//! case-insensitive, arguments are kept as sent (UTF-8, RFC 2640).

use std::net::SocketAddr;

use super::{addr, listing};

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
    /// XSHA256/XSHA1/XMD5/XCRC path [start [end]]: the raw argument.
    XHash(super::hash::HashAlgo, String),
    /// AUTH <mechanism> (RFC 2228 §3, RFC 4217 §4): the raw argument.
    Auth(String),
    /// PBSZ <size> (RFC 2228 §3): the raw argument.
    Pbsz(String),
    /// PROT <level> (RFC 2228 §3): the raw argument.
    Prot(String),
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
    let text = std::str::from_utf8(line).map_err(|_| ParseError::BadEncoding)?;
    // RFC 959 §3.1.1.1 / RFC 2640 §3.1: pathnames are UTF-8 without CR, LF or NUL.
    if text.bytes().any(|b| matches!(b, b'\0' | b'\r' | b'\n')) {
        return Err(ParseError::BadEncoding);
    }
    // RFC 959 §5.3.1: <verb> [<SP> <argument>]; exactly one SP separates them,
    // so an argument may itself begin with spaces (a filename like " a").
    let (verb, arg) = match text.split_once(' ') {
        Some((verb, arg)) => (verb, Some(arg)),
        None => (text, None),
    };
    if verb.is_empty() {
        return Err(ParseError::Empty);
    }
    // RFC 959 §5.3: verbs are case-insensitive.
    let verb = verb.to_ascii_uppercase();
    let arg = arg.filter(|a| !a.is_empty());
    if let Some(cmd) = no_arg_command(&verb) {
        return Ok(cmd);
    }
    if let Some(cmd) = optional_arg_command(&verb, arg) {
        return Ok(cmd);
    }
    if let Some(result) = required_arg_command(&verb, arg) {
        return result;
    }
    if let Some(result) = special_command(&verb, arg) {
        return result;
    }
    Ok(Command::Unknown(
        verb.chars().take(UNKNOWN_VERB_MAX_CHARS).collect(),
    ))
}

/// How much of an unknown verb is kept for the 502 reply and the log.
const UNKNOWN_VERB_MAX_CHARS: usize = 16;

fn bad(verb: &str) -> ParseError {
    ParseError::BadArgument(verb.to_string())
}

/// Verbs without an argument (any argument sent is ignored).
fn no_arg_command(verb: &str) -> Option<Command> {
    Some(match verb {
        // RFC 959 §4.1.1; XCUP/XPWD are the RFC 775 aliases.
        "CDUP" | "XCUP" => Command::Cdup,
        "REIN" => Command::Rein,
        "QUIT" => Command::Quit,
        "PASV" => Command::Pasv,
        "ABOR" => Command::Abor,
        "PWD" | "XPWD" => Command::Pwd,
        "SYST" => Command::Syst,
        "NOOP" => Command::Noop,
        // RFC 2389 §3.
        "FEAT" => Command::Feat,
        _ => return None,
    })
}

/// Verbs whose argument may be absent.
fn optional_arg_command(verb: &str, arg: Option<&str>) -> Option<Command> {
    let owned = arg.map(str::to_string);
    Some(match verb {
        "LIST" => Command::List(owned),
        "NLST" => Command::Nlst(owned),
        "STAT" => Command::Stat(owned),
        "HELP" => Command::Help(owned),
        "STOU" => Command::Stou(owned),
        // RFC 3659 §7.1: MLST/MLSD default to the current directory.
        "MLSD" => Command::Mlsd(owned),
        "MLST" => Command::Mlst(owned),
        // PASS may be empty (anonymous); the session decides.
        "PASS" => Command::Pass(owned.unwrap_or_default()),
        // RFC 959 §4.1.3 ALLO: the session only acknowledges it.
        "ALLO" => Command::Allo(owned.unwrap_or_default()),
        _ => return None,
    })
}

/// Verbs with a required argument kept as sent.
fn required_arg_command(verb: &str, arg: Option<&str>) -> Option<Result<Command, ParseError>> {
    let make: fn(String) -> Command = match verb {
        "USER" => Command::User,
        "AUTH" => Command::Auth,
        "PBSZ" => Command::Pbsz,
        "PROT" => Command::Prot,
        "ACCT" => Command::Acct,
        // RFC 775 aliases: XCWD, XMKD, XRMD.
        "CWD" | "XCWD" => Command::Cwd,
        "SMNT" => Command::Smnt,
        "RETR" => Command::Retr,
        "STOR" => Command::Stor,
        "APPE" => Command::Appe,
        "RNFR" => Command::Rnfr,
        "RNTO" => Command::Rnto,
        "DELE" => Command::Dele,
        "RMD" | "XRMD" => Command::Rmd,
        "MKD" | "XMKD" => Command::Mkd,
        "SITE" => Command::Site,
        // RFC 2389 §4 (OPTS), RFC 3659 §3-4 (MDTM, SIZE), RFC 7151 (HOST).
        "OPTS" => Command::Opts,
        "SIZE" => Command::Size,
        "MDTM" => Command::Mdtm,
        "HOST" => Command::Host,
        "HASH" => Command::Hash,
        _ => return None,
    };
    Some(arg.map(|a| make(a.to_string())).ok_or_else(|| bad(verb)))
}

/// Verbs whose argument is decoded here.
fn special_command(verb: &str, arg: Option<&str>) -> Option<Result<Command, ParseError>> {
    let trimmed = arg.map(|a| a.trim_matches(' ')).filter(|a| !a.is_empty());
    let cmd = match verb {
        // RFC 959 §4.1.2 PORT; RFC 2428 §2 EPRT.
        "PORT" => trimmed.and_then(addr::parse_port).map(Command::Port),
        "EPRT" => trimmed.and_then(addr::parse_eprt).map(Command::Eprt),
        "EPSV" => parse_epsv(trimmed).map(Command::Epsv),
        "TYPE" => trimmed.and_then(parse_type).map(Command::Type),
        // RFC 959 §4.1.2 STRU/MODE: a single-letter code.
        "STRU" => trimmed.and_then(single_char).map(Command::Stru),
        "MODE" => trimmed.and_then(single_char).map(Command::Mode),
        // RFC 3659 §5: REST <SP> decimal marker.
        "REST" => trimmed.and_then(parse_u64).map(Command::Rest),
        "MFMT" => arg.and_then(parse_mfmt),
        "XSHA256" | "XSHA1" | "XSHA" | "XMD5" | "XCRC" => {
            arg.map(|a| Command::XHash(x_hash_algo(verb), a.to_string()))
        }
        _ => return None,
    };
    Some(cmd.ok_or_else(|| bad(verb)))
}

/// The algorithm an X-hash verb names (de-facto commands of many servers).
fn x_hash_algo(verb: &str) -> super::hash::HashAlgo {
    use super::hash::HashAlgo;
    match verb {
        "XSHA1" | "XSHA" => HashAlgo::Sha1,
        "XMD5" => HashAlgo::Md5,
        "XCRC" => HashAlgo::Crc32,
        _ => HashAlgo::Sha256,
    }
}

/// RFC 2428 §3: EPSV, EPSV <net-prt>, or EPSV ALL.
fn parse_epsv(arg: Option<&str>) -> Option<EpsvArg> {
    match arg {
        None => Some(EpsvArg::Default),
        Some(a) if a.eq_ignore_ascii_case("ALL") => Some(EpsvArg::All),
        Some(a) => {
            let n = parse_u64(a)?;
            u16::try_from(n).ok().map(EpsvArg::Proto)
        }
    }
}

/// RFC 959 §4.1.2 TYPE: `A [N]` and `I` / `L 8`; other forms are refused.
fn parse_type(arg: &str) -> Option<TypeCode> {
    let mut words = arg.split(' ').filter(|w| !w.is_empty());
    let code = words.next()?.to_ascii_uppercase();
    let param = words.next().map(str::to_ascii_uppercase);
    if words.next().is_some() {
        return None;
    }
    match (code.as_str(), param.as_deref()) {
        ("A", None | Some("N")) => Some(TypeCode::Ascii),
        ("I", None) | ("L", Some("8")) => Some(TypeCode::Image),
        _ => None,
    }
}

fn single_char(arg: &str) -> Option<char> {
    let mut chars = arg.chars();
    let c = chars.next()?;
    chars.next().is_none().then(|| c.to_ascii_uppercase())
}

/// A plain decimal number (no sign, no spaces), `None` on overflow.
fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// draft-somers-ftp-mfxx §3: MFMT <SP> time-val <SP> pathname.
fn parse_mfmt(arg: &str) -> Option<Command> {
    let (time, path) = arg.split_once(' ')?;
    if path.is_empty() {
        return None;
    }
    let secs = listing::parse_timeval(time)?;
    Some(Command::Mfmt(secs, path.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::line::LineBuffer;
    use std::net::{IpAddr, Ipv4Addr};

    fn p(s: &str) -> Result<Command, ParseError> {
        parse(s.as_bytes())
    }

    fn bad(v: &str) -> Result<Command, ParseError> {
        Err(ParseError::BadArgument(v.to_string()))
    }

    #[test]
    fn aliases_need_their_argument() {
        assert_eq!(p("XMKD"), bad("XMKD"));
        assert_eq!(p("XCRC"), bad("XCRC"));
    }

    #[test]
    fn verbs_any_case_aliases_and_simple_forms() {
        use crate::proto::hash::HashAlgo;
        let cases: Vec<(&str, Command)> = vec![
            // RFC 959 §5.3: command codes are case-insensitive.
            ("noop", Command::Noop),
            ("NoOp", Command::Noop),
            ("user Bob", Command::User("Bob".into())),
            ("rEtR File.TXT", Command::Retr("File.TXT".into())),
            // RFC 775 (and RFC 1123 §4.1.3.1): X-prefixed directory commands.
            ("XPWD", Command::Pwd),
            ("XCUP", Command::Cdup),
            ("XCWD d", Command::Cwd("d".into())),
            ("XMKD d", Command::Mkd("d".into())),
            ("XRMD d", Command::Rmd("d".into())),
            // De-facto hash commands: the raw argument is kept for the session.
            (
                "XSHA256 f 0 9",
                Command::XHash(HashAlgo::Sha256, "f 0 9".into()),
            ),
            ("xmd5 a b", Command::XHash(HashAlgo::Md5, "a b".into())),
            ("XCRC f", Command::XHash(HashAlgo::Crc32, "f".into())),
            ("XSHA1 f", Command::XHash(HashAlgo::Sha1, "f".into())),
            // RFC 959 §4.1, RFC 2389 (FEAT/OPTS), RFC 3659, RFC 7151 (HOST).
            ("PASS", Command::Pass(String::new())),
            ("PASS secret word", Command::Pass("secret word".into())),
            ("ACCT x", Command::Acct("x".into())),
            ("CWD /a", Command::Cwd("/a".into())),
            ("CDUP", Command::Cdup),
            ("SMNT /m", Command::Smnt("/m".into())),
            ("REIN", Command::Rein),
            ("QUIT", Command::Quit),
            ("PASV", Command::Pasv),
            ("STOR f", Command::Stor("f".into())),
            ("STOU", Command::Stou(None)),
            ("STOU f", Command::Stou(Some("f".into()))),
            ("APPE f", Command::Appe("f".into())),
            ("ALLO", Command::Allo(String::new())),
            ("ALLO 100 R 10", Command::Allo("100 R 10".into())),
            ("RNFR a", Command::Rnfr("a".into())),
            ("RNTO b", Command::Rnto("b".into())),
            ("ABOR", Command::Abor),
            ("DELE f", Command::Dele("f".into())),
            ("RMD d", Command::Rmd("d".into())),
            ("MKD d", Command::Mkd("d".into())),
            ("PWD", Command::Pwd),
            ("LIST", Command::List(None)),
            ("LIST ", Command::List(None)),
            ("LIST -la /x", Command::List(Some("-la /x".into()))),
            ("NLST *.iso", Command::Nlst(Some("*.iso".into()))),
            ("SITE CHMOD 644 f", Command::Site("CHMOD 644 f".into())),
            ("SYST", Command::Syst),
            ("STAT", Command::Stat(None)),
            ("STAT f", Command::Stat(Some("f".into()))),
            ("HELP", Command::Help(None)),
            ("HELP SITE", Command::Help(Some("SITE".into()))),
            ("NOOP", Command::Noop),
            ("FEAT", Command::Feat),
            ("OPTS UTF8 ON", Command::Opts("UTF8 ON".into())),
            ("SIZE f", Command::Size("f".into())),
            ("MDTM f", Command::Mdtm("f".into())),
            ("MLSD", Command::Mlsd(None)),
            ("MLSD d", Command::Mlsd(Some("d".into()))),
            ("MLST", Command::Mlst(None)),
            ("MLST f", Command::Mlst(Some("f".into()))),
            (
                "HOST ftp.example.com",
                Command::Host("ftp.example.com".into()),
            ),
            ("HASH f", Command::Hash("f".into())),
            ("MFMT 19700101000001 a b", Command::Mfmt(1, "a b".into())),
        ];
        for (line, want) in cases {
            assert_eq!(p(line), Ok(want), "{line:?}");
        }
    }

    #[test]
    fn argument_kept_with_spaces() {
        // RFC 959 §5.3.2: <SP> is one space; the pathname may start with spaces.
        assert_eq!(p("RETR  lead"), Ok(Command::Retr(" lead".into())));
        assert_eq!(p("STOR trail "), Ok(Command::Stor("trail ".into())));
        assert_eq!(p("CWD  "), Ok(Command::Cwd(" ".into())));
        assert_eq!(p("RETR ünïcödé"), Ok(Command::Retr("ünïcödé".into())));
    }

    #[test]
    fn missing_required_arguments() {
        // RFC 959 §4.2: 501 syntax error in parameters.
        for v in [
            "USER", "ACCT", "CWD", "XCWD", "SMNT", "RETR", "STOR", "APPE", "RNFR", "RNTO", "DELE",
            "RMD", "XRMD", "MKD", "SITE", "OPTS", "SIZE", "MDTM", "HOST", "HASH", "PORT", "EPRT",
            "TYPE", "STRU", "MODE", "REST", "MFMT",
        ] {
            assert_eq!(p(v), bad(v), "{v}");
            assert_eq!(p(&format!("{} ", v.to_lowercase())), bad(v), "{v} SP");
        }
    }

    #[test]
    fn port_and_eprt() {
        // RFC 959 §4.1.2 PORT; RFC 2428 §2 EPRT.
        let a = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), 50000);
        assert_eq!(p("PORT 127,0,0,1,195,80"), Ok(Command::Port(a)));
        assert_eq!(p("PORT 127,0,0,1,256,80"), bad("PORT"));
        assert_eq!(p("PORT 127,0,0,1,195"), bad("PORT"));
        assert_eq!(p("EPRT |1|127.0.0.1|50000|"), Ok(Command::Eprt(a)));
        assert!(matches!(p("EPRT |2|::1|21|"), Ok(Command::Eprt(s)) if s.is_ipv6()));
        assert_eq!(p("EPRT |3|x|21|"), bad("EPRT"));
        assert_eq!(p("EPRT |1|::1|21|"), bad("EPRT"));
    }

    #[test]
    fn epsv() {
        // RFC 2428 §3: EPSV [<net-prt> | ALL].
        assert_eq!(p("EPSV"), Ok(Command::Epsv(EpsvArg::Default)));
        assert_eq!(p("EPSV all"), Ok(Command::Epsv(EpsvArg::All)));
        assert_eq!(p("EPSV ALL"), Ok(Command::Epsv(EpsvArg::All)));
        assert_eq!(p("EPSV 1"), Ok(Command::Epsv(EpsvArg::Proto(1))));
        assert_eq!(p("EPSV 2"), Ok(Command::Epsv(EpsvArg::Proto(2))));
        assert_eq!(p("EPSV 7"), Ok(Command::Epsv(EpsvArg::Proto(7))));
        assert_eq!(p("EPSV 70000"), bad("EPSV"));
        assert_eq!(p("EPSV x"), bad("EPSV"));
        assert_eq!(p("EPSV -1"), bad("EPSV"));
    }

    #[test]
    fn type_stru_mode() {
        // RFC 959 §4.1.2 TYPE, STRU, MODE.
        for ok in ["A", "a", "A N", "a n"] {
            assert_eq!(p(&format!("TYPE {ok}")), Ok(Command::Type(TypeCode::Ascii)));
        }
        for ok in ["I", "i", "L 8", "l 8"] {
            assert_eq!(p(&format!("TYPE {ok}")), Ok(Command::Type(TypeCode::Image)));
        }
        for b in ["E", "A T", "A C", "L 7", "L", "I X", "AN", "A N X"] {
            assert_eq!(p(&format!("TYPE {b}")), bad("TYPE"), "{b}");
        }
        assert_eq!(p("STRU f"), Ok(Command::Stru('F')));
        assert_eq!(p("STRU R"), Ok(Command::Stru('R')));
        assert_eq!(p("MODE s"), Ok(Command::Mode('S')));
        assert_eq!(p("MODE SB"), bad("MODE"));
        assert_eq!(p("STRU é"), Ok(Command::Stru('é')));
    }

    #[test]
    fn rest_and_mfmt() {
        // RFC 3659 §5 REST marker; draft-somers-ftp-mfxx MFMT.
        assert_eq!(p("REST 0"), Ok(Command::Rest(0)));
        assert_eq!(p("REST 18446744073709551615"), Ok(Command::Rest(u64::MAX)));
        for b in ["18446744073709551616", "-1", "+1", "1k", "0x10"] {
            assert_eq!(p(&format!("REST {b}")), bad("REST"), "{b}");
        }
        assert_eq!(
            p("MFMT 20000229000000  spaced"),
            Ok(Command::Mfmt(951_782_400, " spaced".into()))
        );
        assert_eq!(p("MFMT 20000229000000"), bad("MFMT"));
        assert_eq!(p("MFMT 20000229000000 "), bad("MFMT"));
        assert_eq!(p("MFMT 19990229000000 f"), bad("MFMT"));
        assert_eq!(p("MFMT now f"), bad("MFMT"));
    }

    #[test]
    fn empty_encoding_unknown() {
        // RFC 959 §4.2: 500 for an unrecognised or empty command.
        assert_eq!(p(""), Err(ParseError::Empty));
        assert_eq!(p(" NOOP"), Err(ParseError::Empty));
        assert_eq!(parse(b"RETR \xFF\xFE"), Err(ParseError::BadEncoding));
        assert_eq!(parse(b"RETR a\0b"), Err(ParseError::BadEncoding));
        assert_eq!(parse(b"RETR a\rb"), Err(ParseError::BadEncoding));
        assert_eq!(parse(b"RETR a\nb"), Err(ParseError::BadEncoding));
        assert_eq!(p("frob x"), Ok(Command::Unknown("FROB".into())));
        assert_eq!(p(&"z".repeat(100)), Ok(Command::Unknown("Z".repeat(16))));
        assert_eq!(p("ééééééééééééééééé"), Ok(Command::Unknown("é".repeat(16))));
    }

    #[test]
    fn random_input_never_panics() {
        // RFC 959 §4.1: any byte stream from the client must be handled.
        let alphabet: &[u8] = b"\r\n \xFF\xFB\xF4\x00|12,.:AIaiLNERTPSVXYZ\xC3\xA9";
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            usize::try_from(seed >> 33).unwrap_or(0)
        };
        let verbs = [
            "PORT ", "EPRT ", "EPSV ", "TYPE ", "REST ", "MFMT ", "MODE ", "",
        ];
        let mut b = LineBuffer::new(32);
        for _ in 0..2000 {
            let mut chunk = verbs[next() % verbs.len()].as_bytes().to_vec();
            for _ in 0..next() % 40 {
                chunk.push(alphabet[next() % alphabet.len()]);
            }
            let _ = parse(&chunk);
            b.push(&chunk);
            assert!(b.pending_bytes() <= 33);
            while let Some(line) = b.next_line() {
                if let Ok(line) = line {
                    assert!(line.len() <= 32 && !line.contains(&b'\n'));
                    let _ = parse(&line);
                }
            }
        }
    }
}
