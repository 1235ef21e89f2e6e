//! The writer thread: several senders, reopen after rename, drops when full.

use super::*;

struct Line(String);

impl LogRecord for Line {
    fn write_line(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.0.as_bytes());
        out.push(b'\n');
    }
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ringftpd-obs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn lines_from_several_workers_reach_the_file() {
    let d = tmp("several");
    let p = d.join("log");
    let w = LogWriter::<Line>::start("t", Sink::File(p.clone())).unwrap();
    let senders: Vec<_> = (0..3).map(|_| w.sender()).collect();
    for (i, s) in senders.iter().enumerate() {
        for j in 0..10 {
            assert!(s.send(Line(format!("w{i} l{j}"))));
        }
    }
    w.flush().unwrap();
    let text = std::fs::read_to_string(&p).unwrap();
    assert_eq!(text.lines().count(), 30);
    for i in 0..3 {
        // Each worker's lines stay in its order.
        let mine: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with(&format!("w{i} ")))
            .collect();
        let want: Vec<String> = (0..10).map(|j| format!("w{i} l{j}")).collect();
        assert_eq!(mine, want);
    }
    assert_eq!(w.dropped_total(), 0);
}

#[test]
fn reopen_after_rename_writes_to_a_new_file() {
    let d = tmp("reopen");
    let p = d.join("xferlog");
    let w = LogWriter::<Line>::start("t", Sink::File(p.clone())).unwrap();
    let s = w.sender();
    s.send(Line("before".into()));
    w.flush().unwrap();
    std::fs::rename(&p, d.join("xferlog.1")).unwrap();
    // Until the reopen, lines follow the renamed file (logrotate's
    // window between its rename and the postrotate signal).
    s.send(Line("between".into()));
    w.reopen().unwrap();
    s.send(Line("after".into()));
    drop(s);
    drop(w);
    assert_eq!(
        std::fs::read_to_string(d.join("xferlog.1")).unwrap(),
        "before\nbetween\n"
    );
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "after\n");
}

#[test]
fn reopen_failure_keeps_the_old_file() {
    let d = tmp("reopen-fail");
    let sub = d.join("sub");
    std::fs::create_dir(&sub).unwrap();
    let p = sub.join("log");
    let w = LogWriter::<Line>::start("t", Sink::File(p.clone())).unwrap();
    let s = w.sender();
    std::fs::rename(&sub, d.join("moved")).unwrap();
    assert!(w.reopen().is_err());
    s.send(Line("still".into()));
    w.flush().unwrap();
    assert_eq!(
        std::fs::read_to_string(d.join("moved/log")).unwrap(),
        "still\n"
    );
}

#[test]
fn a_full_channel_drops_and_counts_never_blocks() {
    struct Slow(Arc<std::sync::Barrier>);
    impl LogRecord for Slow {
        fn write_line(&self, out: &mut Vec<u8>) {
            // The first record holds the writer until the test lets go.
            self.0.wait();
            out.extend_from_slice(b"x\n");
        }
    }
    let d = tmp("full");
    let w = LogWriter::<Slow>::start_with_capacity("t", Sink::File(d.join("log")), 2).unwrap();
    let s = w.sender();
    let gate = Arc::new(std::sync::Barrier::new(2));
    assert!(s.send(Slow(gate.clone())));
    // The writer is now stuck in the first record; fill the channel
    // until a send fails, which must happen within capacity + 1 sends.
    let mut sent = 0;
    while s.send(Slow(Arc::new(std::sync::Barrier::new(1)))) {
        sent += 1;
        assert!(sent <= 3, "sends never failed");
    }
    assert!(!s.send(Slow(Arc::new(std::sync::Barrier::new(1)))));
    assert!(w.dropped_total() >= 2);
    let read = w.drops_reader();
    assert_eq!(read(), w.dropped_total());
    gate.wait();
    w.flush().unwrap();
}

#[test]
fn sender_after_writer_gone_counts_drops() {
    let d = tmp("gone");
    let w = LogWriter::<Line>::start("t", Sink::File(d.join("log"))).unwrap();
    let s = w.sender();
    let read = w.drops_reader();
    drop(w);
    assert!(!s.send(Line("late".into())));
    assert_eq!(read(), 1);
}

#[test]
fn unopenable_path_fails_at_start() {
    let r = LogWriter::<Line>::start("t", Sink::File("/nonexistent-dir-ringftpd/x".into()));
    assert!(r.is_err());
}
