//! FTPS (RFC 4217) against the real server, with a self-signed certificate
//! made at test time by the `openssl` command line (scripts/install-test-deps.sh
//! installs it): Python's ftplib.FTP_TLS (explicit and implicit, every
//! data-connection mode, byte-exact 0 B to 64 MiB both ways, TYPE A, REST,
//! LIST/NLST/MLSD), the session-reuse defence (522 without reuse, with
//! another session's ticket, and the opt-out flag), ABOR mid TLS RETR, a
//! TLS 1.1 client, garbage after AUTH, the `--tls-required` refusals, the
//! flag checks, curl and lftp.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::{
    run_limited, run_python, sha256_file, users_file, write_pattern_file, Finished, Mode, Server,
    ServerOpts, TempDir, BIN, PASS, SIZES, USER,
};

const PASV: (u16, u16) = (21400, 21799);
const LIMIT: Duration = Duration::from_secs(600);
const IO_TIMEOUT: Duration = Duration::from_secs(20);

/// A self-signed certificate and key for CN=localhost, in `dir`.
fn make_cert(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let (cert, key) = (
        dir.join(format!("{name}.cert.pem")),
        dir.join(format!("{name}.key.pem")),
    );
    let out = run_limited(
        Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
            .args(["-subj", "/CN=localhost", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert),
        Duration::from_secs(60),
    );
    out.assert_ok("openssl req (install it with scripts/install-test-deps.sh)");
    (cert, key)
}

/// A root with `src_SIZE` files, user alice (home = root), a certificate,
/// and a server with `extra` flags (an implicit listener included).
struct Fixture {
    root: TempDir,
    _etc: TempDir,
    server: Server,
    implicit_port: u16,
}

fn fixture(tag: &str, extra: &[&str]) -> Fixture {
    let root = TempDir::new(tag);
    let etc = TempDir::new(&format!("{tag}-etc"));
    let (cert, key) = make_cert(etc.path(), "server");
    let users = users_file(etc.path(), &[(USER, root.path(), "all")]);
    let mut opts = ServerOpts::new(PASV)
        .users(users)
        .arg("--tls-cert")
        .arg(cert.to_str().unwrap())
        .arg("--tls-key")
        .arg(key.to_str().unwrap())
        .arg("--tls-implicit-listen")
        .arg("127.0.0.1:0");
    for a in extra {
        opts = opts.arg(a);
    }
    let server = Server::start(root.path(), opts);
    let implicit_port = implicit_port(&server.start_line);
    Fixture {
        root,
        _etc: etc,
        server,
        implicit_port,
    }
}

/// The start line ends with `tls-implicit ADDR[,ADDR…]`.
fn implicit_port(line: &str) -> u16 {
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| *w == "tls-implicit")
        .unwrap_or_else(|| panic!("no tls-implicit in the start line {line:?}"));
    let addr: std::net::SocketAddr = words[at + 1].split(',').next().unwrap().parse().unwrap();
    addr.port()
}

fn py(args: &[String]) -> Finished {
    run_python("tls_ftplib.py", args, LIMIT)
}

fn s(v: impl ToString) -> String {
    v.to_string()
}

fn matrix(mode: Mode, sizes: &[u64]) {
    let f = fixture(&format!("tls-{}", mode.verb()), &[]);
    let mut args = vec![
        s("matrix"),
        s(f.server.port),
        f.root.path().display().to_string(),
        s(mode.verb()),
        s(USER),
        s(PASS),
    ];
    args.extend(sizes.iter().map(s));
    py(&args).assert_ok(&format!("ftplib FTPS matrix in {}", mode.verb()));
}

// Every size of support::SIZES (0 B to 64 MiB) both ways in PASV; the other
// modes with the sizes around buffer edges.
#[test]
fn ftplib_explicit_pasv_all_sizes() {
    matrix(Mode::Pasv, &SIZES);
}

#[test]
fn ftplib_explicit_epsv() {
    matrix(Mode::Epsv, &[0, 1, 16 * 1024 + 1, (1 << 20) + 7]);
}

#[test]
fn ftplib_explicit_port() {
    matrix(Mode::Port, &[0, 1, 16 * 1024 + 1, (1 << 20) + 7]);
}

#[test]
fn ftplib_explicit_eprt() {
    matrix(Mode::Eprt, &[0, 1, 16 * 1024 + 1, (1 << 20) + 7]);
}

