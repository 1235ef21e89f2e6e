//! A deliberately small FTP client on raw sockets, for asserting exact reply
//! codes and exact bytes. Every read has a timeout, so a server that never
//! answers fails the test with the command it was waiting on.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use super::Mode;

/// Longest wait for one reply or one data connection.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(60);

/// One (possibly multi-line) reply.
#[derive(Debug, Clone)]
pub struct Reply {
    pub code: u16,
    /// All lines, CRLF removed.
    pub lines: Vec<String>,
}

impl Reply {
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// The text after the code on the first line.
    pub fn first_text(&self) -> &str {
        self.lines[0].get(4..).unwrap_or("")
    }
}

/// A control connection.
pub struct Ftp {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    /// The 220 greeting.
    pub greeting: Reply,
}

/// A data connection being set up: passive (already connected) or active
/// (listening for the server).
pub enum Pending {
    Connected(TcpStream),
    Listening(TcpListener),
}

impl Pending {
    /// The data stream, once the server has been told what to transfer.
    pub fn stream(self) -> TcpStream {
        let s = match self {
            Pending::Connected(s) => s,
            Pending::Listening(l) => accept_with_timeout(&l),
        };
        s.set_read_timeout(Some(REPLY_TIMEOUT)).unwrap();
        s.set_write_timeout(Some(REPLY_TIMEOUT)).unwrap();
        s
    }
}

fn accept_with_timeout(l: &TcpListener) -> TcpStream {
    // A blocking accept bounded by a poll on the listener.
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    let mut fds = [PollFd::new(l.as_fd(), PollFlags::POLLIN)];
    // 60 s, the same bound as REPLY_TIMEOUT.
    let n = poll(&mut fds, PollTimeout::from(60_000u16)).expect("poll");
    assert!(
        n == 1,
        "the server did not connect to our active-mode listener"
    );
    l.accept().expect("accept data connection").0
}

impl Ftp {
    /// Connects to 127.0.0.1:`port` and reads the greeting (asserts 220).
    pub fn connect(port: u16) -> Ftp {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect control");
        s.set_read_timeout(Some(REPLY_TIMEOUT)).unwrap();
        let writer = s.try_clone().unwrap();
        let mut reader = BufReader::new(s);
        let greeting = read_reply(&mut reader, "(greeting)");
        assert_eq!(greeting.code, 220, "greeting: {greeting:?}");
        Ftp {
            reader,
            writer,
            greeting,
        }
    }

    /// A control connection already made (e.g. after a PROXY header was
    /// sent on it); reads the greeting (asserts 220).
    pub fn from_stream(s: TcpStream) -> Ftp {
        s.set_read_timeout(Some(REPLY_TIMEOUT)).unwrap();
        let writer = s.try_clone().unwrap();
        let mut reader = BufReader::new(s);
        let greeting = read_reply(&mut reader, "(greeting)");
        assert_eq!(greeting.code, 220, "greeting: {greeting:?}");
        Ftp {
            reader,
            writer,
            greeting,
        }
    }

    /// Connects and logs in; asserts 331 then 230.
    pub fn login(port: u16, user: &str, pass: &str) -> Ftp {
        let mut f = Ftp::connect(port);
        f.expect(&format!("USER {user}"), 331);
        f.expect(&format!("PASS {pass}"), 230);
        f
    }

    pub fn anonymous(port: u16) -> Ftp {
        Ftp::login(port, "anonymous", "test@example.com")
    }

