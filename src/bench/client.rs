//! One FTP control session as a pure state machine: the driver feeds it
//! events (connected, control bytes, data channel ready/finished) and carries
//! out the [`Action`]s it returns. No fd, no clock: the driver timestamps the
//! [`Mark`]s, so every path can be tested as a script.

use std::net::{IpAddr, SocketAddr};

use crate::proto::reply;

use super::reply::{eprt_command, parse_227, parse_229, port_command, Reply, ReplyParser};

/// How the data connection is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// PASV: the server listens, IPv4 address in the 227 reply.
    Pasv,
    /// EPSV: the server listens, port only in the 229 reply.
    Epsv,
    /// PORT: the client listens, IPv4 only.
    Port,
    /// EPRT: the client listens, IPv4 or IPv6.
    Eprt,
}

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::Pasv, Mode::Epsv, Mode::Port, Mode::Eprt];

    /// The client listens (active mode).
    pub fn is_active(self) -> bool {
        matches!(self, Mode::Port | Mode::Eprt)
    }

    /// The verb that sets the mode up.
    pub fn verb(self) -> &'static str {
        match self {
            Mode::Pasv => "PASV",
            Mode::Epsv => "EPSV",
            Mode::Port => "PORT",
            Mode::Eprt => "EPRT",
        }
    }
}

/// What one transfer does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Retr,
    Stor,
    List,
}

/// One transfer to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub kind: Kind,
    pub path: String,
    /// STOR: bytes to send. With `check_size`, the size SIZE must report.
    pub size_bytes: u64,
    /// After a STOR, ask SIZE and compare (the `--verify` check of uploads).
    pub check_size: bool,
}

/// Fixed settings of a session.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub user: String,
    pub pass: String,
    pub mode: Mode,
    /// The control connection's peer, for 229 replies.
    pub server_ip: IpAddr,
    /// FTPS (`--tls`): AUTH TLS (explicit) or TLS from the first byte
    /// (implicit); both then PBSZ 0 and PROT P after login.
    pub tls: Option<super::tls::TlsMode>,
}

/// Instants the driver records for its histograms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// 220 received.
    Greeted,
    /// 230 received.
    LoggedIn,
    /// 227/229 (passive) or 200 to PORT/EPRT (active) received.
    DataAddress,
    /// RETR/STOR/LIST sent.
    CommandSent,
}

/// Why a session failed; the driver counts these by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// An unexpected reply code (4yz/5yz, or a code out of sequence).
    Code(u16),
    /// Unparsable control stream, or a 227/229 without an address.
    Protocol,
    /// The control connection closed before the session was done.
    Eof,
    /// STOR: SIZE reported a different size.
    SizeMismatch,
}

/// What the driver must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send these bytes on the control connection.
    Send(Vec<u8>),
    /// Connect a data socket to this address (passive modes).
    Connect(SocketAddr),
    /// Open a listener and report it with [`Client::listening`] (active modes).
    Listen,
    /// STOR: the server is ready (1yz) and the data channel is open: send.
    Upload,
    /// The transfer finished well (final 2yz and data channel done).
    Done,
    /// Logged in and idle: call [`Client::start`] or [`Client::quit`].
    Ready,
    Mark(Mark),
    /// The session is over (221 or failure): close everything.
    Closed(Option<Failure>),
    /// AUTH TLS was answered 234: start TLS on the control connection before
    /// sending what follows.
    StartTls,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Connecting,
    Greeting,
    Auth,
    User,
    Pass,
    Pbsz,
    Prot,
    Type,
    Ready,
    DataAddr,
    DataPort,
    Command,
    Transfer,
    Size,
    Quit,
    Closed,
}

/// The state of one control session.
#[derive(Debug)]
pub struct Client {
    cfg: ClientConfig,
    state: State,
    parser: ReplyParser,
    replies: Vec<Reply>,
    job: Option<Job>,
    data_open: bool,
    data_done: bool,
    final_ok: bool,
    /// 1yz seen for the current command.
    preliminary: bool,
    uploading: bool,
}

fn send(s: String) -> Action {
    Action::Send(s.into_bytes())
}

impl Client {
    pub fn new(cfg: ClientConfig) -> Client {
        Client {
            cfg,
            state: State::Connecting,
            parser: ReplyParser::default(),
            replies: Vec::new(),
            job: None,
            data_open: false,
            data_done: false,
            final_ok: false,
            preliminary: false,
            uploading: false,
        }
    }

