//! The pipe of the splice RETR path.

use std::rc::Rc;

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::unistd::pipe2;

use super::types::SharedFd;

/// A pipe for the splice RETR path (both ends). Size set with F_SETPIPE_SZ.
#[derive(Debug)]
pub struct Pipe {
    pub read: SharedFd,
    pub write: SharedFd,
}

impl Pipe {
    /// A new pipe of (at least) `size_bytes` capacity, O_CLOEXEC.
    ///
    /// A size above `/proc/sys/fs/pipe-max-size` (EPERM for unprivileged
    /// users) keeps the kernel's default size rather than failing: the splice
    /// path then just moves less per op.
    pub fn new(size_bytes: usize) -> Result<Pipe, Errno> {
        let (read, write) = pipe2(OFlag::O_CLOEXEC)?;
        if size_bytes > 0 {
            let size = i32::try_from(size_bytes).unwrap_or(i32::MAX);
            match fcntl(&write, FcntlArg::F_SETPIPE_SZ(size)) {
                Ok(_) | Err(Errno::EPERM) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Pipe {
            read: Rc::new(read),
            write: Rc::new(write),
        })
    }
}
