//! Where the login rules ([`AuthPolicy`]) come from. The server asks its
//! [`PolicySource`] once at start-up and again on every SIGHUP; it does not
//! know whether the answer was built from flags alone (the default here) or
//! from a config file (`crate::config` supplies that source).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::args::Args;
use super::hardening::dropbox_vpath;
use crate::auth::{AuthPolicy, UserDb};
use crate::proto::path::VPath;
use crate::proto::perms::Perms;
use crate::proto::rules::PathRules;

type Loader = dyn Fn() -> Result<AuthPolicy, String> + Send + Sync;

/// Builds the login rules; errors are one line (start-up: exit 2; reload:
/// the old rules stay).
#[derive(Clone)]
pub struct PolicySource(Arc<Loader>);

impl std::fmt::Debug for PolicySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PolicySource")
    }
}

impl PolicySource {
    /// A source that runs `load` each time.
    pub fn new(load: impl Fn() -> Result<AuthPolicy, String> + Send + Sync + 'static) -> Self {
        PolicySource(Arc::new(load))
    }

    /// The flags' rules: `--users`, `--no-anonymous`, `--anon-dropbox`.
    pub fn from_flags(args: &Args, root: &Path) -> Self {
        let (args, root) = (args.clone(), root.to_path_buf());
        PolicySource::new(move || flags_policy(&args, &root))
    }

    /// Builds the rules now.
    pub fn load(&self) -> Result<AuthPolicy, String> {
        (self.0)()
    }
}

/// The anonymous permission table the flags ask for (`None`: anonymous off).
pub fn anonymous_rules(args: &Args) -> Result<Option<PathRules>, String> {
    if args.no_anonymous {
        return Ok(None);
    }
    Ok(Some(match dropbox_dir(args)? {
        Some(d) => PathRules::dropbox(d),
        None => PathRules::uniform(Perms::READ_ONLY),
    }))
}

/// `--anon-dropbox DIR` as a session path.
pub fn dropbox_dir(args: &Args) -> Result<Option<VPath>, String> {
    args.anon_dropbox.as_deref().map(dropbox_vpath).transpose()
}

/// The users file named by `--users`, if any.
pub fn users_file(args: &Args) -> Result<Option<UserDb>, String> {
    args.users
        .as_ref()
        .map(|p| UserDb::load(p).map_err(|e| format!("users file {}: {e}", p.display())))
        .transpose()
}

fn flags_policy(args: &Args, root: &Path) -> Result<AuthPolicy, String> {
    Ok(AuthPolicy {
        anonymous: anonymous_rules(args)?.map(Arc::new),
        root: PathBuf::from(root),
        users: users_file(args)?.map(Arc::new),
        anon_limits: Default::default(),
    })
}
