#!/usr/bin/env bash
# Soak: a mixed load on one ringftpd for a given time, watching for growth.
#
#   bash scripts/soak.sh SECONDS [OUT_DIR]
#
# (each load uploads into its own directory: the bench names uploads by
# process, worker and session, which two bench processes share)
# Starts ringftpd (release build, 2 workers) on a fresh tree and runs four
# ringftp-bench loads at once for SECONDS: downloads/uploads/listings over 16
# reused sessions (--op mixed --reuse --verify), the same mix with one login
# per transfer on 4 sessions (PASV), anonymous connect+login+QUIT on 2
# sessions, and 500 anonymous idle sessions held to the end. Every second it samples the server's RSS, open
# fds and worker/helper threads into OUT_DIR/samples.csv.
#
# It fails (exit 1) when:
#   - the server process or any of its worker or helper threads is gone;
#   - RSS at the end of the load exceeds RSS after the warm-up (the first
#     fifth of the run) by more than 10% + 8 MiB;
#   - the fd count, once the load has stopped, is above the count before it;
#   - a bench run reports errors (verify failures, refused sessions).
# Not in CI: it runs as long as asked. The figures go to docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:?usage: scripts/soak.sh SECONDS [OUT_DIR]}"
case "$secs" in *[!0-9]*|'') echo "soak.sh: SECONDS is a whole number" >&2; exit 2 ;; esac
[ "$secs" -ge 10 ] || { echo "soak.sh: run for at least 10 seconds" >&2; exit 2; }
out="${2:-$(mktemp -d -t ringftpd-soak.XXXXXX)}"
mkdir -p "$out"

cargo build --release --bins >/dev/null 2>&1 || cargo build --release --bins
bin=target/release
tree="$(mktemp -d -t ringftpd-soak-tree.XXXXXX)"
mkdir -p "$tree/pub/small" "$tree/incoming/reuse" "$tree/incoming/login"
for i in $(seq -w 0 199); do head -c 4096 /dev/urandom >"$tree/pub/small/f$i"; done
head -c $((8 << 20)) /dev/urandom >"$tree/pub/big"
# sha512-crypt rather than `ringftpd passwd`'s argon2id: a login per
# transfer is part of the load, and argon2id (19 MiB, tens of ms each) would
# make it a password-hashing benchmark.
hash="$(openssl passwd -6 -salt soaksalt soak-pass)"
printf 'soak:%s:%s:all\n' "$hash" "$tree" >"$tree/../soak-users.$$"
users="$tree/../soak-users.$$"

"$bin/ringftpd" --root "$tree" --users "$users" --listen 127.0.0.1:0 --cores 2 \
    --pasv-ports 63000-63999 --sessions-per-ip-max 0 --connections-per-ip-per-sec-max 0 \
    --commands-per-sec-max 0 --sessions-max 4000 --idle-timeout-secs $((secs + 300)) >"$out/server.out" 2>"$out/server.err" &
srv=$!
cleanup() {
    kill "$srv" 2>/dev/null || true
    jobs -p | xargs -r kill 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$tree" "$users"
}
trap cleanup EXIT
for _ in $(seq 1 300); do
    [ -s "$out/server.out" ] && break
    kill -0 "$srv" 2>/dev/null || { cat "$out/server.err" >&2; exit 1; }
    sleep 0.1
done
addr="$(awk '{print $4}' "$out/server.out" | cut -d, -f1)"
echo "soak: ringftpd pid $srv on $addr for $secs s; samples in $out/samples.csv"

