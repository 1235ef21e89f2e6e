#!/usr/bin/env bash
# compare.sh - ringftpd against the lab's FTP peers (and nginx over HTTP as the
# baseline), one server at a time on the same data, driven by ringftp-bench.
# Writes docs/performance.md and docs/performance.png (medians of RUNS runs, min-max).
#
#   bash scripts/compare.sh                 # everything (~10-15 min on 2 cores)
#   RUNS=5 PEERS="vsftpd proftpd" bash scripts/compare.sh
#   QUICK=1 bash scripts/compare.sh         # one run of c, d and the mirror rows only,
#                                           # vsftpd and pure-ftpd; report in $OUT, not docs/
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
#   l         2000 x (connect + login + QUIT), 50 at a time                -> logins/s
#   nginx     a (curl), b (64 curls), c (one curl -Z --parallel-max 50)    -> same units
# Mirror-client rows (issue 9), every server on its defaults (ringftpd restarted
# without compare's limit overrides), anonymous, 1000 x 4 KiB files in small/:
#   m_lftp    lftp -c "open ftp://HOST:PORT; mirror --parallel=50 small OUT" -> files/s
#   m_curl    curl -Z --parallel-max 50 of the 1000 files                  -> files/s
#   iperf3    iperf3 -Z, 1 GiB over one loopback TCP stream: the ceiling for a
# ringftpd runs twice: `ringftpd` (--retr-path sendfile, the default) and
# `ringftpd-splice` (a and b only). Server CPU is read from a cpuacct cgroup
# holding the server's whole process tree (../shared/lab/ptree.py), so forked
# sessions of vsftpd/proftpd are counted too.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
LABSH=${LABSH:-$(cd "$REPO/../shared/lab" 2>/dev/null && pwd || echo /work/shared/lab)}
LAB=${LAB:-/tmp/ftplab}
ROOT=$LAB/root
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then RUNS=${RUNS:-1}; else RUNS=${RUNS:-3}; fi
if [ "$QUICK" = 1 ]; then PEERS=${PEERS:-"vsftpd pure-ftpd"}; else PEERS=${PEERS:-"vsftpd pure-ftpd proftpd pyftpdlib"}; fi
IDLE_N=${IDLE_N:-2000}
OUT=${OUT:-$LAB/bench-results}
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
rm -rf "$OUT" && mkdir -p "$OUT"
[ -f "$ROOT/1g.bin" ] || { echo "compare.sh: no lab data in $ROOT: run bash $LABSH/setup.sh" >&2; exit 2; }
(cd "$REPO" && cargo build --release --bins >&2)
BENCH=$TARGET/release/ringftp-bench
RINGFTPD=$TARGET/release/ringftpd
declare -A PORT=([ringftpd]=2125 [ringftpd-splice]=2126 [vsftpd]=2121 [pure-ftpd]=2122 [proftpd]=2123 [pyftpdlib]=2124)

log() { echo "[compare] $*" >&2; }

# Server CPU seconds from the cpuacct cgroup of the server under test ("" = none).
CG=""
cg_cpu() { if [ -n "$CG" ]; then python3 "$LABSH/ptree.py" cg-cpu "$CG"; else echo 0; fi; }
cg_attach() { CG=$(python3 "$LABSH/ptree.py" cg-attach "$1" "$2" 2>/dev/null || true); }
cg_detach() { [ -n "$CG" ] && python3 "$LABSH/ptree.py" cg-detach "$CG" >/dev/null 2>&1; CG=""; }

# bench NAME TEST RUN ARGS... : one ringftp-bench run, JSON in $OUT/NAME.TEST.RUN.json
bench() {
  local name=$1 test=$2 run=$3; shift 3
  local pidopt=()
  [ -n "${SPID:-}" ] && pidopt=(--server-pid "$SPID")
  local c0 c1
  c0=$(cg_cpu)
  "$BENCH" --quiet --server "127.0.0.1:${PORT[$name]}" --label "$name" "${pidopt[@]}" \
    --json "$OUT/$name.$test.$run.json" "$@" > "$OUT/$name.$test.$run.txt" 2>&1 || true
  sleep 0.3 # let exiting session processes finish (forking servers)
  c1=$(cg_cpu)
  python3 -c "print($c1 - $c0)" > "$OUT/$name.$test.$run.cgcpu"
  log "$name $test run $run: $(grep -E 'throughput|transfers|errors|kept' "$OUT/$name.$test.$run.txt" | tr -s ' ' | tr '\n' ';')"
}

