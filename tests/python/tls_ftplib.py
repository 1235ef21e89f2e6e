"""ftplib.FTP_TLS against the server's FTPS (RFC 4217).

usage: tls_ftplib.py CHECK PORT ARGS...

  matrix PORT ROOT MODE USER PASS SIZE...   explicit FTPS with the session
      reuse subclass: STOR, RETR (binary, TYPE A, REST), LIST, NLST, MLSD under
      PROT P in MODE, byte-exact
  implicit PORT ROOT USER PASS SIZE         implicit FTPS (TLS from the first
      byte): STOR and RETR of SIZE bytes, LIST
  noreuse PORT USER PASS NAME WANT          plain FTP_TLS (no session reuse):
      RETR NAME gives WANT ("522" refused, or "ok" served); the session goes on
  cross PORT USER PASS NAME                 a data connection of session A that
      resumes session B's TLS session is refused with 522
  abort PORT USER PASS NAME SIZE            ABOR (in-band, FTP_TLS.abort)
      during a PROT P RETR; the session goes on
  tls11 PORT                                a TLS 1.1-only client fails AUTH TLS
  certis PORT PEMFILE                       after AUTH TLS the server shows the
      certificate in PEMFILE (DER compared)
  plaindata PORT USER PASS NAME             under PROT P a data connection that
      speaks plain bytes gets none back (closed at once) and the reply is 522

Exits 1 with a message on the first mismatch.
"""

import ftplib
import io
import os
import socket
import ssl
import sys

from ftpmodes import (MODES, TIMEOUT_SECS, Failure, expect, expect_code, main,
                      pattern, retr_hash, sha256, sha256_file)


def context():
    # The server's certificate is self-signed, made by the test.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class PlainTLS(ftplib.FTP_TLS):
    """FTP_TLS with the data-connection mode chosen explicitly."""

    def __init__(self, mode="PASV", timeout=TIMEOUT_SECS, ctx=None):
        super().__init__(context=ctx or context(), timeout=timeout)
        if mode not in MODES:
            raise Failure(f"unknown mode {mode!r}")
        self.mode = mode
        self.set_pasv(mode in ("PASV", "EPSV"))

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


class ReuseTLS(PlainTLS):
    """The well-known subclass: each data connection resumes the control
    connection's TLS session, as servers that bind the two require."""

    session_from = None

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            src = self.session_from or self
            conn = self.context.wrap_socket(
                conn, server_hostname=self.host, session=src.sock.session)
        return conn, size


class ImplicitTLS(ReuseTLS):
    """Implicit FTPS: the control connection is TLS before the greeting."""

    def connect(self, host, port):
        self.host, self.port = host, port
        raw = socket.create_connection((host, port), self.timeout)
        self.sock = self.context.wrap_socket(raw, server_hostname=host)
        self.af = self.sock.family
        self.file = self.sock.makefile("r", encoding=self.encoding)
        self.welcome = self.getresp()
        self._prot_p = True
        return self.welcome


def login(cls, port, user, password, mode="PASV", timeout=TIMEOUT_SECS, ctx=None):
    ftp = cls(mode, timeout, ctx)
    ftp.connect("127.0.0.1", port)
    ftp.login(user, password)  # AUTH TLS first (FTP_TLS.login)
    ftp.prot_p()
    return ftp


def store_and_check(ftp, root, name, data):
    resp = ftp.storbinary(f"STOR {name}", io.BytesIO(data), blocksize=1 << 20)
    expect(resp.startswith("226"), f"STOR {name}: final reply {resp!r}")
    path = os.path.join(root, name)
    expect(os.path.getsize(path) == len(data),
           f"STOR {name}: {os.path.getsize(path)} bytes on disk, sent {len(data)}")
    expect(sha256_file(path) == sha256(data), f"STOR {name}: bytes on disk differ")


def retr_and_check(ftp, root, name, rest=None):
    with open(os.path.join(root, name), "rb") as f:
        want = f.read()[rest or 0:]
    got, count, resp = retr_hash(ftp, name, rest=rest)
    expect(resp.startswith("226"), f"RETR {name}: final reply {resp!r}")
    expect(count == len(want), f"RETR {name} (rest {rest}): {count} bytes, want {len(want)}")
    expect(got == sha256(want), f"RETR {name}: bytes differ")


