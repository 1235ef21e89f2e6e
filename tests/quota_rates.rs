//! Quotas and bandwidth limits on real sockets: `quota_bytes` and
//! `quota_files` of `[[user]]` and `[anonymous]` (552 past them, the partial
//! file removed or an APPE truncated back, SITE QUOTA, room given back by
//! DELE and RNTO, SITE CPTO counted, the usage kept across SIGHUP), and the
//! rates (`*_rate_bytes_per_sec` keys and flags): byte-exact transfers that
//! cannot finish sooner than their rate allows, ABOR of a throttled
//! transfer, and an unthrottled session on the same worker going at full
//! speed meanwhile. (How close a throttled transfer gets to its rate is a
//! benchmark: scripts/rate-check.sh, docs/performance.md.)

mod common;

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::ftp::Ftp;
use common::{pass_hash, pattern, Mode, Server, ServerOpts, TempDir, BIN, PASS};

/// Passive ports of this file (no other test file uses 26xxx).
const PASV: (u16, u16) = (26000, 26999);
const LIMIT: Duration = Duration::from_secs(60);

/// A home with one 1000-byte file, and a config giving user `q` the `extra`
/// keys (quota or rates) and anonymous `anon` keys.
struct Site {
    dir: TempDir,
}

impl Site {
    fn new(tag: &str) -> Site {
        let dir = TempDir::new(tag);
        fs::create_dir_all(dir.join("home/sub")).unwrap();
        fs::write(dir.join("home/sub/old.bin"), pattern(1000, 1)).unwrap();
        fs::create_dir_all(dir.join("root/incoming")).unwrap();
        Site { dir }
    }

    fn home(&self) -> PathBuf {
        self.dir.join("home")
    }

    fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    fn config(&self, user: &str, anon: &str) -> PathBuf {
        let text = format!(
            r#"[anonymous]
permissions = {{ "/" = ["list", "read"], "/incoming" = ["upload_only"] }}
{anon}

[[user]]
name = "q"
password_hash = "{hash}"
home = "{home}"
permissions = {{ "/" = ["all"] }}
{user}
"#,
            hash = pass_hash(),
            home = self.home().display(),
        );
        let path = self.dir.join("ringftpd.toml");
        fs::write(&path, text).unwrap();
        path
    }

    fn start(&self, cfg: &Path, flags: &[&str]) -> Server {
        let mut opts = ServerOpts::new(PASV)
            .cores(1)
            .arg("--config")
            .arg(cfg.to_str().unwrap());
        for f in flags {
            opts = opts.arg(f);
        }
        Server::start(&self.root(), opts)
    }
}

/// SITE QUOTA's "Bytes used" and "Files used" figures.
fn usage(f: &mut Ftp) -> (u64, u64) {
    let r = f.expect("SITE QUOTA", 211);
    let figure = |what: &str| -> u64 {
        r.lines
            .iter()
            .find_map(|l| l.trim().strip_prefix(what))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {what:?} in {r:?}"))
    };
    (figure("Bytes used: "), figure("Files used: "))
}

/// Sends `data` for `line` while the server may stop reading; returns the
/// final reply. The writer runs on its own thread, so a server that stops
/// receiving (and closes) never blocks the test.
fn upload_reply(f: &mut Ftp, line: &str, data: Vec<u8>) -> common::ftp::Reply {
    let mut s = f.start(Mode::Pasv, line);
    let writer = std::thread::spawn(move || {
        // The server closes the data connection when it stops receiving: a
        // failed write is expected then.
        let _ = s.write_all(&data);
    });
    let r = f.reply(line);
    writer.join().unwrap();
    r
}

/// A transfer command whose answer comes before any data connection (a
/// refusal): its reply code.
fn refused_code(f: &mut Ftp, line: &str) -> u16 {
    let _pending = f.data(Mode::Pasv);
    f.cmd(line).code
}

