//! A deliberately small FTP client on raw sockets, for asserting exact reply
//! codes and exact bytes. Every read has a timeout, so a server that never
//! answers fails the test with the command it was waiting on. Data
//! connections come from the control connection's own address, so a client
//! connected from 127.0.0.2 or over IPv6 is served like any other.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use ringftpd::bench::reply as parse;

use super::reply::read_reply;
pub use super::reply::Reply;
use super::Mode;

/// Longest wait for one reply or one data connection.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(60);

/// A control connection.
pub struct Ftp {
    reader: std::io::BufReader<TcpStream>,
    writer: TcpStream,
    /// The greeting (220, or whatever refusal the server sent instead).
    pub greeting: Reply,
    /// Every reply line seen, greeting included (to check that no secret leaked).
    pub transcript: String,
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
        Ftp::connect_to(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
    }

    /// Connects to `addr` (IPv4 or IPv6) and reads the greeting (asserts 220).
    pub fn connect_to(addr: SocketAddr) -> Ftp {
        let s = TcpStream::connect_timeout(&addr, REPLY_TIMEOUT)
            .unwrap_or_else(|e| panic!("connect control {addr}: {e}"));
        let f = Ftp::open(s);
        assert_eq!(f.greeting.code, 220, "greeting: {:?}", f.greeting);
        f
    }

    /// A control connection already made (e.g. after a PROXY header was
    /// sent on it); reads the greeting (asserts 220).
    pub fn from_stream(s: TcpStream) -> Ftp {
        let f = Ftp::open(s);
        assert_eq!(f.greeting.code, 220, "greeting: {:?}", f.greeting);
        f
    }

    /// Connects from `src` to `addr` and reads the greeting, whatever its
    /// code (a refused client gets a 421 greeting): see [`Ftp::greeting`].
    pub fn connect_from(src: IpAddr, addr: SocketAddr) -> Ftp {
        let s = super::connect_from(src, addr)
            .unwrap_or_else(|e| panic!("connect control {src} → {addr}: {e}"));
        Ftp::open(s)
    }

    fn open(s: TcpStream) -> Ftp {
        s.set_read_timeout(Some(REPLY_TIMEOUT)).unwrap();
        let writer = s.try_clone().unwrap();
        let mut reader = std::io::BufReader::new(s);
        let greeting = read_reply(&mut reader, "(greeting)")
            .expect("control connection closed before the greeting");
        Ftp {
            reader,
            writer,
            transcript: greeting.raw(),
            greeting,
        }
    }

    /// Connects and logs in; asserts 331 then 230.
    pub fn login(port: u16, user: &str, pass: &str) -> Ftp {
        let mut f = Ftp::connect(port);
        f.log_in(user, pass);
        f
    }

    pub fn anonymous(port: u16) -> Ftp {
        Ftp::login(port, "anonymous", "test@example.com")
    }

    /// USER and PASS on this connection; asserts 331 then 230.
    pub fn log_in(&mut self, user: &str, pass: &str) {
        self.expect(&format!("USER {user}"), 331);
        self.expect(&format!("PASS {pass}"), 230);
    }

    /// The control socket (for tests that must not read replies).
    pub fn stream(&self) -> &TcpStream {
        &self.writer
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
        self.try_reply(waiting_for).unwrap_or_else(|| {
            panic!("control connection closed while waiting for the reply to {waiting_for:?}")
        })
    }

