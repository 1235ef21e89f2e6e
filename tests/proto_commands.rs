//! Real sockets: every command of FEAT and docs/commands.md that issue 4
//! added or completed, against a ringftpd on 127.0.0.1 port 0 (RFC sections
//! cited per test). Raw client, exact reply codes, byte-exact data.

mod support;

use std::io::{Read, Write};

use sha2::Digest;
use support::ftp::Ftp;
use support::{hex, write_random, Mode, Server, ServerOpts, PASS, USER};

/// Passive ports of this file (no other test file uses 26xxx).
const PASV: (u16, u16) = (26000, 26999);

/// A server on a fresh root: [`USER`] (all permissions) and `reader`
/// (list, read), both with [`PASS`].
fn serve(tag: &str) -> Server {
    Server::with_users(
        tag,
        &[(USER, "all"), ("reader", "list,read")],
        ServerOpts::new(PASV).cores(2),
    )
}

#[test]
fn hash_opts_hash_and_x_aliases() {
    // draft-bryan-ftpext-hash-02 §3-§4; XSHA256/XSHA1/XMD5/XCRC (de facto).
    let srv = serve("hash");
    let data = write_random(&srv.path("f i.bin"), 3_000_000, 7);
    let mut c = Ftp::login(srv.port, USER, PASS);
    let feat = c.expect("FEAT", 211).raw();
    assert!(
        feat.contains("\r\n HASH SHA-256*;SHA-1;MD5;CRC32\r\n"),
        "{feat}"
    );
    let sha = hex(&sha2::Sha256::digest(&data));
    assert_eq!(
        c.cmd("HASH f i.bin").raw(),
        format!("213 SHA-256 0-2999999 {sha} f i.bin\r\n")
    );
    assert_eq!(c.cmd("OPTS HASH SHA-1").raw(), "200 SHA-1\r\n");
    let sha1 = hex(&sha1::Sha1::digest(&data[1000..]));
    c.expect("REST 1000", 350);
    assert_eq!(
        c.cmd("HASH f i.bin").raw(),
        format!("213 SHA-1 1000-2999999 {sha1} f i.bin\r\n")
    );
    assert_eq!(c.cmd("OPTS HASH").raw(), "200 SHA-1\r\n");
    c.expect("OPTS HASH SHA-3", 504);
    let md5 = hex(&md5::Md5::digest(&data[10..20]));
    assert_eq!(c.cmd("XMD5 f i.bin 10 20").raw(), format!("213 {md5}\r\n"));
    let crc = format!("{:08x}", crc32fast::hash(&data));
    assert_eq!(c.cmd("XCRC f i.bin").raw(), format!("213 {crc}\r\n"));
    assert_eq!(c.cmd("XSHA256 \"f i.bin\"").raw(), format!("213 {sha}\r\n"));
    assert_eq!(
        c.cmd("XSHA1 f i.bin 0 3000000").raw(),
        format!("213 {}\r\n", hex(&sha1::Sha1::digest(&data)))
    );
    c.expect("HASH missing", 550);
    c.expect("MKD d", 257);
    c.expect("HASH d", 550);
    c.expect("HASH ../../etc/passwd", 550);
}

#[test]
fn hash_of_a_large_file_does_not_stall_other_sessions() {
    // The hash runs on the helper pool in steps; another session's commands
    // (which also need a helper: CWD, SIZE) are answered meanwhile.
    let srv = serve("hashbig");
    let f = std::fs::File::create(srv.path("big")).unwrap();
    f.set_len(1 << 30).unwrap(); // sparse 1 GiB: hashing it takes a while
    let mut a = Ftp::login(srv.port, USER, PASS);
    a.send_raw(b"HASH big\r\n");
    let mut b = Ftp::login(srv.port, USER, PASS);
    for _ in 0..20 {
        b.expect("SIZE big", 213);
        b.expect("CWD /", 250);
    }
    let r = a.reply("HASH big").raw();
    assert!(r.starts_with("213 SHA-256 0-1073741823 "), "{r}");
}