# files_result NAME TEST RUN T0 T1 C0 DIR: files/s of a client run that should
# have fetched small/f0000..f0999 (4096 bytes each) into DIR.
files_result() {
  local name=$1 test=$2 run=$3 t0=$4 t1=$5 c0=$6 dir=$7 n
  n=$(find "$dir" -type f -size 4096c 2>/dev/null | wc -l)
  python3 -c "import json,sys; n=int(sys.argv[1]); t=float(sys.argv[3])-float(sys.argv[2]);
print(json.dumps({'transfers_per_s': n/t, 'files': n, 'elapsed_s': t, 'errors_total': 1000-n, 'bytes_down': n*4096}))" \
    "$n" "$t0" "$t1" > "$OUT/$name.$test.$run.json"
  python3 -c "print($(cg_cpu) - $c0)" > "$OUT/$name.$test.$run.cgcpu"
  log "$name $test run $run: $n files in $(python3 -c "print(round($t1-$t0,3))") s"
}

# The mirror clients against NAME (on its defaults): lftp mirror and curl -Z.
run_mirror() {
  local name=$1 port=${PORT[$1]} r t0 c0 dir=$LAB/mirror-out
  for r in $(seq 1 "$RUNS"); do
    rm -rf "$dir"; mkdir -p "$dir"
    c0=$(cg_cpu); t0=$EPOCHREALTIME
    timeout 300 lftp -c "set net:max-retries 2; set net:timeout 20; open ftp://127.0.0.1:$port; mirror --parallel=50 small $dir/lftp" \
      > "$OUT/$name.m_lftp.$r.txt" 2>&1 || true
    files_result "$name" m_lftp "$r" "$t0" "$EPOCHREALTIME" "$c0" "$dir/lftp"
    mkdir -p "$dir/curl"
    for i in $(seq -f %04g 0 999); do
      printf 'url = "ftp://127.0.0.1:%s/small/f%s"\noutput = "%s/curl/f%s"\n' "$port" "$i" "$dir" "$i"
    done > "$OUT/$name.m_curl.cfg"
    c0=$(cg_cpu); t0=$EPOCHREALTIME
    timeout 300 curl -s -S -Z --parallel-max 50 -K "$OUT/$name.m_curl.cfg" > "$OUT/$name.m_curl.$r.txt" 2>&1 || true
    files_result "$name" m_curl "$r" "$t0" "$EPOCHREALTIME" "$c0" "$dir/curl"
  done
  rm -rf "$dir"
}

run_ftp() {
  local name=$1 only_retr=${2:-0}
  if [ "$QUICK" = 1 ]; then
    for r in $(seq 1 "$RUNS"); do
      bench "$name" c "$r" --op retr --files 'small/f{0000..0999}' --sessions 50 --reuse --count 1000 --login-window 16
      sync; rm -f "$ROOT"/incoming/rb-*
      bench "$name" d "$r" --op stor --user bench --pass bench --files gen:1g --count 1 --upload-dir incoming --verify
      rm -f "$ROOT"/incoming/rb-*
    done
    return
  fi
  for r in $(seq 1 "$RUNS"); do
    for m in pasv epsv port eprt; do
      bench "$name" "a_$m" "$r" --op retr --files /1g.bin --count 1 --mode "$m" --sink splice
    done
    bench "$name" b "$r" --op retr --files /64m.bin --sessions 64 --count 64 --login-window 16 --sink splice
    [ "$only_retr" = 1 ] && continue
    bench "$name" l "$r" --op login --sessions 50 --count 2000 --login-window 50
    bench "$name" c "$r" --op retr --files 'small/f{0000..0999}' --sessions 50 --reuse --count 1000 --login-window 16
    sync; rm -f "$ROOT"/incoming/rb-*
    bench "$name" d "$r" --op stor --user bench --pass bench --files gen:1g --count 1 --upload-dir incoming --verify
    rm -f "$ROOT"/incoming/rb-*
    bench "$name" e "$r" --op idle --sessions "$IDLE_N" --duration 5 --login-window 16
  done
}

# start_ringftpd NAME RETR_PATH [defaults]: "defaults" leaves every limit at
# its default (the mirror rows); otherwise the bench's many sessions from one
# address are let through.
start_ringftpd() {
  local name=$1 path=$2 users=$LAB/ringftpd.users limits=()
  [ "${3:-}" = defaults ] || limits=(--sessions-max 5000 --sessions-per-ip-max 0
    --connections-per-ip-per-sec-max 0 --commands-per-sec-max 0)
  echo "bench:$(echo bench | "$RINGFTPD" passwd):$ROOT:all" > "$users"
  : > "$LAB/ringftpd.log"
  "$RINGFTPD" --root "$ROOT" --listen "127.0.0.1:${PORT[$name]}" --pasv-ports 61000-61999 \
    --retr-path "$path" --users "$users" "${limits[@]}" > "$LAB/ringftpd.log" 2>&1 &
  SPID=$!
  cg_attach "$name" "$SPID"
  for _ in $(seq 50); do grep -q listening "$LAB/ringftpd.log" && return 0; sleep 0.1; done
  echo "compare.sh: ringftpd did not start: $(cat "$LAB/ringftpd.log")" >&2; exit 1
}

