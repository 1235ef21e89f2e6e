//! The one harness of the real-socket tests: a server launcher guard
//! ([`Server`], [`ServerOpts`]), temp directories ([`TempDir`], and the
//! attack fixture [`Tree`]), a users file, child processes with a time
//! limit, test data and sha256 helpers, socket helpers (a source address of
//! our choice, trap listeners) and a small raw FTP control client
//! ([`ftp::Ftp`]) whose replies are framed by the crate's own parser
//! (`ringftpd::bench::reply`).
//!
//! Everything waits on events (the server's start line, a process exit, a
//! socket reply), each wait bounded by a timeout so a hung server fails the
//! test instead of hanging it. Nothing sleeps to synchronise.

// Each test file is its own crate and uses only part of this.
#![allow(dead_code, unused_imports)]

pub mod ftp;

mod data;
mod net;
mod process;
mod reply;
mod server;
mod tempdir;
mod tree;
mod users;

use std::time::Duration;

pub use data::*;
pub use net::*;
pub use process::*;
pub use server::*;
pub use tempdir::*;
pub use tree::*;
pub use users::*;

/// Path of the server binary built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_ringftpd");

/// How long a started server may take to print its start line.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The named test user, and the password of every user in a users file
/// made here.
pub const USER: &str = "alice";
pub const PASS: &str = "s3cret-pass";

/// Sizes every transfer mode is checked with (bytes).
pub const SIZES: [u64; 6] = [0, 1, 4095, 65536, (1 << 20) + 7, 64 << 20];

/// The four ways to set up a data connection (`Mode::ALL`, and
/// `Mode::verb`, also the name passed to the Python scripts): the bench's.
pub use ringftpd::bench::client::Mode;
