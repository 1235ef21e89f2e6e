//! Real mirror clients on ringftpd's default limits (issue 9): the many
//! parallel sessions of `lftp mirror --parallel=50`, `curl -Z`, `wget -m`,
//! `rclone copy --transfers 32` and `lftp pget -n 8` must all work at full
//! speed, with no 421 and no refusal in the server's log.
//!
//! The server runs with no limit flag at all: only `--root`, `--listen`,
//! `--pasv-ports` (a free range) and `--verbose` (so each refusal is logged).
//! Every file is compared byte for byte with the original.

mod support;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::{pattern, run_limited, Server, ServerOpts, TempDir};

/// Small files in the mirrored directory, and their size.
const FILES: usize = 1000;
const FILE_SIZE: u64 = 4096;

/// Size of the file `lftp pget` splits.
const BIG_SIZE: u64 = 64 << 20;

/// How long one client may take (a hung client fails, it does not hang).
const LIMIT: Duration = Duration::from_secs(240);

/// A server on defaults over a root with `small/` (1000 × 4 KiB) and
/// `big.bin`, its log in `<root>/../server.log`.
struct Mirror {
    _root: TempDir,
    local: TempDir,
    log: PathBuf,
    srv: Server,
}

fn name(i: usize) -> String {
    format!("f{i:04}.dat")
}

impl Mirror {
    fn start(tag: &str, pasv: (u16, u16), big: bool) -> Mirror {
        let root = TempDir::new(tag);
        let small = root.join("small");
        fs::create_dir_all(&small).unwrap();
        for i in 0..FILES {
            fs::write(small.join(name(i)), pattern(FILE_SIZE, i as u64)).unwrap();
        }
        if big {
            fs::write(root.join("big.bin"), pattern(BIG_SIZE, 99)).unwrap();
        }
        let local = TempDir::new(&format!("{tag}-local"));
        let log = local.join("server.log");
        let mut opts = ServerOpts::new(pasv)
            .arg("--verbose")
            .stderr_to(log.clone());
        if big {
            // lftp pget splits only while the first connection's RETR is
            // still running when the others have logged in; unthrottled,
            // 64 MiB over loopback can end first and pget then sends no
            // REST. A per-session rate (no per-address limit is touched)
            // keeps the split deterministic: one session would need 4 s.
            opts = opts.args(&["--download-rate-bytes-per-sec", "16777216"]);
        }
        let srv = Server::start(root.path(), opts);
        Mirror {
            _root: root,
            local,
            log,
            srv,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.srv.url())
    }

    /// Every small file is in `dir`, byte-exact, and nothing else is.
    fn check_small(&self, dir: &Path) {
        let mut missing = Vec::new();
        for i in 0..FILES {
            match fs::read(dir.join(name(i))) {
                Ok(got) if got == pattern(FILE_SIZE, i as u64) => {}
                Ok(got) => panic!("{} differs ({} bytes)", name(i), got.len()),
                Err(_) => missing.push(name(i)),
            }
        }
        assert!(
            missing.is_empty(),
            "{} files missing: {:?}",
            missing.len(),
            &missing[..missing.len().min(10)]
        );
    }

    /// The server logged no refusal of any kind.
    fn check_no_refusal(&self) {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        let refusals: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("refused") || l.contains("421"))
            .collect();
        assert!(
            refusals.is_empty(),
            "server refused: {:?}",
            &refusals[..refusals.len().min(10)]
        );
    }

    fn run(&self, what: &str, cmd: &mut Command) -> String {
        let done = run_limited(cmd, LIMIT);
        done.assert_ok(what);
        format!("{}{}", done.stdout, done.stderr)
    }
}

/// No server reply in lftp's debug log is a 421.
fn assert_no_421(debug: &str) {
    let hits: Vec<&str> = debug.lines().filter(|l| l.contains("<--- 421")).collect();
    assert!(
        hits.is_empty(),
        "the client saw 421: {:?}",
        &hits[..hits.len().min(5)]
    );
}

fn lftp_script(m: &Mirror, debug: &Path, body: &str) -> Command {
    let mut c = Command::new("lftp");
    c.arg("-c").arg(format!(
        "set cmd:fail-exit yes; set net:max-retries 1; set net:timeout 30; \
         set ftp:ssl-allow no; set xfer:clobber yes; debug -o {} 5; open {}; {body}",
        debug.display(),
        m.srv.url()
    ));
    c
}

