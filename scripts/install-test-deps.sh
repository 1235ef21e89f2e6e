#!/bin/sh
# Installs the FTP clients the interop tests drive (curl, lftp, wget, tnftp,
# rclone, python3), haproxy (tests/ops_cluster.rs) and openssl (the FTPS
# tests make their self-signed certificate with it), each only when it is
# missing. Idempotent; needs apt-get (Debian or
# Ubuntu) and root or sudo for the install itself.
set -eu

missing=""
for tool in curl lftp wget tnftp rclone python3 haproxy openssl; do
    command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -z "$missing" ]; then
    echo "install-test-deps: curl lftp wget tnftp rclone python3 haproxy openssl already installed"
    exit 0
fi
echo "install-test-deps: installing:$missing"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-test-deps: no apt-get here; install$missing by hand" >&2
    exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# The package is named as the tool for each of them (python3 included).
$SUDO apt-get update -q
# shellcheck disable=SC2086 # one word per package, on purpose
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing
