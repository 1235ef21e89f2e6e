//! Property-based fuzzing (issue 5 item 7), no sockets: the control-line
//! parser on arbitrary bytes, and random command sequences (with random
//! server answers, random chunking of the input and ticks) through the
//! session state machine. Properties: no panic; every reply line is
//! `ddd` + space or hyphen (or a continuation line) ending in CRLF with no
//! bare CR or LF inside (no reply injection); nothing is produced after the
//! session asked to close; no Action names a path outside `/`.
//!
//! The committed corpus `tests/fuzz_corpus/*.txt` is replayed first, then
//! used as seeds. Case count: `PROPTEST_CASES` (default 256 per property);
//! docs/security.md records the long runs.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use ringftpd::proto::command::parse;
use ringftpd::proto::error::FsError;
use ringftpd::proto::line::LineBuffer;
use ringftpd::proto::listing::{FileInfo, FileKind};
use ringftpd::proto::path::VPath;
use ringftpd::proto::perms::Perms;
use ringftpd::proto::rules::PathRules;
use ringftpd::proto::session::{
    Action, Event, FsOk, FsOp, LoginOk, Now, Session, SessionConfig, TransferError, TransferKind,
};

/// One step of a fuzzed conversation.
#[derive(Debug, Clone)]
enum Step {
    /// Bytes from the client (any split of any lines).
    Input(Vec<u8>),
    /// The server answers the oldest pending action with variant `n`.
    Answer(u8),
    /// Time passes (seconds) and the server ticks.
    Tick(u8),
    /// The client closes the connection.
    Closed,
}

const VERBS: &[&str] = &[
    "USER", "PASS", "ACCT", "CWD", "CDUP", "XCUP", "REIN", "QUIT", "PORT", "PASV", "EPRT", "EPSV",
    "TYPE", "STRU", "MODE", "RETR", "STOR", "STOU", "APPE", "ALLO", "REST", "RNFR", "RNTO", "ABOR",
    "DELE", "RMD", "XRMD", "MKD", "XMKD", "PWD", "XPWD", "LIST", "NLST", "MLSD", "MLST", "SITE",
    "SYST", "STAT", "HELP", "NOOP", "FEAT", "OPTS", "SIZE", "MDTM", "MFMT", "HOST", "HASH", "SMNT",
    "AUTH", "PBSZ", "PROT", "XYZZY",
];

const ARGS: &[&str] = &[
    "",
    "TLS",
    "P",
    "anonymous",
    "ftp",
    "alice",
    "/",
    "..",
    "../../../../etc/passwd",
    "/incoming/x",
    "a/b/../../../c",
    "*.iso",
    "-la",
    "127,0,0,1,4,1",
    "127,0,0,2,0,21",
    "1,2,3",
    "|1|127.0.0.1|2000|",
    "|2|::1|2000|",
    "|3|x|1|",
    "ALL",
    "1",
    "2",
    "A",
    "I",
    "E",
    "99999999999999999999",
    "CHMOD 777 f",
    "CHMOD 9999",
    "UTF8 ON",
    "20200101000000 file",
    "a\u{0}b",
    "\u{ff}\u{fe}",
];

fn line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => (0..VERBS.len(), 0..ARGS.len(), any::<bool>()).prop_map(|(v, a, lf)| {
            let mut l = format!("{} {}", VERBS[v], ARGS[a]).into_bytes();
            l.extend_from_slice(if lf { b"\n" } else { b"\r\n" });
            l
        }),
        1 => proptest::collection::vec(any::<u8>(), 0..64),
        1 => (0..VERBS.len(), 1usize..6000).prop_map(|(v, n)| {
            let mut l = format!("{} ", VERBS[v]).into_bytes();
            l.extend(std::iter::repeat_n(b'a', n));
            l.extend_from_slice(b"\r\n");
            l
        }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => line().prop_map(Step::Input),
        6 => any::<u8>().prop_map(Step::Answer),
        1 => (0u8..90).prop_map(Step::Tick),
        1 => Just(Step::Closed),
    ]
}

