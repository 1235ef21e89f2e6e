//! USER, PASS, REIN, HOST, QUIT (RFC 959 §4.1.1, RFC 7151).

use super::{Action, Auth, Busy, DataSetup, LoginOk, Session, Wait};
use crate::proto::path::VPath;
use crate::proto::reply;

impl Session {
    pub(super) fn cmd_user(&mut self, user: String) {
        match self.auth {
            Auth::LoggedIn(_) => self.reply(reply::NOT_LOGGED_IN, "Can't change to another user."),
            _ => {
                let anon =
                    user.eq_ignore_ascii_case("anonymous") || user.eq_ignore_ascii_case("ftp");
                self.auth = Auth::NeedPass { user };
                if anon {
                    self.reply(
                        reply::NEED_PASSWORD,
                        "Anonymous login ok, send your e-mail address as password.",
                    );
                } else {
                    self.reply(reply::NEED_PASSWORD, "Please specify the password.");
                }
            }
        }
    }

    pub(super) fn cmd_pass(&mut self, pass: String) {
        match std::mem::replace(&mut self.auth, Auth::NeedUser) {
            Auth::NeedPass { user } => {
                self.auth = Auth::Checking;
                self.actions.push_back(Action::Login { user, pass });
                self.wait(Wait::Login);
            }
            Auth::LoggedIn(l) => {
                self.auth = Auth::LoggedIn(l);
                self.reply(reply::LOGGED_IN, "Already logged in.");
            }
            other => {
                self.auth = other;
                self.reply(reply::BAD_SEQUENCE, "Login with USER first.");
            }
        }
    }

    pub(super) fn on_login(&mut self, r: Option<LoginOk>) {
        self.busy = Busy::Idle;
        match r {
            Some(ok) => {
                let text = if ok.anonymous {
                    "Login successful (anonymous, read-only).".to_string()
                } else {
                    format!("User {} logged in.", ok.user)
                };
                self.auth = Auth::LoggedIn(ok);
                self.login_failures = 0;
                self.reply(reply::LOGGED_IN, &text);
            }
            None => {
                self.auth = Auth::NeedUser;
                self.login_failures += 1;
                if self.login_failures >= self.cfg.login_failures_max {
                    self.reply(
                        reply::SERVICE_NOT_AVAILABLE,
                        "Too many failed logins; closing connection.",
                    );
                    self.close();
                } else {
                    self.reply(reply::NOT_LOGGED_IN, "Login incorrect.");
                }
            }
        }
    }

    /// The server could not check the login now (RFC 959 §4.2: 421 service
    /// not available, closing the control connection).
    pub(super) fn on_login_busy(&mut self) {
        if matches!(self.busy, Busy::Waiting(Wait::Login)) {
            self.busy = Busy::Idle;
            self.auth = Auth::NeedUser;
            self.reply(
                reply::SERVICE_NOT_AVAILABLE,
                "Server too busy to check logins; try again later.",
            );
            self.close();
        }
    }

    /// REIN (RFC 959 §4.1.1): back to the state just after the greeting.
    pub(super) fn cmd_rein(&mut self) {
        self.auth = Auth::NeedUser;
        self.cwd = VPath::root();
        self.ascii = false;
        self.rest = 0;
        self.copy_from = None;
        self.hash_algo = Default::default();
        self.epsv_all = false;
        self.host_selected = false;
        if self.data != DataSetup::None {
            self.actions.push_back(Action::ClosePassive);
            self.data = DataSetup::None;
        }
        self.reply(reply::SERVICE_READY, "Service ready for new user.");
    }

    /// HOST (RFC 7151 §3): only before USER; selects the virtual host.
    pub(super) fn cmd_host(&mut self, host: String) {
        match self.auth {
            Auth::NeedUser if !self.host_selected => {
                self.actions.push_back(Action::SelectHost(host));
                self.wait(Wait::Host);
            }
            Auth::NeedUser => self.reply(reply::BAD_SEQUENCE, "HOST already given."),
            _ => self.reply(reply::BAD_SEQUENCE, "HOST must come before USER."),
        }
    }

    pub(super) fn on_host(&mut self, greeting: Option<String>) {
        self.busy = Busy::Idle;
        match greeting {
            Some(g) => {
                self.host_selected = true;
                self.reply(reply::SERVICE_READY, &g);
            }
            None => self.reply(reply::NOT_IMPLEMENTED_PARAM, "Unknown host."),
        }
    }

    pub(super) fn cmd_quit(&mut self) {
        self.reply(reply::CLOSING_CONTROL, "Goodbye.");
        self.close();
    }
}
