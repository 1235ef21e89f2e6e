//! One control session in a slot, and what a slot keeps from one session to
//! the next (its counters and the data channel's reused buffers).

use std::net::IpAddr;
use std::time::Instant;

use super::client::Client;
use super::data::DataChannel;
use super::data_io::Spare;
use crate::engine::SharedFd;

/// Timestamps of one session, for the login histograms.
#[derive(Debug, Clone, Copy)]
pub struct Times {
    pub connect: Instant,
    pub connected: Instant,
    pub greeted: Instant,
    pub job_start: Instant,
}

impl Times {
    pub fn new(now: Instant) -> Times {
        Times {
            connect: now,
            connected: now,
            greeted: now,
            job_start: now,
        }
    }
}

/// One control session.
pub struct Sess {
    /// Control ops carry this generation (data ops their channel's).
    pub gen: u32,
    pub client: Client,
    pub ctrl: SharedFd,
    /// The control connection's local address; data connections use it too.
    pub local_ip: IpAddr,
    /// A control send is in flight; `outq` holds what waits behind it.
    pub sending: bool,
    pub outq: Vec<u8>,
    pub t: Times,
    pub data: Option<DataChannel>,
    pub last_progress: Instant,
    pub quitting: bool,
    pub logged_in: bool,
    /// `--tls`: this session's client config (its data connections resume
    /// its TLS session) and the control connection's TLS once started.
    pub tls_cfg: Option<std::sync::Arc<rustls::ClientConfig>>,
    pub tls: Option<super::tls::ClientTls>,
}

/// What survives from one session of a slot to the next.
#[derive(Default)]
pub struct Slot {
    pub sess: Option<Sess>,
    /// Transfers made in this slot (picks the next job).
    pub seq: u64,
    /// Sessions opened in this slot (rotates the source address).
    pub opened: u64,
    pub fails_in_row: u32,
    pub spare: Spare,
    /// A spare control send buffer.
    pub send_buf: Option<Vec<u8>>,
    /// Given up on: no more sessions open here.
    pub retired: bool,
}