#[test]
fn site_cpfr_cpto() {
    // ProFTPD mod_copy's SITE CPFR/CPTO: same rights as download + upload.
    let srv = serve("copy");
    let data = write_random(&srv.path("src.bin"), 20_000_000, 3);
    std::fs::create_dir(srv.path("sub")).unwrap();
    let mut c = Ftp::login(srv.port, USER, PASS);
    c.expect("SITE CPTO x", 503);
    c.expect("SITE CPFR src.bin", 350);
    c.expect("SITE CPTO sub/copy of src.bin", 250);
    assert_eq!(
        std::fs::read(srv.path("sub/copy of src.bin")).unwrap(),
        data
    );
    // Over an existing file: truncated first.
    std::fs::write(srv.path("small"), b"0123456789").unwrap();
    c.expect("SITE CPFR small", 350);
    c.expect("SITE CPTO sub/copy of src.bin", 250);
    assert_eq!(
        std::fs::read(srv.path("sub/copy of src.bin")).unwrap(),
        b"0123456789"
    );
    // A hard link to the source is the same file: refused, source intact.
    std::fs::hard_link(srv.path("small"), srv.path("link")).unwrap();
    c.expect("SITE CPFR small", 350);
    c.expect("SITE CPTO link", 553);
    assert_eq!(std::fs::read(srv.path("small")).unwrap(), b"0123456789");
    c.expect("SITE CPFR sub", 550);
    c.expect("SITE CPFR nope", 550);
    // Outside the root: clamped inside it, so nothing escapes.
    c.expect("SITE CPFR small", 350);
    c.expect("SITE CPTO ../../../../sub/escaped", 250);
    assert!(srv.path("sub/escaped").exists());
    let mut r = Ftp::connect(srv.port);
    r.log_in("reader", PASS);
    r.expect("SITE CPFR small", 550);
}

