#!/usr/bin/env bash
# Bandwidth-limit check (a benchmark, not a test): is a throttled transfer's
# measured rate within 5% of its limit?
#
#   bash scripts/rate-check.sh                  # uses target/release or target/debug
#   BIN=/path/to/ringftpd SECS=10 bash scripts/rate-check.sh
#
# For each rate in RATES (bytes/s) it starts ringftpd on 127.0.0.1 with
# --download-rate-bytes-per-sec and --upload-rate-bytes-per-sec set to it,
# downloads a file of RATE*SECS bytes with curl (RETR, sendfile path, then
# splice path) and uploads one (STOR into the anonymous drop-box), and
# prints the measured rate: bytes / (curl's time_total - time_pretransfer),
# i.e. from the transfer command to the end. Then the server-wide cap:
# --server-download-rate-bytes-per-sec with two parallel downloads, whose
# summed rate is compared with the cap. Exit code 1 if any is off by > 5%.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
BIN=${BIN:-}
if [[ -z $BIN ]]; then
    for b in "$TARGET/release/ringftpd" "$TARGET/debug/ringftpd"; do
        [[ -x $b ]] && BIN=$b && break
    done
fi
[[ -x ${BIN:-} ]] || { echo "no ringftpd binary (build it, or set BIN)" >&2; exit 2; }
RATES=${RATES:-"1000000 10000000 50000000"}
SECS=${SECS:-8}
PASV=${PASV:-21000-21999}

WORK=$(mktemp -d /tmp/ringftpd-rate.XXXXXX)
SRV=""
cleanup() {
    [[ -n $SRV ]] && kill "$SRV" 2>/dev/null && wait "$SRV" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/root/incoming"

# Starts ringftpd with the given flags; sets SRV and PORT.
start() {
    "$BIN" --root "$WORK/root" --listen 127.0.0.1:0 --pasv-ports "$PASV" \
        --anon-dropbox incoming "$@" >"$WORK/out" 2>"$WORK/err" &
    SRV=$!
    for _ in $(seq 100); do
        [[ -s $WORK/out ]] && break
        sleep 0.1 # polling the start line of a background process
    done
    PORT=$(awk '{print $4}' "$WORK/out" | head -1 | sed 's/.*://')
    [[ -n $PORT ]] || { cat "$WORK/err" >&2; exit 2; }
}

stop() {
    kill "$SRV" && wait "$SRV" 2>/dev/null || true
    SRV=""
    : >"$WORK/out"
}

FAIL=0
# report WHAT LIMIT BYTES SECONDS
report() {
    python3 - "$@" <<'EOF'
import sys
what, limit, size, secs = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
rate = size / secs
off = (rate - limit) / limit * 100
ok = abs(off) <= 5
print(f"| {what} | {limit/1e6:g} | {rate/1e6:.3f} | {off:+.2f}% | {'ok' if ok else 'OFF'} |")
sys.exit(0 if ok else 1)
EOF
}

# curl's transfer time: from the transfer command to the end.
timed() {
    curl -s --max-time 600 -w '%{time_pretransfer} %{time_total}\n' "$@" |
        awk '{printf "%.6f\n", $2 - $1}'
}

echo "| transfer | limit MB/s | measured MB/s | off | within 5% |"
echo "|---|---|---|---|---|"
for rate in $RATES; do
    size=$((rate * SECS))
    head -c "$size" /dev/urandom >"$WORK/root/f.bin"
    for path in sendfile splice; do
        start --download-rate-bytes-per-sec "$rate" --upload-rate-bytes-per-sec "$rate" \
            --retr-path "$path" --cores 1
        t=$(timed -o /dev/null "ftp://127.0.0.1:$PORT/f.bin")
        report "RETR ($path)" "$rate" "$size" "$t" || FAIL=1
        if [[ $path == sendfile ]]; then
            t=$(timed -T "$WORK/root/f.bin" "ftp://127.0.0.1:$PORT/incoming/u$rate.bin")
            report "STOR" "$rate" "$size" "$t" || FAIL=1
            cmp -s "$WORK/root/f.bin" "$WORK/root/incoming/u$rate.bin" ||
                { echo "upload not byte-exact" >&2; FAIL=1; }
        fi
        stop
    done
done

# The server-wide cap, split per worker: two parallel downloads on one worker.
rate=${CAP:-20000000}
size=$((rate * SECS / 2))
head -c "$size" /dev/urandom >"$WORK/root/f.bin"
start --server-download-rate-bytes-per-sec "$rate" --cores 1
start_ns=$(date +%s%N)
curl -s -o /dev/null "ftp://127.0.0.1:$PORT/f.bin" &
c1=$!
curl -s -o /dev/null "ftp://127.0.0.1:$PORT/f.bin"
wait "$c1"
end_ns=$(date +%s%N)
t=$(python3 -c "print(($end_ns - $start_ns) / 1e9)")
report "2 x RETR, server-wide cap (incl. logins)" "$rate" "$((size * 2))" "$t" || FAIL=1
stop
exit $FAIL
