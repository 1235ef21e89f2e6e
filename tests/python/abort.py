"""ABOR mid-transfer with ftplib's own FTP.abort() (which sends the command
as TCP urgent data, as RFC 959 §4.1.3 suggests), then the session goes on.

usage: abort.py PORT MODE NAME SIZE

Starts RETR NAME (SIZE bytes, large enough not to fit in socket buffers),
reads 64 KiB, calls abort(): the reply must be 426 followed by 226 (or
225/226 alone); NOOP must then get 200 and a whole RETR must still work.

abort() sends "ABOR\r\n" with MSG_OOB, so its last byte is TCP urgent data;
a server must read it inline (SO_OOBINLINE) or it never sees the line end.
"""

from ftpmodes import connect, expect, main, retr_hash


def run(argv):
    port, mode, name, size = int(argv[0]), argv[1], argv[2], int(argv[3])
    # A short timeout: a server that misses the ABOR fails in 15 s, not 60.
    ftp = connect(port, mode, timeout=15)
    ftp.voidcmd("TYPE I")
    conn = ftp.transfercmd(f"RETR {name}")
    ftp.check_mode_used()
    got = 0
    while got < 65536:
        b = conn.recv(65536)
        expect(b, f"data connection closed after {got} bytes, before ABOR")
        got += len(b)
    resp = ftp.abort()
    conn.close()
    if resp.startswith("426"):
        resp2 = ftp.getresp()
        expect(resp2.startswith("226"), f"after 426, expected 226, got {resp2!r}")
    else:
        expect(resp[:3] in ("225", "226"), f"ABOR reply {resp!r}")
    expect(ftp.sendcmd("NOOP").startswith("200"), "NOOP after ABOR")
    h, count, resp = retr_hash(ftp, name)
    expect(count == size and resp.startswith("226"), f"RETR after ABOR: {count} bytes, {resp!r}")
    ftp.quit()


if __name__ == "__main__":
    main(run)
