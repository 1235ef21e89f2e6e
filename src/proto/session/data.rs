//! Data connections and transfers: TYPE, MODE, STRU, PASV, EPSV, PORT, EPRT
//! (RFC 959 §4.1.2, RFC 2428), RETR, STOR, APPE, STOU (RFC 1123 §4.1.2.9),
//! LIST, NLST, MLSD (RFC 3659 §7), ABOR (RFC 959 §4.1.3).

use std::net::{IpAddr, SocketAddr};

use super::{
    Action, Busy, DataEndpoint, DataSetup, ListFormat, Running, Session, StoreMode, Transfer,
    TransferError, TransferKind, Wait,
};
use crate::proto::addr;
use crate::proto::command::{EpsvArg, TypeCode};
use crate::proto::perms::Perms;
use crate::proto::reply;
use crate::proto::rules::Access;

/// Lowest port an active-mode data connection may target (RFC 2577 §3).
const ACTIVE_PORT_MIN: u16 = 1024;

impl Session {
    pub(super) fn cmd_type(&mut self, t: TypeCode) {
        self.ascii = t == TypeCode::Ascii;
        match t {
            TypeCode::Ascii => self.reply(reply::OK, "Switching to ASCII mode."),
            TypeCode::Image => self.reply(reply::OK, "Switching to Binary mode."),
        }
    }

    pub(super) fn cmd_mode(&mut self, m: char) {
        match m {
            'S' => self.reply(reply::OK, "Mode set to S."),
            _ => self.reply(reply::NOT_IMPLEMENTED_PARAM, "Only MODE S is supported."),
        }
    }

    pub(super) fn cmd_stru(&mut self, s: char) {
        match s {
            'F' => self.reply(reply::OK, "Structure set to F."),
            _ => self.reply(reply::NOT_IMPLEMENTED_PARAM, "Only STRU F is supported."),
        }
    }

    fn control_is_v6(&self) -> bool {
        self.local.is_ipv6()
    }

    pub(super) fn cmd_pasv(&mut self) {
        if self.epsv_all {
            return self.reply(reply::BAD_SEQUENCE, "EPSV ALL in effect; use EPSV.");
        }
        if self.control_is_v6() {
            // RFC 2428 §1: PASV can only express IPv4 addresses.
            return self.reply(
                reply::CANT_OPEN_DATA,
                "PASV is IPv4 only; use EPSV on an IPv6 connection.",
            );
        }
        self.open_passive(false);
    }

    pub(super) fn cmd_epsv(&mut self, arg: EpsvArg) {
        let ours = if self.control_is_v6() { 2 } else { 1 };
        match arg {
            EpsvArg::All => {
                self.epsv_all = true;
                self.reply(reply::OK, "EPSV ALL ok.");
            }
            EpsvArg::Proto(n) if n != ours => self.reply(
                reply::NETWORK_PROTOCOL_NOT_SUPPORTED,
                &format!("Network protocol not supported, use ({ours})"),
            ),
            _ => self.open_passive(true),
        }
    }

    fn open_passive(&mut self, extended: bool) {
        self.actions.push_back(Action::OpenPassive);
        self.wait(Wait::Passive { extended });
    }

    pub(super) fn on_passive(&mut self, port: Option<u16>) {
        let Busy::Waiting(Wait::Passive { extended }) =
            std::mem::replace(&mut self.busy, Busy::Idle)
        else {
            return;
        };
        let Some(port) = port else {
            self.data = DataSetup::None;
            return self.reply(reply::CANT_OPEN_DATA, "Can't open passive connection.");
        };
        self.data = DataSetup::Passive;
        if extended {
            self.reply(reply::ENTERING_EXTENDED_PASSIVE, &addr::format_epsv(port));
        } else {
            let ip = match (self.cfg.pasv_address, self.local.ip()) {
                (Some(ip), _) => ip,
                (None, IpAddr::V4(ip)) => ip,
                (None, IpAddr::V6(_)) => std::net::Ipv4Addr::UNSPECIFIED,
            };
            self.reply(reply::ENTERING_PASSIVE, &addr::format_pasv(ip, port));
        }
    }

    /// PORT and EPRT: only to the client's own address and an unprivileged
    /// port, so the server cannot be used to bounce (RFC 2577 §3).
    pub(super) fn cmd_port(&mut self, target: SocketAddr, extended: bool) {
        if self.epsv_all {
            return self.reply(reply::BAD_SEQUENCE, "EPSV ALL in effect; use EPSV.");
        }
        let target = SocketAddr::new(target.ip().to_canonical(), target.port());
        if target.ip() != self.peer.ip() {
            return self.reply(
                reply::SYNTAX_ERROR,
                "Illegal PORT command: address differs from the control connection.",
            );
        }
        if target.port() < ACTIVE_PORT_MIN {
            return self.reply(
                reply::NOT_IMPLEMENTED_PARAM,
                "Illegal PORT command: privileged port refused.",
            );
        }
        if self.data == DataSetup::Passive {
            self.actions.push_back(Action::ClosePassive);
        }
        self.data = DataSetup::Active(target);
        let verb = if extended { "EPRT" } else { "PORT" };
        self.reply(
            reply::OK,
            &format!("{verb} command successful. Consider using EPSV."),
        );
    }

