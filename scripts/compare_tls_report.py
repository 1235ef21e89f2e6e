#!/usr/bin/env python3
"""The FTPS block of docs/performance.md, from scripts/compare-tls.sh's results.

    compare_tls_report.py OUT_DIR PERFORMANCE_MD "ringftpd vsftpd proftpd"

Reads OUT_DIR/NAME.CLIENT.RUN.json ({"bytes", "mb_per_s", "cpu_s_per_gib",
"tls"}) and replaces the text between the FTPS markers in PERFORMANCE_MD
(appends the block when the file has none), so scripts/compare.sh and this
script can each regenerate their own part of the file.
"""

import glob
import json
import os
import re
import statistics
import sys

BEGIN = "<!-- ftps:begin (scripts/compare-tls.sh) -->"
END = "<!-- ftps:end -->"
CLIENTS = [
    ("bench", "ringftp-bench --tls explicit (rustls)"),
    ("curl", "curl --ssl-reqd (OpenSSL)"),
]


def runs(out, name, client):
    rows = []
    for path in sorted(glob.glob(os.path.join(out, f"{name}.{client}.*.json"))):
        if path.endswith(".raw.json"):
            continue
        with open(path) as f:
            rows.append(json.load(f))
    return rows


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, digits=0):
    return "—" if v is None else f"{v:,.{digits}f}"


def block(out, names, command):
    lines = [
        BEGIN,
        "## FTPS: one 1 GiB RETR over explicit TLS (issue 11)",
        "",
        f"Command: `{command}` (one server at a time, the same self-signed RSA 2048",
        "certificate, AUTH TLS + PBSZ 0 + PROT P, EPSV, each data connection resuming",
        "its control connection's TLS session). Medians of the runs, min-max in brackets;",
        "server CPU from a cpuacct cgroup holding the server's whole process tree.",
        "A run that moved fewer than 1 GiB counts as a failure (shown as `failed`).",
        "",
    ]
    med_of = {}
    for client, label in CLIENTS:
        lines += [
            f"**Client: {label}**",
            "",
            "| server | MB/s | CPU s/GiB | runs ok | TLS |",
            "| --- | ---: | ---: | ---: | --- |",
        ]
        for name in names:
            rs = runs(out, name, client)
            ok = [r for r in rs if r.get("bytes", 0) >= 2**30]
            mbs = [r["mb_per_s"] for r in ok]
            cpu = [r["cpu_s_per_gib"] for r in ok]
            tls = next((r["tls"] for r in ok if r.get("tls")), "")
            m, c = med(mbs), med(cpu)
            med_of[(name, client)] = (m, c)
            rng = f" [{min(mbs):,.0f}-{max(mbs):,.0f}]" if mbs else ""
            crng = f" [{min(cpu):.2f}-{max(cpu):.2f}]" if cpu else ""
            okn = f"{len(ok)}/{len(rs)}" if rs else "not run"
            lines.append(
                f"| {name} | {fmt(m)}{rng} | {fmt(c, 2)}{crng} | {okn} | {tls if ok else 'failed'} |"
            )
        lines.append("")
    lines += [
        "**Targets** (issue 11: at least 2x vsftpd's MB/s, at most 0.8x its CPU per GiB):",
        "",
        "| client | MB/s ringftpd / vsftpd | met? | CPU/GiB ringftpd / vsftpd | met? |",
        "| --- | ---: | --- | ---: | --- |",
    ]
    for client, label in CLIENTS:
        rm, rc = med_of.get(("ringftpd", client), (None, None))
        vm, vc = med_of.get(("vsftpd", client), (None, None))
        if None in (rm, vm) or not vm:
            lines.append(f"| {client} | — | not measured | — | not measured |")
            continue
        speed = rm / vm
        cpu = (rc / vc) if (rc is not None and vc) else None
        lines.append(
            f"| {client} | {speed:.2f}x | {'met' if speed >= 2 else 'missed'} | "
            f"{fmt(cpu, 2)}x | {'—' if cpu is None else ('met' if cpu <= 0.8 else 'missed')} |"
        )
    lines += ["", END]
    return "\n".join(lines) + "\n"


def main():
    out, md, names = sys.argv[1], sys.argv[2], sys.argv[3].split()
    command = os.environ.get("COMMAND", "bash scripts/compare-tls.sh")
    new = block(out, names, command)
    text = open(md).read() if os.path.exists(md) else "# Performance\n\n"
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END) + "\n?", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: new, text)
    else:
        text = text.rstrip("\n") + "\n\n" + new
    with open(md, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
