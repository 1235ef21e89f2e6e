"""ftplib STOR, RETR and LIST in one data-connection mode, byte-exact.

usage: transfer_matrix.py PORT ROOT MODE USER PASS SIZE...

ROOT is the user's home on disk. For each SIZE: STOR a generated file and
compare the bytes on disk; RETR a file the test wrote into ROOT beforehand
(src_SIZE) and the uploaded one, comparing sha256; then LIST and NLST must
show every uploaded name. Exits 1 with a message on the first mismatch.
"""

import io
import os

from ftpmodes import (connect, expect, main, pattern, retr_hash, sha256,
                      sha256_file)


def run(argv):
    port, root, mode, user, password = int(argv[0]), argv[1], argv[2], argv[3], argv[4]
    sizes = [int(s) for s in argv[5:]]
    ftp = connect(port, mode, user, password)
    names = []
    for size in sizes:
        data = pattern(size, size * 4 + len(mode))
        name = f"up_{mode}_{size}"
        resp = ftp.storbinary(f"STOR {name}", io.BytesIO(data), blocksize=1 << 20)
        ftp.check_mode_used()
        expect(resp.startswith("226"), f"STOR {name}: final reply {resp!r}")
        path = os.path.join(root, name)
        expect(os.path.getsize(path) == size,
               f"STOR {name} ({mode}): {os.path.getsize(path)} bytes on disk, sent {size}")
        expect(sha256_file(path) == sha256(data),
               f"STOR {name} ({mode}): bytes on disk differ from the bytes sent")
        names.append(name)

        for src in (f"src_{size}", name):
            want = sha256_file(os.path.join(root, src))
            got, count, resp = retr_hash(ftp, src)
            ftp.check_mode_used()
            expect(resp.startswith("226"), f"RETR {src}: final reply {resp!r}")
            expect(count == size, f"RETR {src} ({mode}): got {count} bytes, file has {size}")
            expect(got == want, f"RETR {src} ({mode}): sha256 {got} != file's {want}")
        print(f"ok {mode} {size}")

    lines = []
    resp = ftp.retrlines("LIST", lines.append)
    ftp.check_mode_used()
    expect(resp.startswith("226"), f"LIST: final reply {resp!r}")
    listed = " ".join(lines)
    for n in names:
        expect(any(l.split()[-1] == n for l in lines), f"LIST ({mode}) lacks {n}: {listed}")
        expect(any(l.startswith("-") for l in lines), f"LIST ({mode}) has no file line: {lines}")
    nlst = ftp.nlst()
    ftp.check_mode_used()
    for n in names:
        expect(n in nlst or "/" + n in nlst, f"NLST ({mode}) lacks {n}: {nlst}")
    ftp.quit()


if __name__ == "__main__":
    main(run)
