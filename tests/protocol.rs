//! Control-connection behaviour over real sockets, asserted on exact reply
//! codes and exact bytes with the raw client in `support::ftp`: login rules,
//! errors that leave the session usable, REST, ABOR mid-transfer, TYPE A.

mod support;

use std::fs;
use std::io::{Read, Write};

use support::ftp::Ftp;
use support::{
    sha256_file, sha256_hex, users_file, write_pattern_file, Mode, Server, ServerOpts, TempDir,
    PASS, USER,
};

const PASV: (u16, u16) = (20000, 20999);

/// A root with a few files, served anonymously.
fn anon_server() -> (TempDir, Server) {
    let root = TempDir::new("proto");
    fs::write(root.join("hello.txt"), b"hello\n").unwrap();
    fs::create_dir(root.join("pub")).unwrap();
    write_pattern_file(&root.join("pub/data.bin"), 300_000, 11);
    let server = Server::anonymous(root.path(), PASV);
    (root, server)
}

#[test]
fn greeting_syst_noop_pwd_quit() {
    let (_root, server) = anon_server();
    let mut f = Ftp::connect(server.port);
    assert_eq!(f.greeting.lines, ["220 ringftpd ready"]);
    f.expect("SYST", 215);
    f.expect("NOOP", 200);
    f.expect("USER anonymous", 331);
    let r = f.expect("PASS me@example.com", 230);
    assert!(r.text().contains("anonymous"), "{r:?}");
    let r = f.expect("PWD", 257);
    assert_eq!(r.lines, ["257 \"/\" is the current directory"]);
    f.quit();
    assert!(server.stop().is_some_and(|s| s.success()), "SIGTERM exit");
}

#[test]
fn commands_before_login_get_530() {
    // RFC 959 §5.4: access commands need a login first.
    let (_root, server) = anon_server();
    let mut f = Ftp::connect(server.port);
    for line in [
        "LIST",
        "RETR hello.txt",
        "PWD",
        "CWD pub",
        "PASV",
        "EPSV",
        "SIZE hello.txt",
        "STOR x",
        "DELE hello.txt",
    ] {
        f.expect(line, 530);
    }
    f.expect("XYZZY", 502);
    // Allowed before login.
    let feat = f.expect("FEAT", 211);
    assert!(feat.lines.len() > 2, "{feat:?}");
    f.expect("NOOP", 200);
    f.expect("USER anonymous", 331);
    f.expect("PASS x@y", 230);
    f.expect("PWD", 257);
}

#[test]
fn unknown_verb_502_and_bad_arguments_501() {
    let (_root, server) = anon_server();
    let mut f = Ftp::anonymous(server.port);
    f.expect("XYZZY", 502);
    f.expect("SITE FROB", 504);
    // RFC 959 §4.2: 501 for a bad argument to a known verb.
    for line in [
        "RETR",
        "CWD",
        "SIZE",
        "TYPE X",
        "TYPE",
        "MODE",
        "REST abc",
        "REST -1",
        "PORT 1,2,3",
        "PORT 127,0,0,1,300,1",
        "EPRT garbage",
        "EPRT |1|127.0.0.1|0|",
        "EPRT |1|not-an-ip|2000|",
        "EPSV x",
    ] {
        f.expect(line, 501);
    }
    f.expect("MODE B", 504);
    f.expect("STRU R", 504);
    f.expect("EPSV 2", 522);
    // The session is still fine.
    f.expect("NOOP", 200);
    let r = f.expect("SIZE hello.txt", 213);
    assert_eq!(r.lines, ["213 6"]);
    f.quit();
}

#[test]
fn missing_file_550_and_the_session_goes_on() {
    let (_root, server) = anon_server();
    for mode in Mode::ALL {
        let mut f = Ftp::anonymous(server.port);
        let pending = f.data(mode);
        f.expect("RETR no-such-file", 550);
        drop(pending);
        f.expect("SIZE no-such-file", 550);
        f.expect("MDTM no/such/file", 550);
        f.expect("CWD no-such-dir", 550);
        f.expect("NOOP", 200);
        // The same session still transfers.
        let data = f.download(mode, "RETR hello.txt");
        assert_eq!(data, b"hello\n", "{mode:?}");
        f.quit();
    }
}

