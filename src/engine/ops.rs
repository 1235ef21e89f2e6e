//! The op table: a slab of in-flight ops. Each slot owns everything the
//! kernel may touch for that op until its last completion (U1, U3).
//!
//! `user_data` = slot index (low 32 bits) | generation (high 32 bits). Bit 31
//! of the index half marks the second SQE of a linked splice pair (both SQEs
//! share one slot). Generation 0 is never issued: user_data with generation 0
//! belong to the engine itself (its AsyncCancel SQEs) and are never delivered.

use io_uring::types::Timespec;
use nix::errno::Errno;
use nix::sys::socket::SockaddrStorage;
use slab::Slab;

use super::bufs::FixedBuf;
use super::fixed::Sock;
use super::types::{SharedFd, Token};

/// The user_data of the engine's own SQEs (generation 0).
pub(super) const INTERNAL_UD: u64 = 0;

/// Marks the second SQE of a splice pair in the index half of user_data.
const PART2: u64 = 1 << 31;

/// The fds an op names, held so their numbers stay valid while in flight.
pub(super) type Held = [Option<SharedFd>; 4];

pub(super) fn hold(fds: &[&SharedFd]) -> Held {
    let mut held: Held = Default::default();
    for (slot, fd) in held.iter_mut().zip(fds) {
        *slot = Some(SharedFd::clone(fd));
    }
    held
}

/// What an op owns besides its fds. Every pointer an SQE carries points
/// into heap memory owned here (U1), which does not move when the slot
/// does (U2).
pub(super) enum OpState {
    Accept,
    RecvProvided,
    RecvFixed(FixedBuf),
    WriteFixed(FixedBuf),
    Send(Vec<u8>),
    Connect(Box<SockaddrStorage>),
    Poll,
    /// Results of the two linked SQEs as their CQEs arrive.
    Splice {
        into_pipe: Option<Result<usize, Errno>>,
        out_of_pipe: Option<Result<usize, Errno>>,
    },
    SpliceOut,
    Timeout(Box<Timespec>),
    ReadU64(Box<[u8; 8]>),
    Read(Vec<u8>),
    Shutdown,
}

pub(super) struct Slot {
    pub(super) token: Token,
    pub(super) state: OpState,
    /// Dropped with the slot, never earlier (U1).
    _held: Held,
    /// The socket an op on a direct descriptor names, held the same way.
    _sock: Option<Sock>,
}

/// A decoded user_data.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ud {
    pub(super) key: usize,
    pub(super) gen: u32,
    pub(super) part2: bool,
}

pub(super) fn decode(ud: u64) -> Ud {
    Ud {
        key: (ud & (PART2 - 1)) as usize,
        gen: (ud >> 32) as u32,
        part2: ud & PART2 != 0,
    }
}

/// The user_data of the op a CQE belongs to (clears the pair marker).
pub(super) fn first_of(ud: u64) -> u64 {
    ud & !PART2
}

/// The user_data of the second SQE of a splice pair.
pub(super) fn part2_of(ud: u64) -> u64 {
    ud | PART2
}

#[derive(Default)]
pub(super) struct OpTable {
    slab: Slab<Slot>,
    /// Generation last issued per slab key (outlives the slot).
    gens: Vec<u32>,
}

impl OpTable {
    /// Stores an op and returns its user_data.
    pub(super) fn insert(&mut self, token: Token, held: Held, state: OpState) -> u64 {
        self.insert_sock(token, held, None, state)
    }

    /// Stores an op that also holds `sock` (a direct descriptor's slot).
    pub(super) fn insert_sock(
        &mut self,
        token: Token,
        held: Held,
        sock: Option<Sock>,
        state: OpState,
    ) -> u64 {
        let key = self.slab.vacant_key();
        // A slab this large would need > 64 GiB of slots; cannot happen.
        debug_assert!((key as u64) < PART2, "op table overflow");
        if self.gens.len() <= key {
            self.gens.resize(key + 1, 0);
        }
        // Skip 0 on wrap: generation 0 marks the engine's own SQEs.
        let gen = self.gens[key].wrapping_add(1).max(1);
        self.gens[key] = gen;
        self.slab.insert(Slot {
            token,
            state,
            _held: held,
            _sock: sock,
        });
        key as u64 | (u64::from(gen) << 32)
    }

    /// The live slot this user_data names, if its generation matches.
    pub(super) fn get_mut(&mut self, ud: Ud) -> Option<&mut Slot> {
        if ud.gen == 0 || self.gens.get(ud.key) != Some(&ud.gen) {
            return None;
        }
        self.slab.get_mut(ud.key)
    }

    /// Frees a slot at its last completion.
    pub(super) fn remove(&mut self, key: usize) -> Slot {
        self.slab.remove(key)
    }

    pub(super) fn len(&self) -> usize {
        self.slab.len()
    }

    /// The user_data (first SQE) of every in-flight op.
    pub(super) fn live(&self) -> Vec<u64> {
        self.slab
            .iter()
            .map(|(key, _)| key as u64 | (u64::from(self.gens[key]) << 32))
            .collect()
    }

    /// Gives up on every in-flight op without freeing what it owns (U3):
    /// the kernel may still write there.
    pub(super) fn leak_all(&mut self) {
        std::mem::forget(std::mem::take(&mut self.slab));
    }
}
