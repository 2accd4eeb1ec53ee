#!/usr/bin/env python3
"""exercise.py -- check an answer to one of the book's exercises.

    sh scripts/exercise.sh CHAPTER N ANSWER...      (or make exercise E=CHAPTER-N A='...')
    python3 scripts/exercise.py CHAPTER N ANSWER...
    python3 scripts/exercise.py --id CHAPTER-N ANSWER...
    python3 scripts/exercise.py --list
    python3 scripts/exercise.py --self-test test/book/answers.txt

Every chapter of docs/ ends with a section "Exercises"; each exercise says
what form its answer takes and the command that checks it. The checker
prints "correct" and exits 0, or "not yet: <hint>" and exits 1 (2 for a
usage error).

Where the answer is something the code computes (an accept value, the
close code the server sends for some bytes, what a DEFLATE stream decodes
to), the checker does not store it: it asks build/book-oracle
(test/book/oracle.c, the library's own functions) or a running
build/ws6455, so the answer follows the code when the code changes. Where
it is a fact about the design (a state, a number from the docs), only a
SHA-256 of the normalized answer is stored, so that nobody reads it by
accident. A "write code" exercise takes the path of the reader's file, which
is compiled against build/libws6455.a with a test program of
test/book/check/ (or run as a handler under build/ws6455's server code).

The chapters whose exercises have a checker of their own (handlers.md and
client-side.md: scripts/exercise-chapters.py; endings.md and timers.md:
scripts/exercise-endings.py and exercise-timers.py) are handed to it, so
this one command checks an answer in any chapter.

--self-test runs every exercise with the right answer from answers.txt
(which must pass) and a wrong one (which must fail), checks that every
exercise in docs/ is known here and the other way round, and prints
"N passed, N failed" (make exercises-check).
"""

import hashlib
import json
import os
import re
import shlex
import select
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD", "build")
ORACLE = os.path.join(ROOT, BUILD, "book-oracle")
SERVER = os.path.join(ROOT, BUILD, "ws6455")
LIB = os.path.join(ROOT, BUILD, "libws6455.a")
# What a program linking LIB needs besides it: under `make asan` the
# library is instrumented, and the Makefile passes -fsanitize=... here.
LIB_LDFLAGS = shlex.split(os.environ.get("WS6455_LDFLAGS", ""))


class Usage(Exception):
    pass


class NotYet(Exception):
    pass


# ---------------------------------------------------------------------------
# Building and asking the oracle.

_built = set()


def make(*targets):
    """Bring build products up to date (quietly: the answer is the output)."""
    want = [t for t in targets if t not in _built]
    if not want:
        return
    # A make of its own: under `make asan` the caller's MAKEFLAGS name another
    # tree and flags the reader's code is not built with.
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    r = subprocess.run(["make", "--no-print-directory", "-s", "-C", ROOT, "BUILD=" + BUILD]
                       + want, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       env=env)
    if r.returncode != 0:
        sys.stderr.write(r.stdout)
        raise Usage("could not build " + " ".join(want))
    _built.update(want)


def oracle(*args, stdin=None):
    make(os.path.join(BUILD, "book-oracle"))
    r = subprocess.run([ORACLE] + list(args), input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=30)
    if r.returncode != 0:
        raise Usage("book-oracle failed: " + r.stderr.strip())
    return r.stdout


def reply(hexbytes, max_message=None):
    """The server's answer to bytes sent after the handshake (oracle reply)."""
    args = ["reply"] + ([str(max_message)] if max_message else []) + [hexbytes]
    return oracle(*args).splitlines()


def close_of(hexbytes, max_message=None):
    """(code, byte) of the close frame the server sends for these bytes."""
    for line in reply(hexbytes, max_message):
        m = re.match(r"close (\d+) at byte (\d+)", line)
        if m:
            return [m.group(1), m.group(2)]
    return ["none", "none"]


def masked(op, payload, fin=1, key=b"\x37\xfa\x21\x3d"):
    """A client frame, hex: what a browser would send (RFC 6455 §5.3)."""
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | op])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return (head + key + body).hex()


# ---------------------------------------------------------------------------
# Normalizing answers: what a reader types may differ in case, spacing and
# hex notation from what the checker computes.

def n_hex(s):
    s = re.sub(r"0x", "", s, flags=re.I)
    s = re.sub(r"[\s,:]", "", s).lower()
    if not re.fullmatch(r"(?:[0-9a-f]{2})*", s):
        raise NotYet("write bytes as hex pairs, e.g. 81 05 48 65 or 8105 4865")
    return s


def n_int(s):
    s = s.strip().replace("_", "")
    try:
        return str(int(s, 0))
    except ValueError:
        raise NotYet(f"'{s}' is not a number")


def n_word(s):
    return re.sub(r"\s+", " ", s.strip().lower())


def n_text(s):
    return s.strip()


def n_json(s):
    try:
        return json.dumps(json.loads(s), sort_keys=True)
    except ValueError:
        raise NotYet("that is not JSON; copy the message as the server would write it")


def n_dec2(s):
    try:
        return f"{float(s.strip().replace(',', '')):.2f}"
    except ValueError:
        raise NotYet(f"'{s.strip()}' is not a number")


NORM = {"hex": n_hex, "int": n_int, "word": n_word, "text": n_text, "json": n_json,
        "dec2": n_dec2}


def tokens(answer):
    return [t for t in re.split(r"[\s,]+", answer.strip()) if t]


# ---------------------------------------------------------------------------
# Kinds of exercise.