    /// Reads the next reply; `None` when the server closed the connection.
    pub fn try_reply(&mut self, waiting_for: &str) -> Option<Reply> {
        let r = read_reply(&mut self.reader, waiting_for)?;
        self.transcript.push_str(&r.raw());
        Some(r)
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

    /// Reads the control connection to its end (after a 221 or a 421): the
    /// bytes the server still sent.
    pub fn read_to_close(&mut self) -> Vec<u8> {
        let mut rest = Vec::new();
        let _ = self.reader.read_to_end(&mut rest);
        rest
    }

    /// PASV (asserting 227): the data address, not yet connected to.
    pub fn pasv(&mut self) -> SocketAddr {
        let r = self.expect("PASV", 227);
        parse_227(&r.lines[0])
    }

    /// Sets up a data connection in `mode` (asserting the 227/229/200).
    pub fn data(&mut self, mode: Mode) -> Pending {
        let local = self.writer.local_addr().unwrap().ip();
        let peer = self.writer.peer_addr().unwrap().ip();
        match mode {
            Mode::Pasv => {
                let addr = self.pasv();
                assert_eq!(addr.ip(), peer, "227 address");
                Pending::Connected(connect(local, addr))
            }
            Mode::Epsv => {
                let r = self.expect("EPSV", 229);
                let port = parse_229(&r.lines[0]);
                Pending::Connected(connect(local, SocketAddr::new(peer, port)))
            }
            Mode::Port | Mode::Eprt => {
                let l = TcpListener::bind((local, 0)).expect("bind active listener");
                let addr = l.local_addr().unwrap();
                let line = if mode == Mode::Port {
                    parse::port_command(addr).expect("PORT needs IPv4")
                } else {
                    parse::eprt_command(addr)
                };
                self.expect(line.trim_end(), 200);
                Pending::Listening(l)
            }
        }
    }

    /// Sets up `mode` and sends `line`: the reply, and the data stream when
    /// that reply is a 125 or 150.
    fn begin(&mut self, mode: Mode, line: &str) -> (Reply, Option<TcpStream>) {
        let pending = self.data(mode);
        let r = self.cmd(line);
        let stream = matches!(r.code, 125 | 150).then(|| pending.stream());
        (r, stream)
    }

    /// Sends a transfer command after setting up `mode`; asserts a 150 and
    /// returns the data stream.
    pub fn start(&mut self, mode: Mode, line: &str) -> TcpStream {
        let (r, stream) = self.begin(mode, line);
        assert_eq!(r.code, 150, "{line:?} → {:?}, expected 150", r.text());
        stream.expect("data stream")
    }

    /// RETR (or LIST, NLST, MLSD) in `mode`: the bytes, 226 asserted.
    pub fn download(&mut self, mode: Mode, line: &str) -> Vec<u8> {
        let data = read_data(self.start(mode, line));
        let r = self.reply(line);
        assert_eq!(r.code, 226, "{line:?} ({mode:?}) final → {:?}", r.text());
        data
    }

    /// STOR/APPE in `mode`: sends `data`, closes, asserts 226.
    pub fn upload(&mut self, mode: Mode, line: &str, data: &[u8]) {
        write_data(self.start(mode, line), data);
        let r = self.reply(line);
        assert_eq!(r.code, 226, "{line:?} ({mode:?}) final → {:?}", r.text());
    }

    /// Like [`Ftp::download`], asserting nothing: the final code (or the
    /// code that refused `line`) and the bytes received.
    pub fn try_download(&mut self, mode: Mode, line: &str) -> (u16, Vec<u8>) {
        match self.begin(mode, line) {
            (_, Some(s)) => {
                let data = read_data(s);
                (self.reply(line).code, data)
            }
            (r, None) => (r.code, Vec::new()),
        }
    }

    /// Like [`Ftp::upload`], asserting nothing: the final code (or the code
    /// that refused `line`).
    pub fn try_upload(&mut self, mode: Mode, line: &str, data: &[u8]) -> u16 {
        match self.begin(mode, line) {
            (_, Some(s)) => {
                write_data(s, data);
                self.reply(line).code
            }
            (r, None) => r.code,
        }
    }

    /// QUIT, asserting 221 and that the server then closes.
    pub fn quit(mut self) {
        self.expect("QUIT", 221);
        let rest = self.read_to_close();
        assert!(rest.is_empty(), "bytes after 221: {rest:?}");
    }
}

fn read_data(mut s: TcpStream) -> Vec<u8> {
    let mut data = Vec::new();
    s.read_to_end(&mut data).expect("read data connection");
    data
}

fn write_data(mut s: TcpStream, data: &[u8]) {
    s.write_all(data).expect("write data connection");
}

/// A data connection from `local` (the control connection's address).
fn connect(local: IpAddr, addr: SocketAddr) -> TcpStream {
    super::connect_from(local, addr).unwrap_or_else(|e| panic!("connect data {addr}: {e}"))
}

/// `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2).`
pub fn parse_227(line: &str) -> SocketAddr {
    parse::parse_227(line.get(4..).unwrap_or(""))
        .unwrap_or_else(|| panic!("227 without an address: {line:?}"))
}

/// `229 Entering Extended Passive Mode (|||port|)`
pub fn parse_229(line: &str) -> u16 {
    parse::parse_229(line.get(4..).unwrap_or(""), Ipv4Addr::LOCALHOST.into())
        .unwrap_or_else(|| panic!("229 without (|||port|): {line:?}"))
        .port()
}
