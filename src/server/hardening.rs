//! Start-up checks and settings of the access-control flags (docs/security.md):
//! a dangerous or impossible setup is refused with one line before anything
//! listens, as vsftpd refuses a writable chroot.

use std::path::Path;

use super::args::Args;
use super::limits::IpLimits;
use crate::proto::bucket::Rate;
use crate::proto::path::VPath;

/// Checks the hardening flags against each other and the machine.
pub fn check_args(args: &Args, root: &Path) -> Result<(), String> {
    if let Some(dir) = &args.anon_dropbox {
        if args.no_anonymous {
            return Err("--anon-dropbox needs anonymous logins (drop --no-anonymous)".to_string());
        }
        let v = dropbox_vpath(dir)?;
        let host = root.join(v.relative());
        // A symlink could point anywhere: the drop-box must be a real directory.
        match std::fs::symlink_metadata(&host) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(format!(
                    "--anon-dropbox {dir}: {} is not a directory",
                    host.display()
                ))
            }
            Err(e) => return Err(format!("--anon-dropbox {dir}: {}: {e}", host.display())),
        }
    }
    if let Some(name) = &args.run_as {
        super::privdrop::lookup(name)?;
        if !nix::unistd::Uid::effective().is_root() {
            return Err(format!("--run-as {name}: needs a root start"));
        }
    }
    if args.connections_per_ip_per_sec_max > 0 && args.connections_per_ip_burst == 0 {
        return Err(
            "--connections-per-ip-burst must be at least 1 (or --connections-per-ip-per-sec-max 0)"
                .to_string(),
        );
    }
    if args.commands_per_sec_max > 0 && args.commands_burst == 0 {
        return Err(
            "--commands-burst must be at least 1 (or --commands-per-sec-max 0)".to_string(),
        );
    }
    if args.ban_after_failures > 0 && (args.ban_window_secs == 0 || args.ban_secs == 0) {
        return Err(
            "--ban-window-secs and --ban-secs must be at least 1 (or --ban-after-failures 0)"
                .to_string(),
        );
    }
    Ok(())
}

/// The drop-box as a session path; `/` is refused (it would hide the whole tree).
pub fn dropbox_vpath(dir: &str) -> Result<VPath, String> {
    let v = VPath::root()
        .resolve(dir)
        .map_err(|_| format!("--anon-dropbox {dir}: invalid path"))?;
    if v.is_root() {
        return Err("--anon-dropbox: must be a subdirectory of the root, not the root".to_string());
    }
    Ok(v)
}

/// The per-address limits from the flags.
pub fn ip_limits(args: &Args) -> IpLimits {
    IpLimits {
        sessions_per_ip_max: args.sessions_per_ip_max,
        connections: Rate::per_sec(
            args.connections_per_ip_per_sec_max,
            args.connections_per_ip_burst,
        ),
        failures: Rate::per_window(args.ban_after_failures, args.ban_window_secs),
        ban_secs: args.ban_secs,
    }
}