class Fields:
    """An answer of one or more fields, compared one by one with the truth,
    which truth() computes when asked (from the oracle or a live server).
    types: one normalizer name per field; a last type ending in '*' takes
    the rest of the answer (hex that may contain spaces, or free text)."""

    def __init__(self, names, types, truth, hint):
        self.names, self.types, self.truth, self.hint = names, types, truth, hint

    def split(self, answer):
        if self.types[-1].endswith("*"):
            # The last field takes the rest, spaces and all.
            parts = answer.strip().split(None, len(self.types) - 1)
            parts = [p.rstrip(",") for p in parts[:-1]] + parts[-1:]
        else:
            parts = tokens(answer)
        if len(parts) != len(self.types):
            raise NotYet(f"the answer has {len(self.types)} field(s): "
                         + " ".join(n.upper() for n in self.names))
        return [NORM[t.rstrip("*")](p) for t, p in zip(self.types, parts)]

    def check(self, answer):
        got = self.split(answer)
        want = [NORM[t.rstrip("*")](str(w)) for t, w in zip(self.types, self.truth())]
        if got == want:
            return
        if len(got) > 1:
            right = [n for n, g, w in zip(self.names, got, want) if g == w]
            wrong = [n for n, g, w in zip(self.names, got, want) if g != w]
            msg = ", ".join(wrong) + (" wrong" if len(wrong) > 1 else " is wrong")
            if right:
                msg += " (" + ", ".join(right) + " right)"
            raise NotYet(msg + ": " + self.hint)
        raise NotYet(self.hint)


class Hashed:
    """An answer known only by the SHA-256 of "id:normalized answer"."""

    def __init__(self, digest, norm, hint, fmt=None):
        self.digest, self.norm, self.hint, self.fmt = digest, norm, hint, fmt

    def normalize(self, answer):
        if self.norm == "words":
            return " ".join(n_word(t) for t in tokens(answer))
        return NORM[self.norm](answer)

    def check(self, answer, ident=None):
        h = hashlib.sha256(f"{ident}:{self.normalize(answer)}".encode()).hexdigest()
        if h != self.digest:
            raise NotYet(self.hint)


