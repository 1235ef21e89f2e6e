//! `ringftp-bench`: an FTP load generator on the crate's io_uring engine.
//!
//! - [`cli`]: every option, documented (`ringftp-bench --help`).
//! - [`reply`] / [`client`]: the pure FTP client, one state machine per control
//!   session (bytes in, actions out), tested without sockets.
//! - [`driver`]: one ring per worker thread driving many sessions.
//! - [`sink`] / [`verify`]: where downloaded bytes go and how they are checked.
//! - [`stats`] / [`report`]: histograms and counters, the live line, the
//!   final table and the JSON file.
#![forbid(unsafe_code)]

pub mod cli;
pub mod client;
mod data;
pub mod driver;
mod net;
pub mod plan;
pub mod procs;
pub mod procstat;
pub mod reply;
pub mod report;
pub mod run;
pub mod sink;
pub mod stats;
pub mod verify;
