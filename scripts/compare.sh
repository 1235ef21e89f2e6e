#!/usr/bin/env bash
# compare.sh - ringftpd against the lab's FTP peers (and nginx over HTTP as the
# baseline), one server at a time on the same data, driven by ringftp-bench.
# Writes docs/performance.md and docs/performance.png (medians of RUNS runs, min-max).
#
#   bash scripts/compare.sh                 # everything (~10-15 min on 2 cores)
#   RUNS=5 PEERS="vsftpd proftpd" bash scripts/compare.sh
#
# Needs the lab (bash ../shared/lab/setup.sh once: packages, users bench/bench,
# /tmp/ftplab/root with 1g.bin, 64m.bin, small/f0000..f0999, incoming/) and
# python3 with matplotlib (pip install matplotlib) for the chart.
# Workloads (ringftp-bench; downloads use --sink splice so the client copies nothing):
#   a_<mode>  one 1 GiB RETR, single stream, modes pasv epsv port eprt     -> MB/s
#   b         64 sessions x one 64 MiB RETR each, in parallel (EPSV)       -> MB/s
#   c         1000 x 4 KiB RETR over 50 reused sessions (EPSV)             -> files/s
#   d         one 1 GiB STOR as bench/bench into incoming/ (EPSV)          -> MB/s
#   e         2000 idle logged-in sessions held 5 s                        -> kept, server PSS
#   nginx     a (curl), b (64 curls), c (one curl -Z --parallel-max 50)    -> same units
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
LABSH=${LABSH:-$(cd "$REPO/../shared/lab" 2>/dev/null && pwd || echo /work/shared/lab)}
LAB=${LAB:-/tmp/ftplab}
ROOT=$LAB/root
RUNS=${RUNS:-3}
PEERS=${PEERS:-"vsftpd pure-ftpd proftpd pyftpdlib"}
IDLE_N=${IDLE_N:-2000}
OUT=${OUT:-$LAB/bench-results}
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
rm -rf "$OUT" && mkdir -p "$OUT"
[ -f "$ROOT/1g.bin" ] || { echo "compare.sh: no lab data in $ROOT: run bash $LABSH/setup.sh" >&2; exit 2; }
(cd "$REPO" && cargo build --release --bins >&2)
BENCH=$TARGET/release/ringftp-bench
RINGFTPD=$TARGET/release/ringftpd
declare -A PORT=([ringftpd]=2125 [vsftpd]=2121 [pure-ftpd]=2122 [proftpd]=2123 [pyftpdlib]=2124)

log() { echo "[compare] $*" >&2; }

# bench NAME TEST RUN ARGS... : one ringftp-bench run, JSON in $OUT/NAME.TEST.RUN.json
bench() {
  local name=$1 test=$2 run=$3; shift 3
  local pidopt=()
  [ -n "${SPID:-}" ] && pidopt=(--server-pid "$SPID")
  "$BENCH" --quiet --server "127.0.0.1:${PORT[$name]}" --label "$name" "${pidopt[@]}" \
    --json "$OUT/$name.$test.$run.json" "$@" > "$OUT/$name.$test.$run.txt" 2>&1 || true
  log "$name $test run $run: $(grep -E 'throughput|transfers|errors|kept' "$OUT/$name.$test.$run.txt" | tr -s ' ' | tr '\n' ';')"
}

run_ftp() {
  local name=$1
  for r in $(seq 1 "$RUNS"); do
    for m in pasv epsv port eprt; do
      bench "$name" "a_$m" "$r" --op retr --files /1g.bin --count 1 --mode "$m" --sink splice
    done
    bench "$name" b "$r" --op retr --files /64m.bin --sessions 64 --count 64 --login-window 16 --sink splice
    bench "$name" c "$r" --op retr --files 'small/f{0000..0999}' --sessions 50 --reuse --count 1000 --login-window 16
    sync; rm -f "$ROOT"/incoming/rb-*
    bench "$name" d "$r" --op stor --user bench --pass bench --files gen:1g --count 1 --upload-dir incoming --verify
    rm -f "$ROOT"/incoming/rb-*
    bench "$name" e "$r" --op idle --sessions "$IDLE_N" --duration 5 --login-window 16
  done
}

start_ringftpd() {
  local users=$LAB/ringftpd.users
  echo "bench:$(echo bench | "$RINGFTPD" passwd):$ROOT:all" > "$users"
  "$RINGFTPD" --root "$ROOT" --listen "127.0.0.1:${PORT[ringftpd]}" --pasv-ports 51000-51999 \
    --users "$users" --sessions-max 5000 \
    --sessions-per-ip-max 0 --connections-per-ip-per-sec-max 0 --commands-per-sec-max 0 > "$LAB/ringftpd.log" 2>&1 &
  SPID=$!
  for _ in $(seq 50); do grep -q listening "$LAB/ringftpd.log" && return 0; sleep 0.1; done
  echo "compare.sh: ringftpd did not start: $(cat "$LAB/ringftpd.log")" >&2; exit 1
}