#[test]
fn ftplib_implicit() {
    let f = fixture("tls-implicit", &[]);
    py(&[
        s("implicit"),
        s(f.implicit_port),
        f.root.path().display().to_string(),
        s(USER),
        s(PASS),
        s(3 << 20),
    ])
    .assert_ok("ftplib implicit FTPS");
}

// The defence: a data connection must resume its own control session.
#[test]
fn ftplib_without_session_reuse_gets_522() {
    let f = fixture("tls-noreuse", &[]);
    write_pattern_file(&f.root.join("a.bin"), 100_000, 1);
    py(&[
        s("noreuse"),
        s(f.server.port),
        s(USER),
        s(PASS),
        s("a.bin"),
        s("522"),
    ])
    .assert_ok("ftplib without session reuse");
}

#[test]
fn ftplib_without_session_reuse_served_with_the_opt_out() {
    let f = fixture("tls-optout", &["--tls-allow-data-without-resumption"]);
    write_pattern_file(&f.root.join("a.bin"), 100_000, 1);
    py(&[
        s("noreuse"),
        s(f.server.port),
        s(USER),
        s(PASS),
        s("a.bin"),
        s("ok"),
    ])
    .assert_ok("ftplib without session reuse, opt-out flag");
}

#[test]
fn data_connection_with_another_sessions_ticket_gets_522() {
    let f = fixture("tls-cross", &[]);
    write_pattern_file(&f.root.join("a.bin"), 100_000, 1);
    py(&[s("cross"), s(f.server.port), s(USER), s(PASS), s("a.bin")])
        .assert_ok("a data connection resuming another session");
}

#[test]
fn abor_during_a_tls_retr() {
    let f = fixture("tls-abort", &[]);
    let size: u64 = 32 << 20;
    write_pattern_file(&f.root.join("big.bin"), size, 3);
    py(&[
        s("abort"),
        s(f.server.port),
        s(USER),
        s(PASS),
        s("big.bin"),
        s(size),
    ])
    .assert_ok("ABOR mid TLS RETR");
}

// Under PROT P a data connection that does not speak TLS never gets a byte.
#[test]
fn plain_data_connection_under_prot_p_gets_nothing() {
    let f = fixture("tls-plaindata", &[]);
    write_pattern_file(&f.root.join("a.bin"), 100_000, 1);
    py(&[
        s("plaindata"),
        s(f.server.port),
        s(USER),
        s(PASS),
        s("a.bin"),
    ])
    .assert_ok("plain data connection under PROT P");
}

// rustls speaks TLS 1.2 and 1.3 only. The local OpenSSL still lets a client
// be limited to TLS 1.1 (at security level 0); the handshake must fail.
#[test]
fn tls11_client_refused() {
    let f = fixture("tls-11", &[]);
    py(&[s("tls11"), s(f.server.port)]).assert_ok("TLS 1.1 client");
}

/// A raw control connection: the greeting read.
fn raw(port: u16) -> (BufReader<TcpStream>, TcpStream) {
    let c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let mut r = BufReader::new(c.try_clone().unwrap());
    assert!(reply(&mut r).starts_with("220"));
    (r, c)
}

/// One reply (multi-line replies whole).
fn reply(r: &mut BufReader<TcpStream>) -> String {
    let mut all = String::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "connection closed; so far {all:?}");
        all.push_str(&line);
        let b = line.as_bytes();
        if b.len() >= 4 && b[3] == b' ' && b[..3].iter().all(u8::is_ascii_digit) {
            return all;
        }
    }
}

fn cmd(r: &mut BufReader<TcpStream>, c: &mut TcpStream, line: &str) -> String {
    c.write_all(format!("{line}\r\n").as_bytes()).unwrap();
    reply(r)
}

