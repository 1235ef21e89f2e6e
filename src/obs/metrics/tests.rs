//! The counters sum across workers, and the text obeys the exposition
//! format's rules (checked by a small validator of those rules below).

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use super::render::escape_label;
use super::*;
use crate::obs::labels::{DataMode, Direction, RefusalReason, TransferResult};

/// One sample line: name, labels in order, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

fn valid_metric_name(n: &str) -> bool {
    let mut c = n.chars();
    matches!(c.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn valid_label_name(n: &str) -> bool {
    let mut c = n.chars();
    !n.starts_with("__")
        && matches!(c.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_sample(line: &str) -> Sample {
    let name_end = line.find(['{', ' ']).expect("sample without value");
    let name = line[..name_end].to_string();
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(r) = rest.strip_prefix('{') {
        let mut r = r;
        loop {
            if let Some(after) = r.strip_prefix('}') {
                r = after;
                break;
            }
            let eq = r.find('=').expect("label without =");
            let lname = r[..eq].to_string();
            assert!(valid_label_name(&lname), "label name {lname:?} in {line}");
            let mut v = String::new();
            let mut chars = r[eq + 1..]
                .strip_prefix('"')
                .expect("unquoted")
                .char_indices();
            let end = loop {
                match chars.next().expect("unterminated label value") {
                    (i, '"') => break i,
                    (_, '\\') => match chars.next().expect("dangling escape").1 {
                        '\\' => v.push('\\'),
                        '"' => v.push('"'),
                        'n' => v.push('\n'),
                        c => panic!("bad escape \\{c} in {line}"),
                    },
                    (_, c) => v.push(c),
                }
            };
            labels.push((lname, v));
            r = &r[eq + 1 + 1 + end + 1..];
            r = r.strip_prefix(',').unwrap_or(r);
        }
        rest = r;
    }
    let value = rest.strip_prefix(' ').expect("no space before value");
    assert!(
        !value.contains(' '),
        "timestamp or junk after value: {line}"
    );
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v
            .parse()
            .unwrap_or_else(|_| panic!("value {v:?} in {line}")),
    };
    assert!(valid_metric_name(&name), "metric name {name:?}");
    Sample {
        name,
        labels,
        value,
    }
}

/// Checks the text against the format rules; returns samples by family.
fn validate(text: &str) -> Families {
    assert!(text.ends_with('\n'), "must end with a newline");
    let mut families: BTreeMap<String, (String, Vec<Sample>)> = BTreeMap::new();
    let mut help_seen = HashSet::new();
    let mut current: Option<String> = None;
    let mut series = HashSet::new();
    for line in text.lines() {
        assert!(!line.is_empty(), "empty line");
        if let Some(h) = line.strip_prefix("# HELP ") {
            let (name, help) = h.split_once(' ').expect("HELP without text");
            assert!(!help.is_empty());
            assert!(help_seen.insert(name.to_string()), "second HELP for {name}");
            continue;
        }
        if let Some(t) = line.strip_prefix("# TYPE ") {
            let (name, kind) = t.split_once(' ').expect("TYPE without type");
            assert!(help_seen.contains(name), "TYPE before HELP for {name}");
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{kind}");
            assert!(!families.contains_key(name), "second TYPE for {name}");
            if kind == "counter" {
                assert!(
                    name.ends_with("_total"),
                    "counter {name} must end in _total"
                );
            }
            families.insert(name.to_string(), (kind.to_string(), Vec::new()));
            current = Some(name.to_string());
            continue;
        }
        assert!(!line.starts_with('#'), "unknown comment {line}");
        let s = parse_sample(line);
        let fam = current.clone().expect("sample before any TYPE");
        let (kind, samples) = families.get_mut(&fam).unwrap();
        let ok_name = if kind == "histogram" {
            [
                format!("{fam}_bucket"),
                format!("{fam}_sum"),
                format!("{fam}_count"),
            ]
            .contains(&s.name)
        } else {
            s.name == fam
        };
        assert!(ok_name, "sample {} inside family {fam}", s.name);
        if kind == "counter" {
            assert!(s.value >= 0.0, "negative counter {line}");
        }
        assert!(
            series.insert(format!("{}{:?}", s.name, s.labels)),
            "duplicate series {line}"
        );
        samples.push(s);
    }
    for (name, (kind, samples)) in &families {
        assert!(!samples.is_empty(), "family {name} without samples");
        if kind == "histogram" {
            check_histogram(name, samples);
        }
    }
    families
}

/// Buckets ascend by `le`, counts never fall, the last is `+Inf` and
/// equals `_count`; each label set has a `_sum`.
fn check_histogram(name: &str, samples: &[Sample]) {
    let key = |s: &Sample| -> Vec<(String, String)> {
        s.labels
            .iter()
            .filter(|(k, _)| k != "le")
            .cloned()
            .collect()
    };
    let mut sets: BTreeMap<Vec<(String, String)>, Vec<&Sample>> = BTreeMap::new();
    for s in samples {
        sets.entry(key(s)).or_default().push(s);
    }
    for (labels, group) in sets {
        let buckets: Vec<&&Sample> = group
            .iter()
            .filter(|s| s.name.ends_with("_bucket"))
            .collect();
        assert!(!buckets.is_empty(), "{name}{labels:?} without buckets");
        let les: Vec<f64> = buckets
            .iter()
            .map(|s| {
                let le = &s
                    .labels
                    .iter()
                    .find(|(k, _)| k == "le")
                    .expect("bucket without le")
                    .1;
                if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().unwrap()
                }
            })
            .collect();
        assert!(
            les.windows(2).all(|w| w[0] < w[1]),
            "{name} le not ascending"
        );
        assert_eq!(
            *les.last().unwrap(),
            f64::INFINITY,
            "{name} last bucket not +Inf"
        );
        assert!(
            buckets.windows(2).all(|w| w[0].value <= w[1].value),
            "{name} not cumulative"
        );
        let count = group
            .iter()
            .find(|s| s.name.ends_with("_count"))
            .expect("no _count");
        assert_eq!(
            buckets.last().unwrap().value,
            count.value,
            "{name} +Inf != _count"
        );
        assert!(
            group.iter().any(|s| s.name.ends_with("_sum")),
            "{name} no _sum"
        );
    }
}

type Families = BTreeMap<String, (String, Vec<Sample>)>;

fn value(f: &Families, fam: &str, labels: &[(&str, &str)]) -> f64 {
    sample_value(f, fam, fam, labels)
}

/// The value of sample `name` (e.g. `x_bucket` of family `x`) with `labels`.
fn sample_value(f: &Families, fam: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let (_, samples) = &f[fam];
    let want: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    samples
        .iter()
        .find(|s| s.name == name && s.labels == want)
        .unwrap_or_else(|| panic!("{name}{labels:?} missing"))
        .value
}

#[test]
fn fresh_registry_renders_valid_text_with_every_closed_label_set() {
    let (reg, _w) = Registry::new(2);
    let f = validate(&reg.render());
    assert_eq!(f["ringftpd_transfers_total"].1.len(), 3 * 4 * 3);
    assert_eq!(
        f["ringftpd_refused_total"].1.len(),
        RefusalReason::ALL.len()
    );
    assert_eq!(value(&f, "ringftpd_workers", &[]), 2.0);
    assert_eq!(
        value(
            &f,
            "ringftpd_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    // No reply seen yet, so no reply series.
    assert!(!f.contains_key("ringftpd_replies_total"));
}

#[test]
fn counts_from_every_worker_are_summed() {
    let (reg, w) = Registry::new(3);
    for (i, m) in w.iter().enumerate() {
        m.session_opened();
        m.login(true);
        m.reply(226);
        m.transfer_bytes(Direction::Download, 1000 * (i as u64 + 1));
        m.transfer_done(
            Direction::Download,
            DataMode::Epsv,
            TransferResult::Ok,
            Duration::from_millis(20),
        );
    }
    w[0].session_closed();
    w[1].login(false);
    w[2].reply(530);
    w[2].refused(RefusalReason::SessionsPerIp);
    w[1].passive_port_opened();
    w[1].passive_port_opened();
    w[1].passive_port_closed();
    w[0].data_connection_ready(Duration::from_micros(300));
    w[1].transfer_done(
        Direction::Upload,
        DataMode::Port,
        TransferResult::Aborted,
        Duration::from_secs(2),
    );
    let s = reg.snapshot();
    assert_eq!(s.sessions, 2);
    assert_eq!(s.logins, [3, 1]);
    assert_eq!(s.replies_with(226), 3);
    assert_eq!(s.replies_with(530), 1);
    assert_eq!(s.transfer_bytes[Direction::Download.index()], 6000);
    assert_eq!(s.passive_ports, 1);
    let f = validate(&reg.render());
    let t = |d: &str, m: &str, r: &str| {
        value(
            &f,
            "ringftpd_transfers_total",
            &[("direction", d), ("mode", m), ("result", r)],
        )
    };
    assert_eq!(t("download", "epsv", "ok"), 3.0);
    assert_eq!(t("upload", "port", "aborted"), 1.0);
    assert_eq!(t("download", "pasv", "ok"), 0.0);
    assert_eq!(value(&f, "ringftpd_sessions", &[]), 2.0);
    assert_eq!(
        value(&f, "ringftpd_logins_total", &[("result", "failed")]),
        1.0
    );
    assert_eq!(value(&f, "ringftpd_replies_total", &[("code", "226")]), 3.0);
    assert_eq!(
        value(
            &f,
            "ringftpd_refused_total",
            &[("reason", "sessions_per_ip")]
        ),
        1.0
    );
    assert_eq!(value(&f, "ringftpd_passive_ports_in_use", &[]), 1.0);
    assert_eq!(
        value(
            &f,
            "ringftpd_transfer_bytes_total",
            &[("direction", "download")]
        ),
        6000.0
    );
    let h = "ringftpd_transfer_duration_seconds";
    let get = |name: &str, labels: &[(&str, &str)]| sample_value(&f, h, name, labels);
    let dl = [("direction", "download")];
    assert_eq!(get(&format!("{h}_count"), &dl), 3.0);
    assert!((get(&format!("{h}_sum"), &dl) - 0.06).abs() < 1e-9);
    for (direction, le, want) in [
        ("download", "0.01", 0.0),
        ("download", "0.05", 3.0),
        ("upload", "1", 0.0),
        ("upload", "5", 1.0),
    ] {
        let labels = [("direction", direction), ("le", le)];
        assert_eq!(get(&format!("{h}_bucket"), &labels), want, "{labels:?}");
    }
    let setup = &f["ringftpd_data_connection_setup_seconds"].1;
    let c = setup.iter().find(|s| s.name.ends_with("_count")).unwrap();
    assert_eq!(c.value, 1.0);
}

#[test]
fn reply_codes_outside_100_to_599_are_ignored() {
    let (reg, w) = Registry::new(1);
    for code in [0, 99, 600, u16::MAX] {
        w[0].reply(code);
    }
    w[0].reply(100);
    w[0].reply(599);
    let s = reg.snapshot();
    assert_eq!(s.replies.iter().sum::<u64>(), 2);
    assert_eq!(s.replies_with(100), 1);
    assert_eq!(s.replies_with(599), 1);
    validate(&reg.render());
}

#[test]
fn log_drop_probes_are_read_at_scrape() {
    let (mut reg, _w) = Registry::new(1);
    let n = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let n2 = n.clone();
    reg.add_log_drops("xferlog", move || {
        n2.load(std::sync::atomic::Ordering::Relaxed)
    });
    n.store(7, std::sync::atomic::Ordering::Relaxed);
    let f = validate(&reg.render());
    assert_eq!(
        value(
            &f,
            "ringftpd_log_lines_dropped_total",
            &[("log", "xferlog")]
        ),
        7.0
    );
}

#[test]
fn a_scrape_during_writes_is_always_valid() {
    // The scraper reads while a worker writes: every text stays valid and
    // counters never go backwards between scrapes.
    let (reg, mut w) = Registry::new(1);
    let m = w.pop().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let writer = std::thread::spawn(move || {
        let mut i = 0u64;
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) || i < 1000 {
            m.reply(200);
            m.transfer_done(
                Direction::List,
                DataMode::Pasv,
                TransferResult::Ok,
                Duration::from_micros(i % 5000),
            );
            i += 1;
        }
    });
    let mut last = 0.0;
    for _ in 0..50 {
        let f = validate(&reg.render());
        let v = value(
            &f,
            "ringftpd_transfers_total",
            &[("direction", "list"), ("mode", "pasv"), ("result", "ok")],
        );
        assert!(v >= last);
        last = v;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
}

#[test]
fn label_values_are_escaped() {
    assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    let line = format!("x{{v=\"{}\"}} 1", escape_label("a\"b\\c\nd"));
    let s = parse_sample(&line);
    assert_eq!(s.labels[0].1, "a\"b\\c\nd");
}

#[test]
fn worker_metrics_are_send_but_not_sync() {
    fn send<T: Send>() {}
    send::<WorkerMetrics>();
    // `static_assertions::assert_not_impl_any!` without the crate: a type
    // that is Sync would make this ambiguous impl resolve to the blanket.
    trait NotSync<A> {
        fn check() {}
    }
    impl<T: ?Sized> NotSync<()> for T {}
    struct Invalid;
    impl<T: ?Sized + Sync> NotSync<Invalid> for T {}
    <WorkerMetrics as NotSync<_>>::check();
    fn share<T: Send + Sync>() {}
    share::<Registry>();
}