    /// The transfer in progress, if any.
    pub fn job(&self) -> Option<&Job> {
        self.job.as_ref()
    }

    /// The session is logged in and waiting for a job.
    pub fn is_ready(&self) -> bool {
        self.state == State::Ready
    }

    /// The control connection is up; the greeting comes next.
    pub fn connected(&mut self) {
        self.state = State::Greeting;
    }

    /// Starts a transfer (only when ready).
    pub fn start(&mut self, job: Job, out: &mut Vec<Action>) {
        if self.state != State::Ready {
            return;
        }
        self.data_open = false;
        self.data_done = false;
        self.final_ok = false;
        self.preliminary = false;
        self.uploading = false;
        self.job = Some(job);
        match self.cfg.mode {
            Mode::Pasv => out.push(send("PASV\r\n".into())),
            Mode::Epsv => out.push(send("EPSV\r\n".into())),
            Mode::Port | Mode::Eprt => {
                self.state = State::DataPort;
                out.push(Action::Listen);
                return;
            }
        }
        self.state = State::DataAddr;
    }

    /// Active modes: the driver's listener is at `addr`.
    pub fn listening(&mut self, addr: SocketAddr, out: &mut Vec<Action>) {
        let cmd = match self.cfg.mode {
            Mode::Port => port_command(addr),
            _ => Some(eprt_command(addr)),
        };
        match cmd {
            Some(c) => out.push(send(c)),
            None => self.fail(Failure::Protocol, out),
        }
    }

    /// Sends QUIT (when ready); `Closed(None)` follows the 221.
    pub fn quit(&mut self, out: &mut Vec<Action>) {
        if matches!(self.state, State::Ready | State::Greeting | State::Type) {
            self.state = State::Quit;
            out.push(send("QUIT\r\n".into()));
        }
    }

    /// Sends NOOP while idle (the check that an idle session is still served).
    pub fn noop(&mut self, out: &mut Vec<Action>) {
        if self.state == State::Ready {
            out.push(send("NOOP\r\n".into()));
        }
    }

    /// Passive: connected to the server. Active: the server connected to us.
    pub fn data_connected(&mut self, out: &mut Vec<Action>) {
        self.data_open = true;
        if self.state == State::Command && !self.cfg.mode.is_active() {
            self.send_command(out);
        }
        self.maybe_upload(out);
    }

    /// The data channel is finished: EOF read (RETR/LIST) or all sent and
    /// closed (STOR).
    pub fn data_finished(&mut self, out: &mut Vec<Action>) {
        self.data_done = true;
        self.maybe_done(out);
    }

    /// The control connection closed.
    pub fn eof(&mut self, out: &mut Vec<Action>) {
        match self.state {
            State::Closed => {}
            State::Quit => self.close(None, out),
            _ => self.fail(Failure::Eof, out),
        }
    }

    /// Control bytes arrived.
    pub fn received(&mut self, bytes: &[u8], out: &mut Vec<Action>) {
        let mut replies = std::mem::take(&mut self.replies);
        if self.parser.push(bytes, &mut replies).is_err() {
            self.fail(Failure::Protocol, out);
        }
        for r in replies.drain(..) {
            if self.state == State::Closed {
                break;
            }
            self.on_reply(&r, out);
        }
        self.replies = replies;
    }

    fn fail(&mut self, f: Failure, out: &mut Vec<Action>) {
        self.close(Some(f), out);
    }

    fn close(&mut self, f: Option<Failure>, out: &mut Vec<Action>) {
        if self.state != State::Closed {
            self.state = State::Closed;
            out.push(Action::Closed(f));
        }
    }

    fn send_command(&mut self, out: &mut Vec<Action>) {
        let Some(job) = &self.job else { return };
        let verb = match job.kind {
            Kind::Retr => "RETR",
            Kind::Stor => "STOR",
            Kind::List => "LIST",
        };
        out.push(send(format!("{verb} {}\r\n", job.path)));
        out.push(Action::Mark(Mark::CommandSent));
    }

    fn maybe_upload(&mut self, out: &mut Vec<Action>) {
        let stor = self.job.as_ref().is_some_and(|j| j.kind == Kind::Stor);
        if stor
            && !self.uploading
            && self.preliminary
            && self.data_open
            && self.state == State::Transfer
        {
            self.uploading = true;
            out.push(Action::Upload);
        }
    }

