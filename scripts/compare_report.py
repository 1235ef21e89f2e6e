#!/usr/bin/env python3
"""compare_report.py OUT DOCS - turn scripts/compare.sh's per-run results into
docs/performance.md and docs/performance.png.

OUT holds NAME.TEST.RUN.json (ringftp-bench --json, or the small JSON compare.sh
writes for nginx and iperf3) and NAME.TEST.RUN.cgcpu (server CPU seconds from the
server's cpuacct cgroup during that run). Every cell is the median of the runs,
with min-max; nothing here is edited by hand.
"""
import glob
import json
import os
import re
import platform
import statistics
import sys

OUT, DOCS = sys.argv[1], sys.argv[2]
RUNS = {}
CPU = {}
for f in sorted(glob.glob(os.path.join(OUT, "*.json")) + glob.glob(os.path.join(OUT, "*.cgcpu"))):
    name, test, _run, ext = os.path.basename(f).rsplit(".", 3)
    try:
        if ext == "json":
            RUNS.setdefault((name, test), []).append(json.load(open(f)))
        else:
            CPU.setdefault((name, test), []).append(float(open(f).read().strip() or 0))
    except ValueError:
        pass

# key, title, figure, unit, higher is better
TESTS = [
    ("a_pasv", "1 GiB RETR, PASV", "throughput_mb_per_s", "MB/s", True),
    ("a_epsv", "1 GiB RETR, EPSV", "throughput_mb_per_s", "MB/s", True),
    ("a_port", "1 GiB RETR, PORT", "throughput_mb_per_s", "MB/s", True),
    ("a_eprt", "1 GiB RETR, EPRT", "throughput_mb_per_s", "MB/s", True),
    ("b", "64 x 64 MiB RETR in parallel", "throughput_mb_per_s", "MB/s", True),
    ("c", "1000 x 4 KiB RETR, 50 reused sessions", "transfers_per_s", "files/s", True),
    ("m_lftp", "lftp mirror --parallel=50, 1000 x 4 KiB (defaults)", "transfers_per_s", "files/s", True),
    ("m_curl", "curl -Z --parallel-max 50, 1000 x 4 KiB (defaults)", "transfers_per_s", "files/s", True),
    ("d", "1 GiB STOR", "throughput_mb_per_s", "MB/s", True),
    ("l", "connect + login + QUIT", "logins_per_s", "logins/s", True),
    ("e", "idle sessions kept", "idle_kept", "sessions", True),
    ("e_mem", "server PSS at idle sessions", "pss_mib", "MiB", False),
]
ORDER = ["ringftpd", "ringftpd-splice", "vsftpd", "pure-ftpd", "proftpd", "pyftpdlib", "nginx", "iperf3"]
SERVERS = [s for s in ORDER if any(k[0] == s for k in RUNS)]
OURS = ("ringftpd", "ringftpd-splice")


def key_for(name, test):
    if test == "e_mem":
        return (name, "e")
    if name == "nginx" and test.startswith("a_"):
        return ("nginx", "a_http")
    if name == "iperf3" and test.startswith("a_"):
        return ("iperf3", "a_tcp")
    return (name, test)


def vals(name, test, fig):
    out = []
    for j in RUNS.get(key_for(name, test), []):
        if fig == "pss_mib":
            m = j.get("server_memory")
            if m:
                out.append(m["pss_bytes"] / 2**20)
        elif fig == "logins_per_s":
            if j.get("elapsed_s"):
                out.append(j.get("logins", 0) / j["elapsed_s"])
        elif j.get(fig) is not None:
            out.append(float(j[fig]))
    return out


def med(name, test, fig):
    v = vals(name, test, fig)
    return statistics.median(v) if v else None


def errors(name, test):
    return sum(j.get("errors_total", 0) for j in RUNS.get(key_for(name, test), []))


def cpu_per_gib(name, test):
    """Median server CPU seconds per GiB moved, from the cgroup readings."""
    per = []
    for j, c in zip(RUNS.get((name, test), []), CPU.get((name, test), [])):
        moved = j.get("bytes_down", 0) + j.get("bytes_up", 0)
        if moved:
            per.append(c / (moved / 2**30))
    return statistics.median(per) if per else None


def table():
    lines = ["| test | unit | " + " | ".join(SERVERS) + " |", "|---|---|" + "---|" * len(SERVERS)]
    chart = []
    for key, title, fig, unit, higher in TESTS:
        meds = {s: med(s, key, fig) for s in SERVERS if vals(s, key, fig)}
        peers = {s: m for s, m in meds.items() if s not in OURS and s != "iperf3"}
        best = (max if higher else min)(peers.values()) if peers else None
        row = []
        for s in SERVERS:
            v = vals(s, key, fig)
            if not v:
                row.append("-")
                continue
            m = statistics.median(v)
            cell = "%.1f (%.1f-%.1f)" % (m, min(v), max(v))
            if best and m:
                cell += " x%.2f" % (m / best if higher else best / m)
            e = errors(s, "e" if key == "e_mem" else key)
            if e:
                cell += " err %d" % e
            row.append(cell)
        lines.append("| %s | %s | %s |" % (title, unit, " | ".join(row)))
        chart.append((title, unit, meds))
    return lines, chart