#[test]
fn small_commands_and_rfc775_aliases() {
    // RFC 959 §4.1 (ACCT, ALLO, SMNT, REIN), RFC 775 (X*), RFC 7151 (HOST),
    // RFC 3659 (MFMT via draft-somers-ftp-mfxx), SITE CHMOD.
    let srv = serve("small");
    std::fs::write(srv.path("f"), b"x").unwrap();
    let mut c = Ftp::connect(srv.port);
    c.expect("HOST localhost", 220);
    c.expect("HOST again", 503);
    c.log_in(USER, PASS);
    c.expect("ACCT x", 202);
    c.expect("ALLO 100", 202);
    c.expect("SMNT /", 502);
    c.expect("XMKD a dir", 257);
    c.expect("XCWD a dir", 250);
    assert_eq!(
        c.cmd("XPWD").raw(),
        "257 \"/a dir\" is the current directory\r\n"
    );
    c.expect("XCUP", 250);
    c.expect("XRMD a dir", 250);
    assert_eq!(
        c.cmd("MFMT 20200102030405 f").raw(),
        "213 Modify=20200102030405; /f\r\n"
    );
    assert_eq!(c.cmd("MDTM f").raw(), "213 20200102030405\r\n");
    c.expect("SITE CHMOD 600 f", 200);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(srv.path("f"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    c.expect("OPTS MLST type;size;", 200);
    c.expect("OPTS UTF8 ON", 200);
    c.expect("REIN", 220);
    c.expect("PWD", 530);
    c.log_in(USER, PASS);
    c.expect("QUIT", 221);
}

#[test]
fn stou_stat_forms_list_options_and_glob() {
    // RFC 1123 §4.1.2.9 STOU; RFC 959 §4.1.3 STAT; LIST/NLST options and glob.
    let srv = serve("stat");
    for n in ["a.iso", "b.iso", "c.txt", ".hidden"] {
        std::fs::write(srv.path(n), n).unwrap();
    }
    let mut c = Ftp::login(srv.port, USER, PASS);
    let pending = c.data(Mode::Epsv);
    let r150 = c.expect("STOU", 150).raw();
    let mut d = pending.stream();
    d.write_all(b"unique").unwrap();
    drop(d);
    let r226 = c.reply("STOU").raw();
    let name = r150
        .trim_end()
        .strip_prefix("150 FILE: ")
        .unwrap()
        .to_string();
    assert!(r226.starts_with("226"), "{r226}");
    assert_eq!(std::fs::read(srv.path(&name)).unwrap(), b"unique");
    let s = c.expect("STAT", 211).raw();
    assert!(s.contains(&format!("Logged in as {USER}")), "{s}");
    let s = c.expect("STAT c.txt", 213).raw();
    assert!(
        s.contains("c.txt") && s.ends_with("213 End of status\r\n"),
        "{s}"
    );
    let s = c.expect("STAT /", 213).raw();
    assert!(s.contains("a.iso") && s.contains("b.iso"), "{s}");
    let (r, names) = c.try_download(Mode::Epsv, "NLST *.iso");
    assert_eq!(r, 226);
    let mut names: Vec<String> = String::from_utf8(names)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    names.sort();
    assert_eq!(names, ["a.iso", "b.iso"]);
    let all = c.download(Mode::Epsv, "LIST -a");
    assert!(String::from_utf8(all).unwrap().contains(".hidden"));
    let plain = c.download(Mode::Epsv, "LIST -l");
    assert!(!String::from_utf8(plain).unwrap().contains(".hidden"));
}

#[test]
fn stat_during_a_transfer_reports_bytes() {
    // RFC 959 §4.1.3: STAT during a transfer gives its status (213 here).
    let srv = serve("statx");
    write_random(&srv.path("big"), 64 << 20, 5);
    let mut c = Ftp::login(srv.port, USER, PASS);
    let mut d = c.data(Mode::Epsv).stream();
    c.expect("RETR big", 150);
    let mut buf = vec![0u8; 1 << 20];
    d.read_exact(&mut buf).unwrap();
    let s = c.expect("STAT", 213).raw();
    assert!(s.contains("bytes transferred"), "{s}");
    std::io::copy(&mut d, &mut std::io::sink()).unwrap();
    assert!(c.reply("RETR big").raw().starts_with("226"));
}

/// Telnet IP, then IAC with DM sent as urgent data (RFC 959 §4.1.3 ABOR,
/// RFC 854 Synch), then ABOR.
fn send_synch_abor(c: &mut Ftp) {
    use nix::sys::socket::{send, MsgFlags};
    use std::os::fd::AsRawFd;
    let fd = c.stream().as_raw_fd();
    send(fd, &[0xFF, 0xF4, 0xFF], MsgFlags::empty()).unwrap();
    send(fd, &[0xF2], MsgFlags::MSG_OOB).unwrap();
    c.send_raw(b"ABOR\r\n");
}

fn abort_is_426_then_226(c: &mut Ftp) {
    let r1 = c.reply("ABOR").raw();
    let r2 = if r1.starts_with("426") {
        c.reply("ABOR").raw()
    } else {
        String::new()
    };
    assert!(
        r1.starts_with("426") && r2.starts_with("226"),
        "{r1:?} {r2:?}"
    );
    c.expect("NOOP", 200);
}

#[test]
fn abor_with_telnet_synch_during_retr_stor_and_list() {
    let srv = serve("abor");
    write_random(&srv.path("big"), 48 << 20, 9);
    for i in 0..5_000 {
        std::fs::write(srv.path(&format!("many/{i:05}")), b"").unwrap_or_else(|_| {
            std::fs::create_dir_all(srv.path("many")).unwrap();
            std::fs::write(srv.path(&format!("many/{i:05}")), b"").unwrap();
        });
    }
    let mut c = Ftp::login(srv.port, USER, PASS);
    // RETR: the client does not read, so the transfer is mid-way.
    let d = c.data(Mode::Epsv).stream();
    c.expect("RETR big", 150);
    send_synch_abor(&mut c);
    abort_is_426_then_226(&mut c);
    drop(d);
    // STOR: the client has sent some bytes and goes on holding the socket.
    let mut d = c.data(Mode::Epsv).stream();
    c.expect("STOR up", 150);
    d.write_all(&[1u8; 100_000]).unwrap();
    send_synch_abor(&mut c);
    abort_is_426_then_226(&mut c);
    drop(d);
    // LIST of a large directory, not read.
    let d = c.data(Mode::Epsv).stream();
    c.expect("LIST many", 150);
    send_synch_abor(&mut c);
    let r = c.reply("ABOR").raw();
    // The listing may have fitted in the socket buffers and completed.
    if r.starts_with("426") {
        assert!(c.reply("ABOR").raw().starts_with("226"));
    } else {
        assert!(r.starts_with("226"), "{r}");
        let r2 = c.reply("ABOR").raw();
        assert!(r2.starts_with("225") || r2.starts_with("226"), "{r2}");
    }
    drop(d);
    c.expect("NOOP", 200);
    // ABOR with nothing running: 225.
    c.expect("ABOR", 225);
}

#[test]
fn quit_during_a_transfer_finishes_then_221() {
    let srv = serve("quit");
    let data = write_random(&srv.path("f"), 8 << 20, 11);
    let mut c = Ftp::login(srv.port, USER, PASS);
    let mut d = c.data(Mode::Epsv).stream();
    c.expect("RETR f", 150);
    c.send_raw(b"QUIT\r\n");
    let mut got = Vec::new();
    d.read_to_end(&mut got).unwrap();
    assert_eq!(got, data);
    assert!(c.reply("RETR f").raw().starts_with("226"));
    assert!(c.reply("QUIT").raw().starts_with("221"));
    assert_eq!(c.read_to_close().len(), 0, "closed after 221");
}
