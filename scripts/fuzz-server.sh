#!/usr/bin/env bash
# Runs the live-server fuzzer (tests/fuzz_server.rs) with fresh seeds for as
# long as asked, and stops at the first finding. Each round starts a new
# server and runs FUZZ_SESSIONS random sessions on FUZZ_CLIENTS threads; the
# seed of every round is printed, and a finding names the seed and session
# that replay it (FUZZ_SEED=… FUZZ_ONLY=… cargo test --release --test fuzz_server).
#
#   bash scripts/fuzz-server.sh SECONDS [SESSIONS_PER_ROUND]
#
# Exit status: 0 when every round passed, 1 at the first failing round.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:?usage: scripts/fuzz-server.sh SECONDS [SESSIONS_PER_ROUND]}"
per_round="${2:-5000}"
case "$secs$per_round" in *[!0-9]*) echo "fuzz-server.sh: SECONDS and SESSIONS_PER_ROUND are whole numbers" >&2; exit 2 ;; esac

cargo test --release --test fuzz_server --no-run >/dev/null 2>&1 || cargo test --release --test fuzz_server --no-run

end=$(( $(date +%s) + secs ))
rounds=0
sessions=0
log="$(mktemp -t fuzz-server.XXXXXX)"
while [ "$(date +%s)" -lt "$end" ]; do
    seed="$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')"
    if ! FUZZ_SEED="$seed" FUZZ_SESSIONS="$per_round" \
        cargo test --release --test fuzz_server -- --nocapture >"$log" 2>&1; then
        cat "$log"
        echo "fuzz-server.sh: finding in round $((rounds + 1)) (FUZZ_SEED=$seed); full output above" >&2
        exit 1
    fi
    rounds=$((rounds + 1))
    sessions=$((sessions + per_round))
    grep -h '^fuzz_server: [0-9]' "$log" | sed "s/^/round $rounds seed $seed: /"
done
rm -f "$log"
echo "fuzz-server.sh: $rounds rounds, $sessions sessions, no finding"