#[test]
fn size_mdtm_mlst_stat_cwd() {
    let (root, server) = anon_server();
    let mut f = Ftp::anonymous(server.port);
    assert_eq!(f.expect("SIZE pub/data.bin", 213).lines, ["213 300000"]);
    // RFC 3659 §3: SIZE of a directory is refused.
    f.expect("SIZE pub", 550);
    let mtime = fs::metadata(root.join("hello.txt"))
        .unwrap()
        .modified()
        .unwrap();
    let secs = mtime
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let r = f.expect("MDTM hello.txt", 213);
    assert_eq!(r.lines, [format!("213 {}", utc_timeval(secs))]);
    let r = f.expect("MLST pub/data.bin", 250);
    assert_eq!(r.lines.len(), 3, "{r:?}");
    assert!(
        r.lines[1].starts_with(" type=file;size=300000;modify="),
        "{r:?}"
    );
    assert!(r.lines[1].ends_with("; /pub/data.bin"), "{r:?}");
    let r = f.expect("STAT", 211);
    assert!(r.text().contains("Logged in as anonymous"), "{r:?}");
    let r = f.expect("STAT pub", 213);
    assert!(r.text().contains("data.bin"), "{r:?}");
    f.expect("CWD pub", 250);
    assert_eq!(
        f.expect("PWD", 257).lines,
        ["257 \"/pub\" is the current directory"]
    );
    assert_eq!(f.expect("SIZE data.bin", 213).lines, ["213 300000"]);
    f.expect("CDUP", 250);
    assert_eq!(
        f.expect("PWD", 257).lines,
        ["257 \"/\" is the current directory"]
    );
    f.quit();
}

#[test]
fn list_nlst_mlsd_in_every_mode() {
    let (_root, server) = anon_server();
    let mut f = Ftp::anonymous(server.port);
    for mode in Mode::ALL {
        let names = String::from_utf8(f.download(mode, "NLST")).unwrap();
        let mut names: Vec<&str> = names.split("\r\n").filter(|l| !l.is_empty()).collect();
        names.sort_unstable();
        assert_eq!(names, ["hello.txt", "pub"], "NLST {mode:?}");
        let list = String::from_utf8(f.download(mode, "LIST")).unwrap();
        let lines: Vec<&str> = list.split_terminator("\r\n").collect();
        assert_eq!(lines.len(), 2, "LIST {mode:?}: {list:?}");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with('-') && l.ends_with(" hello.txt")),
            "LIST {mode:?}: {list:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with('d') && l.ends_with(" pub")),
            "LIST {mode:?}: {list:?}"
        );
        let mlsd = String::from_utf8(f.download(mode, "MLSD pub")).unwrap();
        assert!(
            mlsd.starts_with("type=file;size=300000;modify=") && mlsd.ends_with("; data.bin\r\n"),
            "MLSD {mode:?}: {mlsd:?}"
        );
    }
    f.quit();
}

#[test]
fn rest_then_retr_in_every_mode() {
    // RFC 3659 §5: REST n then RETR sends the file from byte n.
    let (root, server) = anon_server();
    let whole = fs::read(root.join("pub/data.bin")).unwrap();
    let mut f = Ftp::anonymous(server.port);
    for (mode, offset) in Mode::ALL.into_iter().zip([1usize, 4096, 150_001, 300_000]) {
        let r = f.expect(&format!("REST {offset}"), 350);
        assert!(r.text().contains(&offset.to_string()), "{r:?}");
        let data = f.download(mode, "RETR pub/data.bin");
        assert_eq!(data.len(), whole.len() - offset, "REST {offset} {mode:?}");
        assert_eq!(
            sha256_hex(&data),
            sha256_hex(&whole[offset..]),
            "REST {offset} {mode:?}"
        );
        // REST applies to one transfer only.
        let data = f.download(mode, "RETR pub/data.bin");
        assert_eq!(sha256_hex(&data), sha256_hex(&whole), "after REST {mode:?}");
    }
    f.quit();
}