    /// The data connection for the next transfer, or a 425 reply.
    fn take_endpoint(&mut self) -> Option<DataEndpoint> {
        match std::mem::replace(&mut self.data, DataSetup::None) {
            DataSetup::None => {
                self.reply(reply::CANT_OPEN_DATA, "Use PORT, PASV, EPRT or EPSV first.");
                None
            }
            DataSetup::Passive => Some(DataEndpoint::Passive),
            DataSetup::Active(a) => Some(DataEndpoint::Active(a)),
        }
    }

    fn start_transfer(&mut self, kind: TransferKind, label: String, is_upload: bool) {
        if let Some(why) = self.refused_unprotected_data() {
            return self.reply(reply::PROT_SETTING_REFUSED, why);
        }
        let Some(endpoint) = self.take_endpoint() else {
            return;
        };
        let ascii = self.ascii;
        self.actions.push_back(Action::Transfer(Transfer {
            endpoint,
            kind,
            ascii,
            protected: self.data_protected(),
        }));
        self.busy = Busy::Transferring(Running {
            label,
            is_upload,
            abort_requested: false,
            quit_requested: false,
            progress_query: false,
        });
    }

    pub(super) fn cmd_retr(&mut self, arg: &str) {
        let offset = std::mem::take(&mut self.rest);
        let Some(path) = self.resolve(arg) else {
            return;
        };
        if self.permit_at(&path, Perms::READ) {
            let label = path.as_str().to_string();
            self.start_transfer(TransferKind::Retr { path, offset }, label, false);
        }
    }

    pub(super) fn cmd_store(&mut self, arg: &str, append: bool) {
        let rest = std::mem::take(&mut self.rest);
        let Some(path) = self.resolve(arg) else {
            return;
        };
        let (mode, perm) = match (append, rest) {
            (true, _) => (StoreMode::Append, Perms::APPEND),
            (false, 0) => (StoreMode::Truncate, Perms::WRITE),
            (false, n) => (StoreMode::At(n), Perms::WRITE.with(Perms::APPEND)),
        };
        let mode = match self.permit_store(&path, perm) {
            None => return,
            Some(Access::Full) => mode,
            // Only a plain WRITE can come back create-only.
            Some(Access::CreateOnly) => StoreMode::CreateNew,
        };
        let label = path.as_str().to_string();
        self.start_transfer(TransferKind::Store { path, mode }, label, true);
    }

    /// STOU: the server picks a unique name in the working directory.
    pub(super) fn cmd_stou(&mut self) {
        self.rest = 0;
        let probe = self
            .cwd
            .resolve("stou")
            .unwrap_or_else(|_| self.cwd.clone());
        // STOU always creates a new name, so upload-only is enough.
        if self.permit_store(&probe, Perms::WRITE).is_some() {
            let path = self.cwd.clone();
            self.start_transfer(
                TransferKind::Store {
                    path,
                    mode: StoreMode::Unique,
                },
                String::new(),
                true,
            );
        }
    }

    /// LIST/NLST take `ls`-style options (`-a`, `-l`, `-la`) before the path,
    /// and a glob in the last component; MLSD takes a plain path.
    pub(super) fn cmd_list(&mut self, arg: Option<String>, format: ListFormat) {
        let (show_hidden, rest) = match format {
            ListFormat::Machine => (true, arg.unwrap_or_default()),
            _ => split_list_options(arg.as_deref().unwrap_or("")),
        };
        let (dir_arg, glob) = match format {
            ListFormat::Machine => (rest, None),
            _ => split_glob(&rest),
        };
        let Some(path) = self.resolve(&dir_arg) else {
            return;
        };
        if !self.permit_at(&path, Perms::LIST) {
            return;
        }
        let can_write = self.can_write_at(&path);
        let label = path.as_str().to_string();
        let kind = TransferKind::List {
            path,
            format,
            glob,
            show_hidden,
            can_write,
        };
        self.start_transfer(kind, label, false);
    }

    /// REST (RFC 3659 §5.3): the marker is a byte offset. Kernel file offsets
    /// are signed 64-bit, so a marker above `i64::MAX` names no position in
    /// any file: 501, and no marker is kept.
    pub(super) fn cmd_rest(&mut self, n: u64) {
        if i64::try_from(n).is_err() {
            self.rest = 0;
            return self.reply(reply::SYNTAX_ERROR_ARGS, "Restart position out of range.");
        }
        self.rest = n;
        self.reply(
            reply::PENDING_FURTHER_INFO,
            &format!("Restart position accepted ({n})."),
        );
    }

    pub(super) fn cmd_abor(&mut self) {
        match &mut self.busy {
            Busy::Transferring(r) if !r.abort_requested => {
                r.abort_requested = true;
                self.actions.push_back(Action::Abort);
            }
            Busy::Transferring(_) => {}
            _ => {
                if self.data == DataSetup::Passive {
                    self.actions.push_back(Action::ClosePassive);
                }
                self.data = DataSetup::None;
                self.reply(reply::NO_TRANSFER, "No transfer to abort.");
            }
        }
    }

