//! The effective configuration as TOML (`ringftpd check-config`): every
//! flag's value after the file and the command line were merged, then the
//! anonymous and named users, with password hashes elided.

use clap::{ArgMatches, Command};

use super::file::FileSettings;
use super::flags::{flag_keys, FlagKey, Scalar, Shape};
use crate::auth::AuthPolicy;
use crate::proto::quota::UserLimits;
use crate::proto::rules::PathRules;

/// `key = value` for every flag, in definition order; a flag with no value
/// is a comment.
pub fn flag_lines(cmd: &Command, m: &ArgMatches) -> Vec<(String, String)> {
    flag_keys(cmd)
        .iter()
        .map(|fk| (fk.key.clone(), flag_value(fk, m)))
        .collect()
}

fn flag_value(fk: &FlagKey, m: &ArgMatches) -> String {
    let raw: Vec<String> = m
        .get_raw(&fk.id)
        .map(|vs| vs.map(|v| v.to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    let one = |v: &String| match fk.scalar {
        Scalar::Integer | Scalar::Float => v.clone(),
        Scalar::Text => toml::Value::String(v.clone()).to_string(),
    };
    match (fk.shape, raw.first()) {
        (Shape::Switch, v) => (v.map(String::as_str) == Some("true")).to_string(),
        (_, None) => String::new(),
        (Shape::One, Some(v)) => one(v),
        (Shape::Many, _) => format!("[{}]", raw.iter().map(one).collect::<Vec<_>>().join(", ")),
    }
}

/// The whole effective configuration.
pub fn render(
    cmd: &Command,
    m: &ArgMatches,
    file: Option<&FileSettings>,
    cli_ids: &[String],
    policy: &AuthPolicy,
) -> String {
    let mut out = String::from("# ringftpd: effective configuration (password hashes elided)\n\n");
    let keys = flag_keys(cmd);
    for ((key, value), fk) in flag_lines(cmd, m).into_iter().zip(&keys) {
        let from = if cli_ids.contains(&fk.id) {
            "  # command line"
        } else if file.is_some_and(|f| f.line_of(key.as_str()).is_some()) {
            "  # config file"
        } else {
            ""
        };
        if value.is_empty() {
            out.push_str(&format!("# {key} is not set\n"));
        } else {
            out.push_str(&format!("{key} = {value}{from}\n"));
        }
    }
    out.push_str("\n[anonymous]\n");
    match &policy.anonymous {
        None => out.push_str("enabled = false\n"),
        Some(r) => {
            out.push_str(&format!("enabled = true\npermissions = {}\n", rules(r)));
            out.push_str(&limits(&policy.anon_limits));
        }
    }
    let from_file = |name: &str| file.is_some_and(|f| f.users.iter().any(|(u, _)| u.name == name));
    for u in policy.users.iter().flat_map(|db| db.entries()) {
        out.push_str("\n[[user]]\n");
        if !from_file(&u.name) {
            out.push_str("# from the users file (--users)\n");
        }
        out.push_str(&format!(
            "name = {}\npassword_hash = \"(elided)\"\nhome = {}\npermissions = {}\n",
            quote(&u.name),
            quote(&u.scope.home.to_string_lossy()),
            rules(&u.scope.rules)
        ));
        out.push_str(&limits(&u.scope.limits));
        for f in &u.scope.folders {
            out.push_str(&format!(
                "\n[[user.folder]]\npath = {}\nhost = {}\n",
                quote(f.path.as_str()),
                quote(&f.host.to_string_lossy())
            ));
        }
    }
    out
}

/// The quota and rate keys that are set, one line each.
fn limits(l: &UserLimits) -> String {
    let keys = [
        ("quota_bytes", l.quota_bytes),
        ("quota_files", l.quota_files),
        ("download_rate_bytes_per_sec", l.download_rate_bytes_per_sec),
        ("upload_rate_bytes_per_sec", l.upload_rate_bytes_per_sec),
    ];
    keys.iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k} = {v}\n")))
        .collect()
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// `{ "/" = ["list", "read"], "/incoming" = ["upload_only"] }`
fn rules(r: &PathRules) -> String {
    let items: Vec<String> = r
        .rules()
        .iter()
        .map(|rule| {
            let names: Vec<String> = rule.perms.names().iter().map(|n| quote(n)).collect();
            format!("{} = [{}]", quote(rule.path.as_str()), names.join(", "))
        })
        .collect();
    format!("{{ {} }}", items.join(", "))
}
