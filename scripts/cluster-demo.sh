#!/bin/sh
# Two ringftpd nodes behind HAProxy on one machine (docs/cluster.md):
# HAProxy on 127.0.0.1:FRONT (mode tcp, balance source, send-proxy-v2 from
# 127.0.0.4), node a on 127.0.0.2 and node b on 127.0.0.3, each with its own
# --pasv-address and passive range, which HAProxy also forwards on
# 127.0.0.1 (for EPSV clients) with the client's own source address.
#
#   scripts/cluster-demo.sh [ROOT [FRONT]]
#       builds nothing: uses target/release/ringftpd (or $RINGFTPD); serves
#       ROOT (default .) on 127.0.0.1:FRONT (default 2121) until Ctrl-C.
#   scripts/cluster-demo.sh --haproxy-config FRONT PORT_A PORT_B
#       prints the HAProxy configuration only (tests/ops_cluster.rs uses it).
#
# The data backends use "source 0.0.0.0 usesrc clientip" (transparent
# proxying: needs root or CAP_NET_ADMIN for HAProxy), so a node sees the
# client's own address on the EPSV data connection, as its passive peer
# check requires.
set -eu

# Passive ranges: node a, node b.
PASV_A=26400-26419
PASV_B=26420-26439

haproxy_config() {
    front=$1 port_a=$2 port_b=$3
    cat <<CFG
global
    maxconn 4096

defaults
    mode tcp
    timeout connect 5s
    timeout client 10m
    timeout server 10m

# Control connections: one client address always reaches the same node.
frontend ftp
    bind 127.0.0.1:$front
    default_backend nodes

backend nodes
    balance source
    server a 127.0.0.2:$port_a send-proxy-v2 source 127.0.0.4
    server b 127.0.0.3:$port_b send-proxy-v2 source 127.0.0.4

# Passive data ports, each node's range to that node (no PROXY header on
# data connections; the client's address is kept instead).
frontend pasv_a
    bind 127.0.0.1:$PASV_A
    default_backend data_a

backend data_a
    server a 127.0.0.2 source 0.0.0.0 usesrc clientip

frontend pasv_b
    bind 127.0.0.1:$PASV_B
    default_backend data_b

backend data_b
    server b 127.0.0.3 source 0.0.0.0 usesrc clientip
CFG
}

if [ "${1:-}" = "--haproxy-config" ]; then
    [ $# -eq 4 ] || { echo "usage: $0 --haproxy-config FRONT PORT_A PORT_B" >&2; exit 2; }
    haproxy_config "$2" "$3" "$4"
    exit 0
fi

root=${1:-.}
front=${2:-2121}
bin=${RINGFTPD:-target/release/ringftpd}
command -v haproxy >/dev/null || { echo "$0: haproxy is not installed (scripts/install-test-deps.sh)" >&2; exit 1; }
[ -x "$bin" ] || { echo "$0: $bin not found: cargo build --release, or set RINGFTPD" >&2; exit 1; }

dir=$(mktemp -d)
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

# start_node NAME IP PASV: a node on IP:0 (its port is in its start line).
start_node() {
    "$bin" --root "$root" --listen "$2:0" --pasv-address "$2" --pasv-ports "$3" \
        --proxy-from 127.0.0.4 --greeting "ringftpd node $1" \
        --log-format text --log-file "$dir/$1.events" >"$dir/$1.out" &
    pids="$pids $!"
}

# node_port NAME: waits (up to 30 s) for the start line, prints the port.
node_port() {
    n=0
    while ! [ -s "$dir/$1.out" ]; do
        n=$((n + 1))
        [ "$n" -le 300 ] || { echo "$0: node $1 did not start" >&2; exit 1; }
        sleep 0.1
    done
    sed -n 's/^ringftpd listening on [^:]*:\([0-9]*\) .*/\1/p' "$dir/$1.out"
}

start_node a 127.0.0.2 "$PASV_A"
start_node b 127.0.0.3 "$PASV_B"
port_a=$(node_port a)
port_b=$(node_port b)
haproxy_config "$front" "$port_a" "$port_b" >"$dir/haproxy.cfg"
haproxy -f "$dir/haproxy.cfg" -db &
pids="$pids $!"
echo "cluster: ftp://127.0.0.1:$front (node a 127.0.0.2:$port_a, node b 127.0.0.3:$port_b)"
echo "event logs: $dir/a.events $dir/b.events; Ctrl-C stops everything"
wait
