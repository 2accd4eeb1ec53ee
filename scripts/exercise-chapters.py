#!/usr/bin/env python3
"""exercise-chapters.py -- check answers to the exercises of
docs/handlers.md and docs/client-side.md.

  sh scripts/exercise-handlers.sh N ANSWER...     (docs/handlers.md)
  sh scripts/exercise-client.sh N ANSWER...       (docs/client-side.md)

Prints "correct" and exits 0, or "not yet: HINT" and exits 1 (2: usage).
No answer is stored here. A handler the reader writes is compiled with
the library and run against real connections; every other answer is
worked out afresh from the running code (the server, examples/upper,
examples/minimal-client) or from the RFC's algorithm, so the true answer
follows the code if the code ever changes. test/book/run.py runs this
checker on the right answers (test/book/answers/) and on wrong ones.

Run from the top of the tree; BUILD (default "build") names the build
directory. Python standard library only; loopback only; every wait is
bounded.
"""

import base64
import hashlib
import os
import re
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD", "build")
sys.path.insert(0, os.path.join(ROOT, "test", "client"))
import fakeserver  # noqa: E402


class NotYet(Exception):
    pass


# ---- a small client (the checker's own, independent of the C ones) ----

class Client:
    def __init__(self, port, target="/", timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        key = base64.b64encode(os.urandom(16))
        self.sock.sendall(b"GET " + target.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                          b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        self.status = int(head.split(b" ")[1])
        if self.status == 101 and fakeserver.accept_value(key) not in head:
            raise NotYet("the server's accept value is wrong")

    def _more(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise NotYet("the server closed the connection unexpectedly")
        self.buf += chunk

    def _recv(self, n):
        while len(self.buf) < n:
            self._more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, b0, payload):
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([b0])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def text(self, s):
        self.send(0x81, s.encode())

    def message(self):
        """The next data message (opcode, bytes); pings answered."""
        op, data = None, b""
        while True:
            b0, b1 = self._recv(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._recv(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._recv(8))[0]
            payload = self._recv(n)
            code = b0 & 0x0F
            if code == 0x9:
                self.send(0x8A, payload)
                continue
            if code == 0x8:
                raise NotYet("the server closed the connection (code %s)" %
                             (struct.unpack("!H", payload[:2])[0] if n >= 2 else "none"))
            if code in (0x1, 0x2):
                op = code
            data += payload
            if b0 & 0x80:
                return op, data

    def close(self, code=1000):
        self.send(0x88, struct.pack("!H", code))
        try:
            while self._recv(1):
                pass
        except (NotYet, OSError):
            pass
        self.sock.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Running:
    """A server program on a free port, stopped by its own pid."""

    def __init__(self, argv_for_port):
        self.log = tempfile.TemporaryFile()
        for _ in range(10):
            self.port = free_port()
            self.proc = subprocess.Popen(argv_for_port(self.port), stderr=self.log,
                                         stdout=subprocess.DEVNULL)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                    return
                except OSError:
                    time.sleep(0.05)
            self.stop()
        raise NotYet("the server did not start (see its messages above)")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")


def make(*targets):
    r = subprocess.run(["make", "--no-print-directory", "-s", "BUILD=" + BUILD] + list(targets),
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        sys.stderr.write(r.stdout + r.stderr)
        raise SystemExit("exercise: make %s failed" % " ".join(targets))


def build_handler(source, tmp):
    """The reader's handler file, with test/book/exercise-main.c and the
    library, into tmp/exercise."""
    make(os.path.join(BUILD, "libws6455.a"))
    out = os.path.join(tmp, "exercise")
    cmd = [os.environ.get("CC", "cc"), "-std=c11", "-Wall", "-Wextra",
           "-I" + os.path.join(ROOT, "include"), "-o", out, os.path.abspath(source),
           os.path.join(ROOT, "test", "book", "exercise-main.c"),
           os.path.join(ROOT, BUILD, "libws6455.a")]
    # Under `make asan` the library is instrumented: the Makefile passes
    # the flags a program linking it needs.
    cmd += shlex.split(os.environ.get("WS6455_LDFLAGS", ""))
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    sys.stderr.write(r.stderr)
    if r.returncode != 0:
        raise NotYet("it does not compile (the compiler's messages are above); the file must "
                     "define const ws_handler exercise_handler")
    return out


def expect(got, want, what):
    if got != want:
        raise NotYet("%s: the reply was %r, expected %r" % (what, got, want))


# ---- docs/handlers.md ------------------------------------------------------

def handlers_1(args):
    """A handler that answers each message with its length in bytes."""
    if len(args) != 1:
        raise SystemExit("usage: exercise-handlers.sh 1 FILE.c")
    with tempfile.TemporaryDirectory() as tmp:
        prog = build_handler(args[0], tmp)
        srv = Running(lambda p: [prog, str(p)])
        try:
            c = Client(srv.port)
            for what, b0, payload in (
                    ("hello", 0x81, b"hello"),
                    ("'\u00e7a' (c cedilla is 2 bytes)", 0x81, "\u00e7a".encode()),
                    ("an empty message", 0x81, b""),
                    ("binary 00 01 02", 0x82, b"\x00\x01\x02"),
                    ("'\U0001F642' (4 bytes)", 0x81, "\U0001F642".encode())):
                c.send(b0, payload)
                expect(c.message(), (1, str(len(payload)).encode()), what)
            # Fragments: "ab" + "cd", one message of 4 bytes (§5.4).
            c.send(0x01, b"ab")
            c.send(0x80, b"cd")
            expect(c.message(), (1, b"4"), "a message in two fragments")
            # Large: 200,000 bytes, which may reach the handler in parts.
            c.send(0x82, b"\xff" * 200000)
            expect(c.message(), (1, b"200000"), "a 200,000-byte message (with on_part set, "
                   "add up the parts and answer at the last)")
            c.text("again")
            expect(c.message(), (1, b"5"), "a small message after the large one")
            c.close()
        except (OSError, socket.timeout) as e:
            raise NotYet("no reply in time (%s)" % e)
        finally:
            log = srv.stop()
        if "ERROR" in log:
            raise NotYet("the server logged an error: " + log.strip().splitlines()[-1])


def handlers_2(args):
    """/count only; each connection counts its own messages."""
    if len(args) != 1:
        raise SystemExit("usage: exercise-handlers.sh 2 FILE.c")
    with tempfile.TemporaryDirectory() as tmp:
        prog = build_handler(args[0], tmp)
        srv = Running(lambda p: [prog, str(p)])
        try:
            for target in ("/", "/counts", "/count/x", "/count?x=1"):
                c = Client(srv.port, target)
                if c.status != 404:
                    raise NotYet("GET %s got %d, expected 404" % (target, c.status))
                c.sock.close()
            a = Client(srv.port, "/count")
            b = Client(srv.port, "/count")
            if a.status != 101 or b.status != 101:
                raise NotYet("GET /count got %d, expected 101" % a.status)
            for who, conn, want in (("first", a, "1"), ("first", a, "2"), ("second", b, "1"),
                                    ("first", a, "3"), ("second", b, "2")):
                conn.text("tick")
                expect(conn.message(), (1, want.encode()),
                       "message of the %s connection (counts are per connection)" % who)
            a.close()
            b.close()
            c = Client(srv.port, "/count")
            c.text("new")
            expect(c.message(), (1, b"1"), "a new connection starts again at 1")
            c.close()
        except (OSError, socket.timeout) as e:
            raise NotYet("no reply in time (%s)" % e)
        finally:
            srv.stop()


def words(args):
    return " ".join(" ".join(args).replace(",", " ").split()).lower()


def handlers_3(args):
    """The callbacks for: connect, send "hi", close with 1001."""
    make(os.path.join(BUILD, "libws6455.a"))
    with tempfile.TemporaryDirectory() as tmp:
        prog = build_handler(os.path.join(ROOT, "test", "book", "trace-handler.c"), tmp)
        srv = Running(lambda p: [prog, str(p)])
        try:
            c = Client(srv.port)
            c.text("hi")
            c.message()
            c.close(1001)
        finally:
            log = srv.stop()
    truth = " ".join(m for line in log.splitlines() for m in re.findall(r"^trace: (.*)$", line))
    truth = words([truth])
    if words(args) != truth:
        raise NotYet("not that sequence; write the callbacks' names in order, then the code "
                     "on_close gets, e.g. \"on_open on_close 1000\"")


def handlers_4(args):
    """What examples/upper answers to a text."""
    make(os.path.join(BUILD, "examples", "upper"))
    text = "stra\u00dfe \u01c6 \u00e9t\u00e9 \u0131"
    srv = Running(lambda p: [os.path.join(ROOT, BUILD, "examples", "upper"), "--workers", "1",
                             "--host", "127.0.0.1", "--port", str(p)])
    try:
        c = Client(srv.port)
        c.text(text)
        _, truth = c.message()
        c.close()
    finally:
        srv.stop()
    if " ".join(args).strip().encode() != truth:
        raise NotYet("not what upper answers; look at capitals() in examples/upper.c: which "
                     "bytes does it change?")


# ---- docs/client-side.md ---------------------------------------------------

def hexbytes(args):
    s = " ".join(args).lower().replace("0x", " ").replace(",", " ")
    s = "".join(s.split())
    if not re.fullmatch(r"([0-9a-f]{2})*", s):
        raise NotYet("write bytes in hex, e.g. 81 05 48 65")
    return bytes.fromhex(s)


def client_1(args):
    key = b"x3JJHMbDL1EzLkh9GBhXDw=="
    if " ".join(args).strip().encode() != fakeserver.accept_value(key):
        raise NotYet("base64 of the SHA-1 of the key's 24 characters followed by the GUID "
                     "(not of the decoded 16 bytes)")


def client_2(args):
    mask, text = b"\x01\x02\x03\x04", b"Hi"
    truth = bytes([0x81, 0x80 | len(text)]) + mask + bytes(b ^ mask[i % 4]
                                                            for i, b in enumerate(text))
    got = hexbytes(args)
    if got != truth:
        if got[:2] != truth[:2]:
            raise NotYet("look again at the first two bytes: FIN and the opcode; MASK and "
                         "the length")
        raise NotYet("the key follows the length; each payload byte is XORed with the key "
                     "byte of its position modulo 4")


def client_3(args):
    """Which answers of the chapter's list does minimal-client refuse?"""
    make(os.path.join(BUILD, "examples", "minimal-client"))
    doc = open(os.path.join(ROOT, "docs", "client-side.md"), encoding="utf-8").read()
    heads = re.findall(r"^[ \t]*([A-F])  (HTTP/1\.1 .*)$", doc, re.M)
    if len(heads) < 4:
        raise SystemExit("exercise: the answers of exercise 3 are missing from the chapter")
    refused = []
    for letter, head in heads:
        fake = fakeserver.FakeServer("custom", head=head)
        r = subprocess.run([os.path.join(ROOT, BUILD, "examples", "minimal-client"), "127.0.0.1",
                            str(fake.port), "x"], capture_output=True, timeout=30)
        fake.join()
        if r.returncode != 0:
            refused.append(letter)
    got = sorted(set("".join(args).upper().replace(",", "").replace(" ", "")))
    if got != refused:
        raise NotYet("not that set; check each answer against the six items of §4.1")


def client_4(args):
    """The close code a client sends for a masked frame from the server."""
    make(os.path.join(BUILD, "examples", "minimal-client"))
    fake = fakeserver.FakeServer("masked")
    subprocess.run([os.path.join(ROOT, BUILD, "examples", "minimal-client"), "127.0.0.1",
                    str(fake.port), "hi"], capture_output=True, timeout=30)
    fake.join()
    if fake.close_code is None:
        raise SystemExit("exercise: minimal-client sent no close frame")
    if " ".join(args).strip() != str(fake.close_code):
        raise NotYet("a close code is a number of §7.4.1; which one names a broken rule "
                     "of the protocol?")


EXERCISES = {
    ("handlers", "1"): handlers_1, ("handlers", "2"): handlers_2,
    ("handlers", "3"): handlers_3, ("handlers", "4"): handlers_4,
    ("client", "1"): client_1, ("client", "2"): client_2,
    ("client", "3"): client_3, ("client", "4"): client_4,
}


def main():
    if len(sys.argv) < 4 or (sys.argv[1], sys.argv[2]) not in EXERCISES:
        print("usage: exercise-chapters.py handlers|client N ANSWER...  (N from 1 to 4)",
              file=sys.stderr)
        return 2
    if not shutil.which("cc"):
        print("exercise: a C compiler (cc) is needed", file=sys.stderr)
        return 2
    try:
        EXERCISES[(sys.argv[1], sys.argv[2])](sys.argv[3:])
    except NotYet as e:
        print("not yet: %s" % e)
        return 1
    print("correct")
    return 0


if __name__ == "__main__":
    sys.exit(main())
