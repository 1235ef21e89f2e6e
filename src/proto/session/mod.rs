//! The per-connection FTP state machine (RFC 959, 2428, 3659), sans I/O.
//!
//! Drive it like this (the server's loop, or a test script):
//!
//! 1. [`Session::new`] queues the 220 greeting.
//! 2. Feed control bytes with [`Session::handle_input`] and the answers to its
//!    actions with [`Session::handle_event`]; call [`Session::handle_tick`]
//!    now and then for the idle timeout.
//! 3. After each call, drain [`Session::poll_action`] until `None` and send
//!    [`Session::take_output`] on the control connection.
//!
//! Commands run one at a time, as RFC 959 intends: while the session waits for
//! an answer (a login check, a filesystem request) it reads no further line.
//! During a transfer only ABOR, STAT, NOOP and QUIT are acted on at once; other
//! lines wait (up to a bound) until the transfer ends.

mod access;
mod data;
mod dispatch;
mod drain;
#[cfg(test)]
mod dropbox;
mod files;
mod hash;
mod info;
mod login;
mod site;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_more;
#[cfg(test)]
mod tests_rules;
#[cfg(test)]
mod tests_timers;
#[cfg(test)]
mod tests_tls;
#[cfg(test)]
mod tests_transfer;
mod throttle;
mod tls;
mod types;

pub use throttle::PENDING_LINES_MAX;
pub use tls::{TlsPolicy, TlsRequired};
pub use types::*;

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddr};

use crate::proto::line::{LineBuffer, LineTooLong};
use crate::proto::path::VPath;
use crate::proto::reply;

/// Limits and texts of a session, set once at start-up.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Text of the 220 greeting.
    pub greeting: String,
    /// Longest command line accepted (500 beyond it).
    pub line_len_max_bytes: usize,
    /// Control-channel idle time before 421 and close (not during a transfer).
    pub idle_timeout_secs: u64,
    /// Failed logins before 421 and close.
    pub login_failures_max: u32,
    /// Commands held back while a transfer runs; more than this get 503.
    pub deferred_commands_max: usize,
    /// Address announced in 227 replies (NAT); default: the control
    /// connection's local address.
    pub pasv_address: Option<Ipv4Addr>,
    /// Time from the greeting to a successful login before 421 and close (0: off).
    pub login_timeout_secs: u64,
    /// Command lines run per second, sustained (0: off); see `commands_burst`.
    pub commands_per_sec_max: u32,
    /// Command lines that may run at once before the sustained rate applies.
    pub commands_burst: u32,
    /// FTPS: offered when a certificate is configured, and who must use it.
    pub tls: TlsPolicy,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            greeting: "ringftpd ready".to_string(),
            line_len_max_bytes: 4096,
            idle_timeout_secs: 300,
            login_failures_max: 3,
            deferred_commands_max: 16,
            pasv_address: None,
            login_timeout_secs: 60,
            commands_per_sec_max: 1000,
            commands_burst: 2000,
            tls: TlsPolicy::default(),
        }
    }
}

/// Login progress.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Auth {
    NeedUser,
    NeedPass { user: String },
    Checking,
    LoggedIn(LoginOk),
}

/// What the session is waiting for, with what it needs to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Wait {
    Login,
    Fs(FsPurpose),
    Passive { extended: bool },
    Host,
}

impl Wait {
    /// A long request (HASH, SITE CPTO) that ABOR, QUIT or a disconnect stops.
    fn is_long_job(&self) -> bool {
        matches!(self, Wait::Fs(FsPurpose::Hash { .. } | FsPurpose::Cpto))
    }
}

/// Why a filesystem request was made (decides the reply).
#[derive(Debug, Clone, PartialEq, Eq)]
enum FsPurpose {
    Cwd(VPath),
    Size,
    Mdtm,
    Mlst(VPath),
    StatPath(VPath),
    StatDir(VPath),
    Mkd(VPath),
    Rmd,
    Dele,
    Rnfr(VPath),
    Rnto,
    Mfmt(VPath, i64),
    Chmod,
    /// HASH (`x: false`) or an X-alias (`x: true`); `shown` is the path as sent.
    Hash {
        shown: String,
        x: bool,
    },
    Cpfr(VPath),
    Cpto,
}

/// The running transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Running {
    /// For the 150 text: `BINARY`/`ASCII` and the path shown.
    label: String,
    is_upload: bool,
    abort_requested: bool,
    quit_requested: bool,
    progress_query: bool,
}

