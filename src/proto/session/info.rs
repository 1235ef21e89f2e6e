//! FEAT (RFC 2389), HELP, OPTS, STAT without argument (RFC 959 §4.1.3).

use super::{Busy, DataSetup, Session};
use crate::proto::reply;

/// Features listed by FEAT, one per line (RFC 2389 §3.2).
const FEATURES: &[&str] = &[
    "EPRT",
    "EPSV",
    "MDTM",
    "MFMT",
    "MLST type*;size*;modify*;perm*;",
    "PASV",
    "REST STREAM",
    "SIZE",
    "TVFS",
    "UTF8",
];

/// Commands listed by HELP.
const COMMANDS: &str = "ABOR ACCT ALLO APPE AUTH CDUP CWD DELE EPRT EPSV FEAT HASH HELP HOST LIST MDTM MFMT MKD MLSD MLST MODE NLST NOOP OPTS PASS PASV PBSZ PORT PROT PWD QUIT REIN REST RETR RMD RNFR RNTO SITE SIZE SMNT STAT STOR STOU STRU SYST TYPE USER XCRC XCUP XCWD XMD5 XMKD XPWD XRMD XSHA1 XSHA256";

impl Session {
    pub(super) fn cmd_feat(&mut self) {
        let mut body: Vec<String> = FEATURES.iter().map(|f| f.to_string()).collect();
        // draft-bryan-ftpext-hash-02 §3.1; kept in FEAT's sorted order.
        body.insert(2, crate::proto::hash::HashAlgo::feat_line(self.hash_algo));
        // RFC 4217 §6: AUTH TLS, PBSZ and PROT are listed when offered.
        if self.cfg.tls.available {
            body.insert(0, "AUTH TLS".to_string());
            let at = body.iter().position(|f| f == "PASV").unwrap_or(body.len());
            body.insert(at + 1, "PBSZ".to_string());
            body.insert(at + 2, "PROT".to_string());
        }
        self.reply_block(reply::SYSTEM_STATUS, "Features:", &body, "End");
    }

    pub(super) fn cmd_help(&mut self, arg: Option<String>) {
        match arg {
            Some(a) if COMMANDS.split(' ').any(|c| c.eq_ignore_ascii_case(&a)) => self.reply(
                reply::HELP,
                &format!("{} is supported.", a.to_ascii_uppercase()),
            ),
            Some(_) => self.reply(reply::NOT_IMPLEMENTED, "Unknown command."),
            None => {
                let text = format!("The following commands are recognized.\n{COMMANDS}\nHelp OK.");
                self.reply(reply::HELP, &text);
            }
        }
    }

    pub(super) fn cmd_opts(&mut self, opt: &str) {
        let mut words = opt.split_whitespace();
        let name = words.next().unwrap_or("").to_ascii_uppercase();
        let value = words.next().unwrap_or("").to_ascii_uppercase();
        match name.as_str() {
            "UTF8" if value.is_empty() || value == "ON" => {
                self.reply(reply::OK, "Always in UTF8 mode.")
            }
            "UTF8" => self.reply(reply::SYNTAX_ERROR_ARGS, "UTF8 cannot be turned off."),
            // RFC 3659 §7.9: the server answers with the facts it will show.
            "MLST" => self.reply(reply::OK, "MLST OPTS type;size;modify;perm;"),
            "HASH" => self.opts_hash(&value),
            _ => self.reply(reply::SYNTAX_ERROR_ARGS, "Option not understood."),
        }
    }

    pub(super) fn cmd_stat(&mut self, arg: Option<String>) {
        match arg {
            Some(p) => self.stat_path(&p),
            None => self.stat_server(),
        }
    }

    fn stat_server(&mut self) {
        let data = match self.data {
            DataSetup::None => "No data connection".to_string(),
            DataSetup::Passive => "Passive mode set up".to_string(),
            DataSetup::Active(a) => format!("Active mode to {a}"),
        };
        let mut body = vec![
            format!("Connected to {}", self.peer.ip()),
            format!("Logged in as {}", self.user().unwrap_or("(nobody)")),
            format!("TYPE: {}", if self.ascii { "ASCII" } else { "BINARY" }),
            data,
            format!("Busy: {}", !matches!(self.busy, Busy::Idle)),
        ];
        body.extend(self.limit_lines());
        self.reply_block(
            reply::SYSTEM_STATUS,
            "ringftpd status:",
            &body,
            "End of status",
        );
    }
}
