//! Configuration: the command line, an optional TOML file (`--config FILE`),
//! and the one place that knows both. Everything else receives typed
//! settings: the server a checked [`ServerConfig`] (with a
//! [`PolicySource`] that rebuilds users and permissions on SIGHUP), the
//! session a [`crate::proto::rules::PathRules`] per login.
//!
//! - [`flags`]: keys ↔ flags, derived from clap's definition of
//!   [`crate::server::Args`] (no list of flags here: a new flag has its key).
//! - [`file`]: reading a file; [`sections`]: `[anonymous]` and `[[user]]`.
//! - [`show`]: the effective configuration, for `ringftpd check-config`.
//!
//! Merging: the file's keys become `--flag=value` arguments placed *before*
//! the real ones, except for flags given on the real command line, which
//! override the file (a repeatable flag on the command line replaces the
//! file's whole array). clap then parses everything once, so defaults,
//! value parsers and checks are the command line's own.
//!
//! Every mistake in the file is one line, `config FILE:LINE: key 'x': why`
//! ([`ConfigError`]); start-up exits 2 with it, a reload keeps the old rules.

mod error;
pub mod file;
pub mod flags;
pub mod sections;
pub mod show;
#[cfg(test)]
mod tests;

pub use error::ConfigError;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::parser::ValueSource;
use clap::{value_parser, Arg, ArgMatches, Command, CommandFactory, FromArgMatches};

use crate::auth::AuthPolicy;
use crate::proto::perms::Perms;
use crate::server::policy::{anonymous_rules, dropbox_dir, users_file};
use crate::server::{Args, PolicySource, ServerConfig};
use file::FileSettings;

/// clap's id (and long name) of `--config`.
pub const CONFIG_ID: &str = "config";

/// Top-level keys that are sections, not flags.
pub const SECTIONS: [&str; 2] = ["anonymous", "user"];

/// Flag keys a reload applies; every other key needs a restart.
pub const RELOADED_KEYS: [&str; 3] = ["users", "no_anonymous", "anon_dropbox"];

/// The server's command line: [`Args`] plus `--config`.
pub fn command() -> Command {
    Args::command().arg(
        Arg::new(CONFIG_ID)
            .long(CONFIG_ID)
            .value_name("FILE")
            .value_parser(value_parser!(PathBuf))
            .help(
                "TOML configuration file (docs/config.md): each flag is a key of the same \
                 name with underscores, plus [anonymous] and [[user]] sections; flags given \
                 here override the file. SIGHUP reloads its users and permissions",
            ),
    )
}

/// Why the program stops instead of serving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// `--help` / `--version`: print this on stdout, exit 0.
    Info(String),
    /// One line for stderr (after `ringftpd: `), exit 2.
    Error(String),
}

impl Exit {
    /// The text, whichever kind.
    pub fn into_text(self) -> String {
        match self {
            Exit::Info(s) | Exit::Error(s) => s,
        }
    }
}

/// The command line (and file) after merging.
struct Loaded {
    args: Args,
    matches: ArgMatches,
    file: Option<FileSettings>,
    /// clap ids given on the real command line.
    cli_ids: Vec<String>,
}

fn usage_error(e: clap::Error) -> Exit {
    if !e.use_stderr() {
        let mut text = e.to_string();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        return Exit::Info(text);
    }
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("bad arguments");
    Exit::Error(format!("{first} (see ringftpd --help)"))
}

fn load(argv: &[OsString]) -> Result<Loaded, Exit> {
    let cmd = command();
    let cli = cmd
        .clone()
        .try_get_matches_from(argv)
        .map_err(usage_error)?;
    let cli_ids: Vec<String> = cmd
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .filter(|id| cli.value_source(id) == Some(ValueSource::CommandLine))
        .collect();
    let Some(path) = cli.get_one::<PathBuf>(CONFIG_ID).cloned() else {
        let args = Args::from_arg_matches(&cli).map_err(usage_error)?;
        return Ok(Loaded {
            args,
            matches: cli,
            file: None,
            cli_ids,
        });
    };
    let file = file::load(&path, &cmd).map_err(|e| Exit::Error(e.to_string()))?;
    let mut merged: Vec<OsString> = argv.iter().take(1).cloned().collect();
    for f in file.flags.iter().filter(|f| !cli_ids.contains(&f.id)) {
        merged.extend(f.args.iter().map(OsString::from));
    }
    merged.extend(argv.iter().skip(1).cloned());
    let config_error = |e: clap::Error| {
        let why = flags::clap_reason(&e);
        Exit::Error(format!("config {}: {why}", path.display()))
    };
    let matches = cmd.try_get_matches_from(merged).map_err(config_error)?;
    let args = Args::from_arg_matches(&matches).map_err(config_error)?;
    Ok(Loaded {
        args,
        matches,
        file: Some(file),
        cli_ids,
    })
}