class CCode:
    """The reader's C file, compiled with test/book/check/NAME.c and the
    library; the test program says what is wrong."""

    def __init__(self, name, forbid=()):
        self.name, self.forbid = name, forbid

    def check(self, answer):
        path = answer.strip()
        if not os.path.isfile(path):
            raise NotYet(f"give the path of your C file ({path!r} is not a file)")
        make(os.path.join(BUILD, "libws6455.a"))
        with tempfile.TemporaryDirectory() as tmp:
            obj = os.path.join(tmp, "yours.o")
            exe = os.path.join(tmp, "check")
            cc = os.environ.get("CC", "cc")
            flags = ["-std=c11", "-Wall", "-O1", "-I" + os.path.join(ROOT, "include"),
                     "-D_GNU_SOURCE"]
            r = subprocess.run([cc] + flags + ["-c", "-o", obj, path], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
            if r.returncode != 0:
                raise NotYet("it does not compile:\n" + r.stdout.strip())
            syms = subprocess.run(["nm", "-u", obj], stdout=subprocess.PIPE, text=True).stdout
            for f in self.forbid:
                if re.search(r"\b" + f + r"\b", syms):
                    raise NotYet(f"your file calls {f}(): the point is to do its work yourself")
            main = os.path.join(ROOT, "test", "book", "check", self.name + ".c")
            r = subprocess.run([cc] + flags + ["-o", exe, main, obj, LIB] + LIB_LDFLAGS,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if r.returncode != 0:
                raise NotYet("it does not link with the test program:\n" + r.stdout.strip())
            r = subprocess.run([exe], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, timeout=60)
            if r.returncode != 0:
                out = r.stdout.strip() or f"the test program exited {r.returncode}"
                raise NotYet(out)


class Handler:
    """The reader's C file defines `const ws_handler exercise_handler`; it is
    run as a server (test/book/check/handler_main.c) on a loopback port and
    the session function talks to it."""

    def __init__(self, session):
        self.session = session

    def check(self, answer):
        path = answer.strip()
        if not os.path.isfile(path):
            raise NotYet(f"give the path of your C file ({path!r} is not a file)")
        make(os.path.join(BUILD, "libws6455.a"))
        with tempfile.TemporaryDirectory() as tmp:
            exe = os.path.join(tmp, "server")
            cc = os.environ.get("CC", "cc")
            main = os.path.join(ROOT, "test", "book", "check", "handler_main.c")
            r = subprocess.run([cc, "-std=c11", "-Wall", "-O1", "-D_GNU_SOURCE",
                                "-I" + os.path.join(ROOT, "include"), "-o", exe, main, path,
                                LIB] + LIB_LDFLAGS, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if r.returncode != 0:
                raise NotYet("it does not compile:\n" + r.stdout.strip())
            with Server([exe]) as port:
                self.session(port)


# ---------------------------------------------------------------------------
# A server on loopback and a small client, for the exercises whose answer is
# what a running server says.

def listening(port):
    want = ":%04X" % port
    try:
        with open("/proc/net/tcp") as f:
            return any(l.split()[1].endswith(want) and l.split()[3] == "0A"
                       for l in f.readlines()[1:])
    except OSError:
        return False


class Server:
    """Start cmd + [PORT] on a free loopback port; stop it by its PID."""

    def __init__(self, cmd, log=None):
        self.cmd, self.proc, self.log = cmd, None, log

    def __enter__(self):
        for _ in range(5):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            self.proc = subprocess.Popen(self.cmd + [str(port)], stdout=subprocess.DEVNULL,
                                         stderr=self.log or subprocess.DEVNULL)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and self.proc.poll() is None:
                # Listening yet? Asked of the kernel, not with a connection,
                # which would take a connection number (the chat's ids).
                if listening(port):
                    return port
                time.sleep(0.05)
            self.stop()
        raise Usage("the server did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __exit__(self, *exc):
        self.stop()


def ws6455(*args, log=None):
    """A build/ws6455 with these options (the last --log-level given wins);
    the port is appended last. log: a file for its log (stderr)."""
    make(os.path.join(BUILD, "ws6455"))
    return Server([SERVER, "--workers", "1", "--host", "127.0.0.1", "--log-level", "error",
                   "--client-dir", os.path.join(ROOT, "client")] + list(args) + ["--port"],
                  log=log)


class Client:
    """A WebSocket client over a plain socket (RFC 6455 §4.1, §5.2, §5.3)."""

    def __init__(self, port, extra=b""):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                       b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       b"Sec-WebSocket-Version: 13\r\n" + extra + b"\r\n")
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self.buf += self.recv_some()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        if not head.startswith(b"HTTP/1.1 101"):
            raise NotYet("the server refused the handshake: " + head.split(b"\r\n")[0].decode())

    def recv_some(self):
        ready, _, _ = select.select([self.s], [], [], 5)
        data = self.s.recv(65536) if ready else b""
        if not data:
            raise NotYet("the server sent nothing more (closed, or 5 s of silence)")
        return data

    def send(self, op, payload):
        if isinstance(payload, str):
            payload = payload.encode()
        self.s.sendall(bytes.fromhex(masked(op, payload)))

    def take(self, n):
        while len(self.buf) < n:
            self.buf += self.recv_some()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def first_byte(self):
        """The first header byte of the next frame, left in the buffer."""
        b = self.take(1)
        self.buf = b + self.buf
        return b[0]

    def frame(self):
        """(opcode, payload) of the next whole message (fragments joined)."""
        op, data = None, b""
        while True:
            b0, b1 = self.take(2)
            n = b1 & 0x7F
            if n == 126:
                n = int.from_bytes(self.take(2), "big")
            elif n == 127:
                n = int.from_bytes(self.take(8), "big")
            payload = self.take(n)
            if b0 & 0x0F:
                if op is not None and not (b0 & 0x08):
                    raise NotYet("a new message began inside a fragmented one")
                if b0 & 0x08:
                    return b0 & 0x0F, payload
                op = b0 & 0x0F
            data += payload
            if b0 & 0x80:
                return op, data

    def close(self):
        self.s.close()


# ---------------------------------------------------------------------------
# The exercises. Keys are CHAPTER-N, as docs/CHAPTER.md numbers them.

def h(digest, norm, hint):
    return Hashed(digest, norm, hint)


def said_binary():
    with ws6455("--handler", "said") as port:
        c = Client(port)
        c.send(0x2, bytes([1, 2, 3]))
        op, data = c.frame()
        c.close()
        return [op, len(data)]


def chat_events(step):
    """What the chat handler sends: step picks which message to return."""
    with ws6455("--handler", "chat") as port:
        a = Client(port)
        a.frame()  # welcome
        b = Client(port)
        b.frame()  # welcome
        if step == "join":
            op, data = a.frame()
        elif step == "nick":
            a.frame()  # join
            b.send(0x1, "/nick bad name!")
            op, data = b.frame()
            return [json.loads(data)["type"]]
        else:
            a.frame()  # join
            a.send(0x2, bytes([7, 8, 9]))
            op, data = b.frame()
        a.close()
        b.close()
        return [data.decode()]


def log_line_truth():
    with tempfile.TemporaryFile(mode="w+") as log:
        with ws6455("--log-level", "info", log=log) as port:
            c = Client(port)
            c.send(0x1, "Hello")
            c.frame()
            c.s.sendall(bytes.fromhex(masked(0x1, b"\xce\x28")))
            c.frame()  # the close frame
            c.s.sendall(bytes.fromhex(masked(0x8, (1007).to_bytes(2, "big"))))
            c.close()  # the line is written once the connection is over
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                log.seek(0)
                m = re.search(r"disconnected: (\d+).* from the (\w+); (\d+) message", log.read())
                if m:
                    return list(m.groups())
                time.sleep(0.05)
    raise Usage("the server logged no disconnection line")


def threshold_truth():
    """Which echoes come back compressed (RSV1) with --deflate-threshold 100."""
    with ws6455("--deflate-threshold", "100") as port:
        c = Client(port, b"Sec-WebSocket-Extensions: permessage-deflate\r\n")
        out = []
        for n in (60, 100, 140):
            c.send(0x1, "a" * n)
            out.append("yes" if c.first_byte() & 0x40 else "no")
            c.frame()
        c.close()
        return out


def test_record_truth():
    with tempfile.TemporaryDirectory() as tmp:
        rec = os.path.join(ROOT, "scripts", "test-record.sh")
        subprocess.run(["sh", rec, "run", tmp, "a", "plain", "sh", "-c",
                        "echo '4 passed, 0 failed'; exit 1"], stdout=subprocess.DEVNULL)
        subprocess.run(["sh", rec, "run", tmp, "b", "cmocka", "sh", "-c",
                        "echo '[  PASSED  ] 3 test(s).'"], stdout=subprocess.DEVNULL)
        out = subprocess.run(["sh", rec, "summary", tmp], stdout=subprocess.PIPE,
                             text=True).stdout
        m = re.search(r"^(\d+) passed, (\d+) failed", out, re.M)
        return [m.group(1), m.group(2)]


def guarded_offset(n):
    """Where tu_guarded_copy() puts an n-byte copy within its page: the
    test support code itself, compiled and run."""
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = os.path.join(tmp, "main.c"), os.path.join(tmp, "guard")
        with open(src, "w") as f:
            f.write('#include <stdint.h>\n#include <stdio.h>\n#include <unistd.h>\n'
                    '#include "testutil.h"\nint main(void) {\n'
                    '    uint8_t *p = tu_guarded_copy("0123456789abcdef", %d);\n'
                    '    printf("%%lu\\n", (unsigned long)((uintptr_t)p %% '
                    '(uintptr_t)sysconf(_SC_PAGESIZE)));\n    return 0;\n}\n' % n)
        support = os.path.join(ROOT, "test", "support")
        subprocess.run([os.environ.get("CC", "cc"), "-std=c11", "-D_GNU_SOURCE", "-I" + support,
                        "-o", exe, src, os.path.join(support, "testutil.c")], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return [subprocess.run([exe], stdout=subprocess.PIPE, text=True).stdout.strip()]


def slot_size():
    """sizeof(ws_conn), from src/server_internal.h, compiled here."""
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = os.path.join(tmp, "main.c"), os.path.join(tmp, "size")
        with open(src, "w") as f:
            f.write('#include "server_internal.h"\n#include <stdio.h>\n'
                    'int main(void) { printf("%zu\\n", sizeof(ws_conn)); return 0; }\n')
        subprocess.run([os.environ.get("CC", "cc"), "-std=c11", "-D_GNU_SOURCE",
                        "-I" + os.path.join(ROOT, "include"), "-I" + os.path.join(ROOT, "src"),
                        "-o", exe, src], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        return [subprocess.run([exe], stdout=subprocess.PIPE, text=True).stdout.strip()]


def fuzz_piece(cut):
    src = open(os.path.join(ROOT, "test", "fuzz", "fuzz_common.h")).read()
    m = re.search(r"max_piece\[8\]\s*=\s*\{([^}]*)\}", src)
    sizes = [x.strip() for x in m.group(1).split(",")]
    v = sizes[cut & 7]
    return ["all" if v == "SIZE_MAX" else v]


def corpus_fail(name):
    data = open(os.path.join(ROOT, "test", "fuzz", "corpus", "frame", name), "rb").read()
    out = oracle("frame", data[1:].hex())
    m = re.search(r"error \S+ at byte (\d+) close (\d+)", out)
    return [m.group(1), m.group(2)] if m else ["none", "none"]


def conf_count(prefix):
    make(os.path.join(BUILD, "conformance"))
    out = subprocess.run([os.path.join(ROOT, BUILD, "conformance"), "127.0.0.1", "1",
                          "--list", "--prefix", prefix], stdout=subprocess.PIPE, text=True,
                         timeout=30).stdout
    return [len(out.splitlines())]


def http_status(req):
    line = oracle("http", stdin=req.replace("\n", "\r\n")).splitlines()[0]
    return line.split()[1]


REQ = ("GET /chat HTTP/1.1\nHost: example.com\nUpgrade: websocket\nConnection: {conn}\n"
       "Sec-WebSocket-Key: {key}\nSec-WebSocket-Version: {ver}\n{extra}\n")


def handshake_statuses():
    good = "dGhlIHNhbXBsZSBub25jZQ=="
    return [http_status(REQ.format(conn="Upgrade", key=good, ver="8", extra="")),
            http_status(REQ.format(conn="Upgrade", key="AAAAAAAAAAAAAAAAAAAA", ver="13",
                                   extra="")),
            http_status(REQ.format(conn="keep-alive, Upgrade", key=good, ver="13", extra="")),
            http_status(REQ.format(conn="Upgrade", key=good, ver="13",
                                   extra="Content-Length: 5\n"))]


def pmd_answer(offer, mode=None):
    req = REQ.format(conn="Upgrade", key="dGhlIHNhbXBsZSBub25jZQ==", ver="13",
                     extra="Sec-WebSocket-Extensions: " + offer + "\n")
    out = oracle(*(["http"] + ([mode] if mode else [])), stdin=req.replace("\n", "\r\n"))
    for line in out.splitlines():
        if line.startswith("Sec-WebSocket-Extensions:"):
            return [line.split(":", 1)[1].strip()]
    return ["none"]


def n_params(s):
    """An extension line's parameters in order, spaces dropped."""
    return ";".join(p.strip().lower() for p in s.split(";") if p.strip())


NORM["params"] = n_params


def sha1_blocks(n):
    padded = (n + 9 + 63) // 64 * 64
    return [padded // 64, padded - n]


def inflate_text(hexbytes):
    out = oracle("inflate", hexbytes).split()
    if out[0] == "error":
        return ["error"]
    return [bytes.fromhex("".join(out[1:])).decode()]


def inflate_close(hexbytes):
    out = oracle("inflate", hexbytes).split()
    name = out[1] if out[0] == "error" else "none"
    codes = {"WS_E_INFLATE_BTYPE", "WS_E_INFLATE_STORED", "WS_E_INFLATE_CODES",
             "WS_E_INFLATE_LENGTHS", "WS_E_INFLATE_SYMBOL", "WS_E_INFLATE_DISTANCE"}
    # RFC 6455 §7.4.1, as src/error.c maps every inflate error: 1007.
    return [name, "1007" if name in codes else "none"]


def block_header(hexbytes):
    b0 = bytes.fromhex(hexbytes)[0]
    return [b0 & 1, (b0 >> 1) & 3]


def frame_fields(hexbytes):
    out = oracle("frame", hexbytes).split()
    return [out[1], out[3], out[5], "".join(out[7:])]


def frame_fail(hexbytes):
    m = re.search(r"at byte (\d+)", oracle("frame", hexbytes))
    return m.group(1) if m else "none"


def echo_frame(hexbytes):
    for line in reply(hexbytes):
        if line.startswith("message "):
            kind, payload = line.split()[1], "".join(line.split()[2:])
            head = oracle("header", "1", "1" if kind == "text" else "2",
                          str(len(payload) // 2)).strip()
            return [head + payload]
    return ["none"]


def sizeof(name):
    for line in oracle("sizeof").splitlines():
        k, v = line.split()
        if k == name:
            return [v]
    raise Usage("no size for " + name)


def origins(lst, cands):
    return [oracle("origin", lst, o).strip() for o in cands]


def utf8_at(hexbytes):
    out = oracle("utf8", hexbytes).strip()
    m = re.match(r"invalid at byte (\d+)", out)
    return [m.group(1) if m else out]


def close_codes(codes):
    return [close_of(masked(0x8, c.to_bytes(2, "big")))[0] for c in codes]


# A mask of 00 00 00 00 leaves the payload readable in the exercises that
# are about something else than masking (RFC 6455 §5.3 allows any key).
K0 = "00 00 00 00"


def session_shout(port):
    c = Client(port)
    c.send(0x1, "Hello, wörld")
    op, data = c.frame()
    if op != 1 or data != "HELLO, WöRLD".encode():
        raise NotYet(f"'Hello, wörld' came back as opcode {op}, {data!r}; expected a text "
                     "message 'HELLO, WöRLD' (only a-z change)")
    c.send(0x2, bytes([0x61, 0x00, 0xff]))
    op, data = c.frame()
    if op != 2 or data != bytes([0x61, 0x00, 0xff]):
        raise NotYet(f"the binary message 61 00 ff came back as opcode {op}, {data.hex()}")
    c.send(0x1, "bye")
    op, data = c.frame()
    if op != 8 or data[:2] != (1000).to_bytes(2, "big") or data[2:] != b"see you":
        raise NotYet(f"'bye' should get a close frame 1000 'see you', got opcode {op}, "
                     f"{data.hex(' ')}")
    c.close()


def session_counter(port):
    c = Client(port)
    d = Client(port)
    for i, text in enumerate(["hi", "", "again"], 1):
        c.send(0x1, text)
        op, data = c.frame()
        want = f'Server: You said "{text}" ({i})'.encode()
        if (op, data) != (1, want):
            raise NotYet(f"message {i} {text!r}: got opcode {op}, {data!r}; expected "
                         f"{want!r}")
    d.send(0x1, "other")
    op, data = d.frame()
    if (op, data) != (1, b'Server: You said "other" (1)'):
        raise NotYet("a second connection must count from 1 on its own; got " + repr(data))
    c.send(0x2, b"\x01")
    op, data = c.frame()
    if op != 8 or data[:2] != (1003).to_bytes(2, "big"):
        raise NotYet(f"a binary message should be answered with close 1003, got opcode {op}, "
                     f"{data.hex(' ')}")
    c.close()
    d.close()


EXERCISES = {
    # tutorial-vs-ws6455.md
    "tutorial-vs-ws6455-1": Fields(
        ["opcode", "length"], ["int", "int"], said_binary,
        "count the bytes of the quotes around the message too, and see what said_message() "
        "passes as the opcode (src/handlers.c)"),
    "tutorial-vs-ws6455-2": Handler(session_counter),
    "tutorial-vs-ws6455-3": Fields(
        ["bytes"], ["int"], lambda: sizeof("ws_proto"),
        "the engine's state is described at the top of include/proto.h"),

    # minimal.md
    "minimal-6": Fields(
        ["header"], ["hex*"],
        lambda: [oracle("header", "1", "2", "256").strip()],
        "read the 7-bit length first: 126 means a 16-bit length follows; the echo is "
        "unmasked, so its second byte has no mask bit"),
    "minimal-7": Fields(
        ["byte"], ["int"], lambda: utf8_at("ce ba e1 bd b9 cf 83 ce bc ed a0 80 65"),
        "decode character by character; a 3-byte sequence starting with ED has a limited "
        "second byte (RFC 3629 §4)"),
    "minimal-8": Fields(
        ["code"], ["int"], lambda: close_codes([1005])[:1],
        "which codes may appear on the wire (§7.4.1), and what does the server send for a "
        "close frame that breaks the rules?"),

    # from-minimal.md
    "from-minimal-6": Fields(
        ["bytes"], ["int"], lambda: sizeof("ws_frame_parser"),
        "count the fields of struct ws_frame_parser in include/frame.h, with their alignment"),
    "from-minimal-7": Fields(
        ["status", "byte"], ["int", "int"],
        lambda: oracle("http", stdin="GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + "a" * 9000)
        .split()[1::3][:2],
        "the limit counts every byte of the head; the parser refuses the first byte over it"),

    # architecture.md
    "architecture-1": h("42a33b7713e92227594705b9393c11da06a3bb8151bb54a4511db233e03cba85",
                        "words",
                        "follow the arrows of the state diagram from OPEN after the peer's "
                        "close; four states, space-separated"),
    "architecture-2": Fields(
        ["WS_E_UTF8", "WS_E_TOO_MANY_FRAGS", "WS_E_CLOSE_REASON", "WS_E_INFLATE_DISTANCE"],
        ["int"] * 4,
        lambda: oracle("code", "WS_E_UTF8", "WS_E_TOO_MANY_FRAGS", "WS_E_CLOSE_REASON",
                       "WS_E_INFLATE_DISTANCE").split(),
        "see the table in src/error.c: one close code per error (§7.4.1)"),
    "architecture-3": Handler(session_shout),

    # tour.md
    "tour-1": Fields(
        ["bytes"], ["hex*"],
        lambda: echo_frame(masked(0x1, b"Hi there", key=bytes.fromhex("a1b2c3d4"))),
        "unmask the payload (octet i XOR key[i mod 4]) and write the frame a server sends: "
        "FIN, opcode, no mask bit, the length, the payload"),
    "tour-2": h("9acb467a6089219f479b457a7318c3c5b794816c1596f4115b8230defbc427b1", "int",
                "the replies of one read are written together: see batch_flush()"),
    "tour-3": Fields(
        ["opcodes"], ["word*"],
        lambda: [" ".join({"pong": "10", "message": "1", "close": "8"}.get(l.split()[0], "?")
                          for l in reply(masked(0x1, b"Hel", fin=0) + masked(0x9, b"?") +
                                         masked(0x0, b"lo"))
                          if l.split()[0] in ("pong", "message", "close"))],
        "a control frame may come between fragments (§5.4) and is answered at once; the "
        "message is delivered when its last fragment is in"),

    # handshake.md
    "handshake-1": Fields(
        ["accept"], ["text"], lambda: [oracle("accept", "AAAAAAAAAAAAAAAAAAAAAA==").strip()],
        "SHA-1 of the key as sent (24 characters) followed by the GUID, then base64 of the "
        "20-byte digest"),
    "handshake-2": Fields(
        ["A", "B", "C", "D"], ["int"] * 4, handshake_statuses,
        "§4.2.1 lists the checks in order; ws_http_classify() follows it"),
    "handshake-3": Fields(
        ["blocks", "padding"], ["int", "int"], lambda: sha1_blocks(60),
        "padding is 0x80, zeros, and 8 bytes of length, up to a multiple of 64 (FIPS 180-4 "
        "§5.1.1)"),
    "handshake-4": CCode("handshake-4", forbid=("ws_http_accept_key",)),

    # framing.md
    "framing-1": Fields(
        ["opcode", "fin", "length", "payload"], ["int", "int", "int", "hex*"],
        lambda: frame_fields("02 83 0f 0f 0f 0f 6e 6d 6c"),
        "byte 0 holds FIN and the opcode, byte 1 the mask bit and the length, then the key; "
        "payload byte i is XORed with key byte i mod 4"),
    "framing-2": Fields(
        ["A", "B", "C", "D"], ["int"] * 4,
        lambda: [frame_fail("81 fe 00 7d"), frame_fail("89 fe 00 7e"), frame_fail("8b 80"),
                 frame_fail("82 ff 80 00 00 00 00 00 00 00")],
        "for each, find the first byte after which no valid frame can continue (§5.2, §5.5)"),
    "framing-3": Fields(
        ["header"], ["hex*"], lambda: [oracle("header", "1", "2", "70000").strip()],
        "70000 does not fit in 16 bits; the 64-bit length is big-endian (network order)"),
    "framing-4": CCode("framing-4", forbid=("ws_frame_header", "ws_frame_header_masked")),

    # messages.md
    "messages-1": Fields(
        ["code", "byte"], ["int", "int"],
        lambda: close_of(masked(0x1, b"H", fin=0, key=bytes(4)) +
                         masked(0x1, b"i", key=bytes(4))),
        "a new text frame inside a fragmented message is a protocol error (§5.4); the engine "
        "judges it once the header is complete"),
    "messages-2": Fields(
        ["code", "byte"], ["int", "int"],
        lambda: close_of(masked(0x1, b"\xce", fin=0, key=bytes(4)) +
                         masked(0x0, b"\xba\xe2\x28\xa1", key=bytes(4))),
        "the validator's state crosses frames; E2 must be followed by a continuation byte "
        "(80-BF)"),
    "messages-3": Fields(
        ["A", "B", "C", "D"], ["int"] * 4, lambda: close_codes([1000, 1006, 2999, 4001]),
        "valid codes are echoed; 1004-1006, 1015 and the unassigned ranges are not allowed "
        "on the wire (§7.4)"),
    "messages-4": CCode("messages-4", forbid=("ws_utf8_feed",)),

    # client.md
    "client-1": Fields(["message"], ["json*"], lambda: chat_events("join"),
                       "see the table 'Chat wire protocol': who gets the join, and what online "
                       "counts"),
    "client-2": Fields(["type"], ["word"], lambda: chat_events("nick"),
                       "a nick may hold only A-Z a-z 0-9 _ - ."),
    "client-3": Fields(["message"], ["json*"], lambda: chat_events("binary"),
                       "a binary message is announced with a JSON event before its bytes"),

    # limits.md
    "limits-1": Fields(
        ["code", "byte"], ["int", "int"],
        lambda: close_of(masked(0x2, b"x" * 400, fin=0) + masked(0x0, b"y" * 400, fin=0) +
                         masked(0x0, b"z" * 400), 1000),
        "the engine adds each frame's declared length to the message so far, before its "
        "payload arrives"),
    "limits-2": h("8a1e51f084535dbca416e0dff900eb28d69496544ee703a633e9ba655456698f", "int",
                  "--max-queue plus one read buffer (include/server.h, max_queue)"),
    "limits-4": Fields(
        ["code", "by", "messages"], ["int", "word", "int"], log_line_truth,
        "who sent the first close frame? and which messages reached the handler?"),
    "limits-3": Fields(
        ["code", "byte"], ["int", "int"],
        lambda: close_of("82 ff 7f ff ff ff ff ff ff ff " + K0),
        "a length with the top bit set is not a big message but a broken header (§5.2)"),

    # deflate.md
    "deflate-1": Fields(["text"], ["text*"], lambda: inflate_text("4b 4c 4a 4e 44 42 00"),
                        "BFINAL and BTYPE first (least significant bits first), then fixed "
                        "Huffman codes read from the most significant bit (RFC 1951 §3.2.6); "
                        "a length/distance pair copies earlier output"),
    "deflate-2": Fields(["bfinal", "btype"], ["int", "int"],
                        lambda: block_header("1d 8f 41 02 00 51 04 42"),
                        "the first three bits of the stream, least significant first: BFINAL, "
                        "then BTYPE (RFC 1951 §3.2.3)"),
    "deflate-3": Fields(["error", "code"], ["word", "int"],
                        lambda: [w.lower() if i == 0 else w for i, w in
                                 enumerate(inflate_close("01 05 00 fa fe 48 65 6c 6c 6f"))],
                        "LEN and NLEN are little-endian, and NLEN must be LEN's one's "
                        "complement (RFC 1951 §3.2.4)"),
    "deflate-4": Fields(["extension"], ["params*"],
                        lambda: pmd_answer("permessage-deflate; client_max_window_bits=10",
                                           "dedicated"),
                        "RFC 7692 §7.1.2.2: the server may answer client_max_window_bits only "
                        "if offered, with a value no larger"),

    "deflate-5": Fields(["A", "B", "C"], ["word"] * 3, threshold_truth,
                        "messages shorter than the threshold go plain (src/compress.c)"),

    # testing.md
    "testing-1": Fields(["passed", "failed"], ["int", "int"], test_record_truth,
                        "a program that exits non-zero without a counted failure counts as one"),
    "testing-2": h("353e4e060a46fc2677fa4833575e775a9240f557e84205a8ef59474b555142ba", "int",
                   "one piece, every split point from 0 to the length, and five chunk sizes"),
    "testing-3": Fields(["offset"], ["int"], lambda: guarded_offset(11),
                        "the last byte of the copy is the last byte of its page"),

    # conformance.md
    "conformance-1": Fields(
        ["A", "B", "C", "D", "E"], ["int"] * 5,
        lambda: close_codes([1004, 1012, 2999, 3000, 5000]),
        "7.7 echoes the codes §7.4 allows; 7.9 expects 1002 for every other"),
    "conformance-2": Fields(["cases"], ["int"], lambda: conf_count("7.7."),
                            "one case per code a peer may send: 1000-1003, 1007-1014, "
                            "3000-4999 (§7.4)"),
    "conformance-3": Fields(
        ["bytes"], ["int"],
        lambda: utf8_at("ce ba e1 bd b9 cf 83 ce bc ed a0 80 65 64 69 74 65 64"),
        "the payload goes up to and including the first byte no valid text can continue"),

    # fuzzing.md
    "fuzzing-1": Fields(["piece"], ["word"], lambda: fuzz_piece(0x2d),
                        "the low three bits of the cut byte index max_piece[] in "
                        "test/fuzz/fuzz_common.h"),
    "fuzzing-2": Fields(["byte", "code"], ["int", "int"], lambda: corpus_fail("nonminimal_64"),
                        "the first byte of the file is the cut byte; then find the byte that "
                        "proves the 64-bit length is not minimal"),
    "fuzzing-3": Fields(["byte"], ["int"], lambda: utf8_at("f4 90 80 80"),
                        "U+10FFFF is F4 8F BF BF: which byte takes F4 past it?"),

    # benchmarks.md
    "benchmarks-1": h(
        "a663d6c1f8d3517560511ce36f2cb178ca58688e4c0f113e7584fcc56f6066a9", "dec2",
        "MiB is 1048576 bytes, and wsbench counts payload bytes only"),
    "benchmarks-2": h(
        "eb3eacf13dec346ab352ea25feb6453fc54a937fb6eef0fe97d8f726e173e344", "dec2",
        "one epoll_wait() that returns every connection serves one echo on each"),
    "benchmarks-3": Fields(["bytes"], ["int"], slot_size,
                           "the slot is the connection struct of src/server_internal.h"),

    # deploy.md
    "deploy-1": Fields(
        ["A", "B", "C", "D", "E"], ["word"] * 5,
        lambda: origins("https://example.com,https://*.example.org",
                        ["https://EXAMPLE.com", "https://example.org", "https://a.b.example.org",
                         "http://example.com", "https://example.com:8443"]),
        "an origin is scheme://host[:port]; a wildcard covers subdomains, not the domain "
        "itself"),
    "deploy-2": h("4bd702c7d7f2c26e9cfa8bf4f67cedb26f07e40ba766ad966da10b77e1e088cd", "words",
                  "the header is believed only from a --trust-proxy address, and only its "
                  "first element"),
    "deploy-3": h("27201add43b625132aed5547371897d443bd816d02c4dd294d408b32e0de2793", "words",
                  "on an idle connection the longest silence from ws6455 is --ping-interval "
                  "plus the timer's granularity"),
}

# ---------------------------------------------------------------------------

# Chapters whose exercises another checker knows: scripts/exercise.sh
# hands them over, so that one command checks every chapter of the book.
DELEGATES = {
    "handlers": ("exercise-chapters.py", "handlers"),        # docs/handlers.md
    "client-side": ("exercise-chapters.py", "client"),       # docs/client-side.md
    "endings": ("exercise-endings.py", None),                # docs/endings.md
    "timers": ("exercise-timers.py", None),                  # docs/timers.md
}


def delegate(chapter, rest):
    """Run the other checker for chapter, if this tree has it; its exit
    status is the answer. None if the chapter is not delegated."""
    if chapter not in DELEGATES:
        return None
    script, name = DELEGATES[chapter]
    path = os.path.join(ROOT, "scripts", script)
    if not os.path.isfile(path):
        return None
    return subprocess.run([sys.executable, path] + ([name] if name else []) + rest).returncode


def check(ident, answer):
    ex = EXERCISES.get(ident)
    if ex is None:
        raise Usage(f"no exercise {ident} (python3 scripts/exercise.py --list)")
    if not answer.strip():
        raise Usage("give an answer after the exercise number")
    if isinstance(ex, Hashed):
        ex.check(answer, ident)
    else:
        ex.check(answer)


def ident_of(chapter, n):
    chapter = os.path.basename(chapter)
    if chapter.endswith(".md"):
        chapter = chapter[:-3]
    return f"{chapter}-{n}"


def doc_exercises():
    """Every 'scripts/exercise.sh CHAPTER N' a chapter of docs/ names."""
    found = set()
    for name in sorted(os.listdir(os.path.join(ROOT, "docs"))):
        if name.endswith(".md") and name != "README.md":  # the index cites an example
            text = open(os.path.join(ROOT, "docs", name), encoding="utf-8").read()
            for chap, n in re.findall(r"scripts/exercise\.sh ([a-z0-9-]+) (\d+)", text):
                if chap in DELEGATES:
                    continue  # its own checker knows its exercises
                if chap != name[:-3]:
                    raise Usage(f"docs/{name} checks an exercise of {chap}")
                found.add(f"{chap}-{n}")
    return found


def self_test(path):
    passed = failed = 0
    seen = set()
    for lineno, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.rstrip("\n")
        if not line.strip() or line.startswith("#"):
            continue
        ident, right, wrong = (f.strip() for f in line.split("|"))
        seen.add(ident)
        problems = []
        resolve = (lambda a: os.path.join(ROOT, a)) if isinstance(
            EXERCISES.get(ident), (CCode, Handler)) else (lambda a: a)
        try:
            check(ident, resolve(right))
        except NotYet as e:
            problems.append(f"the right answer is refused: {e}")
        except (Usage, OSError, subprocess.SubprocessError) as e:
            problems.append(f"the right answer: {e}")
        try:
            check(ident, resolve(wrong))
            problems.append("a wrong answer is accepted")
        except NotYet:
            pass
        except (Usage, OSError, subprocess.SubprocessError) as e:
            problems.append(f"the wrong answer: {e}")
        if problems:
            failed += 1
            for p in problems:
                print(f"FAIL {ident}: {p}")
        else:
            passed += 1
            print(f"ok   {ident}")
    documented = doc_exercises()
    for ident in sorted(set(EXERCISES) - seen):
        failed += 1
        print(f"FAIL {ident}: no line in {path}")
    for ident in sorted(documented ^ set(EXERCISES)):
        failed += 1
        where = "docs/ but not the checker" if ident in documented else "the checker, not docs/"
        print(f"FAIL {ident}: in {where}")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


def main(argv):
    if len(argv) >= 2 and argv[0] == "--self-test":
        return self_test(argv[1])
    if len(argv) >= 3 and argv[0] == "--hash":
        # For whoever writes an exercise: the digest to store for an answer.
        ex = EXERCISES[argv[1]]
        print(hashlib.sha256(f"{argv[1]}:{ex.normalize(' '.join(argv[2:]))}".encode())
              .hexdigest())
        return 0
    if len(argv) >= 1 and argv[0] == "--id":
        # make exercise E=CHAPTER-N A='...': the chapter may hold dashes.
        m = re.fullmatch(r"(.+)-(\d+)", argv[1] if len(argv) > 1 else "")
        if not m:
            print("usage: make exercise E=CHAPTER-N A='ANSWER'", file=sys.stderr)
            return 2
        argv = [m.group(1), m.group(2)] + argv[2:]
    elif argv[:1] == ["--list"]:
        for ident in EXERCISES:
            print(ident)
        return 0
    chapter = os.path.basename(argv[0])[:-3] if argv and argv[0].endswith(".md") else \
        (argv[0] if argv else "")
    handed = delegate(chapter, argv[1:])
    if handed is not None:
        return handed
    if len(argv) < 2 or not argv[1].isdigit():
        print("usage: scripts/exercise.sh CHAPTER N ANSWER...   (e.g. scripts/exercise.sh "
              "framing 3 82 7f ...)", file=sys.stderr)
        return 2
    try:
        check(ident_of(argv[0], argv[1]), " ".join(argv[2:]))
    except NotYet as e:
        print(f"not yet: {e}")
        return 1
    except Usage as e:
        print(f"exercise: {e}", file=sys.stderr)
        return 2
    print("correct")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
