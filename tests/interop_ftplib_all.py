"""Python ftplib against ringftpd: every public command method of ftplib.FTP,
in passive (PASV) and active (PORT) mode. Prints one line per case:
CASE<TAB>operation<TAB>mode<TAB>ok|reason. Used by tests/interop_clients.rs.

usage: interop_ftplib_all.py HOST PORT USER PASS ROOT
"""
import ftplib
import hashlib
import io
import os
import sys
import threading

host, port, user, password, root = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
data = bytes((i * 7 + 3) % 251 for i in range(3_000_000))


def case(op, mode, fn):
    try:
        fn()
        print(f"CASE\t{op}\t{mode}\tok", flush=True)
    except Exception as e:  # report, keep going
        print(f"CASE\t{op}\t{mode}\t{type(e).__name__}: {e}".replace("\n", " "), flush=True)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def connect(passive):
    f = ftplib.FTP()
    f.connect(host, port, timeout=30)
    f.login(user, password)
    f.set_pasv(passive)
    return f


for passive, mode in [(True, "PASV"), (False, "PORT")]:
    f = connect(passive)
    d = f"ftplib-{mode}"

    case("mkd/cwd/pwd", mode, lambda: (f.mkd(d), f.cwd(d), check(f.pwd() == f"/{d}", f.pwd()), f.cwd("/")))
    case("storbinary", mode, lambda: (f.storbinary(f"STOR {d}/a.bin", io.BytesIO(data)),
                                      check(open(os.path.join(root, d, "a.bin"), "rb").read() == data, "bytes")))

    def retr():
        buf = bytearray()
        f.retrbinary(f"RETR {d}/a.bin", buf.extend)
        check(bytes(buf) == data, "bytes")
    case("retrbinary", mode, retr)

    def retr_rest():
        buf = bytearray()
        f.retrbinary(f"RETR {d}/a.bin", buf.extend, rest=1000)
        check(bytes(buf) == data[1000:], "rest bytes")
    case("retrbinary rest", mode, retr_rest)

    def storlines():
        f.storlines(f"STOR {d}/t.txt", io.BytesIO(b"one\ntwo\n"))
        check(open(os.path.join(root, d, "t.txt"), "rb").read() == b"one\ntwo\n", "TYPE A upload")
        lines = []
        f.retrlines(f"RETR {d}/t.txt", lines.append)
        check(lines == ["one", "two"], lines)
    case("storlines/retrlines", mode, storlines)

    def appe():
        f.storbinary(f"APPE {d}/t.txt", io.BytesIO(b"three\n"))
        check(open(os.path.join(root, d, "t.txt"), "rb").read() == b"one\ntwo\nthree\n", "append")
    case("APPE", mode, appe)

    case("nlst", mode, lambda: check(sorted(f.nlst(d)) in (["a.bin", "t.txt"], [f"{d}/a.bin", f"{d}/t.txt"]), f.nlst(d)))

    def dir_():
        lines = []
        f.dir(d, lines.append)
        check(len(lines) == 2 and lines[0][0] == "-", lines)
    case("dir", mode, dir_)

    def mlsd():
        entries = dict(f.mlsd(d, facts=["type", "size"]))
        check(entries["a.bin"]["size"] == str(len(data)) and entries["a.bin"]["type"] == "file", entries)
    case("mlsd", mode, mlsd)

    case("size", mode, lambda: check(f.size(f"{d}/a.bin") == len(data), "size"))
    case("rename", mode, lambda: (f.rename(f"{d}/t.txt", f"{d}/u.txt"), check(os.path.exists(os.path.join(root, d, "u.txt")), "renamed")))
    case("voidcmd NOOP", mode, lambda: f.voidcmd("NOOP"))
    case("sendcmd SYST", mode, lambda: check(f.sendcmd("SYST").startswith("215"), "SYST"))
    case("sendcmd FEAT", mode, lambda: check("HASH SHA-256*" in f.sendcmd("FEAT"), "FEAT"))
    case("sendcmd HELP", mode, lambda: check(f.sendcmd("HELP").startswith("214"), "HELP"))
    case("sendcmd STAT", mode, lambda: check(f.sendcmd("STAT").startswith("211"), "STAT"))
    case("sendcmd STAT path", mode, lambda: check("a.bin" in f.sendcmd(f"STAT {d}"), "STAT path"))
    case("sendcmd MDTM", mode, lambda: check(f.sendcmd(f"MDTM {d}/a.bin").startswith("213 "), "MDTM"))
    case("sendcmd MFMT", mode, lambda: check(f.sendcmd(f"MFMT 20010203040506 {d}/a.bin").startswith("213"), "MFMT"))
    case("sendcmd MLST", mode, lambda: check("type=file" in f.sendcmd(f"MLST {d}/a.bin"), "MLST"))
    sha = hashlib.sha256(data).hexdigest()
    case("sendcmd HASH", mode, lambda: check(sha in f.sendcmd(f"HASH {d}/a.bin"), "HASH"))
    case("sendcmd OPTS HASH", mode, lambda: check(f.sendcmd("OPTS HASH MD5") == "200 MD5", "OPTS HASH"))
    case("sendcmd XMD5", mode, lambda: check(f.sendcmd(f"XMD5 {d}/a.bin") == "213 " + hashlib.md5(data).hexdigest(), "XMD5"))
    case("sendcmd SITE CPFR/CPTO", mode, lambda: (f.sendcmd(f"SITE CPFR {d}/a.bin"), f.sendcmd(f"SITE CPTO {d}/c.bin"),
                                                 check(open(os.path.join(root, d, "c.bin"), "rb").read() == data, "copy")))
    case("sendcmd SITE CHMOD", mode, lambda: f.sendcmd(f"SITE CHMOD 640 {d}/c.bin"))
    case("sendcmd ALLO/ACCT", mode, lambda: (check(f.sendcmd("ALLO 10").startswith("202"), "ALLO"), f.acct("x")))

    def abort():
        # ftplib.abort() sends IAC IP, IAC DM as urgent data, then ABOR (RFC 959 §4.1.3).
        conn = f.transfercmd(f"RETR {d}/a.bin")
        conn.recv(1000)
        try:
            resp = f.abort()
        finally:
            conn.close()
        # RFC 959 §4.1.3: 426 for the transfer, then 226 for the ABOR —
        # or, when the data was all sent already, 226 then 225. ftplib.abort()
        # reads only the first of the two.
        second = f.voidresp()
        check((resp[:3], second[:3]) in (("426", "226"), ("226", "225")), (resp, second))
        f.voidcmd("NOOP")
    case("abort", mode, abort)

    def stou():
        conn = f.transfercmd("STOU")
        conn.sendall(b"unique")
        conn.close()
        f.voidresp()
    case("STOU", mode, lambda: (f.cwd(d), stou(), f.cwd("/")))

    def cleanup():
        for n in f.nlst(d):
            f.delete(n if "/" in n else f"{d}/{n}")
        f.rmd(d)
        check(not os.path.exists(os.path.join(root, d)), "rmd")
    case("delete/rmd", mode, cleanup)
    case("quit", mode, lambda: f.quit())