impl Loaded {
    /// A start-up check's message, pinned to the file's line when the flag
    /// it names came from the file.
    fn blame(&self, message: &str) -> String {
        let Some(f) = &self.file else {
            return message.to_string();
        };
        let from_file = file::blamed_key(message).into_iter().find_map(|key| {
            let flag = f.flags.iter().find(|x| x.key == key)?;
            (!self.cli_ids.contains(&flag.id)).then_some((key, flag.line))
        });
        match from_file {
            Some((key, line)) => ConfigError {
                file: f.path.clone(),
                line,
                key: Some(key),
                reason: message.to_string(),
            }
            .to_string(),
            None => message.to_string(),
        }
    }

    fn check(&self) -> Result<ServerConfig, Exit> {
        ServerConfig::from_args(self.args.clone()).map_err(|e| Exit::Error(self.blame(&e)))
    }

    /// Users and permissions from the flags and the file's sections.
    fn policy(&self, root: &Path) -> Result<AuthPolicy, String> {
        let mut anonymous = anonymous_rules(&self.args)?;
        let mut users = users_file(&self.args)?.unwrap_or_default();
        if let Some(f) = &self.file {
            if let Some(spec) = &f.anonymous {
                anonymous = match (spec.enabled, anonymous, &spec.rules) {
                    (false, _, _) | (_, None, _) => None,
                    (true, Some(flags), None) => Some(flags),
                    // The section's table, with `--anon-dropbox` on top.
                    (true, Some(_), Some(rules)) => Some(match dropbox_dir(&self.args)? {
                        Some(d) => rules.clone().with_rule(d, Perms::UPLOAD_ONLY),
                        None => rules.clone(),
                    }),
                };
            }
            for (u, line) in &f.users {
                users.insert(u.clone()).map_err(|_| {
                    ConfigError {
                        file: f.path.clone(),
                        line: *line,
                        key: Some("user.name".into()),
                        reason: format!("user '{}' is also in the users file (--users)", u.name),
                    }
                    .to_string()
                })?;
            }
        }
        let anon_limits = self
            .file
            .as_ref()
            .and_then(|f| f.anonymous.as_ref())
            .map(|a| a.limits)
            .unwrap_or_default();
        Ok(AuthPolicy {
            anonymous: anonymous.map(Arc::new),
            root: root.to_path_buf(),
            users: Some(Arc::new(users)),
            anon_limits,
        })
    }

    /// Flag values that only a restart applies, for spotting changes.
    fn restart_only(&self) -> Vec<(String, String)> {
        show::flag_lines(&command(), &self.matches)
            .into_iter()
            .filter(|(k, _)| !RELOADED_KEYS.contains(&k.as_str()))
            .collect()
    }
}

/// The server's configuration from its command line (`argv[0]` included).
/// With `--config`, the users and permissions are checked now (so a mistake
/// stops the start with its line) and rebuilt from the file on SIGHUP.
pub fn server_config(argv: &[OsString]) -> Result<ServerConfig, Exit> {
    let loaded = load(argv)?;
    let mut cfg = loaded.check()?;
    if let Some(f) = &loaded.file {
        loaded.policy(&cfg.root).map_err(Exit::Error)?;
        cfg.policy = reload_source(
            argv.to_vec(),
            f.path.clone(),
            &cfg.root,
            loaded.restart_only(),
        );
    }
    Ok(cfg)
}

/// Re-reads the file with the same command line; a changed key that needs a
/// restart is named on stderr (the rest of the reload goes ahead).
fn reload_source(
    argv: Vec<OsString>,
    path: PathBuf,
    root: &Path,
    started: Vec<(String, String)>,
) -> PolicySource {
    let root = root.to_path_buf();
    PolicySource::new(move || {
        let loaded = load(&argv).map_err(Exit::into_text)?;
        let now = loaded.restart_only();
        for ((key, old), (_, new)) in started.iter().zip(&now) {
            if old != new {
                eprintln!(
                    "ringftpd: config {}: key '{key}' changed; it takes effect after a restart",
                    path.display()
                );
            }
        }
        loaded.policy(&root)
    })
}

/// `ringftpd check-config FILE [FLAGS…]`: everything start-up would check;
/// the effective configuration (hashes elided), or the one-line error.
pub fn check_config(file: &Path, rest: &[OsString]) -> Result<String, String> {
    let mut argv: Vec<OsString> = vec!["ringftpd".into(), "--config".into(), file.into()];
    argv.extend(rest.iter().cloned());
    let loaded = match load(&argv) {
        Ok(l) => l,
        Err(Exit::Info(text)) => return Ok(text),
        Err(Exit::Error(e)) => return Err(e),
    };
    let cfg = loaded.check().map_err(Exit::into_text)?;
    let policy = loaded.policy(&cfg.root)?;
    Ok(show::render(
        &command(),
        &loaded.matches,
        loaded.file.as_ref(),
        &loaded.cli_ids,
        &policy,
    ))
}