#[test]
fn abor_mid_transfer_then_the_session_goes_on() {
    // RFC 959 §4.1.3: ABOR during a transfer → 426 for the transfer, then 226.
    let root = TempDir::new("abor");
    let sum = write_pattern_file(&root.join("big.bin"), 64 << 20, 5);
    let server = Server::anonymous(root.path(), PASV);
    for mode in Mode::ALL {
        let mut f = Ftp::anonymous(server.port);
        let mut data = f.start(mode, "RETR big.bin");
        let mut buf = vec![0u8; 65536];
        data.read_exact(&mut buf).expect("first 64 KiB");
        // Not reading further: 64 MiB cannot fit in the socket buffers, so
        // the transfer is still running when ABOR arrives.
        f.send("ABOR");
        let r = f.reply("ABOR");
        assert_eq!(r.code, 426, "ABOR mid-transfer ({mode:?}): {r:?}");
        let r = f.reply("ABOR (second reply)");
        assert_eq!(r.code, 226, "ABOR mid-transfer ({mode:?}): {r:?}");
        drop(data);
        f.expect("NOOP", 200);
        let whole = f.download(mode, "RETR big.bin");
        assert_eq!(sha256_hex(&whole), sum, "RETR after ABOR ({mode:?})");
        // ABOR with nothing running.
        f.expect("ABOR", 225);
        f.quit();
    }
}

#[test]
fn abor_on_the_splice_path_leaves_no_stale_pipe() {
    // An ABOR that lands while a linked file→pipe→socket splice is in flight
    // leaves bytes in the pipe; the next transfer on that worker must neither
    // hang on a full pipe nor send those bytes. One worker, so every transfer
    // draws from the same pipe pool; many rounds, so ABOR lands at varied points.
    let root = TempDir::new("abor-splice");
    let sum = write_pattern_file(&root.join("big.bin"), 16 << 20, 9);
    let opts = ServerOpts::new(PASV).retr_path("splice").cores(1);
    let server = Server::start(root.path(), opts);
    let mut f = Ftp::anonymous(server.port);
    for round in 0..48usize {
        let mode = Mode::ALL[round % Mode::ALL.len()];
        let mut data = f.start(mode, "RETR big.bin");
        let mut buf = vec![0u8; 4096 * (1 + round * 37 % 300)];
        data.read_exact(&mut buf).expect("the start of the file");
        f.send("ABOR");
        let r = f.reply("ABOR");
        assert!(r.code == 426 || r.code == 226, "round {round}: {r:?}");
        if r.code == 426 {
            assert_eq!(f.reply("ABOR (second reply)").code, 226, "round {round}");
        }
        drop(data);
        let whole = f.download(mode, "RETR big.bin");
        assert_eq!(
            sha256_hex(&whole),
            sum,
            "round {round}: RETR after ABOR ({mode:?})"
        );
    }
    f.quit();
}