// Garbage after the 234 closes that connection only; nothing panics and
// the next client is served.
#[test]
fn garbage_after_auth_closes_that_connection_only() {
    let f = fixture("tls-garbage", &[]);
    let (mut r, mut c) = raw(f.server.port);
    assert!(cmd(&mut r, &mut c, "AUTH TLS").starts_with("234"));
    c.write_all(b"USER anonymous\r\nthis is not a ClientHello\r\n")
        .unwrap();
    // The server may send an alert, then it closes: read to the end.
    let mut rest = Vec::new();
    let n = r.read_to_end(&mut rest);
    assert!(
        n.is_ok() || rest.is_empty(),
        "the connection should end, got {n:?}"
    );
    assert!(!String::from_utf8_lossy(&rest).contains("331"), "{rest:?}");
    // A pipelined ClientHello-looking byte stream right behind AUTH, too.
    let (mut r2, mut c2) = raw(f.server.port);
    c2.write_all(b"AUTH TLS\r\n\x16\x03\x01\x00\x05hello")
        .unwrap();
    assert!(reply(&mut r2).starts_with("234"));
    let mut rest = Vec::new();
    let _ = r2.read_to_end(&mut rest);
    let (mut r3, mut c3) = raw(f.server.port);
    let feat = cmd(&mut r3, &mut c3, "FEAT");
    assert!(feat.contains(" AUTH TLS\r\n"), "{feat}");
    assert!(
        feat.contains(" PBSZ\r\n") && feat.contains(" PROT\r\n"),
        "{feat}"
    );
}

// Default --tls-required users: a named user in the clear gets 530 with a
// reason; anonymous may log in; PBSZ/PROT before AUTH are 503.
#[test]
fn tls_required_users_by_default() {
    let f = fixture("tls-req-users", &[]);
    let (mut r, mut c) = raw(f.server.port);
    assert!(cmd(&mut r, &mut c, "PBSZ 0").starts_with("503"));
    assert!(cmd(&mut r, &mut c, "PROT P").starts_with("503"));
    let u = cmd(&mut r, &mut c, &format!("USER {USER}"));
    assert!(u.starts_with("530") && u.contains("AUTH TLS"), "{u}");
    assert!(cmd(&mut r, &mut c, "USER anonymous").starts_with("331"));
    assert!(cmd(&mut r, &mut c, "PASS a@b").starts_with("230"));
    assert!(cmd(&mut r, &mut c, "QUIT").starts_with("221"));
}

#[test]
fn tls_required_all_and_off() {
    let f = fixture("tls-req-all", &["--tls-required", "all"]);
    let (mut r, mut c) = raw(f.server.port);
    assert!(cmd(&mut r, &mut c, "SYST").starts_with("215"));
    let u = cmd(&mut r, &mut c, "USER anonymous");
    assert!(u.starts_with("530") && u.contains("TLS required"), "{u}");
    drop(f);
    let f = fixture("tls-req-off", &["--tls-required", "off"]);
    let (mut r, mut c) = raw(f.server.port);
    assert!(cmd(&mut r, &mut c, &format!("USER {USER}")).starts_with("331"));
    assert!(cmd(&mut r, &mut c, &format!("PASS {PASS}")).starts_with("230"));
}

/// Runs ringftpd with `args`; it must exit 2 with one line naming `want`.
fn assert_start_error(args: &[&str], want: &str) {
    let out = run_limited(Command::new(BIN).args(args), Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(2), "{args:?}: {}", out.stderr);
    assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains(want), "{args:?}: {}", out.stderr);
}

#[test]
fn bad_certificate_flags_exit_2() {
    let dir = TempDir::new("tls-flags");
    let (cert, key) = make_cert(dir.path(), "a");
    let (_, other_key) = make_cert(dir.path(), "b");
    let root = dir.path().to_str().unwrap();
    let (cert, key, other_key) = (
        cert.to_str().unwrap(),
        key.to_str().unwrap(),
        other_key.to_str().unwrap(),
    );
    let base = ["--root", root, "--listen", "127.0.0.1:0"];
    fn with<'a>(base: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
        [base, more].concat()
    }
    assert_start_error(
        &with(&base, &["--tls-cert", "/nonexistent.pem", "--tls-key", key]),
        "--tls-cert /nonexistent.pem",
    );
    assert_start_error(
        &with(&base, &["--tls-cert", cert, "--tls-key", other_key]),
        "does not fit",
    );
    assert_start_error(
        &with(&base, &["--tls-cert", cert, "--tls-key", cert]),
        "no PEM private key",
    );
    assert_start_error(&with(&base, &["--tls-cert", cert]), "--tls-key");
    assert_start_error(
        &with(&base, &["--tls-implicit-listen", "127.0.0.1:0"]),
        "--tls-implicit-listen needs",
    );
    assert_start_error(&with(&base, &["--tls-required", "all"]), "--tls-required");
}

fn curl(args: &[&str]) -> Finished {
    let out = run_limited(Command::new("curl").args(["-sS", "-k"]).args(args), LIMIT);
    out.assert_ok(&format!("curl {}", args.join(" ")));
    out
}

