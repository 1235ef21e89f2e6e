//! The io_uring engine: one [`Ring`] per worker thread, knowing nothing about FTP.
//!
//! - Ops are submitted through safe methods on [`Ring`]; each returns an
//!   [`OpId`] and later yields exactly one final [`Completion`] (multishot ops
//!   yield several, all but the last with `more == true`).
//! - Every in-flight op lives in a slab slot that owns everything the kernel
//!   may touch: the fd (a [`SharedFd`] clone, so closing it elsewhere cannot
//!   free the number while in flight), the buffer, the sockaddr. The slot is
//!   freed only at the op's last completion.
//! - `user_data` = slot index (low 32 bits) | generation (high 32 bits); a
//!   completion whose generation does not match its slot is a bug and is
//!   dropped with a log line, never delivered to a reused slot's owner.
//! - Control-channel receives use a provided-buffer group, so an idle session
//!   holds no receive buffer. Data receives (STOR) use registered (fixed)
//!   buffers handed out by [`Ring::take_fixed_buf`]. Every buffer carries its pool
//!   and goes back to it when dropped, on any path.
//! - Control sockets can live in the ring's registered file table
//!   ([`Ring::adopt`], [`Sock::Fixed`]): no process fd per session; the slot
//!   is held by its clones like a `SharedFd` and emptied after the last drops.
//! - [`Ring::shutdown`] cancels every in-flight op and waits until the slab is
//!   empty, so no memory the kernel could still write is freed.
//!
//! All `unsafe` of the crate is in this module, one operation per block, each
//! with a `// SAFETY:` comment citing an invariant listed in `docs/unsafe.md`.
//!
//! Layout: `types.rs` (public value types), `bufs.rs` (fixed and provided
//! buffers), `ops.rs` (op table), `ring.rs` (setup, submission, cancel,
//! shutdown), `submit.rs` (op builders), `complete.rs` (CQE handling),
//! `fixed.rs` (direct descriptors: the registered file table), `pipe.rs` (splice pipe), `token.rs` (the generic token packer: purpose byte,
//! slab index, 24-bit generation; the caller names the purposes).

pub mod alloc;
mod bufs;
mod complete;
mod fixed;
mod ops;
mod pipe;
mod ring;
mod submit;
pub mod token;
mod types;

#[cfg(test)]
mod tests;

pub use bufs::{FixedBuf, ProvidedBuf};
pub use fixed::{FixedFile, Sock};
pub use pipe::Pipe;
pub use ring::Ring;
pub use types::{Completion, CompletionKind, EngineError, OpId, RingConfig, SharedFd, Token};