#[test]
fn lftp_mirror_parallel_50_on_defaults() {
    let m = Mirror::start("mirror-lftp", (61000, 61399), false);
    let out = m.local.join("out");
    let debug = m.local.join("lftp.debug");
    m.run(
        "lftp mirror --parallel=50",
        &mut lftp_script(
            &m,
            &debug,
            &format!("mirror --parallel=50 small {}", out.display()),
        ),
    );
    m.check_small(&out);
    let debug = fs::read_to_string(&debug).unwrap();
    assert!(
        debug.contains("<--- 226"),
        "lftp's debug log holds the replies"
    );
    assert_no_421(&debug);
    m.check_no_refusal();
}

#[test]
fn curl_parallel_50_on_defaults() {
    let m = Mirror::start("mirror-curl", (61400, 61799), false);
    let out = m.local.join("out");
    fs::create_dir_all(&out).unwrap();
    let mut config = String::new();
    for i in 0..FILES {
        let n = name(i);
        writeln!(
            config,
            "url = \"{}\"\noutput = \"{}\"",
            m.url(&format!("small/{n}")),
            out.join(&n).display()
        )
        .unwrap();
    }
    let cfg = m.local.join("curl.cfg");
    fs::write(&cfg, config).unwrap();
    // One line per transfer: the last FTP reply code and curl's own code.
    let said = m.run(
        "curl -Z --parallel-max 50",
        Command::new("curl")
            .args(["-s", "-S", "-Z", "--parallel-max", "50", "--retry", "0"])
            .args(["-w", "code=%{response_code} exit=%{exitcode}\\n", "-K"])
            .arg(&cfg),
    );
    let lines: Vec<&str> = said.lines().filter(|l| l.starts_with("code=")).collect();
    assert_eq!(lines.len(), FILES, "one result line per file:\n{said}");
    // The transfer that closes a connection reports the QUIT's 221.
    let bad: Vec<&&str> = lines
        .iter()
        .filter(|l| **l != "code=226 exit=0" && **l != "code=221 exit=0")
        .collect();
    assert!(
        bad.is_empty(),
        "transfers not ending in 226: {:?}",
        &bad[..bad.len().min(5)]
    );
    m.check_small(&out);
    m.check_no_refusal();
}

#[test]
fn wget_mirror_on_defaults() {
    let m = Mirror::start("mirror-wget", (61800, 61999), false);
    let out = m.local.join("out");
    let said = m.run(
        "wget -m",
        Command::new("wget")
            .args(["-nv", "-T", "30", "-t", "1", "-m", "-nH", "-P"])
            .arg(&out)
            .arg(m.url("small/")),
    );
    assert!(said.contains("FINISHED"), "wget's summary:\n{said}");
    m.check_small(&out.join("small"));
    m.check_no_refusal();
}

#[test]
fn rclone_copy_transfers_32_on_defaults() {
    let m = Mirror::start("mirror-rclone", (62000, 62199), false);
    let out = m.local.join("out");
    let obscured = m.run(
        "rclone obscure",
        Command::new("rclone").args(["obscure", "guest"]),
    );
    let remote = format!(
        ":ftp,host=127.0.0.1,port={},user=anonymous,pass={}:small",
        m.srv.port,
        obscured.trim()
    );
    let said = m.run(
        "rclone copy --transfers 32",
        Command::new("rclone")
            .args([
                "copy",
                "--transfers",
                "32",
                "--checkers",
                "32",
                "--retries",
                "1",
            ])
            .args(["--low-level-retries", "1", "--config", "/dev/null", "-v"])
            .arg(&remote)
            .arg(&out),
    );
    assert!(said.contains("Transferred:"), "rclone's summary:\n{said}");
    m.check_small(&out);
    m.check_no_refusal();
}

#[test]
fn lftp_pget_8_on_defaults() {
    let m = Mirror::start("mirror-pget", (62200, 62299), true);
    let out = m.local.join("big.bin");
    let debug = m.local.join("lftp.debug");
    m.run(
        "lftp pget -n 8",
        &mut lftp_script(
            &m,
            &debug,
            &format!("pget -n 8 big.bin -o {}", out.display()),
        ),
    );
    let got = fs::read(&out).unwrap();
    assert_eq!(got.len() as u64, BIG_SIZE);
    assert!(got == pattern(BIG_SIZE, 99), "big.bin differs");
    let debug = fs::read_to_string(&debug).unwrap();
    // pget really split the file: more than one RETR with a REST offset.
    let rests = debug.lines().filter(|l| l.contains("---> REST ")).count();
    assert!(rests >= 2, "pget used {rests} REST offsets");
    assert_no_421(&debug);
    m.check_no_refusal();
}