def cpu_table():
    names = [s for s in SERVERS if s not in ("nginx", "iperf3")]
    lines = ["| test | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for key, title, *_ in [t for t in TESTS if t[0] in ("a_pasv", "a_epsv", "a_port", "a_eprt", "b", "c", "d")]:
        cells = []
        for s in names:
            c = cpu_per_gib(s, key)
            cells.append("-" if c is None else "%.3f" % c)
        lines.append("| %s | %s |" % (title, " | ".join(cells)))
    return lines


def verdict(ok, have, want):
    if have is None or want is None:
        return "not measured"
    return ("**met**" if ok else "**missed**") + " (%.1f vs %.1f: %.0f%%)" % (have, want, 100 * have / want if want else 0)


def targets():
    """Issue 3's targets, each computed from the medians above."""
    L = ["| target | result |", "|---|---|"]
    best_single = None
    for m in ["a_pasv", "a_epsv", "a_port", "a_eprt"]:
        ours = med("ringftpd", m, "throughput_mb_per_s")
        ceil = med("iperf3", m, "throughput_mb_per_s")
        peer = max([v for v in (med(p, m, "throughput_mb_per_s") for p in SERVERS if p not in OURS + ("iperf3", "nginx")) if v] or [0])
        if ceil:
            L.append("| single-stream RETR %s >= 95%% of iperf3 -Z | %s |" % (m[2:].upper(), verdict(ours and ours >= 0.95 * ceil, ours, 0.95 * ceil)))
        if peer:
            L.append("| single-stream RETR %s >= best peer | %s |" % (m[2:].upper(), verdict(ours and ours >= peer, ours, peer)))
        best_single = max(best_single or 0, ours or 0)
    c_ours, c_pure, c_nginx = (med(s, "c", "transfers_per_s") for s in ("ringftpd", "pure-ftpd", "nginx"))
    if c_pure:
        L.append("| 4 KiB files, 50 reused sessions >= 2x pure-ftpd | %s |" % verdict(c_ours and c_ours >= 2 * c_pure, c_ours, 2 * c_pure))
    if c_nginx:
        L.append("| 4 KiB files >= 50%% of nginx keep-alive | %s |" % verdict(c_ours and c_ours >= 0.5 * c_nginx, c_ours, 0.5 * c_nginx))
    l_ours, l_vs = med("ringftpd", "l", "logins_per_s"), med("vsftpd", "l", "logins_per_s")
    if l_vs:
        L.append("| connect+login rate >= 10x vsftpd | %s |" % verdict(l_ours and l_ours >= 10 * l_vs, l_ours, 10 * l_vs))
    mem = {s: med(s, "e_mem", "pss_mib") for s in SERVERS if s not in OURS and med(s, "e_mem", "pss_mib")}
    ours = med("ringftpd", "e_mem", "pss_mib")
    if mem and ours:
        lo = min(mem.values())
        ok = ours < lo
        L.append("| 2000 idle sessions in less memory than any peer | %s (ringftpd %.1f MiB, best peer %.1f MiB) |"
                 % ("**met**" if ok else "**missed**", ours, lo))
    for key in ["a_epsv", "b"]:
        o, v = cpu_per_gib("ringftpd", key), cpu_per_gib("vsftpd", key)
        if o is not None and v:
            L.append("| server CPU s/GiB (%s) <= half of vsftpd's | %s (ringftpd %.3f, vsftpd %.3f) |"
                     % (key, "**met**" if o <= v / 2 else "**missed**", o, v))
    return L


def targets_9():
    """Issue 9's targets (speed as mirror clients see it), from the medians."""
    L = ["| target | result |", "|---|---|"]
    for key, what in [("m_lftp", "lftp mirror --parallel=50"), ("m_curl", "curl -Z --parallel-max 50")]:
        ours, pure = med("ringftpd", key, "transfers_per_s"), med("pure-ftpd", key, "transfers_per_s")
        e = errors("ringftpd", key)
        note = " (%d files missing over all runs)" % e if e else ""
        L.append("| %s files/s >= 2x pure-ftpd | %s%s |" % (what, verdict(ours and pure and ours >= 2 * pure, ours, 2 * pure if pure else None), note))
    c_ours, c_nginx = med("ringftpd", "c", "transfers_per_s"), med("nginx", "c", "transfers_per_s")
    L.append("| bench 4 KiB over 50 reused sessions >= nginx keep-alive (curl -Z) | %s |"
             % verdict(c_ours and c_nginx and c_ours >= c_nginx, c_ours, c_nginx))
    d = med("ringftpd", "d", "throughput_mb_per_s")
    cpu = cpu_per_gib("ringftpd", "d")
    peers = {s: med(s, "d", "throughput_mb_per_s") for s in SERVERS if s not in OURS + ("nginx", "iperf3")}
    peers = {s: v for s, v in peers.items() if v}
    best = max(peers.items(), key=lambda kv: kv[1]) if peers else None
    L.append("| 1 GiB STOR (reported, no target) | ringftpd %s MB/s, %s server CPU s/GiB%s |" % (
        "-" if d is None else "%.1f" % d, "-" if cpu is None else "%.3f" % cpu,
        "" if not best else "; best peer %s %.1f MB/s, %s CPU s/GiB" % (
            best[0], best[1], "-" if cpu_per_gib(best[0], "d") is None else "%.3f" % cpu_per_gib(best[0], "d"))))
    return L


def latencies():
    L = []
    for key in ["a_epsv", "b", "c", "d", "l"]:
        js = RUNS.get(("ringftpd", key), [])
        if js:
            lat = js[len(js) // 2].get("latency_us", {})
            L.append("- %s: " % key + ", ".join(
                "%s p50 %.3f ms p99 %.3f ms" % (k, v.get("p50_us", 0) / 1000, v.get("p99_us", 0) / 1000)
                for k, v in lat.items() if v.get("count")))
    return L


def main():
    rows, chart = table()
    L = ["# Performance: ringftpd and reference servers on loopback", "",
         "Generated by `scripts/compare.sh` (report: `scripts/compare_report.py`) from one run of: `%s`"
         % os.environ.get("COMMAND", ""), "",
         "Machine: %s, %d CPUs, kernel %s. Client: `ringftp-bench` (io_uring, one worker thread; downloads "
         "spliced to /dev/null except c, which reads into a reused buffer). Servers run one at a time on "
         "127.0.0.1 and serve the same `/tmp/ftplab/root`. `ringftpd` uses `--retr-path sendfile` (the default), "
         "`ringftpd-splice` the linked-splice path (RETR tests only). nginx is measured over HTTP with curl "
         "(a: one curl, b: 64 curls, c: one `curl -Z --parallel-max 50`); `iperf3` is `iperf3 -Z` moving "
         "1 GiB over one loopback TCP stream, the ceiling for the single-stream rows."
         % (platform.machine(), os.cpu_count(), platform.release()), "",
         "Each cell: median of %s runs, (min-max), and the ratio to the best peer (vsftpd, pure-ftpd, "
         "proftpd, pyftpdlib, nginx; for memory lower is better). `err` = failed transfers or sessions over all "
         "runs. MB/s are 10^6 bytes/s." % os.environ.get("RUNS", "3"), ""]
    L += rows
    L += ["", "## Targets (issue 3), computed from the medians above", ""] + targets()
    L += ["", "## Targets (issue 9: speed as mirror clients see it), computed from the medians above", ""] + targets_9()
    L += ["", "## Server CPU seconds per GiB moved (median)", "",
          "Read from a cpuacct cgroup that holds the server's whole process tree during each run, so the "
          "CPU of vsftpd's and proftpd's forked sessions and of ringftpd's io_uring workers is counted.", ""]
    L += cpu_table()
    L += ["", "![throughput chart](performance.png)", "",
          "Raw per-run JSON (every percentile of connect, greeting, login, data setup, first byte and "
          "transfer latency) is left in `%s`; latency medians of ringftpd:" % OUT, ""]
    L += latencies()
    notes = os.path.join(DOCS, "performance-notes.md")
    if os.path.exists(notes):
        L += ["", open(notes).read().rstrip()]
    # The FTPS block belongs to scripts/compare-tls.sh: carry it over as it is.
    md = os.path.join(DOCS, "performance.md")
    old = open(md).read() if os.path.exists(md) else ""
    ftps = re.search(r"<!-- ftps:begin.*?<!-- ftps:end -->", old, re.S)
    if ftps:
        L += ["", ftps.group(0)]
    open(md, "w").write("\n".join(L) + "\n")
    try:
        plot(chart)
    except ImportError:
        print("compare_report.py: no matplotlib (pip install matplotlib): chart not drawn", file=sys.stderr)


def plot(chart):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(4, 3, figsize=(15, 14))
    for ax in axes.flat:
        ax.set_visible(False)
    for ax, (title, unit, meds) in zip(axes.flat, chart):
        ax.set_visible(True)
        names = [s for s in SERVERS if s in meds]
        colors = ["#c0392b" if s in OURS else "#2980b9" if s == "iperf3" else "#7f8c8d" for s in names]
        ax.bar(names, [meds[s] for s in names], color=colors)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(unit)
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    fig.suptitle("ringftpd vs reference servers, loopback, median of runs (ringftp-bench)")
    fig.tight_layout()
    fig.savefig(os.path.join(DOCS, "performance.png"), dpi=80)


if __name__ == "__main__":
    main()
