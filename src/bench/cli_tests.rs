//! Every documented use of the options parses: each example of `--help`
//! (read from the help text itself, so a new example is tested without
//! editing this file) and each flag with a typical value (a flag without a
//! probe here fails `every_flag_has_a_probe`).

use clap::CommandFactory;

use super::*;

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("ringftp-bench").chain(args.iter().copied()))
}

/// Splits an example line as a shell would: whitespace, '…' quotes.
fn shell_words(line: &str) -> Vec<String> {
    let (mut words, mut cur, mut quoted, mut any) = (Vec::new(), String::new(), false, false);
    for c in line.chars() {
        match c {
            '\'' => (quoted, any) = (!quoted, true),
            c if c.is_whitespace() && !quoted => {
                if any {
                    words.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => (cur, any) = (cur + &c.to_string(), true),
        }
    }
    if any {
        words.push(cur);
    }
    words
}

/// The example command lines of `--help`.
fn help_examples() -> Vec<Vec<String>> {
    let help = Cli::command().render_long_help().to_string();
    help.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("ringftp-bench --"))
        .map(shell_words)
        .collect()
}

#[test]
fn every_help_example_parses_and_checks() {
    let examples = help_examples();
    assert!(examples.len() >= 7, "examples not found in --help");
    for words in examples {
        let cli = Cli::try_parse_from(&words).unwrap_or_else(|e| panic!("{words:?}: {e}"));
        if let Err(e) = cli.check() {
            panic!("{words:?}: {e}");
        }
    }
}

#[test]
fn shell_words_keep_quoted_braces() {
    assert_eq!(
        shell_words("ringftp-bench --files 'a{1..2}'  --x"),
        ["ringftp-bench", "--files", "a{1..2}", "--x"]
    );
}

const HEX: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// One typical use of a flag: its name, the arguments, and what the parsed
/// options must then show.
struct Probe {
    flag: &'static str,
    args: Vec<String>,
    holds: fn(&Cli) -> bool,
}

fn probe(flag: &'static str, args: &[&str], holds: fn(&Cli) -> bool) -> Probe {
    let args = args.iter().map(|s| s.to_string()).collect();
    Probe { flag, args, holds }
}

fn probes() -> Vec<Probe> {
    let sha = format!("sha256:{HEX}:0");
    vec![
        probe(
            "server",
            &["--op", "login", "--server", "127.0.0.1:2125"],
            |c| c.server.port() == 2125,
        ),
        probe("user", &["--op", "login", "--user", "bench"], |c| {
            c.user == "bench"
        }),
        probe("pass", &["--op", "login", "--pass", "s3cret"], |c| {
            c.pass == "s3cret"
        }),
        probe("op", &["--op", "idle"], |c| c.op == Op::Idle),
        probe(
            "mix",
            &[
                "--op",
                "mixed",
                "--files",
                "a,gen:1k",
                "--mix",
                "retr=3,list=1",
            ],
            |c| c.mix == Mix([3, 0, 1]),
        ),
        probe("mode", &["--op", "list", "--mode", "eprt"], |c| {
            c.mode == Mode::Eprt
        }),
        probe("sessions", &["--op", "idle", "--sessions", "2000"], |c| {
            c.sessions == 2000
        }),
        probe("files", &["--files", "small/f{0000..0999}"], |c| {
            c.files.as_deref() == Some("small/f{0000..0999}")
        }),
        probe(
            "upload-dir",
            &[
                "--op",
                "stor",
                "--files",
                "gen:1m",
                "--upload-dir",
                "incoming",
            ],
            |c| c.upload_dir.as_deref() == Some("incoming"),
        ),
        probe("reuse", &["--files", "a", "--reuse"], |c| c.reuse),
        probe("duration", &["--files", "a", "--duration", "2.5"], |c| {
            c.duration == Some(2.5)
        }),
        probe("count", &["--files", "a", "--count", "10"], |c| {
            c.count == Some(10)
        }),
        probe("rate", &["--files", "a", "--rate", "100"], |c| {
            c.rate == Some(100.0)
        }),
        probe(
            "verify",
            &["--op", "stor", "--files", "gen:1k", "--verify"],
            |c| c.verify,
        ),
        probe(
            "expect",
            &["--files", "a", "--verify", "--expect", &sha],
            |c| {
                matches!(
                    c.expect,
                    Some(ExpectSpec::Sha256 {
                        len_bytes: Some(0),
                        ..
                    })
                )
            },
        ),
        probe("sink", &["--files", "a", "--sink", "splice"], |c| {
            c.sink == Sink::Splice
        }),
        probe(
            "buf-bytes",
            &["--op", "login", "--buf-bytes", "65536"],
            |c| c.buf_bytes == 65536,
        ),
        probe("workers", &["--op", "idle", "--workers", "2"], |c| {
            c.workers == 2
        }),
        probe(
            "processes",
            &["--op", "idle", "--sessions", "30000", "--processes", "3"],
            |c| c.processes == 3,
        ),
        probe(
            "child-share",
            &["--op", "idle", "--child-share", "1/3"],
            |c| c.child_share == Some((1, 3)),
        ),
        probe(
            "source-addrs",
            &["--op", "idle", "--source-addrs", "127.0.0.1-127.0.0.8"],
            |c| c.source_addrs.as_ref().is_some_and(|a| a.0.len() == 8),
        ),
        probe(
            "server-pid",
            &["--op", "idle", "--server-pid", "1234"],
            |c| c.server_pid == Some(1234),
        ),
        probe(
            "login-window",
            &["--op", "idle", "--login-window", "16"],
            |c| c.login_window == 16,
        ),
        probe(
            "stall-timeout-secs",
            &["--op", "login", "--stall-timeout-secs", "5"],
            |c| c.stall_timeout_secs == 5,
        ),
        probe("json", &["--op", "login", "--json", "/tmp/r.json"], |c| {
            c.json.as_deref() == Some(std::path::Path::new("/tmp/r.json"))
        }),
        probe("label", &["--op", "login", "--label", "vsftpd-1"], |c| {
            c.label == "vsftpd-1"
        }),
        probe("quiet", &["--op", "login", "--quiet"], |c| c.quiet),
        probe("tls", &["--op", "login", "--tls", "implicit"], |c| {
            c.tls == Some(crate::bench::tls::TlsMode::Implicit)
        }),
    ]
}

#[test]
fn every_flag_parses_with_a_typical_value() {
    for p in probes() {
        let args: Vec<&str> = p.args.iter().map(String::as_str).collect();
        let cli = parse(&args).unwrap_or_else(|e| panic!("--{}: {e}", p.flag));
        assert!((p.holds)(&cli), "--{}: parsed as {cli:?}", p.flag);
        if let Err(e) = cli.check() {
            panic!("--{}: {e}", p.flag);
        }
    }
}

#[test]
fn every_flag_has_a_probe() {
    let probed: Vec<&str> = probes().iter().map(|p| p.flag).collect();
    for arg in Cli::command().get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if !matches!(long, "help" | "version") {
            assert!(
                probed.contains(&long),
                "--{long} has no probe in cli_tests.rs"
            );
        }
    }
}