/// The session's state: one of these at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Busy {
    Idle,
    Waiting(Wait),
    Transferring(Running),
}

/// The data connection set up for the next transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DataSetup {
    None,
    Passive,
    Active(SocketAddr),
}

/// One FTP control connection's protocol state.
#[derive(Debug)]
pub struct Session {
    cfg: std::sync::Arc<SessionConfig>,
    peer: SocketAddr,
    local: SocketAddr,
    lines: LineBuffer,
    deferred: VecDeque<Vec<u8>>,
    out: Vec<u8>,
    actions: VecDeque<Action>,
    auth: Auth,
    busy: Busy,
    data: DataSetup,
    cwd: VPath,
    ascii: bool,
    rest: u64,
    rename_from: Option<VPath>,
    /// SITE CPFR's source, kept until SITE CPTO or REIN.
    copy_from: Option<VPath>,
    /// Selected with OPTS HASH.
    hash_algo: crate::proto::hash::HashAlgo,
    epsv_all: bool,
    host_selected: bool,
    login_failures: u32,
    last_activity: std::time::Instant,
    closing: bool,
    created: std::time::Instant,
    /// Command lines this session may still run (see `throttle`).
    budget: crate::proto::bucket::TokenBucket,
    /// AUTH TLS and PROT state (RFC 4217).
    tls: tls::TlsState,
}

impl Session {
    /// A new session for a connection from `peer` to our `local` address; the
    /// 220 greeting is queued.
    pub fn new(
        cfg: std::sync::Arc<SessionConfig>,
        peer: SocketAddr,
        local: SocketAddr,
        now: Now,
    ) -> Session {
        let mut s = Session {
            lines: LineBuffer::new(cfg.line_len_max_bytes),
            peer: canonical(peer),
            local: canonical(local),
            deferred: VecDeque::new(),
            out: Vec::new(),
            actions: VecDeque::new(),
            auth: Auth::NeedUser,
            busy: Busy::Idle,
            data: DataSetup::None,
            cwd: VPath::root(),
            ascii: false,
            rest: 0,
            rename_from: None,
            copy_from: None,
            hash_algo: Default::default(),
            epsv_all: false,
            host_selected: false,
            login_failures: 0,
            last_activity: now.mono,
            closing: false,
            created: now.mono,
            budget: crate::proto::bucket::TokenBucket::full(throttle::command_rate(&cfg), now.mono),
            tls: Default::default(),
            cfg,
        };
        let greeting = s.cfg.greeting.clone();
        s.reply(reply::SERVICE_READY, &greeting);
        s
    }

    /// Feeds bytes received on the control connection.
    pub fn handle_input(&mut self, bytes: &[u8], now: Now) {
        if self.closing {
            return;
        }
        self.last_activity = now.mono;
        self.lines.push(bytes);
        self.run(now);
    }

    /// Feeds the answer to an earlier action.
    pub fn handle_event(&mut self, ev: Event, now: Now) {
        if self.closing {
            return;
        }
        self.last_activity = now.mono;
        match ev {
            Event::Login(r) => self.on_login(r),
            Event::LoginBusy => self.on_login_busy(),
            Event::Fs(r) => self.on_fs(r, now),
            Event::PassiveOpened(p) => self.on_passive(p),
            Event::TransferReady { size, name } => self.on_transfer_ready(size, name),
            Event::TransferDone(r) => self.on_transfer_done(r),
            Event::Progress(n) => self.on_progress(n),
            Event::HostSelected(g) => self.on_host(g),
        }
        self.run(now);
    }

    /// Checks the idle timeout; a session idle too long (and not transferring)
    /// gets 421 and is closed.
    pub fn handle_tick(&mut self, now: Now) {
        if self.closing
            || matches!(self.busy, Busy::Transferring(_))
            || self.check_login_timeout(now)
        {
            return;
        }
        let idle = now.mono.saturating_duration_since(self.last_activity);
        if idle.as_secs() >= self.cfg.idle_timeout_secs {
            self.reply(
                reply::SERVICE_NOT_AVAILABLE,
                "Timeout: closing control connection.",
            );
            self.close();
        }
        // Lines held back by the commands-per-second limit run now.
        self.run(now);
    }

    /// Tells the session the client closed the control connection; a running
    /// transfer is aborted.
    pub fn handle_closed(&mut self) {
        match &self.busy {
            Busy::Transferring(_) => self.actions.push_back(Action::Abort),
            Busy::Waiting(w) if w.is_long_job() => self.actions.push_back(Action::CancelFs),
            _ => {}
        }
        self.actions.push_back(Action::ClosePassive);
        self.closing = true;
    }

