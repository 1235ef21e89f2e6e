#!/usr/bin/env bash
# compare-tls.sh - FTPS single-stream download speed and server CPU: ringftpd
# against vsftpd (ssl_enable=YES) and proftpd (mod_tls), one server at a time,
# the same 1 GiB file, the same self-signed certificate, explicit FTPS
# (AUTH TLS, PBSZ 0, PROT P), passive (EPSV) data connections that resume the
# control connection's TLS session.
#
#   bash scripts/compare-tls.sh              # RUNS=5 each, writes the FTPS block of docs/performance.md
#   RUNS=3 PEERS=vsftpd bash scripts/compare-tls.sh
#   DOCS=/tmp/x bash scripts/compare-tls.sh  # the block goes to /tmp/x/performance.md instead
#
# Two clients, so that neither client's TLS stack alone decides the figure:
#   bench   ringftp-bench --tls explicit --op retr --files /1g.bin (rustls, TLS 1.2, decrypts every byte)
#   curl    curl --ssl-reqd ftp://.../1g.bin -o /dev/null (OpenSSL; TLS 1.3 where the server offers it)
# Server CPU is read from a cpuacct cgroup holding the server's whole process
# tree (../shared/lab/ptree.py), so vsftpd's and proftpd's forked sessions count.
# Needs the lab (bash ../shared/lab/setup.sh once) and openssl, curl.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
LABSH=${LABSH:-$(cd "$REPO/../shared/lab" 2>/dev/null && pwd || echo /work/shared/lab)}
LAB=${LAB:-/tmp/ftplab}
ROOT=$LAB/root
RUNS=${RUNS:-5}
PEERS=${PEERS:-"vsftpd proftpd"}
OUT=${OUT:-$LAB/tls-results}
DOCS=${DOCS:-$REPO/docs}
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
VSFTPD=${VSFTPD:-$LAB/pkg/usr/sbin/vsftpd}
PROFTPD=${PROFTPD:-/usr/sbin/proftpd}
declare -A PORT=([ringftpd]=2135 [vsftpd]=2131 [proftpd]=2133)
rm -rf "$OUT" && mkdir -p "$OUT"
[ -f "$ROOT/1g.bin" ] || { echo "compare-tls.sh: no lab data in $ROOT: run bash $LABSH/setup.sh" >&2; exit 2; }
(cd "$REPO" && cargo build --release --bins >&2)
BENCH=$TARGET/release/ringftp-bench
RINGFTPD=$TARGET/release/ringftpd
log() { echo "[compare-tls] $*" >&2; }

# One certificate for every server (RSA 2048, as most operators deploy).
TLSDIR=$LAB/tls
mkdir -p "$TLSDIR"
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=127.0.0.1 \
  -keyout "$TLSDIR/key.pem" -out "$TLSDIR/cert.pem" 2>/dev/null
chmod 644 "$TLSDIR/key.pem" "$TLSDIR/cert.pem"

CG=""
cg_cpu() { if [ -n "$CG" ]; then python3 "$LABSH/ptree.py" cg-cpu "$CG"; else echo 0; fi; }
cg_attach() { CG=$(python3 "$LABSH/ptree.py" cg-attach "$1" "$2" 2>/dev/null || true); }
cg_detach() { [ -n "$CG" ] && python3 "$LABSH/ptree.py" cg-detach "$CG" >/dev/null 2>&1; CG=""; }

