"""Shared helpers for the ftplib interop scripts run by the Rust tests.

ModeFTP is ftplib.FTP with the data-connection mode chosen explicitly:
PASV and PORT are what ftplib does for IPv4 by itself; EPSV and EPRT are
only used by ftplib for IPv6, so they are sent here by hand (RFC 2428).
Every command sent is recorded, so a script can prove which mode was used.
"""

import ftplib
import hashlib
import random
import socket
import sys
import traceback

MODES = ("PASV", "EPSV", "PORT", "EPRT")
TIMEOUT_SECS = 60


class Failure(Exception):
    """A mismatch: the script prints it and exits 1."""


class ModeFTP(ftplib.FTP):
    def __init__(self, mode, timeout=TIMEOUT_SECS):
        if mode not in MODES:
            raise Failure(f"unknown mode {mode!r}")
        super().__init__(timeout=timeout)
        self.mode = mode
        self.sent = []

    def putcmd(self, line):
        self.sent.append(line.split(" ", 1)[0].upper())
        super().putcmd(line)

    def makepasv(self):
        if self.mode == "EPSV":
            resp = self.sendcmd("EPSV")
            return ftplib.parse229(resp, self.sock.getpeername())
        return super().makepasv()

    def makeport(self):
        if self.mode == "EPRT":
            sock = socket.create_server(("127.0.0.1", 0), backlog=1)
            sock.settimeout(self.timeout)
            self.sendeprt("127.0.0.1", sock.getsockname()[1])
            return sock
        return super().makeport()

    def check_mode_used(self):
        """The last data-connection verb sent must be this session's mode."""
        used = [v for v in self.sent if v in MODES]
        if not used or used[-1] != self.mode:
            raise Failure(f"expected a {self.mode} data connection, commands sent: {self.sent}")


def connect(port, mode, user="anonymous", password="test@example.com", timeout=TIMEOUT_SECS):
    ftp = ModeFTP(mode, timeout)
    ftp.connect("127.0.0.1", port)
    ftp.login(user, password)
    ftp.set_pasv(mode in ("PASV", "EPSV"))
    return ftp


def pattern(size, seed):
    return random.Random(seed).randbytes(size)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                return h.hexdigest()
            h.update(b)


def retr_hash(ftp, name, rest=None):
    """RETR name in binary; returns (sha256 hex, byte count, final reply)."""
    h = hashlib.sha256()
    count = [0]

    def take(b):
        h.update(b)
        count[0] += len(b)

    resp = ftp.retrbinary(f"RETR {name}", take, blocksize=1 << 20, rest=rest)
    return h.hexdigest(), count[0], resp


def expect(cond, msg):
    if not cond:
        raise Failure(msg)


def expect_code(fn, code, what):
    """Runs fn (an ftplib call) and checks it fails with reply `code`."""
    try:
        resp = fn()
    except ftplib.Error as e:
        got = str(e)[:3]
        if got != str(code):
            raise Failure(f"{what}: expected {code}, got {e}")
        return str(e)
    raise Failure(f"{what}: expected {code}, got success {resp!r}")


def main(body):
    """Runs body(argv) and turns Failure / ftplib errors into exit 1."""
    try:
        body(sys.argv[1:])
    except Failure as e:
        traceback.print_exc()
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
    except (ftplib.Error, OSError, EOFError) as e:
        traceback.print_exc()
        print(f"FAIL: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    print("PASS")
