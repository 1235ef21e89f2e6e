//! The final human table (stdout) and the JSON file, written by hand (the
//! crate has no serde): every figure and each histogram's full percentile
//! distribution.

use std::fmt::Write as _;

use hdrhistogram::Histogram;

use super::cli::Cli;
use super::run::Outcome;
use super::stats::METRICS;

const GIB: f64 = (1u64 << 30) as f64;
const MIB: f64 = (1u64 << 20) as f64;

/// Derived figures, shared by the table and the JSON.
pub struct Figures {
    pub secs: f64,
    pub bytes: u64,
    pub mb_per_s: f64,
    pub gbit_per_s: f64,
    pub transfers_per_s: f64,
    pub cpu_per_gib: Option<f64>,
}

pub fn figures(o: &Outcome) -> Figures {
    let secs = o.elapsed.as_secs_f64().max(1e-9);
    let bytes = o.stats.bytes_down + o.stats.bytes_up;
    let mb_per_s = bytes as f64 / secs / 1e6;
    let cpu_per_gib = o
        .server_cpu_secs
        .filter(|_| bytes > 0)
        .map(|c| c / (bytes as f64 / GIB));
    Figures {
        secs,
        bytes,
        mb_per_s,
        gbit_per_s: mb_per_s * 8.0 / 1000.0,
        transfers_per_s: o.stats.transfers as f64 / secs,
        cpu_per_gib,
    }
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// The table printed at the end.
pub fn table(cli: &Cli, o: &Outcome) -> String {
    let f = figures(o);
    let s = &o.stats;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "ringftp-bench {:?} mode {:?} sessions {} workers {} processes {} reuse {} against {}",
        cli.op, cli.mode, cli.sessions, cli.workers, cli.processes, cli.reuse, cli.server
    );
    let _ = writeln!(t, "  elapsed        {:.3} s", f.secs);
    let _ = writeln!(
        t,
        "  transferred    {} bytes ({:.1} MB down, {:.1} MB up)",
        f.bytes,
        s.bytes_down as f64 / 1e6,
        s.bytes_up as f64 / 1e6
    );
    let _ = writeln!(
        t,
        "  throughput     {:.1} MB/s  {:.3} Gbit/s",
        f.mb_per_s, f.gbit_per_s
    );
    let _ = writeln!(
        t,
        "  transfers      {} ({:.1}/s), logins {}, sessions {}",
        s.transfers, f.transfers_per_s, s.logins, s.sessions_opened
    );
    if cli.verify {
        let _ = writeln!(
            t,
            "  verified       {} downloads ok (uploads: SIZE checked)",
            s.verified
        );
    }
    if let Some(tls) = &s.tls {
        let _ = writeln!(t, "  tls            {tls}");
    }
    let errs: Vec<String> = s.errors.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let _ = writeln!(t, "  errors         {} {}", s.error_count(), errs.join(" "));
    if let Some(c) = o.server_cpu_secs {
        let per = f.cpu_per_gib.map_or("-".into(), |x| format!("{x:.3}"));
        let _ = writeln!(t, "  server CPU     {c:.2} s ({per} s/GiB)");
    }
    if cli.op == super::cli::Op::Idle {
        let _ = writeln!(
            t,
            "  idle kept      {} of {} sessions answered NOOP after the hold",
            s.idle_kept, cli.sessions
        );
    }
    if let Some(m) = o.server_mem {
        let mib = |b: u64| b as f64 / MIB;
        let per = m
            .pss_per_session_bytes(s.idle_kept)
            .map_or("-".into(), |b| format!("{:.1}", b / 1024.0));
        let _ = writeln!(
            t,
            "  server memory  PSS {:.1} MiB before, {:.1} MiB with {} sessions (RSS {:.1} MiB, {} processes): {per} KiB PSS per kept session",
            mib(m.before.pss_bytes),
            mib(m.held.pss_bytes),
            m.sessions,
            mib(m.held.rss_bytes),
            m.held.processes
        );
    }
    if !s.local_addrs.is_empty() {
        let list: Vec<String> = s
            .local_addrs
            .iter()
            .map(|(ip, n)| format!("{ip}={n}"))
            .collect();
        let _ = writeln!(
            t,
            "  local addrs    {} used: {}",
            s.local_addrs.len(),
            list.join(" ")
        );
    }
    let _ = writeln!(
        t,
        "  latency (ms)   {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "count", "min", "p50", "p90", "p99", "p99.9", "max"
    );
    for m in METRICS {
        let h = s.hist(m);
        if h.is_empty() {
            continue;
        }
        let q = |x: f64| ms(h.value_at_quantile(x));
        let _ = writeln!(
            t,
            "  {:<14} {:>10} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3}",
            m.name(),
            h.len(),
            ms(h.min()),
            q(0.5),
            q(0.9),
            q(0.99),
            q(0.999),
            ms(h.max())
        );
    }
    t
}

