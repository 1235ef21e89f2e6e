//! `--run-as USER`: after the listeners are bound and the root is open, the
//! process gives up root (vsftpd's `nopriv_user`, proftpd's `User`/`Group`).
//! Order matters: supplementary groups, then the group, then the user
//! (after setuid the others are no longer allowed). All through nix's safe
//! wrappers; glibc applies set*id to every thread, and we call it before any
//! worker or helper thread starts anyway.
//!
//! The drop happens once every worker's ring is up but before any worker
//! accepts: the rings' pinned buffers were registered with root's
//! CAP_IPC_LOCK, so the new user's RLIMIT_MEMLOCK does not have to cover
//! them, and no connection is ever served as root.

use nix::unistd::{setgid, setgroups, setuid, Gid, Uid, User};

use crate::fs::Root;
use crate::proto::path::VPath;

/// Looks `name` up; the one-line reason when it cannot be used.
pub fn lookup(name: &str) -> Result<User, String> {
    match User::from_name(name) {
        Ok(Some(u)) => Ok(u),
        Ok(None) => Err(format!("--run-as {name}: no such user")),
        Err(e) => Err(format!("--run-as {name}: user lookup failed: {e}")),
    }
}

/// Switches the process (every thread) to `name`, then checks that `root`
/// is still readable.
pub fn drop_to(name: &str, root: &Root) -> Result<(), String> {
    let user = lookup(name)?;
    if !Uid::effective().is_root() {
        return Err(format!(
            "--run-as {name}: needs a root start (running as uid {})",
            Uid::effective()
        ));
    }
    setgroups(&[user.gid]).map_err(|e| format!("--run-as {name}: setgroups: {e}"))?;
    setgid(user.gid).map_err(|e| format!("--run-as {name}: setgid: {e}"))?;
    setuid(user.uid).map_err(|e| format!("--run-as {name}: setuid: {e}"))?;
    // Never continue as root by accident.
    if Uid::effective().is_root()
        || Gid::effective() != user.gid
        || setuid(Uid::from_raw(0)).is_ok()
    {
        return Err(format!("--run-as {name}: privileges were not dropped"));
    }
    root.read_dir(&VPath::root(), 1).map_err(|e| {
        format!(
            "--run-as {name}: root {} is not readable by {name} ({e})",
            root.path().display()
        )
    })?;
    Ok(())
}