#[test]
fn verify_of_downloads_without_expect_is_refused_naming_the_choices() {
    for op in ["retr", "mixed"] {
        let cli = parse(&["--op", op, "--files", "a,gen:1k", "--verify"]).unwrap();
        let e = cli.check().unwrap_err();
        assert!(!e.contains('\n'), "{e}");
        for choice in ["local:DIR", "sha256:HEX[:LEN]", "pattern[:SEED]"] {
            assert!(e.contains(choice), "{e}");
        }
    }
    // Uploads are checked with SIZE: no --expect needed.
    let cli = parse(&["--op", "stor", "--files", "gen:1k", "--verify"]).unwrap();
    assert_eq!(cli.check(), Ok(()));
}

#[test]
fn defaults_that_depend_on_the_server_are_absent() {
    let cli = parse(&[]).unwrap();
    assert_eq!(
        (cli.files.as_deref(), cli.upload_dir.as_deref()),
        (None, None)
    );
    assert_eq!(cli.expect, None);
    assert!(cli.check().unwrap_err().contains("--files"));
    assert!(parse(&["--op", "stor"]).unwrap().check().is_err());
    assert_eq!(parse(&["--op", "list"]).unwrap().check(), Ok(()));
    assert_eq!(cli.login_window, 32);
}

#[test]
fn bad_values_are_refused() {
    for args in [
        &["--expect", "bogus"][..],
        &["--expect", "patternx"],
        &["--expect", "pattern:256"],
        &["--expect", "sha256:abc"],
        &["--expect", "local:"],
        &["--mix", "foo=1"],
        &["--mix", "retr=0"],
        &["--source-addrs", "127.0.0.2-127.0.0.1"],
        &["--source-addrs", "nope"],
        &["--child-share", "3/3"],
    ] {
        assert!(parse(args).is_err(), "{args:?}");
    }
    for args in [
        &["--op", "idle", "--sessions", "2", "--processes", "3"][..],
        &["--op", "idle", "--duration", "0"],
        &["--op", "login", "--buf-bytes", "100"],
        &[
            "--files", "a", "--verify", "--expect", "pattern", "--sink", "splice",
        ],
    ] {
        assert!(parse(args).unwrap().check().is_err(), "{args:?}");
    }
}

#[test]
fn sizes_addrs_mix_expect() {
    assert_eq!(parse_size("4k"), Some(4096));
    assert_eq!(parse_size("1G"), Some(1 << 30));
    assert_eq!(parse_size("12"), Some(12));
    assert_eq!(parse_size("x"), None);
    let a = parse_addrs("127.0.0.1-127.0.0.8").unwrap();
    assert_eq!(a.0.len(), 8);
    assert_eq!(a.0[7], "127.0.0.8".parse::<IpAddr>().unwrap());
    assert_eq!(parse_addrs("::1,127.0.0.1").unwrap().0.len(), 2);
    assert_eq!(parse_mix("retr=3,list=1"), Ok(Mix([3, 0, 1])));
    assert_eq!(parse_expect("pattern"), Ok(ExpectSpec::Pattern { seed: 0 }));
    assert_eq!(
        parse_expect("pattern:7"),
        Ok(ExpectSpec::Pattern { seed: 7 })
    );
    assert_eq!(
        parse_expect("local:/srv"),
        Ok(ExpectSpec::Local("/srv".into()))
    );
    let sha = parse_expect(&format!("sha256:{HEX}")).unwrap();
    assert!(matches!(
        sha,
        ExpectSpec::Sha256 {
            len_bytes: None,
            ..
        }
    ));
}
