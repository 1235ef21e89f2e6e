//! The splice sink: socket → pipe → /dev/null, so downloaded bytes are never
//! copied to user space. The engine's splice ops go file → pipe → socket
//! (the server's direction) and its `splice_pair` cannot take a socket as
//! input (the offset it passes is never -1), so this side uses nix's safe
//! splice(2) on the non-blocking socket after a ring poll says it is readable.

use std::os::fd::OwnedFd;

use nix::errno::Errno;
use nix::fcntl::{splice, SpliceFFlags};

use crate::engine::Pipe;

/// What one drain moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drained {
    pub bytes: usize,
    pub eof: bool,
}

/// Rounds per readiness before going back to the ring, so one fast stream
/// cannot starve the other sessions of this worker.
const ROUNDS_MAX: usize = 8;

/// Moves what the socket has (up to a few pipe-fulls) into /dev/null.
pub fn splice_drain(
    sock: &OwnedFd,
    pipe: &Pipe,
    devnull: &OwnedFd,
    chunk: usize,
) -> Result<Drained, Errno> {
    let flags = SpliceFFlags::SPLICE_F_NONBLOCK | SpliceFFlags::SPLICE_F_MOVE;
    let mut moved = 0usize;
    for _ in 0..ROUNDS_MAX {
        let n = match splice(sock, None, &*pipe.write, None, chunk, flags) {
            Ok(0) => {
                return Ok(Drained {
                    bytes: moved,
                    eof: true,
                })
            }
            Ok(n) => n,
            Err(Errno::EAGAIN) => break,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        };
        let mut left = n;
        while left > 0 {
            match splice(
                &*pipe.read,
                None,
                devnull,
                None,
                left,
                SpliceFFlags::SPLICE_F_MOVE,
            ) {
                Ok(0) => return Err(Errno::EIO),
                Ok(k) => left -= k,
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e),
            }
        }
        moved += n;
    }
    Ok(Drained {
        bytes: moved,
        eof: false,
    })
}
