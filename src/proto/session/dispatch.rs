//! One command line → the handler for its verb (RFC 959 §5.4 sequencing).

use super::{Auth, Busy, Now, Session};
use crate::proto::command::{parse, Command, ParseError};
use crate::proto::line::LineTooLong;
use crate::proto::reply;

impl Session {
    /// Parses and runs one line (the session is idle).
    pub(super) fn handle_line(&mut self, line: &[u8], now: Now) {
        let cmd = match parse(line) {
            Ok(c) => c,
            Err(ParseError::Empty) => return self.reply(reply::SYNTAX_ERROR, "Empty command."),
            Err(ParseError::BadEncoding) => {
                return self.reply(reply::SYNTAX_ERROR_ARGS, "Invalid character in command.")
            }
            Err(ParseError::BadArgument(verb)) => return self.bad_argument(&verb, line),
        };
        // RFC 959 §4.1.3: RNTO must immediately follow RNFR.
        let rename_from = self.rename_from.take();
        if let Some(why) = self.refused_in_clear(&cmd) {
            return self.reply(reply::NOT_LOGGED_IN, why);
        }
        if !self.allowed_before_login(&cmd) {
            if matches!(cmd, Command::Unknown(_)) {
                return self.reply(reply::NOT_IMPLEMENTED, "Command not implemented.");
            }
            return self.reply(reply::NOT_LOGGED_IN, "Please login with USER and PASS.");
        }
        self.dispatch(cmd, rename_from, now);
    }

    /// 501, except EPRT with an unknown network protocol: 522 (RFC 2428 §2).
    fn bad_argument(&mut self, verb: &str, line: &[u8]) {
        if verb == "EPRT" && matches!(self.auth, Auth::LoggedIn(_)) {
            let arg = std::str::from_utf8(line)
                .ok()
                .and_then(|l| l.split_once(' '))
                .map(|(_, a)| a.trim());
            if arg
                .and_then(crate::proto::addr::eprt_protocol)
                .is_some_and(|p| p != 1 && p != 2)
            {
                return self.reply(
                    reply::NETWORK_PROTOCOL_NOT_SUPPORTED,
                    "Network protocol not supported, use (1,2)",
                );
            }
        }
        self.reply(
            reply::SYNTAX_ERROR_ARGS,
            "Syntax error in parameters or arguments.",
        );
    }

    fn allowed_before_login(&self, cmd: &Command) -> bool {
        matches!(self.auth, Auth::LoggedIn(_))
            || matches!(
                cmd,
                Command::User(_)
                    | Command::Pass(_)
                    | Command::Quit
                    | Command::Noop
                    | Command::Syst
                    | Command::Feat
                    | Command::Help(_)
                    | Command::Opts(_)
                    | Command::Host(_)
                    | Command::Auth(_)
                    | Command::Pbsz(_)
                    | Command::Prot(_)
            )
    }

    fn dispatch(&mut self, cmd: Command, rename_from: Option<crate::proto::path::VPath>, now: Now) {
        match cmd {
            Command::User(u) => self.cmd_user(u),
            Command::Pass(p) => self.cmd_pass(p),
            Command::Acct(_) => self.reply(reply::SUPERFLUOUS, "ACCT not needed."),
            Command::Rein => self.cmd_rein(),
            Command::Host(h) => self.cmd_host(h),
            Command::Quit => self.cmd_quit(),
            Command::Noop => self.reply(reply::OK, "NOOP ok."),
            Command::Syst => self.reply(reply::SYSTEM_TYPE, "UNIX Type: L8"),
            Command::Feat => self.cmd_feat(),
            Command::Help(a) => self.cmd_help(a),
            Command::Opts(o) => self.cmd_opts(&o),
            Command::Stat(a) => self.cmd_stat(a),
            Command::Smnt(_) => self.reply(reply::NOT_IMPLEMENTED, "SMNT not implemented."),
            Command::Allo(_) => self.reply(reply::SUPERFLUOUS, "ALLO command ignored."),
            Command::Type(t) => self.cmd_type(t),
            Command::Mode(m) => self.cmd_mode(m),
            Command::Stru(s) => self.cmd_stru(s),
            Command::Rest(n) => self.cmd_rest(n),
            Command::Pwd => {
                let q = crate::proto::path::quote_257(self.cwd.as_str());
                self.reply(
                    reply::PATH_CREATED,
                    &format!("{q} is the current directory"),
                );
            }
            Command::Cwd(p) => self.cmd_cwd(&p),
            Command::Cdup => {
                self.cwd = self.cwd.parent();
                self.reply(reply::FILE_ACTION_OK, "Directory successfully changed.");
            }
            Command::Size(p) => self.cmd_size(&p),
            Command::Mdtm(p) => self.cmd_mdtm(&p),
            Command::Mlst(p) => self.cmd_mlst(p),
            Command::Mkd(p) => self.cmd_mkd(&p),
            Command::Rmd(p) => self.cmd_rmd(&p),
            Command::Dele(p) => self.cmd_dele(&p),
            Command::Rnfr(p) => self.cmd_rnfr(&p),
            Command::Rnto(p) => self.cmd_rnto(rename_from, &p),
            Command::Mfmt(t, p) => self.cmd_mfmt(t, &p),
            Command::Site(s) => self.cmd_site(&s),
            Command::Pasv => self.cmd_pasv(),
            Command::Epsv(a) => self.cmd_epsv(a),
            Command::Port(a) => self.cmd_port(a, false),
            Command::Eprt(a) => self.cmd_port(a, true),
            Command::Retr(p) => self.cmd_retr(&p),
            Command::Stor(p) => self.cmd_store(&p, false),
            Command::Appe(p) => self.cmd_store(&p, true),
            Command::Stou(_) => self.cmd_stou(),
            Command::List(a) => self.cmd_list(a, super::ListFormat::Long),
            Command::Nlst(a) => self.cmd_list(a, super::ListFormat::Names),
            Command::Mlsd(a) => self.cmd_list(a, super::ListFormat::Machine),
            Command::Abor => self.cmd_abor(),
            Command::Hash(p) => self.cmd_hash(&p),
            Command::XHash(algo, arg) => self.cmd_xhash(algo, &arg),
            Command::Auth(m) => self.cmd_auth(&m),
            Command::Pbsz(n) => self.cmd_pbsz(&n),
            Command::Prot(l) => self.cmd_prot(&l),
            Command::Unknown(_) => self.reply(reply::NOT_IMPLEMENTED, "Command not implemented."),
        }
        let _ = now;
    }

