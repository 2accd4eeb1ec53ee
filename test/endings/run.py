#!/usr/bin/python3
"""test/endings/run.py -- every row of docs/endings.md, against the real server.

docs/endings.md ("What the peer sees") has one table of every way a
connection to ws6455 ends. This program reads that table and, for each row,
runs the scenario named by the row's id against build/ws6455 on loopback,
then checks what a client saw against what the row says:

  the peer receives   the HTTP status line, or the control frames (ping,
                      close) after the 101, byte for byte
  code                the close code in the server's close frame ("-": none)
  TCP                 FIN (recv() returned 0) or RST (ECONNRESET)
  the log says        a piece of text the server's log must contain
  option              every --option named exists in `ws6455 --help`

A row without a scenario here, or a scenario without a row, is a failure:
the table and the behaviour cannot drift apart.

  /usr/bin/python3 test/endings/run.py [--bin build/ws6455] [--doc docs/endings.md]
                                       [--only ID,...] [--show]

--show prints what each scenario observed (to write a new row from).
Prints one line per check and "N passed, N failed"; exits 1 on a failure.
Every scenario is bounded in time (small option values, socket timeouts).
Standard library only (zlib is the test's oracle for permessage-deflate).
"""
import argparse
import base64
import errno
import os
import re
import shutil
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 §1.3's example key
TMP = tempfile.mkdtemp(prefix="ws6455-endings-")

passed = failed = 0


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   %s" % what)
    else:
        failed += 1
        print("FAIL %s%s" % (what, ("\n     " + detail) if detail else ""))
    sys.stdout.flush()
    return ok


# ---------------------------------------------------------------------------
# The server.

class Server:
    """build/ws6455 on a free loopback port, its log in a file."""

    def __init__(self, binary, args, workers=1):
        self.log_path = os.path.join(TMP, "server-%d.log" % time.monotonic_ns())
        log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [binary, "--host", "127.0.0.1", "--port", "0", "--workers", str(workers),
             "--log-level", "debug", "--client-dir", os.path.join(ROOT, "client")] + args,
            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        self.port = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.proc.poll() is None:
            m = re.search(r"listening on 127\.0\.0\.1:(\d+) ", self.log())
            if m:
                self.port = int(m.group(1))
                break
            time.sleep(0.02)
        if self.port is None:
            self.stop()
            raise RuntimeError("server did not start: " + self.log())
        if workers > 1:
            # Each worker logs its own start; wait until all are listening.
            time.sleep(0.3)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def children(self):
        try:
            with open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)) as f:
                return [int(p) for p in f.read().split()]
        except OSError:
            return []

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------------------
# A client that sees every byte.

def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def upgrade_request(port, extra=""):
    return ("GET /chat HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
            "Sec-WebSocket-Version: 13\r\n%s\r\n" % (port, KEY, extra)).encode()


def ws_open(port, extra="", rcvbuf=0):
    """An open WebSocket connection: the socket, and bytes after the 101.
    rcvbuf > 0: SO_RCVBUF, set before connecting (the window is agreed then)."""
    if rcvbuf:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(5)
        s.connect(("127.0.0.1", port))
    else:
        s = connect(port)
    s.sendall(upgrade_request(port, extra))
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            raise RuntimeError("no 101: %r" % data)
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    if not head.startswith(b"HTTP/1.1 101 "):
        raise RuntimeError("no 101: %r" % head)
    return s, rest


def frame(opcode, payload=b"", fin=True, mask=True, rsv1=False, length=None):
    """A client frame (RFC 6455 §5.2), masked unless told otherwise."""
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    n = len(payload) if length is None else length
    mbit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def collect(s, timeout=5.0, first=b""):
    """Read until the server ends the connection. Returns (bytes, end):
    end is "FIN" (recv returned 0), "RST" (ECONNRESET), or "OPEN" (nothing
    ended it within timeout)."""
    data = first
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return data, "OPEN"
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return data, "OPEN"
        except ConnectionResetError:
            return data, "RST"
        if not chunk:
            return data, "FIN"
        data += chunk


