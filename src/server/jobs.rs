//! The blocking work behind session actions, run on the helper pool: logins,
//! filesystem requests, opening transfer sources and targets, and formatting
//! listings (read and formatted off the core, sent by the core).

use std::sync::Arc;

use super::pool::JobOutput;
use crate::auth::AuthPolicy;
use crate::fs::{FileKind, Root, WriteMode};
use crate::proto::listing;
use crate::proto::path::VPath;
use crate::proto::session::{FsOk, FsOp, ListFormat, LoginOk, StoreMode};

/// Checks a login and opens the user's root.
pub fn login(policy: &AuthPolicy, server_root: &Arc<Root>, user: &str, pass: &str) -> JobOutput {
    let grant = match policy.authenticate(user, pass) {
        Ok(g) => g,
        Err(_) => return JobOutput::Login(None),
    };
    let root = if grant.anonymous {
        Ok(server_root.clone())
    } else {
        Root::open(&grant.home).map(Arc::new)
    };
    match root {
        Ok(root) => {
            let ok = LoginOk {
                user: grant.user,
                anonymous: grant.anonymous,
                perms: grant.perms,
            };
            JobOutput::Login(Some((ok, root)))
        }
        Err(e) => {
            eprintln!(
                "ringftpd: user {user}: home {} unusable: {e}",
                grant.home.display()
            );
            JobOutput::Login(None)
        }
    }
}

/// Runs one filesystem request.
pub fn fs_op(root: &Root, op: FsOp, entries_max: usize) -> JobOutput {
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
    };
    JobOutput::Fs(r)
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

/// What a listing shows, from a LIST/NLST/MLSD transfer.
pub struct ListSpec {
    pub path: VPath,
    pub format: ListFormat,
    pub glob: Option<String>,
    pub show_hidden: bool,
    pub can_write: bool,
    pub entries_max: usize,
    pub now_unix: i64,
}

/// Reads and formats a listing into one buffer.
pub fn listing(root: &Root, spec: &ListSpec) -> JobOutput {
    JobOutput::Listing(listing_bytes(root, spec))
}

fn listing_bytes(root: &Root, spec: &ListSpec) -> Result<Vec<u8>, crate::fs::FsError> {
    let info = root.stat(&spec.path)?;
    let mut out = Vec::new();
    if info.kind != FileKind::Dir {
        if spec.format == ListFormat::Machine {
            return Err(crate::fs::FsError::NotADirectory);
        }
        let mut one = info;
        one.name = spec.path.file_name().unwrap_or("").to_string();
        format_entry(spec, &one, &mut out);
        return Ok(out);
    }
    let (entries, _truncated) = root.read_dir(&spec.path, spec.entries_max)?;
    for e in &entries {
        let hidden = e.name.starts_with('.') && !spec.show_hidden;
        let matches = spec
            .glob
            .as_deref()
            .is_none_or(|g| listing::glob_match(g, &e.name));
        if !hidden && matches && listing::is_listable_name(&e.name) {
            format_entry(spec, e, &mut out);
        }
    }
    Ok(out)
}

fn format_entry(spec: &ListSpec, e: &crate::fs::FileInfo, out: &mut Vec<u8>) {
    match spec.format {
        ListFormat::Long => listing::format_list_line(e, spec.now_unix, out),
        ListFormat::Names => listing::format_nlst_line(&e.name, out),
        ListFormat::Machine => {
            listing::format_mlsx(e, spec.can_write, out);
            out.extend_from_slice(b"\r\n");
        }
    }
}