/// The server's answer `n` to `a`, or `None` for actions without one.
fn answer(a: &Action, n: u8) -> Option<Event> {
    let file = FileInfo {
        name: "f".into(),
        kind: FileKind::File,
        size: 3,
        mtime_secs: 0,
        mode: 0o644,
        nlink: 1,
    };
    let dir = FileInfo {
        kind: FileKind::Dir,
        ..file.clone()
    };
    let errs = [
        FsError::NotFound,
        FsError::PermissionDenied,
        FsError::AlreadyExists,
        FsError::NoSpace,
    ];
    let err = errs[usize::from(n) % errs.len()];
    Some(match a {
        Action::Login { .. } => Event::Login(match n % 3 {
            0 => None,
            1 => Some(LoginOk::uniform("alice", false, Perms::ALL)),
            // Anonymous with the drop-box's table, so its refusals are fuzzed.
            _ => Some(LoginOk {
                user: "anonymous".into(),
                anonymous: true,
                rules: Arc::new(PathRules::dropbox(
                    VPath::root().resolve("/incoming").unwrap(),
                )),
                // A quota, so SITE QUOTA and STAT's quota lines are fuzzed.
                quota: Some(ringftpd::proto::quota::Quota {
                    bytes_max: Some(1000),
                    files_max: None,
                    usage: Arc::new(ringftpd::proto::quota::Usage::new(2000, 1)),
                }),
                rates: ringftpd::proto::quota::Rates::default(),
            }),
        }),
        Action::Fs(_) => Event::Fs(match n % 4 {
            0 => Err(err),
            1 => Ok(FsOk::Info(file)),
            2 => Ok(FsOk::Info(dir)),
            _ => Ok(FsOk::Done),
        }),
        Action::OpenPassive => {
            Event::PassiveOpened(n.is_multiple_of(2).then_some(50_000 + u16::from(n)))
        }
        Action::Transfer(_) => match n % 6 {
            0 => Event::TransferReady {
                size: Some(u64::from(n)),
                name: None,
            },
            1 => Event::TransferDone(Ok(u64::from(n))),
            2 => Event::TransferDone(Err(TransferError::DataConnection)),
            3 => Event::TransferDone(Err(TransferError::SourceChanged)),
            4 => Event::TransferDone(Err(TransferError::RestartBeyondEnd)),
            _ => Event::TransferDone(Err(TransferError::Fs(err))),
        },
        Action::QueryProgress => Event::Progress(u64::from(n)),
        Action::Abort => Event::TransferDone(Err(TransferError::Aborted)),
        Action::SelectHost(_) => Event::HostSelected(n.is_multiple_of(2).then(|| "hi".to_string())),
        Action::ClosePassive | Action::Close | Action::CancelFs | Action::StartTls => return None,
    })
}

fn paths_of(a: &Action) -> Vec<&VPath> {
    match a {
        Action::Fs(FsOp::Rename { from, to }) => vec![from, to],
        Action::Fs(
            FsOp::Stat(p) | FsOp::ReadDir(p) | FsOp::Mkdir(p) | FsOp::Rmdir(p) | FsOp::Delete(p),
        ) => vec![p],
        Action::Fs(FsOp::SetMtime { path, .. } | FsOp::Chmod { path, .. }) => vec![path],
        Action::Transfer(t) => match &t.kind {
            TransferKind::Retr { path, .. }
            | TransferKind::Store { path, .. }
            | TransferKind::List { path, .. } => {
                vec![path]
            }
        },
        _ => vec![],
    }
}

fn check_output(out: &[u8]) {
    assert!(
        out.ends_with(b"\r\n"),
        "reply without CRLF: {:?}",
        String::from_utf8_lossy(out)
    );
    for l in out.split(|&b| b == b'\n') {
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        assert!(
            !l.contains(&b'\r') && !l.contains(&0),
            "bare CR or NUL in a reply: {l:?}"
        );
    }
}

