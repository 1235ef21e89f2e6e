#!/usr/bin/env bash
# The one test command: formatting, lints, and every test (unit, real-socket,
# ftplib, curl, 1 GiB) in release mode. Installs curl, python3, rustfmt and
# clippy first when they are missing. Exits non-zero on the first failure.
#
#   bash scripts/test.sh
#
# Environment: CARGO_TARGET_DIR is honoured; TEST_THREADS (default: cargo's)
# limits parallel tests inside one test binary.
set -euo pipefail

cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "scripts/test.sh: need root to install $*" >&2
        return 1
    fi
}

missing=()
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
if [ "${#missing[@]}" -gt 0 ]; then
    step "installing ${missing[*]}"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

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
