//! The FTP protocol, pure: bytes, events and `now` in; replies and actions out.
//!
//! Nothing in here opens a file descriptor, makes a syscall or reads a clock, so
//! every behaviour can be tested as a script without sockets.
//!
//! - [`line`]: splitting the control stream into lines (RFC 959 §4.1, Telnet IAC);
//!   [`command`]: parsing them (RFC 959 §5.3).
//! - [`reply`]: encoding single- and multi-line replies (RFC 959 §4.2), and
//!   the reply codes' names.
//! - [`path`]: virtual paths, normalised and clamped to the user's root.
//! - [`addr`]: PORT/PASV (RFC 959) and EPRT/EPSV (RFC 2428) arguments.
//! - [`listing`]: LIST, NLST, MLSD/MLST (RFC 3659) and MDTM formats.
//! - [`ascii`]: TYPE A line-ending conversion, streaming.
//! - [`hash`]: HASH algorithm names (draft-bryan-ftpext-hash).
//! - [`error`]: the filesystem error set and its one table to reply codes.
//! - [`perms`]: what a logged-in user may do; [`rules`]: where (per-path permissions).
//! - [`session`]: the per-connection state machine.
//! - [`quota`]: per-login storage quota and rates; [`pace`]: pacing a transfer to a rate.
//! - [`proxy`]: the PROXY protocol header (v1 and v2) a load balancer sends first.
//! - [`cidr`]: address ranges (`--proxy-from`).
#![forbid(unsafe_code)]

pub mod addr;
pub mod ascii;
pub mod bucket;
pub mod cidr;
pub mod command;
pub mod error;
pub mod hash;
pub mod line;
pub mod listing;
pub mod pace;
pub mod path;
pub mod perms;
pub mod proxy;
pub mod quota;
pub mod reply;
pub mod rules;
pub mod session;