threads() { grep -l -E '^ringftpd-(w|h)' /proc/"$srv"/task/*/comm 2>/dev/null | wc -l; }
rss_kib() { awk '/^VmRSS:/ {print $2}' /proc/"$srv"/status; }
fds() { ls /proc/"$srv"/fd | wc -l; }

threads0="$(threads)"
fds0="$(fds)"
rss0="$(rss_kib)"
echo "soak: before the load: RSS ${rss0} KiB, fds $fds0, worker+helper threads $threads0"

common=(--server "$addr" --user soak --pass soak-pass --duration "$secs")
files="pub/small/f{000..199},pub/big,gen:4k,gen:1m"
"$bin/ringftp-bench" "${common[@]}" --op mixed --mix retr=8,stor=1,list=1 --files "$files" \
    --sessions 16 --reuse --upload-dir incoming/reuse --mode epsv --verify --expect "local:$tree" \
    --json "$out/mixed-reuse.json" >"$out/mixed-reuse.txt" 2>&1 &
b1=$!
"$bin/ringftp-bench" "${common[@]}" --op mixed --mix retr=6,stor=2,list=2 --files "$files" \
    --sessions 4 --upload-dir incoming/login --mode pasv \
    --json "$out/mixed-login.json" >"$out/mixed-login.txt" 2>&1 &
b2=$!
"$bin/ringftp-bench" --server "$addr" --duration "$secs" --op login --sessions 2 \
    --json "$out/login.json" >"$out/login.txt" 2>&1 &
b3=$!
"$bin/ringftp-bench" --server "$addr" --op idle --sessions 500 \
    --duration "$secs" --json "$out/idle.json" >"$out/idle.txt" 2>&1 &
b4=$!

echo "t_secs,rss_kib,fds,threads" >"$out/samples.csv"
fail=""
start=$(date +%s)
warm_rss=""
while :; do
    t=$(( $(date +%s) - start ))
    if ! kill -0 "$srv" 2>/dev/null; then fail="server process gone at ${t}s"; break; fi
    th="$(threads)"
    r="$(rss_kib)"
    f="$(fds)"
    echo "$t,$r,$f,$th" >>"$out/samples.csv"
    if [ "$th" -ne "$threads0" ]; then fail="worker/helper threads $th at ${t}s (started with $threads0)"; break; fi
    if [ -z "$warm_rss" ] && [ "$t" -ge $(( secs / 5 )) ]; then warm_rss="$r"; fi
    running=0
    for b in $b1 $b2 $b3 $b4; do kill -0 "$b" 2>/dev/null && running=1; done
    [ "$running" -eq 1 ] || break
    [ "$t" -le $(( secs + 120 )) ] || { fail="bench still running 120 s after the end"; break; }
    sleep 1
done
end_rss="$(rss_kib 2>/dev/null || echo 0)"

bench_fail=""
for b in $b1 $b2 $b3 $b4; do wait "$b" || bench_fail="a bench run exited non-zero"; done
for f in mixed-reuse mixed-login login idle; do
    echo "== $f"; tail -n 25 "$out/$f.txt"
done

# The load has stopped: the server's fds must come back (it closes a socket
# when the ring reports the peer's close).
settled="$(fds 2>/dev/null || echo -1)"
for _ in $(seq 1 100); do
    [ "$settled" -le "$fds0" ] && break
    sleep 0.2
    settled="$(fds 2>/dev/null || echo -1)"
done

max_rss="$(awk -F, 'NR > 1 && $2 > m {m = $2} END {print m}' "$out/samples.csv")"
max_fds="$(awk -F, 'NR > 1 && $3 > m {m = $3} END {print m}' "$out/samples.csv")"
echo "soak: ${secs}s; RSS ${rss0} KiB before, ${warm_rss:-?} after warm-up, ${end_rss} at the end (max ${max_rss}); fds $fds0 before, max $max_fds under load, $settled after; threads $threads0 throughout"

if [ -z "$fail" ] && [ -n "$warm_rss" ]; then
    limit=$(( warm_rss + warm_rss / 10 + 8192 ))
    [ "$end_rss" -le "$limit" ] || fail="RSS grew from $warm_rss KiB (warm) to $end_rss KiB"
fi
[ -n "$fail" ] || [ "$settled" -le "$fds0" ] || fail="fds $settled after the load, $fds0 before"
[ -n "$fail" ] || [ -z "$bench_fail" ] || fail="$bench_fail"
[ -n "$fail" ] || ! grep -q -E '^ *errors? *[1-9]|"errors": *[1-9]' "$out"/*.txt "$out"/*.json 2>/dev/null || fail="bench runs reported errors (see $out)"
if [ -n "$fail" ]; then
    echo "soak: FAILED: $fail" >&2
    exit 1
fi
echo "soak: passed"
