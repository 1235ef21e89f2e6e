//! The blocking work behind session actions, run on the helper pool: logins,
//! filesystem requests, opening transfer sources and targets, and formatting
//! listings (read and formatted off the core, sent by the core).

use std::sync::Arc;

use super::bulk::{self, Resubmit};
use super::listing_stream::ListSpec;
use super::pool::JobOutput;
use super::quota;
use super::shared::Shared;
use crate::auth::Grant;
use crate::fs::{Root, WriteMode};
use crate::proto::path::VPath;
use crate::proto::quota::{Quota, Rates};
use crate::proto::session::{FsOk, FsOp, LoginOk, StoreMode};

/// Checks a login and opens the user's root, with its virtual folders;
/// counts the user's tree for its quota if this is its first login.
pub fn login(shared: &Shared, user: &str, pass: &str) -> JobOutput {
    let server_root = &shared.root;
    let grant = match shared.policy().authenticate(user, pass) {
        Ok(g) => g,
        Err(_) => return JobOutput::Login(None),
    };
    let root = if grant.anonymous {
        Ok(server_root.clone())
    } else {
        open_tree(&grant).map(Arc::new)
    };
    match root {
        Ok(root) => {
            let args = &shared.args;
            let rates = Rates {
                download_bytes_per_sec: grant
                    .scope
                    .limits
                    .download_rate_bytes_per_sec
                    .unwrap_or(args.download_rate_bytes_per_sec),
                upload_bytes_per_sec: grant
                    .scope
                    .limits
                    .upload_rate_bytes_per_sec
                    .unwrap_or(args.upload_rate_bytes_per_sec),
            };
            let ok = LoginOk {
                quota: shared.quotas.for_login(&grant),
                user: grant.user,
                anonymous: grant.anonymous,
                rules: grant.scope.rules,
                rates,
            };
            JobOutput::Login(Some((ok, root)))
        }
        Err(e) => {
            eprintln!("ringftpd: user {user}: {e}");
            JobOutput::Login(None)
        }
    }
}

/// The user's home with each folder mounted at its virtual path.
fn open_tree(grant: &Grant) -> Result<Root, String> {
    let home = Root::open(&grant.scope.home)
        .map_err(|e| format!("home {} unusable: {e}", grant.scope.home.display()))?;
    grant.scope.folders.iter().try_fold(home, |root, f| {
        root.with_folder(f.path.clone(), &f.host)
            .map_err(|e| format!("folder {} ({}) unusable: {e}", f.path, f.host.display()))
    })
}

/// Runs one filesystem request; DELE and an overwriting RNTO give the
/// removed file's room back to the quota.
pub fn fs_op(root: &Arc<Root>, op: FsOp, entries_max: usize, q: Option<&Quota>) -> JobOutput {
    let r = match op {
        FsOp::Stat(p) => root.stat(&p).map(FsOk::Info),
        FsOp::ReadDir(p) => root
            .read_dir(&p, entries_max)
            .map(|(e, t)| FsOk::Entries(e, t)),
        FsOp::Mkdir(p) => root.mkdir(&p).map(|_| FsOk::Done),
        FsOp::Rmdir(p) => root.rmdir(&p).map(|_| FsOk::Done),
        FsOp::Delete(p) => quota::removing(q, root, &p, || root.unlink(&p)).map(|_| FsOk::Done),
        FsOp::Rename { from, to } if from == to => root.rename(&from, &to).map(|_| FsOk::Done),
        FsOp::Rename { from, to } => {
            quota::removing(q, root, &to, || root.rename(&from, &to)).map(|_| FsOk::Done)
        }
        FsOp::SetMtime { path, unix_secs } => root.set_mtime(&path, unix_secs).map(|_| FsOk::Done),
        FsOp::Chmod { path, mode } => root.chmod(&path, mode).map(|_| FsOk::Done),
        // Normally stepped by `bulk`; whole here when called directly.
        FsOp::Hash {
            path,
            algo,
            start,
            end,
        } => super::checksum::HashTask::open(root, &path, algo, start, end)
            .and_then(|t| bulk::run_to_end(Box::new(t))),
        FsOp::Copy { from, to } => open_copy(root, &from, &to, q).and_then(bulk::run_to_end),
    };
    JobOutput::Fs(r)
}

