//! The data channel against real loopback sockets and a real ring, with no
//! worker around it: the states, the steps, and the one-op-in-flight rule.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use super::*;
use crate::bench::data_io::{DataCfg, Spare};
use crate::bench::stats::{Live, Stats};
use crate::bench::verify::fill_pattern;
use crate::engine::{Completion, RingConfig};

const SLOT: usize = 3;
const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

struct Rig {
    ring: Ring,
    stats: Stats,
    live: Live,
    spare: Spare,
    cfg: DataCfg,
    queued: VecDeque<Completion>,
}

impl Rig {
    fn new(splice: bool) -> Rig {
        let devnull = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/null")
            .unwrap();
        Rig {
            ring: Ring::new(&RingConfig::default()).unwrap(),
            stats: Stats::new(),
            live: Live::default(),
            spare: Spare::default(),
            cfg: DataCfg {
                buf_bytes: 64 * 1024,
                splice,
                pattern_seed: 5,
                devnull: Some(Rc::new(devnull.into())),
            },
            queued: VecDeque::new(),
        }
    }

    fn io(&mut self) -> Io<'_> {
        Io {
            ring: &mut self.ring,
            stats: &mut self.stats,
            live: &self.live,
            spare: &mut self.spare,
            cfg: &self.cfg,
        }
    }

    /// Feeds completions to `ch` until a step other than Continue (5 s at most).
    fn drive(&mut self, ch: &mut DataChannel) -> Step {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            while let Some(c) = self.queued.pop_front() {
                let (p, slot, gen) = token::unpack::<Purpose>(c.token).unwrap();
                assert_eq!((slot, gen), (SLOT, ch.gen));
                let step = ch.on_completion(&mut self.io(), p, c.more, c.kind);
                if step != Step::Continue {
                    return step;
                }
            }
            self.ring
                .submit_and_wait(1, Some(Duration::from_millis(50)))
                .unwrap();
            let mut cqes = Vec::new();
            self.ring.completions(&mut cqes);
            self.queued.extend(cqes);
        }
        panic!("no step within 5 s");
    }
}

fn job(kind: Kind, size_bytes: u64) -> Job {
    Job {
        kind,
        path: "f".into(),
        size_bytes,
        check_size: false,
    }
}

fn pattern(seed: u8, len: usize) -> Vec<u8> {
    let mut v = vec![0; len];
    fill_pattern(seed, 0, &mut v);
    v
}

#[test]
fn passive_download_reads_or_splices_to_eof() {
    const LEN: usize = 300_007;
    for splice in [false, true] {
        let mut rig = Rig::new(splice);
        let server = TcpListener::bind((LO, 0)).unwrap();
        let addr = server.local_addr().unwrap();
        let writer = std::thread::spawn(move || {
            let (mut s, _) = server.accept().unwrap();
            s.write_all(&pattern(9, LEN)).unwrap();
        });
        let expect = (!splice).then_some(Expect::Pattern {
            seed: 9,
            len_bytes: LEN as u64,
        });
        let mut ch = DataChannel::new(SLOT, 7, &job(Kind::Retr, 0), expect, Instant::now());
        ch.connect(&mut rig.io(), addr, LO).unwrap();
        assert_eq!(rig.drive(&mut ch), Step::Opened, "splice {splice}");
        assert_eq!(rig.drive(&mut ch), Step::Done(Ok(())), "splice {splice}");
        writer.join().unwrap();
        let summary = ch.finish();
        assert_eq!(rig.stats.bytes_down, LEN as u64);
        assert_eq!(summary.bytes_up, 0);
        assert_eq!(summary.verify, (!splice).then_some(Ok(())));
        assert_eq!(rig.stats.hist(Metric::FirstByte).len(), 1);
        assert_eq!(rig.stats.hist(Metric::DataSetup).len(), 1);
    }
}

#[test]
fn active_upload_sends_every_byte_of_the_pattern() {
    const LEN: u64 = 1_000_003;
    let mut rig = Rig::new(false);
    let mut ch = DataChannel::new(SLOT, 8, &job(Kind::Stor, LEN), None, Instant::now());
    let addr = ch.listen(&mut rig.io(), LO).unwrap();
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        TcpStream::connect(addr)
            .unwrap()
            .read_to_end(&mut got)
            .unwrap();
        got
    });
    // Opened only once the multishot accept has ended (cancelled).
    assert_eq!(rig.drive(&mut ch), Step::Opened);
    // Nothing is sent before the server's 1yz says so.
    assert_eq!(ch.upload(&mut rig.io()), Step::Continue);
    assert_eq!(rig.drive(&mut ch), Step::Done(Ok(())));
    let got = reader.join().unwrap();
    assert_eq!(got.len() as u64, LEN);
    assert!(got == pattern(5, LEN as usize), "upload is not the pattern");
    assert_eq!(ch.finish().bytes_up, LEN);
    // The upload buffer came back for the next transfer.
    assert!(rig.spare.up_buf.is_some());
}

#[test]
fn refused_connect_ends_the_channel_with_the_cause() {
    let mut rig = Rig::new(false);
    let addr = TcpListener::bind((LO, 0)).unwrap().local_addr().unwrap();
    let mut ch = DataChannel::new(SLOT, 9, &job(Kind::Retr, 0), None, Instant::now());
    ch.connect(&mut rig.io(), addr, LO).unwrap();
    match rig.drive(&mut ch) {
        Step::Done(Err(why)) => assert!(why.starts_with("data-connect:ECONNREFUSED"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
#[should_panic(expected = "in flight")]
fn a_second_op_while_one_is_in_flight_is_a_bug() {
    let mut rig = Rig::new(false);
    let server = TcpListener::bind((LO, 0)).unwrap();
    let addr = server.local_addr().unwrap();
    let mut ch = DataChannel::new(SLOT, 10, &job(Kind::Retr, 0), None, Instant::now());
    ch.connect(&mut rig.io(), addr, LO).unwrap();
    let _ = ch.connect(&mut rig.io(), addr, LO);
}

#[test]
fn upload_buffers_are_whole_periods() {
    assert_eq!(upload_len(256 * 1024) % 251, 0);
    assert!(upload_len(256 * 1024) <= 256 * 1024);
    assert_eq!(upload_len(10), 251);
}