    fn maybe_done(&mut self, out: &mut Vec<Action>) {
        if self.state != State::Transfer || !self.final_ok || !self.data_done {
            return;
        }
        match &self.job {
            Some(j) if j.kind == Kind::Stor && j.check_size => {
                let cmd = format!("SIZE {}\r\n", j.path);
                self.state = State::Size;
                out.push(send(cmd));
            }
            _ => self.finish(out),
        }
    }

    fn finish(&mut self, out: &mut Vec<Action>) {
        self.state = State::Ready;
        out.push(Action::Done);
        out.push(Action::Ready);
    }

    fn logged_in(&mut self, out: &mut Vec<Action>) {
        out.push(Action::Mark(Mark::LoggedIn));
        if self.cfg.tls.is_some() {
            // RFC 4217 §8, §9: protect the data connections too.
            self.state = State::Pbsz;
            out.push(send("PBSZ 0\r\n".into()));
            return;
        }
        self.type_i(out);
    }

    fn type_i(&mut self, out: &mut Vec<Action>) {
        self.state = State::Type;
        out.push(send("TYPE I\r\n".into()));
    }

    fn user(&mut self, out: &mut Vec<Action>) {
        self.state = State::User;
        out.push(send(format!("USER {}\r\n", self.cfg.user)));
    }

    fn on_reply(&mut self, r: &Reply, out: &mut Vec<Action>) {
        match (self.state, r.code) {
            (State::Greeting, reply::SERVICE_READY_SOON) => {}
            (State::Greeting, reply::SERVICE_READY) => {
                out.push(Action::Mark(Mark::Greeted));
                if self.cfg.tls == Some(super::tls::TlsMode::Explicit) {
                    self.state = State::Auth;
                    out.push(send("AUTH TLS\r\n".into()));
                } else {
                    self.user(out);
                }
            }
            (State::Auth, reply::SECURITY_EXCHANGE_COMPLETE) => {
                out.push(Action::StartTls);
                self.user(out);
            }
            (State::Pbsz, reply::OK) => {
                self.state = State::Prot;
                out.push(send("PROT P\r\n".into()));
            }
            (State::Prot, reply::OK) => self.type_i(out),
            (State::User, reply::NEED_PASSWORD | reply::NEED_ACCOUNT) => {
                self.state = State::Pass;
                out.push(send(format!("PASS {}\r\n", self.cfg.pass)));
            }
            (State::User | State::Pass, reply::LOGGED_IN | reply::SUPERFLUOUS) => {
                self.logged_in(out)
            }
            (State::Type, reply::OK) => {
                self.state = State::Ready;
                out.push(Action::Ready);
            }
            // A NOOP answer while idle: the session is still served.
            (State::Ready, _) if r.is_ok() => out.push(Action::Ready),
            (State::DataAddr, reply::ENTERING_PASSIVE | reply::ENTERING_EXTENDED_PASSIVE) => {
                self.data_address(r, out)
            }
            (State::DataPort, reply::OK) => {
                out.push(Action::Mark(Mark::DataAddress));
                self.state = State::Command;
                self.send_command(out);
            }
            (State::Command | State::Transfer, _) if r.is_preliminary() => {
                self.state = State::Transfer;
                self.preliminary = true;
                self.maybe_upload(out);
            }
            (State::Command | State::Transfer, _) if r.is_ok() => {
                // Some servers answer an empty transfer with 226 and no 1yz.
                self.state = State::Transfer;
                self.final_ok = true;
                self.maybe_done(out);
            }
            (State::Size, reply::FILE_STATUS) => {
                let want = self.job.as_ref().map_or(0, |j| j.size_bytes);
                if r.text.trim().parse::<u64>().ok() == Some(want) {
                    self.finish(out);
                } else {
                    self.fail(Failure::SizeMismatch, out);
                }
            }
            (State::Quit, _) => self.close(None, out),
            (_, code) => self.fail(Failure::Code(code), out),
        }
    }

    fn data_address(&mut self, r: &Reply, out: &mut Vec<Action>) {
        let addr = match (self.cfg.mode, r.code) {
            (Mode::Pasv, reply::ENTERING_PASSIVE) => parse_227(&r.text),
            (Mode::Epsv, reply::ENTERING_EXTENDED_PASSIVE) => {
                parse_229(&r.text, self.cfg.server_ip)
            }
            _ => None,
        };
        match addr {
            Some(a) => {
                out.push(Action::Mark(Mark::DataAddress));
                self.state = State::Command;
                out.push(Action::Connect(a));
            }
            None => self.fail(Failure::Protocol, out),
        }
    }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