    /// The next action for the server, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Appends the reply bytes to send on the control connection to `out`
    /// (the caller's buffer: no allocation per poll). Returns how many.
    pub fn poll_output(&mut self, out: &mut Vec<u8>) -> usize {
        let n = self.out.len();
        out.extend_from_slice(&self.out);
        self.out.clear();
        n
    }

    /// The reply bytes to send, if any, in a new Vec (for tests and tools;
    /// the server uses [`Session::poll_output`]).
    pub fn take_output(&mut self) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        (self.poll_output(&mut out) > 0).then_some(out)
    }

    /// The earliest time at which [`Session::handle_tick`] has something to
    /// do: the idle timeout, the login timeout, or the moment held-back
    /// command lines may run again. `None` when no timer runs (the session is
    /// closing, or a transfer runs and it is logged in, or every timer is off).
    pub fn poll_timeout(&self) -> Option<std::time::Instant> {
        if self.closing {
            return None;
        }
        let secs = std::time::Duration::from_secs;
        let login = (self.cfg.login_timeout_secs > 0 && !matches!(self.auth, Auth::LoggedIn(_)))
            .then(|| self.created + secs(self.cfg.login_timeout_secs));
        let transferring = matches!(self.busy, Busy::Transferring(_));
        let idle = (!transferring).then(|| self.last_activity + secs(self.cfg.idle_timeout_secs));
        let waiting_lines = self.lines.ready_lines() > 0 || !self.deferred.is_empty();
        let throttled =
            (waiting_lines && matches!(self.busy, Busy::Idle) && self.cfg.commands_per_sec_max > 0)
                .then(|| self.budget.next_token(throttle::command_rate(&self.cfg)))
                .flatten();
        [login, idle, throttled].into_iter().flatten().min()
    }

    /// True once the session has asked to close (QUIT, timeout, limit).
    pub fn is_closing(&self) -> bool {
        self.closing
    }

    /// True while a transfer runs (the server does not time the session out).
    pub fn is_transferring(&self) -> bool {
        matches!(self.busy, Busy::Transferring(_))
    }

    /// The logged-in user, if any (for logs).
    pub fn user(&self) -> Option<&str> {
        match &self.auth {
            Auth::LoggedIn(l) => Some(&l.user),
            _ => None,
        }
    }

    /// Runs buffered command lines until the session must wait.
    fn run(&mut self, now: Now) {
        while !self.closing {
            match &self.busy {
                Busy::Waiting(w) if w.is_long_job() => {
                    if !self.run_during_long_job() {
                        return;
                    }
                    continue;
                }
                Busy::Waiting(_) => return,
                Busy::Transferring(_) => {
                    if !self.run_during_transfer() {
                        return;
                    }
                    continue;
                }
                Busy::Idle => {}
            }
            if self.deferred.is_empty() && self.lines.ready_lines() == 0
                || !self.take_command_budget(now)
            {
                return;
            }
            let line = match self.deferred.pop_front() {
                Some(l) => l,
                None => match self.lines.next_line() {
                    None => return,
                    Some(Err(LineTooLong)) => {
                        self.reply(reply::SYNTAX_ERROR, "Command line too long.");
                        continue;
                    }
                    Some(Ok(l)) => l,
                },
            };
            self.handle_line(&line, now);
        }
    }

    fn reply(&mut self, code: u16, text: &str) {
        reply::encode_into(code, text, &mut self.out);
    }

    /// A multi-line reply with indented `body` lines (FEAT, STAT, MLST).
    fn reply_block(&mut self, code: u16, first: &str, body: &[String], last: &str) {
        reply::encode_block_into(code, first, body, last, &mut self.out);
    }

    fn close(&mut self) {
        if !self.closing {
            self.actions.push_back(Action::ClosePassive);
            self.actions.push_back(Action::Close);
            self.closing = true;
        }
    }

    fn wait(&mut self, w: Wait) {
        self.busy = Busy::Waiting(w);
    }

    fn login(&self) -> Option<&LoginOk> {
        match &self.auth {
            Auth::LoggedIn(l) => Some(l),
            _ => None,
        }
    }
}

/// IPv4-mapped IPv6 addresses compare as IPv4.
fn canonical(a: SocketAddr) -> SocketAddr {
    SocketAddr::new(a.ip().to_canonical(), a.port())
}
