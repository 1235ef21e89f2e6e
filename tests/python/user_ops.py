"""A named user with write permission, through ftplib, over one mode.

usage: user_ops.py PORT HOME MODE USER PASS

Checks STOR, APPE, REST+STOR, REST+RETR, RNFR/RNTO, MKD/RMD, CWD/PWD/CDUP,
DELE, SIZE, MDTM, MLSD, MLST, NLST, FEAT, STAT, TYPE A in both directions,
and that a missing file gives 550 while the session goes on. Every effect
is checked on disk under HOME as well as in the replies.
"""

import io
import os
import time

from ftpmodes import (connect, expect, expect_code, main, pattern, retr_hash,
                      sha256, sha256_file)


def disk(home, name):
    with open(os.path.join(home, name), "rb") as f:
        return f.read()


def run(argv):
    port, home, mode, user, password = int(argv[0]), argv[1], argv[2], argv[3], argv[4]
    ftp = connect(port, mode, user, password)

    feat = ftp.sendcmd("FEAT")
    expect(feat.startswith("211"), f"FEAT: {feat!r}")
    for f in ("EPSV", "EPRT", "PASV", "SIZE", "MDTM", "REST STREAM", "MLST", "UTF8"):
        expect(f in feat, f"FEAT lacks {f}: {feat!r}")

    # STOR, SIZE, MDTM
    a = pattern(100_000, 1)
    expect(ftp.storbinary("STOR a.bin", io.BytesIO(a)).startswith("226"), "STOR a.bin")
    expect(disk(home, "a.bin") == a, "STOR a.bin: bytes on disk differ")
    expect(ftp.size("a.bin") == 100_000, f"SIZE a.bin: {ftp.size('a.bin')}")
    mdtm = ftp.sendcmd("MDTM a.bin")
    want = time.strftime("%Y%m%d%H%M%S", time.gmtime(os.stat(os.path.join(home, "a.bin")).st_mtime))
    expect(mdtm.split()[0] == "213" and mdtm.split()[1][:14] == want,
           f"MDTM a.bin: {mdtm!r}, file mtime {want}")

    # APPE
    more = pattern(5000, 2)
    expect(ftp.storbinary("APPE a.bin", io.BytesIO(more)).startswith("226"), "APPE a.bin")
    expect(disk(home, "a.bin") == a + more, "APPE a.bin: file is not old + appended bytes")
    a = a + more

    # REST + RETR
    got, count, _ = retr_hash(ftp, "a.bin", rest=12345)
    expect(count == len(a) - 12345 and got == sha256(a[12345:]),
           f"REST 12345 + RETR a.bin: {count} bytes, want the last {len(a) - 12345}")

    # REST + STOR: overwrite from offset 4000, extending the file.
    r0, r1 = pattern(10_000, 3), pattern(8_000, 4)
    ftp.storbinary("STOR r.bin", io.BytesIO(r0))
    resp = ftp.storbinary("STOR r.bin", io.BytesIO(r1), rest=4000)
    expect(resp.startswith("226"), f"REST 4000 + STOR r.bin: {resp!r}")
    expect(disk(home, "r.bin") == r0[:4000] + r1,
           f"REST 4000 + STOR r.bin: disk has {len(disk(home, 'r.bin'))} bytes, want 12000 = old[:4000] + new")

    # RNFR / RNTO
    expect(ftp.rename("a.bin", "b.bin").startswith("250"), "RNFR/RNTO a.bin → b.bin")
    expect(not os.path.exists(os.path.join(home, "a.bin")), "a.bin still exists after rename")
    expect(disk(home, "b.bin") == a, "b.bin differs from the renamed a.bin")
    expect_code(lambda: ftp.sendcmd("RNTO c.bin"), 503, "RNTO without RNFR")

    # MKD / CWD / PWD / CDUP / RMD
    made = ftp.mkd("dir1")
    expect(made == "/dir1", f"MKD dir1 → {made!r}")
    expect(os.path.isdir(os.path.join(home, "dir1")), "MKD dir1: no directory on disk")
    expect_code(lambda: ftp.mkd("dir1"), 550, "MKD of an existing directory")
    ftp.storbinary("STOR dir1/x.txt", io.BytesIO(b"x"))
    expect(ftp.cwd("dir1").startswith("250"), "CWD dir1")
    expect(ftp.pwd() == "/dir1", f"PWD in dir1: {ftp.pwd()!r}")
    expect(ftp.size("x.txt") == 1, "SIZE x.txt (relative to the new cwd)")
    expect(ftp.sendcmd("CDUP").startswith("250"), "CDUP")
    expect(ftp.pwd() == "/", f"PWD after CDUP: {ftp.pwd()!r}")
    expect_code(lambda: ftp.rmd("dir1"), 550, "RMD of a non-empty directory")
    expect(ftp.delete("dir1/x.txt").startswith("250"), "DELE dir1/x.txt")
    expect(ftp.rmd("dir1").startswith("250"), "RMD dir1")
    expect(not os.path.exists(os.path.join(home, "dir1")), "RMD dir1: still on disk")
    ftp.mkd("sub")

    # MLSD / MLST / NLST / STAT
    facts = {name: f for name, f in ftp.mlsd()}
    ftp.check_mode_used()
    expect("b.bin" in facts and "sub" in facts, f"MLSD entries: {sorted(facts)}")
    expect(facts["b.bin"].get("type") == "file" and facts["b.bin"].get("size") == str(len(a)),
           f"MLSD b.bin facts: {facts['b.bin']}")
    expect(facts["sub"].get("type") == "dir", f"MLSD sub facts: {facts['sub']}")
    expect("modify" in facts["b.bin"], f"MLSD b.bin has no modify fact: {facts['b.bin']}")
    mlst = ftp.sendcmd("MLST b.bin")
    expect(mlst.startswith("250-") and f"size={len(a)};" in mlst.lower() and "type=file;" in mlst.lower(),
           f"MLST b.bin: {mlst!r}")
    expect(mlst.splitlines()[1].startswith(" ") and mlst.splitlines()[1].rstrip().endswith("/b.bin"),
           f"MLST b.bin fact line: {mlst!r}")
    names = ftp.nlst()
    ftp.check_mode_used()
    expect(sorted(os.path.basename(n) for n in names) == sorted(["b.bin", "r.bin", "sub"]),
           f"NLST: {names}")
    stat = ftp.sendcmd("STAT")
    expect(stat.startswith("211-") and user in stat, f"STAT: {stat!r}")
    stat = ftp.sendcmd("STAT /")
    expect(stat.startswith("213-") and "b.bin" in stat and "r.bin" in stat, f"STAT /: {stat!r}")

    # DELE
    expect(ftp.delete("b.bin").startswith("250"), "DELE b.bin")
    expect(not os.path.exists(os.path.join(home, "b.bin")), "DELE b.bin: still on disk")
    expect_code(lambda: ftp.delete("b.bin"), 550, "DELE of a missing file")

    # TYPE A: CRLF on the wire, LF on disk (RFC 959 §3.1.1.1).
    ftp.voidcmd("TYPE A")
    resp = ftp.storlines("STOR t.txt", io.BytesIO(b"one\ntwo\nthree\n"))
    expect(resp.startswith("226"), f"TYPE A STOR: {resp!r}")
    expect(disk(home, "t.txt") == b"one\ntwo\nthree\n", f"TYPE A STOR on disk: {disk(home, 't.txt')!r}")
    with open(os.path.join(home, "u.txt"), "wb") as f:
        f.write(b"a\nb\r\nc")
    conn = ftp.transfercmd("RETR u.txt")
    wire = b""
    while True:
        b = conn.recv(65536)
        if not b:
            break
        wire += b
    conn.close()
    expect(ftp.voidresp().startswith("226"), "TYPE A RETR final reply")
    expect(wire == b"a\r\nb\r\nc", f"TYPE A RETR wire bytes: {wire!r}, want b'a\\r\\nb\\r\\nc'")
    ftp.voidcmd("TYPE I")
    got, count, _ = retr_hash(ftp, "u.txt")
    expect(count == 6, f"TYPE I RETR u.txt after TYPE A: {count} bytes, want 6")

    # Missing file: 550 and the session goes on.
    expect_code(lambda: ftp.retrbinary("RETR nope.bin", lambda b: None), 550, "RETR of a missing file")
    expect_code(lambda: ftp.size("nope.bin"), 550, "SIZE of a missing file")
    expect(ftp.sendcmd("NOOP").startswith("200"), "NOOP after 550s")
    expect(sha256_file(os.path.join(home, "r.bin")) == sha256(r0[:4000] + r1), "r.bin untouched")
    ftp.quit()


if __name__ == "__main__":
    main(run)