#[test]
fn type_a_converts_line_endings_both_ways() {
    // RFC 959 §3.1.1.1: TYPE A uses CRLF on the wire; the file keeps LF.
    let root = TempDir::new("typea");
    let home = TempDir::new("typea-home");
    let users = users_file(home.path(), &[(USER, root.path(), "all")]);
    // Long enough to cross the server's read chunks, with a CRLF already
    // in the file and a CR at the very end.
    let mut text = Vec::new();
    for i in 0..40_000 {
        text.extend_from_slice(format!("line {i}\n").as_bytes());
    }
    text.extend_from_slice(b"dos line\r\nlast\r");
    fs::write(root.join("text.txt"), &text).unwrap();
    let server = Server::start(root.path(), ServerOpts::new(PASV).users(users));
    let mut f = Ftp::login(server.port, USER, PASS);
    f.expect("TYPE A", 200);
    for mode in Mode::ALL {
        let wire = f.download(mode, "RETR text.txt");
        let mut want = Vec::new();
        for i in 0..40_000 {
            want.extend_from_slice(format!("line {i}\r\n").as_bytes());
        }
        want.extend_from_slice(b"dos line\r\nlast\r");
        assert_eq!(wire.len(), want.len(), "TYPE A RETR {mode:?}");
        assert!(wire == want, "TYPE A RETR {mode:?}: bytes differ");

        let name = format!("up-{}.txt", mode.verb());
        f.upload(mode, &format!("STOR {name}"), &want);
        let disk = fs::read(root.join(&name)).unwrap();
        let mut expect = Vec::new();
        for i in 0..40_000 {
            expect.extend_from_slice(format!("line {i}\n").as_bytes());
        }
        expect.extend_from_slice(b"dos line\nlast\r");
        assert!(disk == expect, "TYPE A STOR {mode:?}: file on disk differs");
    }
    f.expect("TYPE I", 200);
    let raw = f.download(Mode::Pasv, "RETR text.txt");
    assert_eq!(
        sha256_hex(&raw),
        sha256_file(&root.join("text.txt")),
        "TYPE I"
    );
    f.quit();
}

#[test]
fn named_user_login_rules() {
    let root = TempDir::new("login");
    let home = TempDir::new("login-home");
    let users = users_file(home.path(), &[(USER, root.path(), "all")]);
    let server = Server::start(root.path(), ServerOpts::new(PASV).users(users));
    let mut f = Ftp::connect(server.port);
    f.expect(&format!("USER {USER}"), 331);
    f.expect("PASS wrong", 530);
    f.expect("PWD", 530);
    f.expect("USER nobody", 331);
    f.expect(&format!("PASS {PASS}"), 530);
    f.expect("PASS again", 503);
    f.expect(&format!("USER {USER}"), 331);
    let r = f.expect(&format!("PASS {PASS}"), 230);
    assert!(r.text().contains(USER), "{r:?}");
    f.expect("USER other", 530);
    f.expect("MKD made", 257);
    assert!(root.join("made").is_dir());
    f.quit();

    // A third failure closes the connection (--login-failures-max 3).
    let mut f = Ftp::connect(server.port);
    for _ in 0..2 {
        f.expect(&format!("USER {USER}"), 331);
        f.expect("PASS bad", 530);
    }
    f.expect(&format!("USER {USER}"), 331);
    f.expect("PASS bad", 421);
}

#[test]
fn stor_in_every_mode_is_byte_exact() {
    let root = TempDir::new("stor");
    let home = TempDir::new("stor-home");
    let users = users_file(home.path(), &[(USER, root.path(), "all")]);
    let server = Server::start(root.path(), ServerOpts::new(PASV).users(users));
    let mut f = Ftp::login(server.port, USER, PASS);
    for mode in Mode::ALL {
        for size in [0u64, 1, 4095, 65536, (1 << 20) + 7] {
            let data = support::pattern(size, size + 3);
            let name = format!("s-{}-{size}", mode.verb());
            f.upload(mode, &format!("STOR {name}"), &data);
            assert_eq!(
                sha256_file(&root.join(&name)),
                sha256_hex(&data),
                "STOR {name}"
            );
            let back = f.download(mode, &format!("RETR {name}"));
            assert!(back == data, "RETR {name}: bytes differ");
        }
    }
    // APPE and REST+STOR on raw sockets.
    f.upload(Mode::Epsv, "APPE s-PASV-1", b"tail");
    let mut want = support::pattern(1, 4);
    want.extend_from_slice(b"tail");
    assert_eq!(fs::read(root.join("s-PASV-1")).unwrap(), want);
    f.expect("REST 2", 350);
    f.upload(Mode::Eprt, "STOR s-PASV-1", b"XYZW");
    want.truncate(2);
    want.extend_from_slice(b"XYZW");
    assert_eq!(fs::read(root.join("s-PASV-1")).unwrap(), want);
    f.quit();
}

