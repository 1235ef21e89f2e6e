//! Operations: what an operator watches and what supervises the server.
//! Nothing here runs on a worker's hot path beyond a few plain stores.
//!
//! - [`metrics`]: per-worker counter blocks (one writer each, no lock, no
//!   shared cache line per event), summed and rendered in the Prometheus
//!   text format at scrape time.
//! - [`http`]: the `--metrics-listen` endpoint, on its own thread.
//! - [`writer`]: a log file's writer thread; workers hand it records over
//!   their own bounded channels and never block (a full channel drops and
//!   counts); reopens the file for logrotate.
//! - [`xferlog`]: the wu-ftpd transfer log format (AWStats, webalizer).
//! - [`event`], [`json`], [`text`]: the structured log (`--log-format`) and
//!   its two formatters; no field can carry a password.
//! - [`labels`]: the closed sets that label values and log fields come from.
//! - [`time`]: UTC calendar time for log lines.
//! - [`notify`]: systemd's sd_notify (READY, RELOADING, STOPPING, STATUS).
#![forbid(unsafe_code)]

pub mod event;
pub mod http;
pub mod json;
pub mod labels;
pub mod metrics;
pub mod notify;
pub mod text;
pub mod time;
pub mod writer;
pub mod xferlog;