    /// The next complete line while busy; a too-long one is answered 500 here.
    fn next_busy_line(&mut self) -> Option<Option<Vec<u8>>> {
        match self.lines.next_line()? {
            Err(LineTooLong) => {
                self.reply(reply::SYNTAX_ERROR, "Command line too long.");
                Some(None)
            }
            Ok(l) => Some(Some(l)),
        }
    }

    /// Holds a line for when the session is idle again (503 beyond the bound).
    fn defer(&mut self, line: Vec<u8>, what: &str) {
        if self.deferred.len() < self.cfg.deferred_commands_max {
            self.deferred.push_back(line);
        } else {
            self.reply(
                reply::BAD_SEQUENCE,
                &format!("{what} in progress; command ignored."),
            );
        }
    }

    /// While HASH or SITE CPTO runs: ABOR stops it (426, then 226), QUIT stops
    /// it and closes; other lines, NOOP included, wait. HASH and CPTO send no
    /// preliminary reply, so a NOOP answered now would arrive before the
    /// job's own reply and a client pairing replies with commands in order
    /// would take it for the job's (found by tests/fuzz_server.rs). Returns
    /// false when no complete line is buffered.
    pub(super) fn run_during_long_job(&mut self) -> bool {
        let Some(line) = self.next_busy_line() else {
            return false;
        };
        let Some(line) = line else { return true };
        match parse(&line) {
            Ok(cmd @ (Command::Abor | Command::Quit)) => {
                let what = match &self.busy {
                    Busy::Waiting(super::Wait::Fs(super::FsPurpose::Cpto)) => "Copy",
                    _ => "HASH",
                };
                self.actions.push_back(super::Action::CancelFs);
                self.busy = Busy::Idle;
                if cmd == Command::Quit {
                    self.cmd_quit();
                    return true;
                }
                self.reply(reply::TRANSFER_ABORTED, &format!("{what} aborted."));
                self.reply(reply::CLOSING_DATA, "ABOR successful.");
            }
            _ => self.defer(line, "Command"),
        }
        true
    }

    /// During a transfer: act on ABOR, STAT, NOOP and QUIT at once, hold the
    /// rest. Returns false when no complete line is buffered.
    pub(super) fn run_during_transfer(&mut self) -> bool {
        let Some(line) = self.next_busy_line() else {
            return false;
        };
        let Some(line) = line else { return true };
        // An ABOR or STAT is being answered (the ring cancels the data op or
        // reads the progress): later lines wait, so replies keep the order of
        // the commands and a second ABOR or STAT is not lost.
        if let Busy::Transferring(r) = &self.busy {
            if r.abort_requested || r.progress_query {
                self.defer(line, "Transfer");
                return true;
            }
        }
        match parse(&line) {
            Ok(Command::Abor) => self.cmd_abor(),
            Ok(Command::Stat(None)) => self.query_progress(),
            Ok(Command::Noop) => self.reply(reply::OK, "NOOP ok."),
            Ok(Command::Quit) => {
                if let Busy::Transferring(r) = &mut self.busy {
                    r.quit_requested = true;
                }
            }
            _ => self.defer(line, "Transfer"),
        }
        true
    }
}