/// A JSON string literal.
fn js(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// A finite number or null.
fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        "null".into()
    }
}

fn hist_json(h: &Histogram<u64>) -> String {
    let mut o = format!("{{\"count\":{},", h.len());
    if h.is_empty() {
        return o + "\"distribution\":[]}";
    }
    let _ = write!(
        o,
        "\"min_us\":{},\"mean_us\":{},\"max_us\":{},",
        h.min(),
        num(h.mean()),
        h.max()
    );
    for (name, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p999", 0.999)] {
        let _ = write!(o, "\"{name}_us\":{},", h.value_at_quantile(q));
    }
    // [percentile, value_us, count in step]: the hdrhistogram percentile series.
    let rows: Vec<String> = h
        .iter_quantiles(2)
        .map(|v| {
            format!(
                "[{},{},{}]",
                num(v.quantile_iterated_to() * 100.0),
                v.value_iterated_to(),
                v.count_since_last_iteration()
            )
        })
        .collect();
    o + "\"distribution\":[" + &rows.join(",") + "]}"
}

/// The whole JSON document.
pub fn json(cli: &Cli, o: &Outcome) -> String {
    let f = figures(o);
    let s = &o.stats;
    let mut j = String::from("{\n");
    let mut kv = |k: &str, v: String| {
        let _ = writeln!(j, "  {}: {v},", js(k));
    };
    kv("label", js(&cli.label));
    kv("server", js(&cli.server.to_string()));
    kv("op", js(&format!("{:?}", cli.op).to_lowercase()));
    kv("mode", js(&format!("{:?}", cli.mode).to_lowercase()));
    kv("sink", js(&format!("{:?}", cli.sink).to_lowercase()));
    kv("files", cli.files.as_deref().map_or("null".into(), js));
    kv("sessions", cli.sessions.to_string());
    kv("workers", cli.workers.to_string());
    kv("processes", cli.processes.to_string());
    kv("reuse", cli.reuse.to_string());
    kv("verify", cli.verify.to_string());
    kv("rate", cli.rate.map_or("null".into(), num));
    kv("elapsed_s", num(f.secs));
    kv("bytes_down", s.bytes_down.to_string());
    kv("bytes_up", s.bytes_up.to_string());
    kv("throughput_mb_per_s", num(f.mb_per_s));
    kv("throughput_gbit_per_s", num(f.gbit_per_s));
    kv("transfers", s.transfers.to_string());
    kv("transfers_per_s", num(f.transfers_per_s));
    kv("logins", s.logins.to_string());
    kv("sessions_opened", s.sessions_opened.to_string());
    kv("verified", s.verified.to_string());
    kv("idle_kept", s.idle_kept.to_string());
    kv("tls", s.tls.as_deref().map_or("null".into(), js));
    kv("errors_total", s.error_count().to_string());
    let errs: Vec<String> = s
        .errors
        .iter()
        .map(|(k, v)| format!("{}:{v}", js(k)))
        .collect();
    kv("errors", format!("{{{}}}", errs.join(",")));
    let addrs: Vec<String> = s
        .local_addrs
        .iter()
        .map(|(ip, n)| format!("{}:{n}", js(&ip.to_string())))
        .collect();
    kv("local_addrs", format!("{{{}}}", addrs.join(",")));
    kv("server_cpu_s", o.server_cpu_secs.map_or("null".into(), num));
    kv(
        "server_cpu_s_per_gib",
        f.cpu_per_gib.map_or("null".into(), num),
    );
    // rss/pss/processes/sessions: the sample with the sessions held (the
    // fields compare_report.py reads); before_*: the sample before them.
    let mem = o.server_mem.map_or("null".into(), |m| {
        let per = m.pss_per_session_bytes(s.idle_kept).map_or("null".into(), num);
        format!(
            "{{\"rss_bytes\":{},\"pss_bytes\":{},\"processes\":{},\"sessions\":{},\"before_rss_bytes\":{},\"before_pss_bytes\":{},\"pss_per_kept_session_bytes\":{per}}}",
            m.held.rss_bytes, m.held.pss_bytes, m.held.processes, m.sessions, m.before.rss_bytes, m.before.pss_bytes
        )
    });
    kv("server_memory", mem);
    let lat: Vec<String> = METRICS
        .iter()
        .map(|m| format!("    {}: {}", js(m.name()), hist_json(s.hist(*m))))
        .collect();
    let _ = write!(j, "  \"latency_us\": {{\n{}\n  }}\n}}\n", lat.join(",\n"));
    j
}