/// Runs a conversation; panics on a broken property.
fn run(steps: &[Step], cfg: SessionConfig) {
    let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    let local: SocketAddr = "127.0.0.1:2121".parse().unwrap();
    let mut now = Now {
        mono: Instant::now(),
        unix_secs: 1_700_000_000,
    };
    let mut s = Session::new(Arc::new(cfg), peer, local, now);
    let mut pending: Vec<Action> = Vec::new();
    let mut closed_seen = false;
    for st in steps {
        match st {
            Step::Input(b) => s.handle_input(b, now),
            Step::Answer(n) => {
                if !pending.is_empty() {
                    let a = pending.remove(0);
                    if let Some(ev) = answer(&a, *n) {
                        s.handle_event(ev, now);
                    }
                }
            }
            Step::Tick(secs) => {
                now.mono += Duration::from_secs(u64::from(*secs));
                now.unix_secs += i64::from(*secs);
                s.handle_tick(now);
            }
            Step::Closed => s.handle_closed(),
        }
        while let Some(a) = s.poll_action() {
            for p in paths_of(&a) {
                assert!(
                    p.as_str().starts_with('/') && !p.as_str().split('/').any(|c| c == ".."),
                    "{p:?}"
                );
            }
            if a == Action::Close {
                closed_seen = true;
            }
            pending.push(a);
        }
        if let Some(out) = s.take_output() {
            assert!(
                !closed_seen || out.is_empty() || s.is_closing(),
                "output after close"
            );
            check_output(&out);
        }
    }
}

fn small_cfg() -> SessionConfig {
    SessionConfig {
        line_len_max_bytes: 256,
        commands_per_sec_max: 20,
        login_timeout_secs: 30,
        idle_timeout_secs: 120,
        // AUTH, PBSZ and PROT answered (TLS offered, not demanded, so
        // logins stay reachable).
        tls: ringftpd::proto::session::TlsPolicy {
            available: true,
            required: ringftpd::proto::session::TlsRequired::Off,
        },
        ..SessionConfig::default()
    }
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fuzz_corpus");
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "the corpus is committed");
    v
}

/// Each corpus script, fed whole and then byte by byte, answering every
/// action with each answer variant.
#[test]
fn corpus_replays() {
    for (name, bytes) in corpus() {
        for n in 0..12u8 {
            let mut steps = vec![Step::Input(bytes.clone())];
            steps.extend(std::iter::repeat_n(Step::Answer(n), 40));
            run(&steps, small_cfg());
            let mut bytewise: Vec<Step> = bytes.iter().map(|&b| Step::Input(vec![b])).collect();
            bytewise.extend(std::iter::repeat_n(Step::Answer(n), 40));
            run(&bytewise, SessionConfig::default());
        }
        let _ = name;
    }
}

proptest! {
    /// The line splitter and parser on arbitrary bytes in arbitrary chunks.
    #[test]
    fn parser_never_panics(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..12)) {
        let mut lb = LineBuffer::new(256);
        for c in &chunks {
            lb.push(c);
            while let Some(l) = lb.next_line() {
                if let Ok(l) = l {
                    prop_assert!(l.len() <= 257);
                    let _ = parse(&l);
                }
            }
        }
    }

    /// Random command sequences with random answers through the session.
    #[test]
    fn session_survives_random_conversations(steps in proptest::collection::vec(step(), 0..60)) {
        run(&steps, small_cfg());
    }

    /// Corpus scripts mutated: a random byte flipped, lines spliced in.
    #[test]
    fn session_survives_mutated_corpus(seed in 0usize..64, pos in any::<usize>(), byte in any::<u8>(), extra in line(), n in any::<u8>()) {
        let c = corpus();
        let mut bytes = c[seed % c.len()].1.clone();
        if !bytes.is_empty() {
            let i = pos % bytes.len();
            bytes[i] = byte;
            bytes.splice(i..i, extra);
        }
        let mut steps = vec![Step::Input(bytes)];
        steps.extend(std::iter::repeat_n(Step::Answer(n), 40));
        run(&steps, small_cfg());
    }
}