    /// Sends raw bytes on the control connection.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write control");
    }

    /// Sends `line` + CRLF without waiting.
    pub fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\r\n").as_bytes());
    }

    /// Reads the next reply.
    pub fn reply(&mut self, waiting_for: &str) -> Reply {
        read_reply(&mut self.reader, waiting_for)
    }

    /// Sends `line`, returns the reply.
    pub fn cmd(&mut self, line: &str) -> Reply {
        self.send(line);
        self.reply(line)
    }

    /// Sends `line` and asserts the reply code.
    pub fn expect(&mut self, line: &str, code: u16) -> Reply {
        let r = self.cmd(line);
        assert_eq!(r.code, code, "{line:?} → {:?}, expected {code}", r.text());
        r
    }

    /// Sets up a data connection in `mode` (asserting the 227/229/200).
    pub fn data(&mut self, mode: Mode) -> Pending {
        match mode {
            Mode::Pasv => {
                let r = self.expect("PASV", 227);
                let addr = parse_227(&r.lines[0]);
                assert_eq!(addr.ip().to_string(), "127.0.0.1", "227 address: {r:?}");
                Pending::Connected(connect(addr))
            }
            Mode::Epsv => {
                let r = self.expect("EPSV", 229);
                let port = parse_229(&r.lines[0]);
                Pending::Connected(connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port))))
            }
            Mode::Port | Mode::Eprt => {
                let l = TcpListener::bind("127.0.0.1:0").expect("bind active listener");
                let port = l.local_addr().unwrap().port();
                let line = if mode == Mode::Port {
                    format!("PORT 127,0,0,1,{},{}", port >> 8, port & 0xff)
                } else {
                    format!("EPRT |1|127.0.0.1|{port}|")
                };
                self.expect(&line, 200);
                Pending::Listening(l)
            }
        }
    }

    /// Sends a transfer command after setting up `mode`; asserts a 150 and
    /// returns the data stream.
    pub fn start(&mut self, mode: Mode, line: &str) -> TcpStream {
        let pending = self.data(mode);
        let r = self.cmd(line);
        assert_eq!(r.code, 150, "{line:?} → {:?}, expected 150", r.text());
        pending.stream()
    }

    /// RETR (or LIST, NLST, MLSD) in `mode`: the bytes, 226 asserted.
    pub fn download(&mut self, mode: Mode, line: &str) -> Vec<u8> {
        let mut s = self.start(mode, line);
        let mut data = Vec::new();
        s.read_to_end(&mut data).expect("read data connection");
        drop(s);
        let r = self.reply(line);
        assert_eq!(r.code, 226, "{line:?} ({mode:?}) final → {:?}", r.text());
        data
    }

    /// STOR/APPE in `mode`: sends `data`, closes, asserts 226.
    pub fn upload(&mut self, mode: Mode, line: &str, data: &[u8]) {
        let mut s = self.start(mode, line);
        s.write_all(data).expect("write data connection");
        drop(s);
        let r = self.reply(line);
        assert_eq!(r.code, 226, "{line:?} ({mode:?}) final → {:?}", r.text());
    }

    /// QUIT, asserting 221 and that the server then closes.
    pub fn quit(mut self) {
        self.expect("QUIT", 221);
        let mut rest = Vec::new();
        let _ = self.reader.read_to_end(&mut rest);
        assert!(rest.is_empty(), "bytes after 221: {rest:?}");
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    TcpStream::connect_timeout(&addr, REPLY_TIMEOUT)
        .unwrap_or_else(|e| panic!("connect data {addr}: {e}"))
}

fn read_line(r: &mut BufReader<TcpStream>, waiting_for: &str) -> String {
    let mut buf = Vec::new();
    match r.read_until(b'\n', &mut buf) {
        Ok(0) => panic!("control connection closed while waiting for the reply to {waiting_for:?}"),
        Ok(_) => {}
        Err(e) => panic!("no reply to {waiting_for:?}: {e}"),
    }
    assert!(
        buf.ends_with(b"\r\n"),
        "reply line to {waiting_for:?} not CRLF-terminated: {:?}",
        String::from_utf8_lossy(&buf)
    );
    buf.truncate(buf.len() - 2);
    String::from_utf8(buf).expect("reply is UTF-8")
}

/// RFC 959 §4.2: `ddd text` or `ddd-text` … `ddd text`.
fn read_reply(r: &mut BufReader<TcpStream>, waiting_for: &str) -> Reply {
    let first = read_line(r, waiting_for);
    let code: u16 = first
        .get(..3)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("bad reply line {first:?} to {waiting_for:?}"));
    let mut lines = vec![first.clone()];
    if first.as_bytes().get(3) == Some(&b'-') {
        let end = format!("{code} ");
        loop {
            let l = read_line(r, waiting_for);
            let done = l.starts_with(&end);
            lines.push(l);
            if done {
                break;
            }
        }
    } else {
        assert!(
            first.len() == 3 || first.as_bytes()[3] == b' ',
            "bad reply line {first:?}"
        );
    }
    Reply { code, lines }
}

/// `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2).`
pub fn parse_227(line: &str) -> SocketAddr {
    let inner = line
        .split_once('(')
        .and_then(|(_, r)| r.split_once(')'))
        .map(|(i, _)| i)
        .unwrap_or_else(|| panic!("227 without (…): {line:?}"));
    let n: Vec<u8> = inner
        .split(',')
        .map(|x| x.trim().parse().expect("227 number"))
        .collect();
    assert_eq!(n.len(), 6, "227: {line:?}");
    let port = u16::from(n[4]) << 8 | u16::from(n[5]);
    SocketAddr::from((Ipv4Addr::new(n[0], n[1], n[2], n[3]), port))
}

/// `229 Entering Extended Passive Mode (|||port|)`
pub fn parse_229(line: &str) -> u16 {
    let inner = line
        .split_once("(|||")
        .and_then(|(_, r)| r.split_once("|)"))
        .map(|(i, _)| i)
        .unwrap_or_else(|| panic!("229 without (|||port|): {line:?}"));
    inner.parse().expect("229 port")
}