#[test]
fn quit_during_idle_and_pipelined_commands() {
    let (_root, server) = anon_server();
    let mut f = Ftp::anonymous(server.port);
    // Several commands in one segment: answered in order.
    f.send_raw(b"NOOP\r\nSIZE hello.txt\r\nPWD\r\nSIZE nope\r\n");
    assert_eq!(f.reply("NOOP").code, 200);
    assert_eq!(f.reply("SIZE").lines, ["213 6"]);
    assert_eq!(f.reply("PWD").code, 257);
    assert_eq!(f.reply("SIZE nope").code, 550);
    f.send_raw(b"NO");
    f.send_raw(b"OP\r\n");
    assert_eq!(f.reply("split NOOP").code, 200);
    let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.write_all(b"QUIT\r\n").unwrap();
    let mut all = String::new();
    s.read_to_string(&mut all).unwrap();
    assert_eq!(all, "220 ringftpd ready\r\n221 Goodbye.\r\n");
    f.quit();
}

/// `YYYYMMDDHHMMSS` in UTC for Unix seconds (civil-from-days).
fn utc_timeval(secs: u64) -> String {
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[test]
fn passive_ports_are_reused_within_time_wait() {
    // One worker with a 4-port slice: 12 downloads in a row need each port
    // again while the previous data connection on it is in TIME_WAIT (the
    // server closes first after a RETR), which lasts 60 s on Linux.
    let root = TempDir::new("pasv-reuse");
    fs::write(root.join("f.txt"), b"x\n").unwrap();
    let server = Server::start(root.path(), ServerOpts::new((28000, 28003)).cores(1));
    let mut f = Ftp::anonymous(server.port);
    for i in 0..12 {
        let mode = if i % 2 == 0 { Mode::Pasv } else { Mode::Epsv };
        assert_eq!(
            f.download(mode, "RETR f.txt"),
            b"x\n",
            "transfer {i} ({mode:?})"
        );
    }
    f.quit();
}

#[test]
fn small_control_buffers_and_the_deferred_line_limit() {
    // --control-buffer-size-bytes 256: a long line and a burst of pipelined
    // lines span several receives and are still read exactly;
    // --deferred-commands-max 2: the third line held back during a transfer
    // gets 503 at once, the two held ones are answered after the 226.
    let root = TempDir::new("ctrlbuf");
    let sum = write_pattern_file(&root.join("big.bin"), 64 << 20, 7);
    let opts = ServerOpts::new(PASV).args(&[
        "--control-buffer-size-bytes",
        "256",
        "--deferred-commands-max",
        "2",
    ]);
    let server = Server::start(root.path(), opts);
    let mut f = Ftp::anonymous(server.port);
    let long = "x".repeat(1000);
    let r = f.cmd(&format!("SIZE {long}"));
    assert_eq!(r.code, 550, "a 1005-byte line over 256-byte buffers: {r:?}");
    f.send_raw("NOOP\r\n".repeat(60).as_bytes());
    for i in 0..60 {
        assert_eq!(f.reply("pipelined NOOP").code, 200, "NOOP #{i}");
    }
    let mut data = f.start(Mode::Epsv, "RETR big.bin");
    let mut first = vec![0u8; 65536];
    data.read_exact(&mut first).expect("first 64 KiB");
    f.send_raw(b"PWD\r\nPWD\r\nPWD\r\n");
    let r = f.reply("third PWD during the transfer");
    assert_eq!(r.code, 503, "{r:?}");
    let mut rest = Vec::new();
    data.read_to_end(&mut rest).unwrap();
    first.extend_from_slice(&rest);
    assert_eq!(sha256_hex(&first), sum);
    assert_eq!(f.reply("RETR").code, 226);
    assert_eq!(f.reply("held PWD").code, 257);
    assert_eq!(f.reply("held PWD").code, 257);
    f.quit();
}