def frames_of(data):
    """Server frames (unmasked) in data: a list of (opcode, payload, raw)."""
    out, p = [], 0
    while p + 2 <= len(data):
        b0, b1 = data[p], data[p + 1]
        n, h = b1 & 0x7F, 2
        if n == 126:
            if p + 4 > len(data):
                break
            n, h = struct.unpack("!H", data[p + 2:p + 4])[0], 4
        elif n == 127:
            if p + 10 > len(data):
                break
            n, h = struct.unpack("!Q", data[p + 2:p + 10])[0], 10
        if p + h + n > len(data):
            break
        out.append((b0 & 0x0F, data[p + h:p + h + n], data[p:p + h + n]))
        p += h + n
    return out


def ws_seen(data, end):
    """What the peer saw of an open connection: control frames and the end."""
    ctl = [raw for op, _, raw in frames_of(data) if op >= 8]
    code = None
    for op, payload, _ in frames_of(data):
        if op == 8 and len(payload) >= 2:
            code = struct.unpack("!H", payload[:2])[0]
    return {"frames": ctl, "code": code, "end": end}


def http_seen(data, end):
    line = data.split(b"\r\n", 1)[0].decode("latin-1") if data else ""
    return {"status": line, "head": data, "end": end}


# ---------------------------------------------------------------------------
# The scenarios, one per row id of docs/endings.md. Each returns what the
# peer saw, plus the server's log.

SCENARIOS = {}


def scenario(row_id, args=(), workers=1):
    def wrap(fn):
        SCENARIOS[row_id] = (fn, list(args), workers)
        return fn
    return wrap


def http_request(srv, raw, timeout=5.0):
    s = connect(srv.port)
    s.sendall(raw)
    data, end = collect(s, timeout)
    s.close()
    return http_seen(data, end)