#[test]
fn stor_past_the_byte_quota_is_552_and_removed_and_dele_gives_room_back() {
    let site = Site::new("quota-bytes");
    let cfg = site.config("quota_bytes = 1000000\nquota_files = 50", "");
    let srv = site.start(&cfg, &[]);
    let mut f = Ftp::login(srv.port, "q", PASS);
    // Counted at login: the one file already in the home.
    assert_eq!(usage(&mut f), (1000, 1));
    let r = f.expect("SITE QUOTA", 211);
    assert!(
        r.text()
            .contains("Bytes used: 1000 of 1000000 (999000 left)")
            && r.text().contains("Files used: 1 of 50 (49 left)"),
        "{r:?}"
    );
    f.upload(Mode::Pasv, "STOR a.bin", &pattern(400_000, 2));
    assert_eq!(usage(&mut f), (401_000, 2));
    // Up to 256 MiB into the 599 000 bytes left: the server stops receiving
    // during the transfer (the client's writes fail long before the end),
    // answers 552, and the partial file is gone.
    let mut data = f.start(Mode::Pasv, "STOR big.bin");
    let writer = std::thread::spawn(move || {
        let chunk = pattern(1 << 16, 3);
        let mut sent = 0u64;
        while sent < 256 << 20 {
            if data.write_all(&chunk).is_err() {
                return (sent, true);
            }
            sent += chunk.len() as u64;
        }
        (sent, false)
    });
    let r = f.reply("STOR big.bin");
    let (sent, refused) = writer.join().unwrap();
    assert_eq!(r.code, 552, "{r:?}");
    assert!(r.text().contains("Exceeded storage allocation"), "{r:?}");
    assert!(
        refused && sent < 256 << 20,
        "the server read all {sent} bytes"
    );
    assert!(!site.home().join("big.bin").exists());
    // The session goes on, and nothing of the refused upload is counted.
    f.expect("NOOP", 200);
    assert_eq!(usage(&mut f), (401_000, 2));
    // STOU too: the file under the name the server chose is removed.
    let r = upload_reply(&mut f, "STOU", pattern(700_000, 6));
    assert_eq!(r.code, 552, "{r:?}");
    let names: Vec<String> = fs::read_dir(site.home())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.starts_with("ftp")), "{names:?}");
    assert_eq!(usage(&mut f), (401_000, 2));
    // STOR over an existing file counts its new size only.
    f.upload(Mode::Pasv, "STOR a.bin", &pattern(100_000, 4));
    assert_eq!(usage(&mut f), (101_000, 2));
    // DELE gives the room back; then exactly the limit fits.
    f.expect("DELE a.bin", 250);
    assert_eq!(usage(&mut f), (1000, 1));
    f.upload(Mode::Pasv, "STOR full.bin", &pattern(999_000, 5));
    assert_eq!(usage(&mut f), (1_000_000, 2));
    let r = upload_reply(&mut f, "STOR one-more.bin", vec![7u8]);
    assert_eq!(r.code, 552, "{r:?}");
    assert!(!site.home().join("one-more.bin").exists());
    // A second session of the same user sees the same usage.
    let mut g = Ftp::login(srv.port, "q", PASS);
    assert_eq!(usage(&mut g), (1_000_000, 2));
    assert_eq!(
        fs::read(site.home().join("full.bin")).unwrap(),
        pattern(999_000, 5)
    );
}

#[test]
fn files_quota_refuses_a_new_file_before_the_transfer() {
    let site = Site::new("quota-files");
    // A virtual folder counts with the home.
    fs::create_dir_all(site.dir.join("folder")).unwrap();
    fs::write(site.dir.join("folder/f.txt"), b"in the folder").unwrap();
    let folder = format!(
        "quota_files = 3\n\n[[user.folder]]\npath = \"/f\"\nhost = \"{}\"",
        site.dir.join("folder").display()
    );
    let cfg = site.config(&folder, "");
    let srv = site.start(&cfg, &[]);
    let mut f = Ftp::login(srv.port, "q", PASS);
    assert_eq!(usage(&mut f), (1013, 2));
    f.expect("DELE /f/f.txt", 250);
    assert_eq!(usage(&mut f), (1000, 1));
    f.upload(Mode::Pasv, "STOR /f/g.txt", b"g");
    f.upload(Mode::Pasv, "STOR one.txt", b"one");
    assert_eq!(refused_code(&mut f, "STOR two.txt"), 552);
    assert_eq!(refused_code(&mut f, "STOU"), 552);
    assert!(!site.home().join("two.txt").exists());
    // Overwriting and appending to a counted file add no file.
    f.upload(Mode::Pasv, "STOR one.txt", b"uno");
    f.upload(Mode::Pasv, "APPE one.txt", b"+due");
    assert_eq!(fs::read(site.home().join("one.txt")).unwrap(), b"uno+due");
    assert_eq!(usage(&mut f), (1008, 3));
    // RNTO over a file frees it: room for a new one.
    f.expect("RNFR one.txt", 350);
    f.expect("RNTO sub/old.bin", 250);
    assert_eq!(usage(&mut f), (8, 2));
    f.upload(Mode::Pasv, "STOR two.txt", b"two");
    assert_eq!(usage(&mut f), (11, 3));
}