# nginx: HTTP equivalents of a, b, c with curl; writes the same JSON fields.
run_nginx() {
  local port=8080 url=http://127.0.0.1:8080 r t0 t1
  for r in $(seq 1 "$RUNS"); do
    local s
    s=$(curl -s -o /dev/null -w '%{speed_download}' "$url/1g.bin")
    echo "{\"throughput_mb_per_s\": $(python3 -c "print($s/1e6)")}" > "$OUT/nginx.a_http.$r.json"
    t0=$EPOCHREALTIME
    for _ in $(seq 64); do curl -s -o /dev/null "$url/64m.bin" & done; wait
    t1=$EPOCHREALTIME
    echo "{\"throughput_mb_per_s\": $(python3 -c "print(64*64*1048576/($t1-$t0)/1e6)")}" > "$OUT/nginx.b.$r.json"
    printf "url = \"$url/small/f%04d\"\noutput = \"/dev/null\"\n" $(seq 0 999) > "$OUT/nginx.c.curlcfg"
    t0=$EPOCHREALTIME
    curl -s -Z --parallel-max 50 -K "$OUT/nginx.c.curlcfg"
    t1=$EPOCHREALTIME
    echo "{\"transfers_per_s\": $(python3 -c "print(1000/($t1-$t0))")}" > "$OUT/nginx.c.$r.json"
    log "nginx run $r done"
  done
  : "$port"
}

bash "$LABSH/peers.sh" stop-all >/dev/null 2>&1 || true
log "ringftpd"
start_ringftpd
run_ftp ringftpd
kill "$SPID"; wait "$SPID" 2>/dev/null || true
for p in $PEERS; do
  log "$p"
  PURE_PASV=41000:44999 bash "$LABSH/peers.sh" start "$p" "${PORT[$p]}" "$ROOT" >&2
  SPID=$(cat "$LAB/$p.pid" 2>/dev/null || true)
  run_ftp "$p"
  bash "$LABSH/peers.sh" stop "$p" >&2 || true
done
SPID=""
if bash "$LABSH/peers.sh" start nginx 8080 "$ROOT" >&2; then
  run_nginx
  bash "$LABSH/peers.sh" stop nginx >&2 || true
fi
mkdir -p "$REPO/docs"
COMMAND="RUNS=$RUNS PEERS=\"$PEERS\" IDLE_N=$IDLE_N bash scripts/compare.sh" \
  python3 - "$OUT" "$REPO/docs" <<'PY'
# Medians (min-max) of every run's JSON -> docs/performance.md + docs/performance.png
import glob, json, os, platform, statistics, subprocess, sys
out, docs = sys.argv[1], sys.argv[2]
runs = {}
for f in sorted(glob.glob(os.path.join(out, "*.json"))):
    name, test, _run, _ = os.path.basename(f).rsplit(".", 3)
    try:
        runs.setdefault((name, test), []).append(json.load(open(f)))
    except ValueError:
        pass
TESTS = [  # key, title, figure, unit, higher is better
    ("a_pasv", "1 GiB RETR, PASV", "throughput_mb_per_s", "MB/s", True),
    ("a_epsv", "1 GiB RETR, EPSV", "throughput_mb_per_s", "MB/s", True),
    ("a_port", "1 GiB RETR, PORT", "throughput_mb_per_s", "MB/s", True),
    ("a_eprt", "1 GiB RETR, EPRT", "throughput_mb_per_s", "MB/s", True),
    ("b", "64 x 64 MiB RETR in parallel", "throughput_mb_per_s", "MB/s", True),
    ("c", "1000 x 4 KiB RETR, 50 reused sessions", "transfers_per_s", "files/s", True),
    ("d", "1 GiB STOR", "throughput_mb_per_s", "MB/s", True),
    ("e", "idle sessions kept", "idle_kept", "sessions", True),
    ("e_mem", "server PSS at idle sessions", "pss_mib", "MiB", False),
]
servers = [s for s in ["ringftpd", "vsftpd", "pure-ftpd", "proftpd", "pyftpdlib", "nginx"]
           if any(k[0] == s for k in runs)]
def vals(name, test, fig):
    key = (name, "e" if test == "e_mem" else test)
    if name == "nginx" and test.startswith("a_"):
        key = ("nginx", "a_http")
    v = []
    for j in runs.get(key, []):
        if fig == "pss_mib":
            m = j.get("server_memory")
            if m: v.append(m["pss_bytes"] / 2**20)
        elif j.get(fig) is not None:
            v.append(float(j[fig]))
    return v
