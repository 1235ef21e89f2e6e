//! AUTH, PBSZ, PROT (RFC 4217 §4–§9, RFC 2228 §3) and the `--tls-required`
//! policy. The session only decides: the server runs the handshake when it
//! sees [`Action::StartTls`], after the 234 reply has left in the clear.

use super::{Action, Auth, Session};
use crate::proto::command::Command;
use crate::proto::line::LineBuffer;
use crate::proto::reply;

/// Who must use TLS (`--tls-required`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsRequired {
    /// TLS is offered, never demanded.
    Off,
    /// Named users must AUTH TLS before USER and use PROT P; anonymous may
    /// stay in the clear.
    #[default]
    Users,
    /// Everyone, anonymous included.
    All,
}

/// The session's TLS settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TlsPolicy {
    /// A certificate is configured: AUTH TLS is offered and listed by FEAT.
    pub available: bool,
    pub required: TlsRequired,
}

/// The control connection's protection and the data protection level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct TlsState {
    /// The control connection is (or is becoming, after the 234) TLS.
    pub(super) secured: bool,
    /// PROT P: data connections are TLS too.
    pub(super) protect_data: bool,
}

impl Session {
    /// The control connection is TLS from its first byte (implicit FTPS, the
    /// `--tls-implicit-listen` port): PROT P is implied.
    pub fn set_implicit_tls(&mut self) {
        self.tls = TlsState {
            secured: true,
            protect_data: true,
        };
    }

    /// True when the control connection is TLS.
    pub fn control_secured(&self) -> bool {
        self.tls.secured
    }

    /// True when the policy demands TLS of whoever this session is (so far):
    /// `users` spares anonymous logins (and a USER naming one).
    fn tls_required_here(&self) -> bool {
        if !self.cfg.tls.available {
            return false;
        }
        match self.cfg.tls.required {
            TlsRequired::Off => false,
            TlsRequired::All => true,
            TlsRequired::Users => match &self.auth {
                Auth::LoggedIn(l) => !l.anonymous,
                Auth::NeedPass { user } => !is_anonymous_name(user),
                Auth::NeedUser | Auth::Checking => true,
            },
        }
    }

    /// Before AUTH on a connection that must use TLS: the reply refusing
    /// `cmd`, if it is refused (RFC 4217 §11: 530 for USER in the clear).
    pub(super) fn refused_in_clear(&self, cmd: &Command) -> Option<&'static str> {
        if self.tls.secured || !self.cfg.tls.available {
            return None;
        }
        let always = matches!(
            cmd,
            Command::Feat
                | Command::Auth(_)
                | Command::Host(_)
                | Command::Syst
                | Command::Noop
                | Command::Quit
        );
        match self.cfg.tls.required {
            TlsRequired::Off => None,
            _ if always => None,
            TlsRequired::All => Some("TLS required: send AUTH TLS first."),
            TlsRequired::Users => match cmd {
                Command::User(u) if !is_anonymous_name(u) => {
                    Some("TLS required for named users: send AUTH TLS first.")
                }
                _ => None,
            },
        }
    }

    /// A transfer about to start without PROT P where the policy wants it:
    /// the refusal (RFC 4217 §9: 521 data connection cannot be opened with
    /// this PROT setting).
    pub(super) fn refused_unprotected_data(&self) -> Option<&'static str> {
        (!self.tls.protect_data && self.tls_required_here())
            .then_some("Data connections must be protected: send PBSZ 0 and PROT P.")
    }

    /// The transfer's data connection is TLS.
    pub(super) fn data_protected(&self) -> bool {
        self.tls.protect_data
    }

    /// AUTH TLS | TLS-C | SSL | TLS-P (RFC 4217 §4, §6).
    pub(super) fn cmd_auth(&mut self, mech: &str) {
        if !self.cfg.tls.available {
            return self.reply(
                reply::NOT_IMPLEMENTED,
                "AUTH not available: no certificate configured.",
            );
        }
        if self.tls.secured {
            return self.reply(reply::BAD_SEQUENCE, "Already using TLS.");
        }
        if !matches!(self.auth, Auth::NeedUser) {
            return self.reply(reply::BAD_SEQUENCE, "AUTH must come before USER.");
        }
        // AUTH SSL (and TLS-P) is the old draft's form, which also protected
        // the data connections.
        let protect_data = match mech.trim().to_ascii_uppercase().as_str() {
            "TLS" | "TLS-C" => false,
            "SSL" | "TLS-P" => true,
            _ => {
                return self.reply(
                    reply::NOT_IMPLEMENTED_PARAM,
                    "AUTH type not supported; use AUTH TLS.",
                )
            }
        };
        self.reply(
            reply::SECURITY_EXCHANGE_COMPLETE,
            "AUTH TLS successful; start the TLS handshake.",
        );
        // RFC 4217 §4: the client waits for the 234 before its ClientHello;
        // anything it sent in the clear after AUTH is dropped, never run.
        self.lines = LineBuffer::new(self.cfg.line_len_max_bytes);
        self.deferred.clear();
        self.tls = TlsState {
            secured: true,
            protect_data,
        };
        self.actions.push_back(Action::StartTls);
    }

    /// PBSZ (RFC 4217 §8, RFC 2228 §3): the buffer size is 0 for TLS.
    pub(super) fn cmd_pbsz(&mut self, _size: &str) {
        if !self.tls.secured {
            return self.reply(reply::BAD_SEQUENCE, "PBSZ requires AUTH TLS first.");
        }
        self.reply(reply::OK, "PBSZ=0");
    }

    /// PROT C | P (RFC 4217 §9); S and E exist only in RFC 2228 (536).
    pub(super) fn cmd_prot(&mut self, level: &str) {
        let level = level.trim().to_ascii_uppercase();
        if !matches!(level.as_str(), "C" | "P" | "S" | "E") {
            return self.reply(reply::NOT_IMPLEMENTED_PARAM, "PROT takes C or P.");
        }
        if !self.tls.secured {
            return self.reply(reply::BAD_SEQUENCE, "PROT requires AUTH TLS first.");
        }
        match level.as_str() {
            "P" => {
                self.tls.protect_data = true;
                self.reply(
                    reply::OK,
                    "Protection level set to P (TLS on data connections).",
                );
            }
            "C" if self.tls_required_here() => self.reply(
                reply::DENIED_BY_POLICY,
                "PROT C refused: data connections must be protected here.",
            ),
            "C" => {
                self.tls.protect_data = false;
                self.reply(
                    reply::OK,
                    "Protection level set to C (clear data connections).",
                );
            }
            _ => self.reply(
                reply::PROT_LEVEL_NOT_SUPPORTED,
                "Protection level not supported; use PROT P.",
            ),
        }
    }
}

fn is_anonymous_name(user: &str) -> bool {
    user.eq_ignore_ascii_case("anonymous") || user.eq_ignore_ascii_case("ftp")
}