#[test]
fn curl_explicit_and_implicit() {
    let f = fixture("tls-curl", &[]);
    let size = (8 << 20) + 3;
    let want = write_pattern_file(&f.root.join("a.bin"), size, 5);
    let user = format!("{USER}:{PASS}");
    let explicit = format!("ftp://127.0.0.1:{}", f.server.port);
    let implicit = format!("ftps://127.0.0.1:{}", f.implicit_port);
    for (base, extra) in [(&explicit, "--ssl-reqd"), (&implicit, "--ssl-reqd")] {
        // Passive only: curl 7.87-7.88 (Debian 12's) never starts TLS on an
        // active data connection (curl issue 10666); ftplib covers PORT/EPRT.
        for port_mode in [&["--epsv"][..], &["--disable-epsv"][..]] {
            let got = f.root.join("got.bin");
            let mut args = vec![extra, "-u", &user, "-o", got.to_str().unwrap()];
            args.extend_from_slice(port_mode);
            let url = format!("{base}/a.bin");
            args.push(&url);
            curl(&args);
            assert_eq!(sha256_file(&got), want, "curl RETR {url} {port_mode:?}");
            let up = format!("{base}/up.bin");
            let src = f.root.join("a.bin");
            let mut args = vec![extra, "-u", &user, "-T", src.to_str().unwrap()];
            args.extend_from_slice(port_mode);
            args.push(&up);
            curl(&args);
            assert_eq!(sha256_file(&f.root.join("up.bin")), want, "curl STOR {up}");
        }
        let list = curl(&[extra, "-u", &user, &format!("{base}/")]);
        assert!(list.stdout.contains("a.bin"), "{}", list.stdout);
    }
}

/// True when `tool` is on PATH. A missing lftp skips its case with a note,
/// unless `RINGFTPD_REQUIRE_CLIENTS=1` (scripts/test.sh sets it), as in
/// tests/interop_clients.rs.
fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found && std::env::var("RINGFTPD_REQUIRE_CLIENTS").is_ok_and(|v| v == "1") {
        panic!("{tool} is missing: run scripts/install-test-deps.sh");
    }
    if !found {
        eprintln!("note: {tool} not installed; its FTPS case skipped");
    }
    found
}

#[test]
fn lftp_ssl_force_protect_data() {
    if !have("lftp") {
        return;
    }
    let f = fixture("tls-lftp", &[]);
    let size = (2 << 20) + 11;
    let want = write_pattern_file(&f.root.join("a.bin"), size, 9);
    let local = TempDir::new("tls-lftp-local");
    let script = format!(
        "set ftp:ssl-force true; set ftp:ssl-protect-data true; \
         set ssl:verify-certificate no; set net:max-retries 1; \
         open -u {USER},{PASS} -p {} 127.0.0.1; ls; get a.bin -o {}/got.bin; \
         put {}/got.bin -o up.bin; quit",
        f.server.port,
        local.path().display(),
        local.path().display()
    );
    let out = run_limited(Command::new("lftp").arg("-c").arg(&script), LIMIT);
    out.assert_ok("lftp FTPS");
    assert!(out.stdout.contains("a.bin"), "{}", out.stdout);
    assert_eq!(sha256_file(&local.join("got.bin")), want);
    assert_eq!(sha256_file(&f.root.join("up.bin")), want);
}

/// SIGHUP re-reads the certificate and key: new sessions get the new one; a
/// broken pair keeps the old one, said in one line.
#[test]
fn sighup_reloads_the_certificate() {
    let root = TempDir::new("tls-hup");
    let etc = TempDir::new("tls-hup-etc");
    let (cert, key) = make_cert(etc.path(), "live");
    let first = etc.join("first.pem");
    std::fs::copy(&cert, &first).unwrap();
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--cores", "1", "--pasv-ports"])
        .arg(format!("{}-{}", PASV.0, PASV.1))
        .arg("--root")
        .arg(root.path())
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
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
    let port = line
        .split_whitespace()
        .nth(3)
        .and_then(|a| a.rsplit(':').next())
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or_else(|| panic!("start line {line:?}"));
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let hup = |done: &str| {
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).unwrap();
        let deadline = Instant::now() + IO_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let l = stderr
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no {done:?} on stderr"));
            if l.contains("TLS certificate") {
                assert!(l.contains(done), "{l}");
                return l;
            }
        }
    };
    let certis = |pem: &Path| {
        py(&[s("certis"), s(port), pem.display().to_string()]).assert_ok("server certificate")
    };
    certis(&first);
    // A new pair in the same files.
    let (c2, k2) = make_cert(etc.path(), "next");
    std::fs::copy(&c2, &cert).unwrap();
    std::fs::copy(&k2, &key).unwrap();
    hup("TLS certificate reloaded");
    certis(&c2);
    // A key that does not match: the old pair stays.
    std::fs::copy(&first, &cert).unwrap();
    let l = hup("reload failed, keeping the old certificate");
    assert!(l.contains("does not fit"), "{l}");
    certis(&c2);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let _ = child.wait();
}

