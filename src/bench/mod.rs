//! `ringftp-bench`: an FTP load generator on the crate's io_uring engine.
//!
//! - [`cli`]: every option, documented (`ringftp-bench --help`); [`plan`]:
//!   the checked run every worker reads.
//! - [`reply`] / [`client`]: the pure FTP client, one state machine per control
//!   session (bytes in, actions out), tested without sockets.
//! - [`worker`]: one ring per worker thread driving many sessions; it routes
//!   completions to `control` (the control connection) and to the data
//!   channel's own state machine (`data`); `lifecycle` (a session's life in
//!   its slot) and `pace` (login window, open loop, idle hold, stalls) are
//!   its other jobs. `token` names the ops' purposes; `session` holds a
//!   slot's state.
//! - [`sink`] / [`verify`]: where downloaded bytes go and how they are checked.
//! - [`tls`]: `--tls`, the FTPS client side over rustls (each session's own
//!   config and session store, so its data connections resume its session).
//! - [`stats`] / [`report`]: histograms and counters, the live line, the
//!   final table and the JSON file; [`run`] runs the workers, [`procs`]
//!   splits a run over processes and merges their statistics exactly.
//!
//! Dependencies between these files point one way: no file imports one that
//! imports it back.
#![forbid(unsafe_code)]

pub mod cli;
pub mod client;
mod control;
mod data;
mod data_io;
mod lifecycle;
mod net;
mod pace;
pub mod plan;
pub mod procs;
pub mod procstat;
pub mod reply;
pub mod report;
pub mod run;
mod session;
pub mod sink;
pub mod stats;
pub mod tls;
mod token;
pub mod verify;
pub mod worker;