#[test]
fn appe_past_the_quota_is_truncated_back_and_cpto_is_counted() {
    let site = Site::new("quota-appe");
    let cfg = site.config("quota_bytes = 5000", "");
    let srv = site.start(&cfg, &[]);
    let mut f = Ftp::login(srv.port, "q", PASS);
    let r = upload_reply(&mut f, "APPE sub/old.bin", pattern(4001, 9));
    assert_eq!(r.code, 552, "{r:?}");
    assert_eq!(
        fs::read(site.home().join("sub/old.bin")).unwrap(),
        pattern(1000, 1),
        "the file is as it was before the APPE"
    );
    assert_eq!(usage(&mut f), (1000, 1));
    f.upload(Mode::Pasv, "APPE sub/old.bin", &pattern(1000, 9));
    assert_eq!(usage(&mut f), (2000, 1));
    // SITE CPTO counts the copy, and is refused when it would not fit.
    f.expect("SITE CPFR sub/old.bin", 350);
    f.expect("SITE CPTO copy.bin", 250);
    assert_eq!(usage(&mut f), (4000, 2));
    f.expect("SITE CPFR sub/old.bin", 350);
    let r = f.expect("SITE CPTO copy2.bin", 552);
    assert!(r.text().contains("Exceeded storage allocation"), "{r:?}");
    assert!(!site.home().join("copy2.bin").exists());
    assert_eq!(usage(&mut f), (4000, 2));
}

#[test]
fn anonymous_quota_is_shared_by_anonymous_sessions() {
    let site = Site::new("quota-anon");
    // [anonymous]'s own rate overrides the flag's default (1000 bytes/s:
    // the download below would take 100 s at that rate).
    let cfg = site.config(
        "",
        "quota_bytes = 200000\nquota_files = 5\ndownload_rate_bytes_per_sec = 0",
    );
    fs::write(site.root().join("pub.bin"), pattern(100_000, 4)).unwrap();
    let srv = site.start(&cfg, &["--download-rate-bytes-per-sec", "1000"]);
    let mut a = Ftp::anonymous(srv.port);
    let mut b = Ftp::anonymous(srv.port);
    let r = a.expect("SITE QUOTA", 211);
    assert!(r.text().contains("Files used: 1 of 5 (4 left)"), "{r:?}");
    assert!(r.text().contains("Download rate: unlimited"), "{r:?}");
    assert_eq!(a.download(Mode::Pasv, "RETR pub.bin"), pattern(100_000, 4));
    assert_eq!(usage(&mut a), (100_000, 1), "the whole root is counted");
    a.upload(Mode::Pasv, "STOR /incoming/a.bin", &pattern(6000, 1));
    assert_eq!(usage(&mut b), (106_000, 2));
    let r = upload_reply(&mut b, "STOR /incoming/b.bin", pattern(100_000, 2));
    assert_eq!(r.code, 552, "{r:?}");
    assert!(!site.root().join("incoming/b.bin").exists());
    assert_eq!(usage(&mut a), (106_000, 2));
}

/// A server with its stderr piped, for waiting on the reload's line.
struct Watched {
    child: Child,
    port: u16,
    stderr: mpsc::Receiver<String>,
}

impl Watched {
    fn start(root: &Path, cfg: &Path) -> Watched {
        let mut child = Command::new(BIN)
            .args(["--listen", "127.0.0.1:0", "--cores", "1", "--pasv-ports"])
            .arg(format!("{}-{}", PASV.0, PASV.1))
            .arg("--root")
            .arg(root)
            .arg("--config")
            .arg(cfg)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ringftpd");
        let (tx, stderr) = mpsc::channel();
        let err = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in err.lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).expect("start line");
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let addr = line.split_whitespace().nth(3).expect("start line address");
        let port = addr.rsplit(':').next().unwrap().parse().expect("port");
        Watched {
            child,
            port,
            stderr,
        }
    }

    fn hup(&self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).unwrap();
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.stderr.recv_timeout(left).expect("reload line");
            assert!(!line.contains("reload failed"), "{line}");
            if line.contains("users and permissions reloaded") {
                return;
            }
        }
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }
}