    pub(super) fn query_progress(&mut self) {
        if let Busy::Transferring(r) = &mut self.busy {
            if !r.progress_query {
                r.progress_query = true;
                self.actions.push_back(Action::QueryProgress);
            }
        }
    }

    pub(super) fn on_progress(&mut self, bytes: u64) {
        if let Busy::Transferring(r) = &mut self.busy {
            if std::mem::take(&mut r.progress_query) {
                let text = format!("Status: {} bytes transferred for {}", bytes, r.label);
                self.reply(reply::FILE_STATUS, &text);
            }
        }
    }

    pub(super) fn on_transfer_ready(&mut self, size: Option<u64>, name: Option<String>) {
        let Busy::Transferring(r) = &self.busy else {
            return;
        };
        let mode = if self.ascii { "ASCII" } else { "BINARY" };
        let text = match (name, size) {
            (Some(n), _) => format!("FILE: {n}"),
            (None, Some(s)) => format!(
                "Opening {mode} mode data connection for {} ({s} bytes).",
                r.label
            ),
            (None, None) => format!("Opening {mode} mode data connection for {}.", r.label),
        };
        self.reply(reply::OPENING_DATA, &text);
    }

    pub(super) fn on_transfer_done(&mut self, result: Result<u64, TransferError>) {
        let Busy::Transferring(r) = std::mem::replace(&mut self.busy, Busy::Idle) else {
            return;
        };
        match result {
            Ok(_) => self.reply(reply::CLOSING_DATA, "Transfer complete."),
            Err(e) => self.transfer_failed(e, r.is_upload),
        }
        if r.abort_requested {
            self.reply(reply::CLOSING_DATA, "ABOR successful.");
        }
        if r.quit_requested {
            self.cmd_quit();
        }
    }

    fn transfer_failed(&mut self, e: TransferError, is_upload: bool) {
        let text = match e {
            TransferError::Fs(fe) => format!("{}.", fe.reply_text()),
            TransferError::DataConnection => "Can't open data connection.".into(),
            TransferError::ConnectionLost => "Connection closed; transfer aborted.".into(),
            TransferError::Aborted => "Transfer aborted.".into(),
            TransferError::Stalled => "Transfer stalled; aborted.".into(),
            TransferError::RestartBeyondEnd => {
                "Restart position beyond the end of the file.".into()
            }
            TransferError::SourceChanged => {
                "File changed size during the transfer; the data sent is incomplete.".into()
            }
            TransferError::TlsHandshake => "TLS handshake on the data connection failed.".into(),
            TransferError::TlsNotResumed => "Data connection refused: it must resume the TLS session of this control connection (TLS session reuse required).".into(),
            TransferError::Write(fe) | TransferError::Read(fe) => {
                let what = if is_upload { "writing" } else { "reading" };
                format!("Error {what} file: {}.", fe.reply_text())
            }
        };
        self.reply(e.reply_code(), &text);
    }
}

/// Splits leading `ls` options (`-a`, `-l`, `-la`, …) from a LIST/NLST
/// argument. A word starting with `-` counts as options only when every letter
/// is one `ls` knows here, so a file named `-notes` still lists.
fn split_list_options(arg: &str) -> (bool, String) {
    let mut hidden = false;
    let mut rest = arg;
    while let Some(word) = rest
        .split(' ')
        .next()
        .filter(|w| w.len() > 1 && w.starts_with('-'))
    {
        if !word[1..].chars().all(|c| "alRtrhF1dS".contains(c)) {
            break;
        }
        hidden |= word.contains('a');
        rest = rest[word.len()..].trim_start_matches(' ');
    }
    (hidden, rest.to_string())
}

/// `dir/*.iso` → (`dir`, Some(`*.iso`)); no glob characters → (arg, None).
fn split_glob(arg: &str) -> (String, Option<String>) {
    let last = arg.rsplit('/').next().unwrap_or("");
    if !last.contains(['*', '?', '[']) {
        return (arg.to_string(), None);
    }
    let dir = &arg[..arg.len() - last.len()];
    let dir = if dir.is_empty() { "." } else { dir };
    (dir.to_string(), Some(last.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_options_and_dash_names() {
        assert_eq!(split_list_options("-la /pub"), (true, "/pub".to_string()));
        assert_eq!(split_list_options("-l"), (false, String::new()));
        assert_eq!(split_list_options("-notes"), (false, "-notes".to_string()));
        assert_eq!(split_list_options("-a -l x y"), (true, "x y".to_string()));
    }

    #[test]
    fn glob_split() {
        assert_eq!(
            split_glob("*.iso"),
            (".".to_string(), Some("*.iso".to_string()))
        );
        assert_eq!(
            split_glob("/pub/a?"),
            ("/pub/".to_string(), Some("a?".to_string()))
        );
        assert_eq!(split_glob("/pub"), ("/pub".to_string(), None));
    }
}
