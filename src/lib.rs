//! ringftpd: a thread-per-core io_uring FTP server, and its load generator.
//!
//! # Layout
//!
//! Dependencies point down this list, never up:
//!
//! - [`proto`]: the FTP protocol, pure (no fd, no syscall, no clock): parser,
//!   replies, paths, listings, and the per-connection [`proto::session::Session`].
//! - [`auth`]: anonymous policy, the users file, password hashes.
//! - [`fs`]: root confinement with openat2, file and directory operations,
//!   errno → [`proto::error::FsError`].
//! - [`engine`]: io_uring rings and op lifecycle; the only module allowed raw kernel calls; every such block is listed with its invariant in the docs folder.
//! - [`obs`]: operations beside the server: Prometheus metrics (per-worker
//!   counter blocks summed at scrape) and their HTTP endpoint, xferlog and
//!   the JSON/text event log (written by their own threads), sd_notify.
//!   Uses `proto` types; the server calls into it, never the reverse.
//! - [`server`]: one pinned worker per core driving sessions with engine
//!   completions; listeners, passive-port slices, data channels, helper pool.
//! - [`bench`]: `ringftp-bench`, an FTP load generator on the same engine.
//! - [`config`]: the command line and the TOML config file merged into the
//!   typed settings the server runs with (above `server`: it alone knows both).
//! - [`socket`]: socket set-up (safe nix calls) shared by `server` and
//!   `bench`; uses nothing else of the crate.
//! - [`tls`]: FTPS over rustls on byte buffers (no fd, no syscall): the
//!   server configs, one TLS connection, the per-session resumption tag.

#![deny(unsafe_code)]

pub mod auth;
pub mod bench;
pub mod config;
// The one module that talks to the kernel through raw pointers
// (docs/unsafe.md); the compiler holds every other module to safe code.
#[allow(unsafe_code)]
pub mod engine;
pub mod fs;
pub mod obs;
pub mod proto;
pub mod server;
pub mod socket;
pub mod tls;