#[test]
fn sighup_keeps_the_counted_usage_and_applies_new_limits() {
    let site = Site::new("quota-reload");
    let cfg = site.config("quota_bytes = 100000", "");
    let srv = Watched::start(&site.root(), &cfg);
    let mut f = Ftp::login(srv.port, "q", PASS);
    f.upload(Mode::Pasv, "STOR a.bin", &pattern(5000, 1));
    assert_eq!(usage(&mut f), (6000, 2));
    // A file put there behind the server's back is not seen: the usage is
    // counted once, not rescanned (not even by the reload).
    fs::write(site.home().join("behind.bin"), pattern(7000, 2)).unwrap();
    site.config("quota_bytes = 8000", "");
    srv.hup();
    let mut g = Ftp::login(srv.port, "q", PASS);
    let r = g.expect("SITE QUOTA", 211);
    assert!(
        r.text().contains("Bytes used: 6000 of 8000 (2000 left)"),
        "{r:?}"
    );
    let r = upload_reply(&mut g, "STOR b.bin", pattern(2001, 3));
    assert_eq!(r.code, 552, "{r:?}");
    // The old session keeps its login's limit, and shares the usage.
    f.upload(Mode::Pasv, "STOR c.bin", &pattern(3000, 4));
    assert_eq!(usage(&mut g), (9000, 3));
    // A reload that drops the quota forgets the usage; a later quota counts
    // the tree afresh (now with the file written behind its back).
    site.config("", "");
    srv.hup();
    let mut h = Ftp::login(srv.port, "q", PASS);
    assert!(h
        .expect("SITE QUOTA", 211)
        .text()
        .contains("No storage quota"));
    site.config("quota_files = 10", "");
    srv.hup();
    let mut i = Ftp::login(srv.port, "q", PASS);
    assert_eq!(usage(&mut i), (1000 + 5000 + 7000 + 3000, 4));
}

// ---------------------------------------------------------------------------
// Rates

/// At least `fraction` of the time `bytes` take at `rate` (less the step
/// that goes at once): a throttled transfer cannot be faster than that on
/// any machine. (Load can only make it slower; no upper bound is asserted.)
fn at_least(bytes: u64, rate: u64, fraction: f64) -> Duration {
    Duration::from_secs_f64((bytes as f64 / rate as f64) * fraction)
}

#[test]
fn user_rates_throttle_byte_exact_transfers_on_the_ring() {
    let site = Site::new("rate-user");
    let cfg = site.config(
        "download_rate_bytes_per_sec = 100000\nupload_rate_bytes_per_sec = 200000",
        "",
    );
    fs::write(site.home().join("down.bin"), pattern(400_000, 7)).unwrap();
    fs::write(site.root().join("pub.bin"), pattern(1_000_000, 8)).unwrap();
    let srv = site.start(&cfg, &[]);
    let mut f = Ftp::login(srv.port, "q", PASS);
    let r = f.expect("SITE QUOTA", 211);
    assert!(r.text().contains("Download rate: 100000 bytes/s"), "{r:?}");
    assert!(r.text().contains("Upload rate: 200000 bytes/s"), "{r:?}");

    let t = Instant::now();
    let mut s = f.start(Mode::Pasv, "RETR down.bin");
    // Meanwhile an unthrottled session on the same (single) worker runs at
    // full speed: the throttled transfer waits on a ring timeout, the
    // worker never sleeps.
    let mut anon = Ftp::anonymous(srv.port);
    let t_anon = Instant::now();
    assert_eq!(
        anon.download(Mode::Pasv, "RETR pub.bin"),
        pattern(1_000_000, 8)
    );
    let anon_took = t_anon.elapsed();
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    drop(s);
    assert_eq!(f.reply("RETR").code, 226);
    let took = t.elapsed();
    assert_eq!(got, pattern(400_000, 7), "byte-exact");
    assert!(took >= at_least(400_000, 100_000, 0.9), "{took:?}");
    assert!(
        anon_took < took / 2,
        "the unthrottled session took {anon_took:?}, the throttled one {took:?}"
    );

    let t = Instant::now();
    f.upload(Mode::Pasv, "STOR up.bin", &pattern(300_000, 9));
    let took = t.elapsed();
    assert_eq!(
        fs::read(site.home().join("up.bin")).unwrap(),
        pattern(300_000, 9)
    );
    assert!(took >= at_least(300_000, 200_000, 0.9), "{took:?}");
}