@scenario("http-200")
def _(srv):
    return http_request(srv, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")


@scenario("http-400")
def _(srv):
    # An upgrade without Sec-WebSocket-Key (RFC 6455 §4.2.1 item 5).
    return http_request(srv, b"GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                             b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n")


@scenario("http-403", ["--allow-origin", "https://example.com"])
def _(srv):
    return http_request(srv, upgrade_request(srv.port, "Origin: https://evil.example\r\n"))


@scenario("http-404")
def _(srv):
    return http_request(srv, b"GET /no-such-file HTTP/1.1\r\nHost: x\r\n\r\n")


@scenario("http-405")
def _(srv):
    return http_request(srv, b"DELETE / HTTP/1.1\r\nHost: x\r\n\r\n")


@scenario("http-408", ["--handshake-timeout", "0.5"])
def _(srv):
    s = connect(srv.port)
    s.sendall(b"GET /chat HTTP/1.1\r\nHost: x\r\n")  # and then nothing
    data, end = collect(s, 3)
    s.close()
    return http_seen(data, end)


@scenario("http-414")
def _(srv):
    return http_request(srv, b"GET /" + b"a" * 1100 + b" HTTP/1.1\r\nHost: x\r\n\r\n")


@scenario("http-426")
def _(srv):
    return http_request(srv, upgrade_request(srv.port).replace(
        b"Sec-WebSocket-Version: 13", b"Sec-WebSocket-Version: 8"))


@scenario("http-431", ["--max-header", "1024"])
def _(srv):
    return http_request(srv, b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * 2000 + b"\r\n\r\n")


@scenario("http-505")
def _(srv):
    return http_request(srv, b"GET / HTTP/2.0\r\nHost: x\r\n\r\n")


@scenario("http-503-connections", ["--max-connections", "1"])
def _(srv):
    first, _ = ws_open(srv.port)
    seen = http_request(srv, upgrade_request(srv.port))
    first.close()
    return seen


@scenario("http-503-memory", ["--max-memory", "1600K"])
def _(srv):
    # The smallest budget holds about 600 request heads (1.5 KiB each, and
    # the slots): newcomers that send nothing fill it within a second, while
    # none of them is stale enough (2 s) to be shed for a newcomer.
    import select
    held, seen = [], None
    try:
        for i in range(1200):
            held.append(connect(srv.port))
            if i % 50 == 49:
                ready, _, _ = select.select(held, [], [], 0.05)
                if ready:
                    s = ready[0]
                    data, end = collect(s, 3)
                    seen = http_seen(data, end)
                    break
    finally:
        for s in held:
            s.close()
    return seen or {"status": "", "head": b"", "end": "OPEN"}


@scenario("ws-1000-echo")
def _(srv):
    s, rest = ws_open(srv.port)
    s.sendall(frame(8, struct.pack("!H", 1000) + b"bye"))
    data, end = collect(s, 3, rest)
    s.close()
    return ws_seen(data, end)


@scenario("ws-1000-empty")
def _(srv):
    s, rest = ws_open(srv.port)
    s.sendall(frame(8))
    data, end = collect(s, 3, rest)
    s.close()
    return ws_seen(data, end)


@scenario("ws-1002")
def _(srv):
    s, rest = ws_open(srv.port)
    s.sendall(frame(1, b"hi", mask=False))  # RFC 6455 §5.1: clients mask
    data, end = collect(s, 3, rest)
    s.close()
    return ws_seen(data, end)


@scenario("ws-1007")
def _(srv):
    s, rest = ws_open(srv.port)
    s.sendall(frame(1, b"\xff"))  # 0xff never appears in UTF-8
    data, end = collect(s, 3, rest)
    s.close()
    return ws_seen(data, end)


@scenario("ws-1009-size", ["--max-message", "1K"])
def _(srv):
    s, rest = ws_open(srv.port)
    s.sendall(frame(2, b"", length=2048)[:8])  # the header alone is enough
    data, end = collect(s, 3, rest)
    s.close()
    return ws_seen(data, end)


@scenario("ws-1009-fragments", ["--max-fragments", "3"])
def _(srv):
    s, rest = ws_open(srv.port)
    s.sendall(frame(1, b"a", fin=False) + frame(0, b"b", fin=False) + frame(0, b"c", fin=False)
              + frame(0, b"d", fin=False))
    data, end = collect(s, 3, rest)
    s.close()
    return ws_seen(data, end)


@scenario("ws-1009-bomb", ["--max-message", "64K"])
def _(srv):
    s, rest = ws_open(srv.port, "Sec-WebSocket-Extensions: permessage-deflate\r\n")
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = z.compress(b"\0" * (4 << 20)) + z.flush(zlib.Z_SYNC_FLUSH)
    bomb = bomb[:-4]  # RFC 7692 §7.2.1: the sender drops 00 00 ff ff
    s.sendall(frame(2, bomb, rsv1=True))
    data, end = collect(s, 3, rest)
    s.close()
    return ws_seen(data, end)


@scenario("ws-1008-message-timeout", ["--message-timeout", "0.5"])
def _(srv):
    s, rest = ws_open(srv.port)
    s.sendall(frame(1, b"half a mess", fin=False))  # and never the rest
    data, end = collect(s, 4, rest)
    s.close()
    return ws_seen(data, end)


@scenario("ws-1001-ping-timeout",
          ["--ping-interval", "0.5", "--ping-timeout", "0.5", "--close-timeout", "0.5"])
def _(srv):
    s, rest = ws_open(srv.port)
    data, end = collect(s, 5, rest)  # silent: never a byte back
    s.close()
    return ws_seen(data, end)


@scenario("ws-1001-shutdown", ["--shutdown-timeout", "0.5"])
def _(srv):
    s, rest = ws_open(srv.port)
    srv.proc.send_signal(signal.SIGTERM)
    data, end = collect(s, 5, rest)  # no close frame back: the timeout ends it
    s.close()
    srv.proc.wait(10)
    return ws_seen(data, end)


@scenario("ws-1001-shutdown-answered", ["--shutdown-timeout", "5"])
def _(srv):
    s, rest = ws_open(srv.port)
    srv.proc.send_signal(signal.SIGTERM)
    data = rest
    while not any(op == 8 for op, _, _ in frames_of(data)):
        data += s.recv(4096)
    s.sendall(frame(8, struct.pack("!H", 1001)))  # RFC 6455 §5.5.1: echo the code
    data, end = collect(s, 3, data)
    s.close()
    srv.proc.wait(10)
    return ws_seen(data, end)


@scenario("ws-1013-shed", ["--max-memory", "1600K", "--message-timeout", "60"])
def _(srv):
    # Connections that hold an unfinished 60 KiB message and then make no
    # progress; 2.5 s later newcomers need the memory: the stalest are shed.
    part = frame(1, b"m" * (60 * 1024), fin=False)
    old = []
    for _ in range(12):
        s, rest = ws_open(srv.port)
        s.sendall(part)
        old.append((s, rest))
    time.sleep(2.5)
    young = []
    for _ in range(16):
        # A newcomer may itself get 503 while the shed connections' memory
        # is still on its way back (the http-503-memory row): the server's
        # answer to memory pressure too, not this row's subject.
        try:
            s, _ = ws_open(srv.port)
        except RuntimeError:
            continue
        s.sendall(part)
        young.append(s)
    # The first old connection that hears from the server, within 5 s in
    # all (a sanitized or loaded server takes its time).
    seen = None
    deadline = time.monotonic() + 5
    waiting = {s: rest for s, rest in old}
    while waiting and seen is None and time.monotonic() < deadline:
        ready, _, _ = select.select(list(waiting), [], [], deadline - time.monotonic())
        for s in ready:
            data, end = collect(s, 3, waiting.pop(s))
            if data or end != "OPEN":
                seen = ws_seen(data, end)
                break
    for s, _ in old:
        s.close()
    for s in young:
        s.close()
    return seen or {"frames": [], "code": None, "end": "OPEN"}


@scenario("tcp-peer-fin")
def _(srv):
    s, rest = ws_open(srv.port)
    s.shutdown(socket.SHUT_WR)  # FIN without a close frame
    data, end = collect(s, 3, rest)
    s.close()
    time.sleep(0.1)  # the server logs the disconnect when it reaps
    return ws_seen(data, end)


@scenario("tcp-send-timeout", ["--max-queue", "64K", "--send-timeout", "1"])
def _(srv):
    # Send without ever reading: the echo fills our receive buffer, then the
    # server's queue; it stops reading us, and what we send after that stays
    # unread in its receive buffer.
    s, rest = ws_open(srv.port, rcvbuf=4096)
    s.setblocking(False)
    msg = frame(2, b"x" * 65536)
    sent, t0 = 0, time.monotonic()
    while time.monotonic() - t0 < 1.0:
        try:
            sent += s.send(msg)
        except BlockingIOError:
            time.sleep(0.01)
    s.setblocking(True)
    # Reading would be progress: wait (bounded) for the drop before reading.
    deadline = time.monotonic() + 15
    while "peer not reading" not in srv.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    data, end = collect(s, 5, rest)
    s.close()
    return ws_seen(data, end)


@scenario("tcp-worker-crash", workers=2)
def _(srv):
    s, rest = ws_open(srv.port)
    for pid in srv.children():
        os.kill(pid, signal.SIGKILL)  # whichever worker took us
    data, end = collect(s, 3, rest)
    s.close()
    time.sleep(0.5)  # the supervisor's line
    return ws_seen(data, end)


@scenario("tcp-shutdown-handshake")
def _(srv):
    s = connect(srv.port)
    s.sendall(b"GET /chat HTTP/1.1\r\n")  # half a request head
    time.sleep(0.3)
    srv.proc.send_signal(signal.SIGTERM)
    data, end = collect(s, 3)
    s.close()
    srv.proc.wait(10)
    return http_seen(data, end)


# ---------------------------------------------------------------------------
# The table.

def parse_bytes(spec):
    """`88 0e 03 e9 "ping timeout"` -> the bytes."""
    out = b""
    for tok in re.findall(r'"[^"]*"|[0-9a-f]{2}', spec):
        out += tok[1:-1].encode() if tok.startswith('"') else bytes([int(tok, 16)])
    return out


def read_rows(doc):
    """The rows of the table of docs/endings.md: a dict by id."""
    rows = {}
    cols = None
    with open(doc) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.startswith("|"):
                cols = None  # a table ends at its first other line
                continue
            cells = [c.strip() for c in line.strip("|").split("|")]
            if cells and cells[0] == "id":
                cols = cells
                continue
            if not cols or set(cells[0]) <= set("-: "):
                continue
            m = re.fullmatch(r"`([a-z0-9-]+)`", cells[0])
            if not m or len(cells) != len(cols):
                continue
            rows[m.group(1)] = dict(zip(cols, cells))
    return rows


def check_row(row_id, row, seen, help_text):
    recv, code, tcp, log = row["the peer receives"], row["code"], row["TCP"], row["the log says"]
    if row_id.startswith("http-") or "status" in seen:
        m = re.search(r"`(HTTP/1\.1 [^`]*)`", recv)
        want = m.group(1) if m else ""
        check(seen.get("status", "") == want, "%s: the peer receives %r" % (row_id, want or
              "nothing"), "got %r" % seen.get("status"))
    else:
        want = [parse_bytes(b) for b in re.findall(r"`([0-9a-f]{2}[^`]*)`", recv)]
        got = seen.get("frames", [])
        check(got == want, "%s: the peer receives %s" % (row_id, " then ".join(
              w.hex(" ") for w in want) or "no frame"),
              "got %s" % " then ".join(g.hex(" ") for g in got))
        want_code = None if code in ("-", "—") else int(code)
        check(seen.get("code") == want_code, "%s: close code %s" % (row_id, code),
              "got %s" % seen.get("code"))
    want_tcp = re.sub(r"[^A-Z]", "", tcp.split()[0]) if tcp else ""
    check(seen["end"] == want_tcp, "%s: TCP ends with %s" % (row_id, want_tcp),
          "got %s" % seen["end"])
    for piece in re.findall(r"`([^`]+)`", log):
        check(piece in seen["log"], "%s: the log says %r" % (row_id, piece),
              "log:\n" + seen["log"][-2000:])
    for opt in re.findall(r"--[a-z-]+[a-z]", row["option (default)"]):
        check(opt in help_text, "%s: %s is an option" % (row_id, opt))



def exercise_main(exercises):
    """The command line of an exercise checker (scripts/exercise-endings.py,
    scripts/exercise-timers.py): N ANSWER..., "right" and 0 or "not right"
    and 1. What the server did is shown only with EXERCISE_SHOW=1: it would
    give the answer away."""
    import atexit
    atexit.register(shutil.rmtree, TMP, True)  # the servers' logs
    if len(sys.argv) < 3 or sys.argv[1] not in exercises:
        sys.exit("usage: %s N ANSWER...  (N = %s)" % (sys.argv[0], ", ".join(exercises)))
    try:
        ok, why = exercises[sys.argv[1]](sys.argv[2:])
    except ValueError:
        ok, why = False, "not an answer of the right kind: %s" % " ".join(sys.argv[2:])
    if ok:
        print("right (%s)" % why)
        return 0
    print("not right" + (": " + why if os.environ.get("EXERCISE_SHOW") else
                         " (EXERCISE_SHOW=1 shows what the server did)"))
    return 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "ws6455"))
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs", "endings.md"))
    ap.add_argument("--only", default="")
    ap.add_argument("--show", action="store_true")
    a = ap.parse_args()

    rows = read_rows(a.doc)
    only = [x for x in a.only.split(",") if x]
    help_text = subprocess.run([a.bin, "--help"], capture_output=True, text=True).stdout
    if not only:
        for row_id in rows:
            check(row_id in SCENARIOS, "row %s has a scenario in this file" % row_id)
        for row_id in SCENARIOS:
            check(row_id in rows, "scenario %s has a row in %s" % (row_id, a.doc))
        check(len(rows) >= 20, "the table has %d rows" % len(rows))
    for row_id, (fn, args, workers) in SCENARIOS.items():
        if only and row_id not in only:
            continue
        if row_id not in rows and not a.show:
            continue
        srv = Server(a.bin, args, workers)
        t0 = time.monotonic()
        try:
            seen = fn(srv)
        except (OSError, RuntimeError) as e:
            seen = {"error": repr(e), "end": "ERROR"}
        finally:
            time.sleep(0.05)
            srv.stop()
        seen["log"] = srv.log()
        if a.show:
            show = {k: v for k, v in seen.items() if k != "log"}
            print("%s (%.1f s): %r" % (row_id, time.monotonic() - t0, show))
            print("   log: " + "\n        ".join(
                l for l in seen["log"].splitlines() if "client #" in l or "worker" in l)[:1500])
        if row_id in rows:
            check_row(row_id, rows[row_id], seen, help_text)
    print("%d passed, %d failed" % (passed, failed))
    if failed:
        print("the servers' logs are in %s" % TMP)
    else:
        shutil.rmtree(TMP, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
