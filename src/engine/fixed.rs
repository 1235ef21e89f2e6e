//! Direct descriptors: sockets held in the ring's registered file table
//! instead of the process's fd table, so the open-files limit does not cap
//! how many control connections a worker holds.
//!
//! The table is registered sparse at start-up ([`Ring::new`] with
//! `fixed_files_count`). [`Ring::adopt`] moves an accepted socket into a
//! free slot (`IORING_REGISTER_FILES_UPDATE`) and closes its fd; the
//! returned [`Sock::Fixed`] is shared like a [`SharedFd`]: ops hold a clone
//! until their last completion, and when the last clone drops the slot is
//! queued for release. Released slots are emptied (which closes the socket)
//! before the next submission, so a slot is never emptied or reused while an
//! op that names it could still be issued.

use std::cell::RefCell;
use std::os::fd::{AsRawFd, OwnedFd};
use std::rc::Rc;

use nix::errno::Errno;

use super::ring::Ring;
use super::types::SharedFd;

/// One slot of the registered file table, owned while this lives.
#[derive(Debug)]
pub struct FixedFile {
    index: u32,
    released: Rc<RefCell<Vec<u32>>>,
}

impl FixedFile {
    pub(super) fn index(&self) -> u32 {
        self.index
    }
}

impl Drop for FixedFile {
    fn drop(&mut self) {
        // The ring empties the slot before its next submission.
        self.released.borrow_mut().push(self.index);
    }
}

/// A socket the ring can name: a regular fd or a direct descriptor.
#[derive(Debug, Clone)]
pub enum Sock {
    Fd(SharedFd),
    Fixed(Rc<FixedFile>),
}

/// The ring's registered file table: which slots are free, which wait to be emptied.
#[derive(Debug)]
pub(super) struct FileTable {
    size: u32,
    free: Vec<u32>,
    released: Rc<RefCell<Vec<u32>>>,
}

impl FileTable {
    pub(super) fn new(size: u32) -> FileTable {
        FileTable {
            size,
            // Popped from the end: lowest slots first.
            free: (0..size).rev().collect(),
            released: Rc::default(),
        }
    }
}

impl Ring {
    /// The registered file table's size, or why there is none (the kernel
    /// refused it, or it was not asked for: `Err(ENOTSUP)`).
    pub fn fixed_files(&self) -> Result<u32, Errno> {
        match (&self.files, self.files_error) {
            (Some(t), _) => Ok(t.size),
            (None, Some(e)) => Err(e),
            (None, None) => Err(Errno::ENOTSUP),
        }
    }

    /// Slots in use (for tests and the start-up line).
    pub fn fixed_files_used(&self) -> usize {
        self.files.as_ref().map_or(0, |t| {
            t.size as usize - t.free.len() - t.released.borrow().len()
        })
    }

    /// Moves `fd` into a free slot of the file table and closes the fd.
    /// When there is no table, no free slot, or the kernel refuses, the fd
    /// comes back as it was.
    pub fn adopt(&mut self, fd: OwnedFd) -> Result<Sock, OwnedFd> {
        self.reclaim_fixed();
        let Some(table) = self.files.as_mut() else {
            return Err(fd);
        };
        let Some(index) = table.free.pop() else {
            return Err(fd);
        };
        let res = self
            .uring
            .submitter()
            .register_files_update(index, &[fd.as_raw_fd()]);
        match res {
            Ok(1) => {
                // The table holds its own reference to the socket now.
                drop(fd);
                Ok(Sock::Fixed(Rc::new(FixedFile {
                    index,
                    released: table.released.clone(),
                })))
            }
            _ => {
                table.free.push(index);
                Err(fd)
            }
        }
    }

    /// Empties the slots whose last holder dropped (closing their sockets)
    /// and makes them free. Runs before every submission.
    pub(super) fn reclaim_fixed(&mut self) {
        let Some(table) = self.files.as_mut() else {
            return;
        };
        let released = std::mem::take(&mut *table.released.borrow_mut());
        for index in released {
            // -1 empties the slot; on failure the slot is not reused.
            if self
                .uring
                .submitter()
                .register_files_update(index, &[-1])
                .is_ok()
            {
                table.free.push(index);
            }
        }
    }
}