# nginx: HTTP equivalents of a, b, c with curl; writes the same JSON fields.
run_nginx() {
  local port=8080 url=http://127.0.0.1:8080 r t0 t1
  for r in $(seq 1 "$RUNS"); do
    local s
    if [ "$QUICK" = 1 ]; then
      printf "url = \"$url/small/f%04d\"\noutput = \"/dev/null\"\n" $(seq 0 999) > "$OUT/nginx.c.curlcfg"
      t0=$EPOCHREALTIME; curl -s -Z --parallel-max 50 -K "$OUT/nginx.c.curlcfg"; t1=$EPOCHREALTIME
      echo "{\"transfers_per_s\": $(python3 -c "print(1000/($t1-$t0))")}" > "$OUT/nginx.c.$r.json"
      continue
    fi
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
# The ceiling for one loopback TCP stream: iperf3 -Z (sendfile) moving 1 GiB.
[ "$QUICK" = 1 ] || command -v iperf3 >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q iperf3 >&2 || true
if [ "$QUICK" != 1 ] && command -v iperf3 >/dev/null; then
  for r in $(seq 1 "$RUNS"); do
    iperf3 -s -1 -p 5299 >/dev/null 2>&1 &
    ip=$!
    for _ in $(seq 50); do ss -Hltn "sport = :5299" | grep -q . && break; sleep 0.1; done
    iperf3 -c 127.0.0.1 -p 5299 -Z -n 1073741824 -J > "$OUT/iperf3.raw.$r" 2>/dev/null || true
    wait "$ip" 2>/dev/null || true
    python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(json.dumps({'throughput_mb_per_s': j['end']['sum_received']['bits_per_second']/8e6}))" \
      "$OUT/iperf3.raw.$r" > "$OUT/iperf3.a_tcp.$r.json" 2>/dev/null || rm -f "$OUT/iperf3.a_tcp.$r.json"
    log "iperf3 run $r: $(cat "$OUT/iperf3.a_tcp.$r.json" 2>/dev/null)"
  done
fi
VARIANTS="ringftpd:sendfile ringftpd-splice:splice"
[ "$QUICK" = 1 ] && VARIANTS=ringftpd:sendfile
for variant in $VARIANTS; do
  name=${variant%%:*}
  log "$name"
  start_ringftpd "$name" "${variant#*:}"
  if [ "$name" = ringftpd ]; then run_ftp "$name"; else run_ftp "$name" 1; fi
  cg_detach
  kill "$SPID"; wait "$SPID" 2>/dev/null || true
  if [ "$name" = ringftpd ]; then
    log "$name on defaults: mirror clients"
    start_ringftpd "$name" "${variant#*:}" defaults
    run_mirror "$name"
    cg_detach
    kill "$SPID"; wait "$SPID" 2>/dev/null || true
  fi
done
for p in $PEERS; do
  log "$p"
  PURE_PASV=41000:44999 bash "$LABSH/peers.sh" start "$p" "${PORT[$p]}" "$ROOT" >&2
  SPID=$(cat "$LAB/$p.pid" 2>/dev/null || true)
  [ -n "$SPID" ] && cg_attach "$p" "$SPID"
  run_ftp "$p"
  run_mirror "$p"
  cg_detach
  bash "$LABSH/peers.sh" stop "$p" >&2 || true
done
SPID=""
if bash "$LABSH/peers.sh" start nginx 8080 "$ROOT" >&2; then
  run_nginx
  bash "$LABSH/peers.sh" stop nginx >&2 || true
fi
# A quick run checks the script, so its report stays out of docs/.
if [ "$QUICK" = 1 ]; then DOCS=${DOCS:-$OUT}; else DOCS=${DOCS:-$REPO/docs}; fi
mkdir -p "$DOCS"
COMMAND="QUICK=$QUICK RUNS=$RUNS PEERS=\"$PEERS\" IDLE_N=$IDLE_N bash scripts/compare.sh" RUNS=$RUNS \
  python3 "$REPO/scripts/compare_report.py" "$OUT" "$DOCS"
log "wrote $DOCS/performance.md and $DOCS/performance.png"