/// Opens a SITE CPTO, holding room for the copy when there is a quota.
fn open_copy(
    root: &Arc<Root>,
    from: &VPath,
    to: &VPath,
    q: Option<&Quota>,
) -> Result<Box<dyn bulk::Stepped>, crate::fs::FsError> {
    let hold = q
        .map(|q| quota::CopyHold::reserve(q, root, from, to))
        .transpose()?;
    match super::copy::CopyTask::open(root, from, to) {
        Ok(task) => Ok(Box::new(super::copy::HeldCopy {
            task: Box::new(task),
            hold,
        })),
        Err(e) => {
            if let Some(h) = hold {
                h.release();
            }
            Err(e)
        }
    }
}

/// The helper work for an [`FsOp`]: stepped for Hash and Copy, one call for
/// the rest.
pub fn work_for(
    root: Arc<Root>,
    op: FsOp,
    entries_max: usize,
    again: Resubmit,
    q: Option<Quota>,
) -> Box<dyn FnOnce() -> JobOutput + Send> {
    match op {
        FsOp::Hash {
            path,
            algo,
            start,
            end,
        } => Box::new(move || {
            match super::checksum::HashTask::open(&root, &path, algo, start, end) {
                Ok(task) => bulk::enqueue(Box::new(task), again, true),
                Err(e) => JobOutput::Fs(Err(e)),
            }
        }),
        FsOp::Copy { from, to } => {
            Box::new(move || match open_copy(&root, &from, &to, q.as_ref()) {
                Ok(task) => bulk::enqueue(task, again, true),
                Err(e) => JobOutput::Fs(Err(e)),
            })
        }
        other => Box::new(move || fs_op(&root, other, entries_max, q.as_ref())),
    }
}

/// Opens a RETR source; the size is reported in the 150 reply.
pub fn open_read(root: &Root, p: &VPath) -> JobOutput {
    JobOutput::OpenRead(root.open_read(p).map(|(fd, info)| (fd, info.size)))
}

/// Opens an upload target. For STOU, `p` is the directory and a fresh name is
/// made with O_EXCL until one is free. Under a quota the new file must fit
/// the files limit, and the upload gets its [`quota::UploadQuota`].
pub fn open_write(
    root: &Root,
    p: &VPath,
    mode: StoreMode,
    unique_seed: u64,
    q: Option<&Quota>,
) -> JobOutput {
    let wm = match mode {
        StoreMode::Truncate => WriteMode::Truncate,
        StoreMode::Append => WriteMode::Append,
        StoreMode::At(n) => WriteMode::At(n),
        StoreMode::CreateNew => WriteMode::CreateNew,
        StoreMode::Unique => {
            let r = match q {
                Some(q) if !q.try_add_file() => Err(crate::fs::FsError::QuotaExceeded),
                Some(q) => match open_unique(root, p, unique_seed) {
                    Ok((fd, name)) => Ok((fd, name, Some(quota::UploadQuota::new_file(q)))),
                    Err(e) => {
                        q.remove_file();
                        Err(e)
                    }
                },
                None => open_unique(root, p, unique_seed).map(|(fd, n)| (fd, n, None)),
            };
            return JobOutput::OpenWrite(r);
        }
    };
    let r = match q {
        None => root.open_write(p, wm).map(|fd| (fd, None, None)),
        Some(q) => {
            let (append, truncate) = (mode == StoreMode::Append, mode == StoreMode::Truncate);
            quota::open_upload(q, root, p, append, truncate, || root.open_write(p, wm))
                .map(|(fd, u)| (fd, None, Some(u)))
        }
    };
    JobOutput::OpenWrite(r)
}

fn open_unique(
    root: &Root,
    dir: &VPath,
    seed: u64,
) -> Result<(std::os::fd::OwnedFd, Option<String>), crate::fs::FsError> {
    let mut last = crate::fs::FsError::AlreadyExists;
    for i in 0..100u64 {
        let name = format!("ftp{:x}.{i}", seed);
        let path = dir
            .resolve(&name)
            .map_err(|_| crate::fs::FsError::InvalidName)?;
        match root.open_write(&path, WriteMode::CreateNew) {
            Ok(fd) => return Ok((fd, Some(name))),
            Err(crate::fs::FsError::AlreadyExists) => continue,
            Err(e) => {
                last = e;
                break;
            }
        }
    }
    Err(last)
}

/// Opens a listing and formats its first chunk (see [`super::listing_stream`]).
pub fn listing(root: &Root, spec: ListSpec) -> JobOutput {
    JobOutput::Listing(super::listing_stream::first_chunk(root, spec))
}

/// The next chunk of a listing.
pub fn listing_more(cursor: Box<super::listing_stream::ListCursor>) -> JobOutput {
    JobOutput::ListMore(super::listing_stream::next_chunk(cursor))
}