#[test]
fn abor_of_a_throttled_transfer_answers_at_once() {
    let site = Site::new("rate-abor");
    let cfg = site.config("download_rate_bytes_per_sec = 10000", "");
    fs::write(site.home().join("slow.bin"), pattern(1_000_000, 1)).unwrap();
    let srv = site.start(&cfg, &[]);
    let mut f = Ftp::login(srv.port, "q", PASS);
    let mut s = f.start(Mode::Pasv, "RETR slow.bin");
    let mut first = [0u8; 512];
    s.read_exact(&mut first).unwrap();
    assert_eq!(&first[..], &pattern(1_000_000, 1)[..512]);
    f.send("ABOR");
    assert_eq!(f.reply("ABOR (426)").code, 426);
    assert_eq!(f.reply("ABOR (226)").code, 226);
    f.expect("NOOP", 200);
    // The session's rate applies in TYPE A too.
    f.expect("TYPE A", 200);
    fs::write(site.home().join("t.txt"), "line\n".repeat(1000)).unwrap();
    let got = f.download(Mode::Pasv, "RETR t.txt");
    assert_eq!(got, "line\r\n".repeat(1000).into_bytes());
}

#[test]
fn flags_set_the_session_default_and_the_server_wide_cap() {
    let site = Site::new("rate-flags");
    // Anonymous has no rate of its own: the flags' defaults apply.
    let cfg = site.config("", "");
    fs::write(site.root().join("a.bin"), pattern(300_000, 1)).unwrap();
    let srv = site.start(
        &cfg,
        &[
            "--download-rate-bytes-per-sec",
            "150000",
            "--upload-rate-bytes-per-sec",
            "150000",
            "--retr-path",
            "splice",
        ],
    );
    let mut f = Ftp::anonymous(srv.port);
    let r = f.expect("SITE QUOTA", 211);
    assert!(r.text().contains("Upload rate: 150000 bytes/s"), "{r:?}");
    let t = Instant::now();
    assert_eq!(f.download(Mode::Pasv, "RETR a.bin"), pattern(300_000, 1));
    assert!(t.elapsed() >= at_least(300_000, 150_000, 0.9));
    let t = Instant::now();
    f.upload(Mode::Pasv, "STOR /incoming/u.bin", &pattern(200_000, 2));
    assert!(t.elapsed() >= at_least(200_000, 150_000, 0.9));
    assert_eq!(
        fs::read(site.root().join("incoming/u.bin")).unwrap(),
        pattern(200_000, 2)
    );
    drop(srv);

    // The server-wide cap: two sessions share it.
    let srv = site.start(
        &cfg,
        &[
            "--server-download-rate-bytes-per-sec",
            "200000",
            "--server-upload-rate-bytes-per-sec",
            "200000",
        ],
    );
    let mut a = Ftp::anonymous(srv.port);
    let mut b = Ftp::anonymous(srv.port);
    let t = Instant::now();
    let mut sa = a.start(Mode::Pasv, "RETR a.bin");
    let mut sb = b.start(Mode::Pasv, "RETR a.bin");
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        sb.read_to_end(&mut v).unwrap();
        v
    });
    let mut va = Vec::new();
    sa.read_to_end(&mut va).unwrap();
    let vb = reader.join().unwrap();
    drop(sa);
    assert_eq!(a.reply("RETR a").code, 226);
    assert_eq!(b.reply("RETR b").code, 226);
    assert_eq!(va, pattern(300_000, 1));
    assert_eq!(vb, pattern(300_000, 1));
    let took = t.elapsed();
    assert!(took >= at_least(600_000, 200_000, 0.9), "{took:?}");
    let t = Instant::now();
    a.upload(Mode::Pasv, "STOR /incoming/w.bin", &pattern(300_000, 3));
    assert!(t.elapsed() >= at_least(300_000, 200_000, 0.9));
    assert_eq!(
        fs::read(site.root().join("incoming/w.bin")).unwrap(),
        pattern(300_000, 3)
    );
}