def matrix(argv):
    port, root, mode, user, password = int(argv[0]), argv[1], argv[2], argv[3], argv[4]
    ftp = login(ReuseTLS, port, user, password, mode)
    names = []
    for size in [int(s) for s in argv[5:]]:
        name = f"tls_{mode}_{size}"
        store_and_check(ftp, root, name, pattern(size, size + 7))
        retr_and_check(ftp, root, name)
        if size > 10:
            retr_and_check(ftp, root, name, rest=size // 3)
        names.append(name)
        print(f"ok {mode} {size}")
    # TYPE A: LF → CRLF on the way out, CRLF → LF on the way in.
    text = b"one\ntwo\nthree\n" * 1000
    with open(os.path.join(root, "text.txt"), "wb") as f:
        f.write(text)
    lines = []
    resp = ftp.retrlines("RETR text.txt", lines.append)
    expect(resp.startswith("226"), f"RETR TYPE A: {resp!r}")
    expect("\n".join(lines) + "\n" == text.decode(), "RETR TYPE A: text differs")
    resp = ftp.storlines("STOR text_up.txt", io.BytesIO(text))
    expect(resp.startswith("226"), f"STOR TYPE A: {resp!r}")
    with open(os.path.join(root, "text_up.txt"), "rb") as f:
        expect(f.read() == text, "STOR TYPE A: text on disk differs")
    listing = []
    expect(ftp.retrlines("LIST", listing.append).startswith("226"), "LIST")
    nlst = ftp.nlst()
    mlsd = [n for n, _ in ftp.mlsd()]
    for n in names:
        expect(any(l.split()[-1] == n for l in listing), f"LIST lacks {n}: {listing}")
        expect(n in nlst or "/" + n in nlst, f"NLST lacks {n}: {nlst}")
        expect(n in mlsd, f"MLSD lacks {n}: {mlsd}")
    ftp.quit()


def implicit(argv):
    port, root, user, password, size = int(argv[0]), argv[1], argv[2], argv[3], int(argv[4])
    ftp = ImplicitTLS("PASV")
    ftp.connect("127.0.0.1", port)
    expect(ftp.welcome.startswith("220"), f"greeting {ftp.welcome!r}")
    ftp.login(user, password)  # no AUTH: the connection is TLS already
    store_and_check(ftp, root, "implicit.bin", pattern(size, 99))
    retr_and_check(ftp, root, "implicit.bin")
    expect("implicit.bin" in ftp.nlst(), "NLST over implicit FTPS")
    ftp.quit()


def noreuse(argv):
    port, user, password, name, want = int(argv[0]), argv[1], argv[2], argv[3], argv[4]
    ftp = login(PlainTLS, port, user, password)
    if want == "522":
        try:
            retr_hash(ftp, name)
        except ftplib.Error as e:
            expect(str(e).startswith("522"), f"RETR without reuse: {e}")
        except (ssl.SSLError, OSError) as e:
            raise Failure(f"RETR without reuse: a TLS error {e!r} instead of a clean 522")
        else:
            raise Failure("RETR without session reuse was served")
    else:
        _, count, resp = retr_hash(ftp, name)
        expect(resp.startswith("226") and count > 0, f"RETR (opt-out): {count}, {resp!r}")
    expect(ftp.sendcmd("NOOP").startswith("200"), "NOOP after the refusal")
    ftp.quit()


def cross(argv):
    port, user, password, name = int(argv[0]), argv[1], argv[2], argv[3]
    a = login(ReuseTLS, port, user, password)
    # One SSLContext, as one client program holding two sessions would.
    b = login(ReuseTLS, port, user, password, ctx=a.context)
    # Both sessions work on their own.
    for s in (a, b):
        _, count, resp = retr_hash(s, name)
        expect(resp.startswith("226") and count > 0, f"own RETR: {resp!r}")
    a.session_from = b
    try:
        retr_hash(a, name)
    except ftplib.Error as e:
        expect(str(e).startswith("522"), f"cross-session RETR: {e}")
    else:
        raise Failure("a data connection resuming another session's TLS session was served")
    a.session_from = None
    _, count, resp = retr_hash(a, name)
    expect(resp.startswith("226") and count > 0, f"RETR after the refusal: {resp!r}")
    a.quit()
    b.quit()


def abort(argv):
    port, user, password, name, size = int(argv[0]), argv[1], argv[2], argv[3], int(argv[4])
    ftp = login(ReuseTLS, port, user, password, timeout=15)
    ftp.voidcmd("TYPE I")
    conn = ftp.transfercmd(f"RETR {name}")
    got = 0
    while got < 65536:
        b = conn.recv(65536)
        expect(b, f"data connection closed after {got} bytes, before ABOR")
        got += len(b)
    resp = ftp.abort()  # FTP_TLS sends ABOR in-band, as a TLS record
    conn.close()
    if resp.startswith("426"):
        resp2 = ftp.getresp()
        expect(resp2.startswith("226"), f"after 426, expected 226, got {resp2!r}")
    else:
        expect(resp[:3] in ("225", "226"), f"ABOR reply {resp!r}")
    expect(ftp.sendcmd("NOOP").startswith("200"), "NOOP after ABOR")
    _, count, resp = retr_hash(ftp, name)
    expect(count == size and resp.startswith("226"), f"RETR after ABOR: {count}, {resp!r}")
    ftp.quit()


def tls11(argv):
    port = int(argv[0])
    ftp = PlainTLS("PASV")
    ctx = context()
    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ftp.context = ctx
    ftp.connect("127.0.0.1", port)
    try:
        ftp.auth()
    except (ssl.SSLError, OSError, EOFError) as e:
        print(f"refused as expected: {e!r}")
    else:
        raise Failure(f"a TLS 1.1 handshake succeeded: {ftp.sock.version()}")
    # The server goes on: a modern client gets in.
    ok = login(ReuseTLS, port, "anonymous", "x@example.com")
    expect(ok.sock.version() in ("TLSv1.2", "TLSv1.3"), f"version {ok.sock.version()}")
    ok.quit()


def plaindata(argv):
    port, user, password, name = int(argv[0]), argv[1], argv[2], argv[3]
    ftp = login(ReuseTLS, port, user, password)
    ftp.voidcmd("TYPE I")
    # The plain FTP transfercmd: no TLS on the data socket.
    conn, _ = ftplib.FTP.ntransfercmd(ftp, f"RETR {name}")
    conn.sendall(b"USER anonymous\r\n")  # not a ClientHello
    got = b""
    while True:
        try:
            b = conn.recv(65536)
        except ConnectionResetError:
            break
        if not b:
            break
        got += b
    conn.close()
    expect(got == b"", f"a plain data connection under PROT P got {len(got)} bytes")
    try:
        resp = ftp.voidresp()
    except ftplib.Error as e:
        resp = str(e)
    expect(resp.startswith("522"), f"reply after a plain data connection: {resp!r}")
    expect(ftp.sendcmd("NOOP").startswith("200"), "NOOP after the refusal")
    ftp.quit()


def certis(argv):
    port, pem = int(argv[0]), argv[1]
    ftp = PlainTLS("PASV")
    ftp.connect("127.0.0.1", port)
    ftp.auth()
    with open(pem) as f:
        want = ssl.PEM_cert_to_DER_cert(f.read())
    expect(ftp.sock.getpeercert(binary_form=True) == want,
           f"the server's certificate is not the one in {pem}")
    ftp.quit()


CHECKS = {"certis": certis, "plaindata": plaindata, "matrix": matrix, "implicit": implicit, "noreuse": noreuse,
          "cross": cross, "abort": abort, "tls11": tls11}

if __name__ == "__main__":
    check = CHECKS.get(sys.argv[1] if len(sys.argv) > 1 else "")
    if check is None:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.argv = [sys.argv[0]] + sys.argv[2:]
    main(check)
