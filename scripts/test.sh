#!/usr/bin/env bash
# The one test command: formatting, lints, and every test (unit, real-socket,
# ftplib, curl, lftp, wget, tnftp, 1 GiB) in release mode. Installs the FTP
# clients (scripts/install-test-deps.sh), rustfmt and clippy first when
# missing. Exits non-zero when anything fails.
#
#   bash scripts/test.sh
#
# Environment: CARGO_TARGET_DIR is honoured; TEST_THREADS (default: cargo's)
# limits parallel tests inside one test binary.
set -euo pipefail

cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }


step "test clients (curl, lftp, wget, tnftp, rclone, python3) and haproxy"
if [ "$(id -u)" -eq 0 ] || command -v sudo >/dev/null; then
    sh scripts/install-test-deps.sh
else
    echo "scripts/test.sh: not root and no sudo: clients must already be installed" >&2
fi
# A missing client fails its interop test instead of skipping it.
export RINGFTPD_REQUIRE_CLIENTS=1

for component in rustfmt clippy; do
    if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
        step "installing rustup component $component"
        rustup component add "$component"
    fi
done

step "cargo fmt --check"
cargo fmt --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

step "cargo test --release --no-fail-fast"
test_args=()
if [ -n "${TEST_THREADS:-}" ]; then
    test_args+=(-- --test-threads "$TEST_THREADS")
fi
cargo test --release --no-fail-fast "${test_args[@]}"

step "all tests passed"