def errors(name, test):
    return sum(j.get("errors_total", 0) for j in runs.get((name, test), []))
def cpu(name, test):
    v = [j["server_cpu_s_per_gib"] for j in runs.get((name, test), []) if j.get("server_cpu_s_per_gib") is not None]
    return statistics.median(v) if v else None
L = ["# Performance: ringftpd and reference servers on loopback", ""]
L.append("Generated by `scripts/compare.sh` from one run of: `%s`" % os.environ.get("COMMAND", ""))
L.append("")
L.append("Machine: %s, %d CPUs, kernel %s. Client: `ringftp-bench` (io_uring, one worker thread; "
         "downloads spliced to /dev/null except c, which reads into a reused buffer). Servers run one at a "
         "time on 127.0.0.1 and serve the same `/tmp/ftplab/root`; nginx is measured over HTTP with curl "
         "(a: one curl, b: 64 curls, c: one `curl -Z --parallel-max 50`)." % (platform.machine(), os.cpu_count(), platform.release()))
L.append("")
L.append("Each cell: median of %s runs, (min-max), and the ratio to the best peer other than ringftpd "
         "(for memory lower is better). `err` = runs' total failed transfers or sessions by reply code. "
         "MB/s are 10^6 bytes/s. Server CPU s/GiB (from /proc/PID/stat of the server's process tree; "
         "forking servers lose the CPU of sessions that exited and were not reaped into cutime) follows in "
         "a second table." % os.environ.get("RUNS", "3"))
L.append("")
L.append("| test | unit | " + " | ".join(servers) + " |")
L.append("|---|---|" + "---|" * len(servers))
chart = []
for key, title, fig, unit, higher in TESTS:
    meds = {s: statistics.median(vals(s, key, fig)) for s in servers if vals(s, key, fig)}
    peers = {s: m for s, m in meds.items() if s != "ringftpd"}
    best = (max if higher else min)(peers.values()) if peers else None
    row = []
    for s in servers:
        v = vals(s, key, fig)
        if not v:
            row.append("-"); continue
        m = statistics.median(v)
        cell = "%.1f (%.1f-%.1f)" % (m, min(v), max(v))
        if best:
            cell += " x%.2f" % (m / best if higher else best / m if m else 0)
        e = errors(s, "e" if key == "e_mem" else key)
        if e:
            cell += " err %d" % e
        row.append(cell)
    L.append("| %s | %s | %s |" % (title, unit, " | ".join(row)))
    chart.append((title, unit, meds))
L += ["", "Server CPU seconds per GiB moved (median):", ""]
L.append("| test | " + " | ".join(s for s in servers if s != "nginx") + " |")
L.append("|---|" + "---|" * len([s for s in servers if s != "nginx"]))
for key, title, *_ in TESTS[:7]:
    cells = []
    for s in servers:
        if s == "nginx": continue
        c = cpu(s, key)
        cells.append("-" if c is None else "%.3f" % c)
    L.append("| %s | %s |" % (title, " | ".join(cells)))
L += ["", "![throughput chart](performance.png)", "",
      "Raw per-run JSON (every percentile of connect, greeting, login, data setup, first byte and transfer "
      "latency) is left in `%s`; latency medians of ringftpd:" % out, ""]
for key in ["a_epsv", "b", "c", "d"]:
    js = runs.get(("ringftpd", key), [])
    if js:
        lat = js[len(js)//2]["latency_us"]
        L.append("- %s: " % key + ", ".join("%s p50 %.3f ms p99 %.3f ms" % (k, v.get("p50_us", 0)/1000, v.get("p99_us", 0)/1000)
                                               for k, v in lat.items() if v.get("count")))
open(os.path.join(docs, "performance.md"), "w").write("\n".join(L) + "\n")
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
fig, axes = plt.subplots(3, 3, figsize=(15, 11))
for ax, (title, unit, meds) in zip(axes.flat, chart):
    names = [s for s in servers if s in meds]
    ax.bar(names, [meds[s] for s in names], color=["#c0392b" if s == "ringftpd" else "#7f8c8d" for s in names])
    ax.set_title(title, fontsize=10); ax.set_ylabel(unit); ax.tick_params(axis="x", labelrotation=30, labelsize=8)
fig.suptitle("ringftpd vs reference servers, loopback, median of runs (ringftp-bench)")
fig.tight_layout()
fig.savefig(os.path.join(docs, "performance.png"), dpi=80)
PY
log "wrote $REPO/docs/performance.md and docs/performance.png"
