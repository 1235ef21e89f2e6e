//! The blocking work behind session actions, run on the helper pool: logins,
//! filesystem requests, opening transfer sources and targets, and formatting
//! listings (read and formatted off the core, sent by the core).

use std::sync::Arc;

use super::bulk::{self, Resubmit};
use super::listing_stream::ListSpec;
use super::pool::JobOutput;
use crate::auth::{AuthPolicy, Grant};
use crate::fs::{Root, WriteMode};
use crate::proto::path::VPath;
use crate::proto::session::{FsOk, FsOp, LoginOk, StoreMode};

/// Checks a login and opens the user's root, with its virtual folders.
pub fn login(policy: &AuthPolicy, server_root: &Arc<Root>, user: &str, pass: &str) -> JobOutput {
    let grant = match policy.authenticate(user, pass) {
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
            let ok = LoginOk {
                user: grant.user,
                anonymous: grant.anonymous,
                rules: grant.rules,
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
    let home = Root::open(&grant.home)
        .map_err(|e| format!("home {} unusable: {e}", grant.home.display()))?;
    grant.folders.iter().try_fold(home, |root, f| {
        root.with_folder(f.path.clone(), &f.host)
            .map_err(|e| format!("folder {} ({}) unusable: {e}", f.path, f.host.display()))
    })
}

/// Runs one filesystem request.
pub fn fs_op(root: &Arc<Root>, op: FsOp, entries_max: usize) -> JobOutput {
    let r = match op {
        FsOp::Stat(p) => root.stat(&p).map(FsOk::Info),
        FsOp::ReadDir(p) => root
            .read_dir(&p, entries_max)
            .map(|(e, t)| FsOk::Entries(e, t)),
        FsOp::Mkdir(p) => root.mkdir(&p).map(|_| FsOk::Done),
        FsOp::Rmdir(p) => root.rmdir(&p).map(|_| FsOk::Done),
        FsOp::Delete(p) => root.unlink(&p).map(|_| FsOk::Done),
        FsOp::Rename { from, to } => root.rename(&from, &to).map(|_| FsOk::Done),
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
        FsOp::Copy { from, to } => super::copy::CopyTask::open(root, &from, &to)
            .and_then(|t| bulk::run_to_end(Box::new(t))),
    };
    JobOutput::Fs(r)
}

/// The helper work for an [`FsOp`]: stepped for Hash and Copy, one call for
/// the rest.
pub fn work_for(
    root: Arc<Root>,
    op: FsOp,
    entries_max: usize,
    again: Resubmit,
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
            Box::new(
                move || match super::copy::CopyTask::open(&root, &from, &to) {
                    Ok(task) => bulk::enqueue(Box::new(task), again, true),
                    Err(e) => JobOutput::Fs(Err(e)),
                },
            )
        }
        other => Box::new(move || fs_op(&root, other, entries_max)),
    }
}

/// Opens a RETR source; the size is reported in the 150 reply.
pub fn open_read(root: &Root, p: &VPath) -> JobOutput {
    JobOutput::OpenRead(root.open_read(p).map(|(fd, info)| (fd, info.size)))
}

/// Opens an upload target. For STOU, `p` is the directory and a fresh name is
/// made with O_EXCL until one is free.
pub fn open_write(root: &Root, p: &VPath, mode: StoreMode, unique_seed: u64) -> JobOutput {
    let r = match mode {
        StoreMode::Truncate => root.open_write(p, WriteMode::Truncate).map(|fd| (fd, None)),
        StoreMode::Append => root.open_write(p, WriteMode::Append).map(|fd| (fd, None)),
        StoreMode::At(n) => root.open_write(p, WriteMode::At(n)).map(|fd| (fd, None)),
        StoreMode::Unique => open_unique(root, p, unique_seed),
        StoreMode::CreateNew => root
            .open_write(p, WriteMode::CreateNew)
            .map(|fd| (fd, None)),
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
