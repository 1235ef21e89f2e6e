//! The Prometheus text exposition format, version 0.0.4: for each family a
//! `# HELP` and a `# TYPE` line, then its samples, one per line; counters
//! end in `_total`; a histogram has cumulative `_bucket{le="…"}` samples
//! ending at `le="+Inf"`, then `_sum` and `_count`.
//!
//! Label sets from closed enums are always written, zeros included, so a
//! series exists from the first scrape and `rate()` sees its first
//! increase; reply codes (500 possible) are written once seen.

use std::fmt::Write;

use super::block::{Buckets, DURATION_BUCKETS, REPLY_CODES, REPLY_CODE_MIN, SETUP_BUCKETS};
use super::{HistogramSnapshot, Snapshot};
use crate::obs::labels::{DataMode, Direction, RefusalReason, TransferResult};

const P: &str = "ringftpd_";

pub(super) fn render(s: &Snapshot, version: &str) -> String {
    let mut o = String::with_capacity(16 * 1024);
    family(
        &mut o,
        "build_info",
        "gauge",
        "Build information; the value is always 1.",
    );
    let _ = writeln!(
        o,
        "{P}build_info{{version=\"{}\"}} 1",
        escape_label(version)
    );

    family(
        &mut o,
        "workers",
        "gauge",
        "Worker threads (one io_uring ring each).",
    );
    let _ = writeln!(o, "{P}workers {}", s.workers);

    family(&mut o, "sessions", "gauge", "Control sessions open now.");
    let _ = writeln!(o, "{P}sessions {}", s.sessions as i64);

    family(
        &mut o,
        "logins_total",
        "counter",
        "Login attempts decided, by result.",
    );
    for (result, n) in ["ok", "failed"].iter().zip(s.logins) {
        let _ = writeln!(o, "{P}logins_total{{result=\"{result}\"}} {n}");
    }

    transfers(&mut o, s);

    if s.replies.iter().any(|&n| n > 0) {
        family(
            &mut o,
            "replies_total",
            "counter",
            "Replies sent on control connections, by code.",
        );
    }
    for (i, &n) in s.replies.iter().enumerate().take(REPLY_CODES) {
        if n > 0 {
            let code = usize::from(REPLY_CODE_MIN) + i;
            let _ = writeln!(o, "{P}replies_total{{code=\"{code}\"}} {n}");
        }
    }

    family(
        &mut o,
        "refused_total",
        "counter",
        "Connections turned away at or before the greeting, by reason.",
    );
    for r in RefusalReason::ALL {
        let n = s.refused[r.index()];
        let _ = writeln!(o, "{P}refused_total{{reason=\"{}\"}} {n}", r.as_str());
    }

    family(
        &mut o,
        "passive_ports_in_use",
        "gauge",
        "Passive data listeners open now.",
    );
    let _ = writeln!(o, "{P}passive_ports_in_use {}", s.passive_ports as i64);

    family(
        &mut o,
        "data_connection_setup_seconds",
        "histogram",
        "Time from a transfer command to its data connection being up.",
    );
    histogram(
        &mut o,
        "data_connection_setup_seconds",
        "",
        &s.setup,
        &SETUP_BUCKETS,
    );

    family(
        &mut o,
        "transfer_duration_seconds",
        "histogram",
        "Time from a transfer command to its end, by direction.",
    );
    for d in Direction::ALL {
        let labels = format!("direction=\"{}\",", d.as_str());
        histogram(
            &mut o,
            "transfer_duration_seconds",
            &labels,
            &s.duration[d.index()],
            &DURATION_BUCKETS,
        );
    }

    if !s.log_drops.is_empty() {
        family(
            &mut o,
            "log_lines_dropped_total",
            "counter",
            "Log lines dropped because the log writer was behind.",
        );
        for (log, n) in &s.log_drops {
            let _ = writeln!(
                o,
                "{P}log_lines_dropped_total{{log=\"{}\"}} {n}",
                escape_label(log)
            );
        }
    }
    o
}

fn transfers(o: &mut String, s: &Snapshot) {
    family(
        o,
        "transfers_total",
        "counter",
        "Data transfers ended, by direction, data-connection mode and result.",
    );
    for d in Direction::ALL {
        for m in DataMode::ALL {
            for r in TransferResult::ALL {
                let n = s.transfers[d.index()][m.index()][r.index()];
                let _ = writeln!(
                    o,
                    "{P}transfers_total{{direction=\"{}\",mode=\"{}\",result=\"{}\"}} {n}",
                    d.as_str(),
                    m.as_str(),
                    r.as_str()
                );
            }
        }
    }
    family(
        o,
        "transfer_bytes_total",
        "counter",
        "Bytes moved on data connections, by direction.",
    );
    for d in Direction::ALL {
        let n = s.transfer_bytes[d.index()];
        let _ = writeln!(
            o,
            "{P}transfer_bytes_total{{direction=\"{}\"}} {n}",
            d.as_str()
        );
    }
}

fn family(o: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(o, "# HELP {P}{name} {help}");
    let _ = writeln!(o, "# TYPE {P}{name} {kind}");
}

/// `labels` is empty or ends with a comma (it goes before `le`).
fn histogram(o: &mut String, name: &str, labels: &str, h: &HistogramSnapshot, b: &Buckets) {
    let mut cumulative = 0u64;
    for (i, n) in h.buckets.iter().enumerate() {
        cumulative += n;
        let le = b.le.get(i).copied().unwrap_or("+Inf");
        let _ = writeln!(o, "{P}{name}_bucket{{{labels}le=\"{le}\"}} {cumulative}");
    }
    let plain = labels.trim_end_matches(',');
    let braces = |o: &mut String| {
        if !plain.is_empty() {
            let _ = write!(o, "{{{plain}}}");
        }
    };
    let _ = write!(o, "{P}{name}_sum");
    braces(o);
    let _ = writeln!(o, " {}", h.sum_micros as f64 / 1e6);
    let _ = write!(o, "{P}{name}_count");
    braces(o);
    let _ = writeln!(o, " {cumulative}");
}

/// Label values escape backslash, double quote and newline (the format's
/// only three escapes).
pub(super) fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}