wait_port() {
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

start_ringftpd() {
  "$RINGFTPD" --root "$ROOT" --listen "127.0.0.1:${PORT[ringftpd]}" --pasv-ports 61000-61999 \
    --tls-cert "$TLSDIR/cert.pem" --tls-key "$TLSDIR/key.pem" > "$OUT/ringftpd.log" 2>&1 &
  SPID=$!
}

start_vsftpd() {
  local d=$LAB/vsftpd-tls
  mkdir -p "$d/empty"; chmod 555 "$d/empty"
  # The lab's vsftpd settings (../shared/lab/peers.sh) plus TLS; ssl_ciphers=HIGH
  # because 3.0.3's default list is DES-CBC3-SHA alone, which no fair
  # comparison would use: HIGH lets it negotiate AES-GCM like the others.
  cat > "$d/vsftpd.conf" <<EOF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=${PORT[vsftpd]}
background=NO
anonymous_enable=YES
anon_root=$ROOT
no_anon_password=YES
anon_upload_enable=NO
local_enable=NO
pam_service_name=ftplab
pasv_enable=YES
pasv_min_port=40000
pasv_max_port=40999
use_sendfile=YES
max_clients=0
max_per_ip=0
dirmessage_enable=NO
xferlog_enable=NO
tcp_wrappers=NO
secure_chroot_dir=$d/empty
nopriv_user=nobody
ftp_username=ftp
seccomp_sandbox=NO
ssl_enable=YES
allow_anon_ssl=YES
force_anon_logins_ssl=YES
force_anon_data_ssl=YES
require_ssl_reuse=YES
ssl_ciphers=HIGH
rsa_cert_file=$TLSDIR/cert.pem
rsa_private_key_file=$TLSDIR/key.pem
EOF
  setsid "$VSFTPD" "$d/vsftpd.conf" 0>"$OUT/vsftpd.log" >>"$OUT/vsftpd.log" 2>&1 &
  SPID=$!
}

start_proftpd() {
  local d=$LAB/proftpd-tls
  mkdir -p "$d"
  cat > "$d/proftpd.conf" <<EOF
LoadModule            mod_tls.c
ServerType            standalone
ServerName            "proftpd lab tls"
DefaultServer         on
DefaultAddress        127.0.0.1
SocketBindTight       on
Port                  ${PORT[proftpd]}
UseIPv6               off
User                  proftpd
Group                 nogroup
PidFile               $d/proftpd.pid
ScoreboardFile        $d/scoreboard
DelayTable            $d/delay
SystemLog             $d/system.log
TransferLog           none
WtmpLog               off
UseReverseDNS         off
UseSendfile           on
<IfModule mod_delay.c>
  DelayEngine         off
</IfModule>
MaxInstances          500
PassivePorts          42000 42999
RequireValidShell     off
<IfModule mod_ident.c>
  IdentLookups        off
</IfModule>
<IfModule mod_tls.c>
  TLSEngine           on
  TLSLog              $d/tls.log
  TLSProtocol         TLSv1.2 TLSv1.3
  TLSRSACertificateFile     $TLSDIR/cert.pem
  TLSRSACertificateKeyFile  $TLSDIR/key.pem
  TLSRequired         on
  TLSVerifyClient     off
</IfModule>
<Anonymous $ROOT>
  User                ftp
  Group               nogroup
  UserAlias           anonymous ftp
  RequireValidShell   off
  MaxClients          none
  <Limit WRITE SITE_CHMOD>
    DenyAll
  </Limit>
</Anonymous>
EOF
  "$PROFTPD" -c "$d/proftpd.conf" </dev/null >"$OUT/proftpd.log" 2>&1
  for _ in $(seq 50); do [ -s "$d/proftpd.pid" ] && break; sleep 0.1; done
  SPID=$(cat "$d/proftpd.pid")
}

# run NAME CLIENT R: one 1 GiB download; $OUT/NAME.CLIENT.R.json gets MB/s and CPU s/GiB.
run() {
  local name=$1 client=$2 r=$3 port=${PORT[$1]} c0 c1 t0 t1 bytes cipher=""
  c0=$(cg_cpu); t0=$EPOCHREALTIME
  case $client in
    bench)
      "$BENCH" --quiet --server "127.0.0.1:$port" --tls explicit --op retr --files /1g.bin \
        --count 1 --mode epsv --sink read --json "$OUT/$name.bench.$r.raw.json" \
        > "$OUT/$name.bench.$r.txt" 2>&1 || true
      bytes=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1])).get('bytes_down', 0))" \
        "$OUT/$name.bench.$r.raw.json" 2>/dev/null || echo 0)
      cipher=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1])).get('tls') or '')" \
        "$OUT/$name.bench.$r.raw.json" 2>/dev/null || true) ;;
    curl)
      bytes=$(curl -s -k --ssl-reqd --max-time 120 -o /dev/null -w '%{size_download}' \
        "ftp://127.0.0.1:$port/1g.bin" 2>"$OUT/$name.curl.$r.txt" || echo 0)
      cipher=$(curl -s -k --ssl-reqd -v --max-time 10 "ftp://127.0.0.1:$port/hello.txt" -o /dev/null 2>&1 \
        | grep -oE 'SSL connection using [^ ]+ / [^ ]+' | head -1 | sed 's/SSL connection using //' || true) ;;
  esac
  t1=$EPOCHREALTIME
  sleep 0.3 # forked sessions finish
  c1=$(cg_cpu)
  python3 - "$bytes" "$t0" "$t1" "$c0" "$c1" "$cipher" > "$OUT/$name.$client.$r.json" <<'EOF'
import json, sys
b, t0, t1, c0, c1 = int(sys.argv[1] or 0), *map(float, sys.argv[2:6])
gib = b / 2**30
print(json.dumps({"bytes": b, "mb_per_s": b / (t1 - t0) / 1e6 if b else 0,
                  "cpu_s_per_gib": (c1 - c0) / gib if b else None, "tls": sys.argv[6]}))
EOF
  log "$name $client run $r: $(cat "$OUT/$name.$client.$r.json")"
}

for name in ringftpd $PEERS; do
  log "$name"
  "start_$name"
  wait_port "${PORT[$name]}" || { log "$name did not start: $(tail -5 "$OUT/$name.log")"; continue; }
  cg_attach "$name" "$SPID"
  for r in $(seq 1 "$RUNS"); do
    run "$name" bench "$r"
    run "$name" curl "$r"
  done
  cg_detach
  kill "$SPID" 2>/dev/null || true
  [ "$name" = proftpd ] && pkill -f "proftpd-tls/proftpd.conf" 2>/dev/null || true
  wait "$SPID" 2>/dev/null || true
done

mkdir -p "$DOCS"
COMMAND="RUNS=$RUNS PEERS=\"$PEERS\" bash scripts/compare-tls.sh" \
  python3 "$REPO/scripts/compare_tls_report.py" "$OUT" "$DOCS/performance.md" "ringftpd $PEERS"
log "wrote the FTPS block of $DOCS/performance.md"