/// Runs ringftp-bench (in-process) against `port` with `args`.
fn bench(port: u16, args: &[&str]) -> ringftpd::bench::run::Outcome {
    use clap::Parser;
    let server = format!("127.0.0.1:{port}");
    let mut argv = vec![
        "ringftp-bench",
        "--quiet",
        "--server",
        &server,
        "--user",
        USER,
        "--pass",
        PASS,
        "--stall-timeout-secs",
        "20",
    ];
    argv.extend_from_slice(args);
    let cli = ringftpd::bench::cli::Cli::parse_from(argv);
    let plan = std::sync::Arc::new(ringftpd::bench::plan::Plan::from_cli(&cli).unwrap());
    ringftpd::bench::run::run(plan, true, None).unwrap()
}

// ringftp-bench --tls: explicit in every mode with reused sessions (each
// data connection resumes its own session, many times), uploads with their
// SIZE checked, listings; implicit too. Any 522 would be an error.
#[test]
fn bench_tls_explicit_and_implicit() {
    let f = fixture("tls-bench", &[]);
    let size = 1_000_003u64;
    let sha = write_pattern_file(&f.root.join("p.bin"), size, 11);
    let expect = format!("sha256:{sha}:{size}");
    for (tls, port, mode) in [
        ("explicit", f.server.port, "pasv"),
        ("explicit", f.server.port, "epsv"),
        ("explicit", f.server.port, "port"),
        ("explicit", f.server.port, "eprt"),
        ("implicit", f.implicit_port, "epsv"),
    ] {
        let o = bench(
            port,
            &[
                "--tls",
                tls,
                "--mode",
                mode,
                "--files",
                "/p.bin",
                "--count",
                "6",
                "--sessions",
                "2",
                "--reuse",
                "--verify",
                "--expect",
                &expect,
            ],
        );
        let s = &o.stats;
        assert_eq!(s.error_count(), 0, "{tls} {mode}: {:?}", s.errors);
        assert_eq!(
            (s.transfers, s.verified, s.logins),
            (6, 6, 2),
            "{tls} {mode}"
        );
        assert_eq!(s.bytes_down, 6 * size, "{tls} {mode}");
        // The report names the version and suite the server chose.
        let suite = s.tls.as_deref().unwrap_or("");
        assert!(
            suite.starts_with("TLSv1.2 TLS_ECDHE_") && suite.contains("GCM"),
            "{tls} {mode}: {suite:?}"
        );
        let o = bench(
            port,
            &[
                "--tls",
                tls,
                "--mode",
                mode,
                "--op",
                "stor",
                "--files",
                "gen:300kx1,gen:0x1",
                "--count",
                "4",
                "--reuse",
                "--verify",
            ],
        );
        assert_eq!(
            o.stats.error_count(),
            0,
            "stor {tls} {mode}: {:?}",
            o.stats.errors
        );
        assert_eq!(o.stats.transfers, 4, "stor {tls} {mode}");
        let o = bench(
            port,
            &[
                "--tls", tls, "--mode", mode, "--op", "list", "--files", "/", "--count", "3",
                "--reuse",
            ],
        );
        assert_eq!(
            o.stats.error_count(),
            0,
            "list {tls} {mode}: {:?}",
            o.stats.errors
        );
        assert_eq!(o.stats.transfers, 3, "list {tls} {mode}");
    }
    // --sink splice cannot decrypt: refused with a reason.
    use clap::Parser;
    let cli = ringftpd::bench::cli::Cli::parse_from([
        "ringftp-bench",
        "--server",
        "127.0.0.1:1",
        "--files",
        "/p.bin",
        "--tls",
        "explicit",
        "--sink",
        "splice",
    ]);
    let e = ringftpd::bench::plan::Plan::from_cli(&cli).unwrap_err();
    assert!(e.contains("--tls"), "{e}");
}
