//! Completion handling: turns CQEs into [`Completion`]s, freeing each op's
//! slot at its last CQE and giving its resources back to the caller.

use std::os::fd::{FromRawFd, OwnedFd};

use io_uring::cqueue;
use nix::errno::Errno;

use super::bufs::{ProvidedBuf, ProvidedPool};
use super::ops::{decode, first_of, OpState, Ud};
use super::ring::Ring;
use super::types::{res_len, Completion, CompletionKind, OpId};

fn res_unit(res: i32) -> Result<(), Errno> {
    res_len(res).map(drop)
}

impl Ring {
    /// Moves every available completion into `out` (in kernel order).
    pub fn completions(&mut self, out: &mut Vec<Completion>) {
        let mut cqes = std::mem::take(&mut self.cqes);
        // The CompletionQueue is dropped at the end of this statement, which
        // hands the reaped CQ slots back to the kernel.
        cqes.extend(self.uring.completion());
        for cqe in cqes.drain(..) {
            if let Some(c) = self.complete(&cqe) {
                out.push(c);
            }
        }
        self.cqes = cqes;
    }

    fn complete(&mut self, cqe: &cqueue::Entry) -> Option<Completion> {
        let ud = decode(cqe.user_data());
        if ud.gen == 0 {
            // The engine's own AsyncCancel: its result is of no interest
            // (ENOENT/EALREADY just mean the op was finishing anyway).
            return None;
        }
        let Some(slot) = self.ops.get_mut(ud) else {
            self.log_stale(cqe);
            return None;
        };
        let token = slot.token;
        let op = OpId(first_of(cqe.user_data()));
        let done = |more, kind| {
            Some(Completion {
                token,
                op,
                more,
                kind,
            })
        };
        match &mut slot.state {
            // Multishot accept with more to come: the slot stays.
            OpState::Accept if cqueue::more(cqe.flags()) => {
                return done(true, CompletionKind::Accept(accepted(cqe.result())));
            }
            OpState::Splice {
                into_pipe,
                out_of_pipe,
            } => {
                // Nothing to deliver until both halves are in.
                let kind = splice_part(ud, cqe.result(), into_pipe, out_of_pipe)?;
                self.ops.remove(ud.key);
                return done(false, kind);
            }
            _ => {}
        }
        done(false, self.finish(ud.key, cqe))
    }

    /// The last CQE of a single-SQE op: frees the slot, returns its resources.
    fn finish(&mut self, key: usize, cqe: &cqueue::Entry) -> CompletionKind {
        let res = cqe.result();
        match self.ops.remove(key).state {
            OpState::Accept => CompletionKind::Accept(accepted(res)),
            OpState::RecvProvided => CompletionKind::Recv(self.provided_result(res, cqe.flags())),
            OpState::RecvFixed(buf) => CompletionKind::RecvFixed(res_len(res), buf),
            OpState::WriteFixed(buf) => CompletionKind::WriteFixed(res_len(res), buf),
            OpState::Send(data) => CompletionKind::Send(res_len(res), data),
            OpState::Connect(_addr) => CompletionKind::Connect(res_unit(res)),
            // The poll mask is a non-negative bit set.
            OpState::Poll => CompletionKind::Poll(res_len(res).map(|m| m as u32)),
            OpState::SpliceOut => CompletionKind::SpliceOut(res_len(res)),
            OpState::Timeout(_ts) => CompletionKind::Timeout(match res_unit(res) {
                // ETIME is how a timeout reports that it expired.
                Err(Errno::ETIME) | Ok(()) => Ok(()),
                Err(e) => Err(e),
            }),
            OpState::ReadU64(buf) => CompletionKind::ReadU64(match res_len(res) {
                Ok(8) => Ok(u64::from_ne_bytes(*buf)),
                Ok(_) => Err(Errno::EIO),
                Err(e) => Err(e),
            }),
            OpState::Read(buf) => read_done(res, buf),
            OpState::Shutdown => CompletionKind::Shutdown(res_unit(res)),
            // Handled in `complete`, never reaches here; kept total.
            OpState::Splice { .. } => CompletionKind::Splice {
                into_pipe: Err(Errno::EIO),
                out_of_pipe: Err(Errno::EIO),
            },
        }
    }

    /// A provided-buffer receive: the buffer goes to the caller only when it
    /// holds data; on EOF or error it goes straight back to the ring (U5).
    fn provided_result(&mut self, res: i32, flags: u32) -> Result<Option<ProvidedBuf>, Errno> {
        let bid = cqueue::buffer_select(flags);
        let Some(pool) = self.provided.as_ref() else {
            return res_len(res).map(|_| None);
        };
        match (res_len(res), bid) {
            (Ok(n), Some(bid)) if n > 0 => ProvidedPool::handle(pool, bid, n as u32)
                .map(Some)
                .ok_or(Errno::EIO),
            (r, Some(bid)) => {
                pool.borrow_mut().push_back(bid);
                r.map(|_| None)
            }
            (Ok(0), None) => Ok(None),
            (Ok(_), None) => {
                eprintln!("engine: provided recv returned data without a buffer id");
                Err(Errno::EIO)
            }
            (Err(e), None) => Err(e),
        }
    }

    fn log_stale(&mut self, cqe: &cqueue::Entry) {
        if !self.stale_logged {
            self.stale_logged = true;
            eprintln!(
                "engine: dropping completion of a stale op (user_data {:#x}, result {}); logged once",
                cqe.user_data(),
                cqe.result()
            );
        }
    }
}

/// Records one half of a splice pair; the completion once both are in.
fn splice_part(
    ud: Ud,
    res: i32,
    into_pipe: &mut Option<Result<usize, Errno>>,
    out_of_pipe: &mut Option<Result<usize, Errno>>,
) -> Option<CompletionKind> {
    if ud.part2 {
        *out_of_pipe = Some(res_len(res));
    } else {
        *into_pipe = Some(res_len(res));
    }
    match (into_pipe, out_of_pipe) {
        (Some(a), Some(b)) => Some(CompletionKind::Splice {
            into_pipe: *a,
            out_of_pipe: *b,
        }),
        _ => None,
    }
}

fn accepted(res: i32) -> Result<OwnedFd, Errno> {
    let fd = res_len(res)?;
    // SAFETY: U7: a non-negative accept result is a new fd that nothing else
    // in the process owns; `res_len` checked it is >= 0.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn read_done(res: i32, mut buf: Vec<u8>) -> CompletionKind {
    match res_len(res) {
        Ok(n) => {
            let n = n.min(buf.capacity());
            // SAFETY: U7: the kernel wrote `n` bytes at the start of the
            // buffer (n <= the SQE length <= capacity), so they are initialised.
            unsafe { buf.set_len(n) };
            CompletionKind::Read(Ok(n), buf)
        }
        Err(e) => CompletionKind::Read(Err(e), buf),
    }
}
