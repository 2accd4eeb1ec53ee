#!/usr/bin/python3
"""ws6455 behind nginx: the reverse-proxy test behind `make proxy-test`.

Starts, as the invoking user and on 127.0.0.1 only:
  * four ws6455 processes (--workers 1): "trusted" (--trust-proxy
    127.0.0.1, pings every second), "plain" (no --trust-proxy, no pings,
    --allow-origin http://app.example),
    and "pool1"/"pool2" behind one nginx upstream;
  * one nginx in the foreground (daemon off) whose configuration is
    generated from test/proxy/*.conf.in into build/proxy/, with its own
    pid file, logs and temporary directories there;
then checks, through the proxy, what docs/deploy.md promises: the
handshake, echo of text/binary/empty/1 MiB messages, ping/pong, close
codes, a protocol error answered with 1002, the HTML page, wss:// with TLS
terminated by nginx, X-Forwarded-For logging with and without
--trust-proxy, proxy_read_timeout versus --ping-interval, round-robin
over two instances and failover when one stops.

Prints one line per check and then exactly `N passed, N failed`; exits 1
on any failure. Every process it starts is killed by PID on the way out,
whatever the way out is (normal end, exception, SIGINT/SIGTERM from
timeout(1), or the internal deadline).

Environment: WS6455_BIN (default build/ws6455), WS6455_CLIENT_DIR
(default client), PROXY_OUT (default build/proxy), NGINX (default: nginx
on PATH, else /usr/sbin/nginx).

Uses Debian's python3-websockets (10.x, the asyncio API); run it with
/usr/bin/python3, which is the interpreter that package installs into.
"""

import asyncio
import base64
import hashlib
import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import time

import websockets

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = os.path.abspath(os.environ.get("WS6455_BIN", os.path.join(ROOT, "build/ws6455")))
CLIENT_DIR = os.path.abspath(os.environ.get("WS6455_CLIENT_DIR", os.path.join(ROOT, "client")))
OUT = os.path.abspath(os.environ.get("PROXY_OUT", os.path.join(ROOT, "build/proxy")))
NGINX = os.environ.get("NGINX") or shutil.which("nginx") or "/usr/sbin/nginx"

DEADLINE = 100          # seconds for the whole run; `make` adds an outer timeout(1)
STEP = 5                # seconds for any one network step
CLIENT_ADDR = "127.0.0.5"   # our source address, so the client differs from the proxy
PROXY_ADDR = "127.0.0.1"    # nginx connects to ws6455 from here
SPOOFED = "198.51.100.9"    # an X-Forwarded-For the client tries to smuggle in

# nginx cuts a tunnel after READ_TIMEOUT seconds without a byte from ws6455.
# "trusted" pings every PING_INTERVAL (< READ_TIMEOUT) and so survives an
# IDLE-second silence; "plain" never pings and is cut.
PING_INTERVAL = 1
READ_TIMEOUT = 3
IDLE = 4.5

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"   # RFC 6455 §1.3

procs = []              # every subprocess.Popen we started, killed by PID at exit
passed = 0
failed = 0


# ---------------------------------------------------------------- reporting

def check(name, ok, detail=""):
    """Record and print one check."""
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}" + (f" ({detail})" if detail else ""), flush=True)
    else:
        failed += 1
        print(f"FAIL {name}" + (f": {detail}" if detail else ""), flush=True)
    return ok


async def acheck(name, coro):
    """Run one async check; it returns (ok, detail). An exception or a
    timeout is a failure, never a crash of the whole run."""
    try:
        ok, detail = await asyncio.wait_for(coro, STEP * 3)
    except Exception as e:  # noqa: BLE001 -- every failure is reported, none stops the run
        ok, detail = False, f"{type(e).__name__}: {e}"
    return check(name, ok, detail)


def scheck(name, fn, *args):
    """acheck for a blocking check function returning (ok, detail)."""
    try:
        ok, detail = fn(*args)
    except Exception as e:  # noqa: BLE001
        ok, detail = False, f"{type(e).__name__}: {e}"
    return check(name, ok, detail)


async def _pair(coro):
    """Adapt a coroutine returning a bool to acheck's (ok, detail)."""
    return (await coro), ""


async def _both(a, b):
    return (await a) and (await b)


# ---------------------------------------------------------------- processes

class Deadline(BaseException):
    """Not an Exception, so that no check's error handling swallows it."""


def on_signal(signum, _frame):
    if signum == signal.SIGALRM:
        raise Deadline(f"run took longer than {DEADLINE} s")
    raise SystemExit(128 + signum)


def stop(p, grace=STEP):
    """Terminate one process we started, by its PID, and reap it."""
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(grace)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def stop_all():
    for p in reversed(procs):
        stop(p)


def free_ports(n):
    """n distinct ports the kernel says are free on 127.0.0.1 right now."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_for(pred, timeout=STEP, every=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(every)
    return pred()


def read(path):
    try:
        with open(path, "r", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


class Server:
    """One ws6455 process with its stderr in OUT/<name>.log."""

    def __init__(self, name, port, *extra):
        self.name, self.port = name, port
        self.log = os.path.join(OUT, f"ws-{name}.log")
        argv = [BIN, "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                "--client-dir", CLIENT_DIR, "--log-level", "info", *extra]
        with open(self.log, "w") as err:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=err)
        procs.append(self.proc)

    def text(self):
        return read(self.log)

    def ready(self):
        return wait_for(lambda: "listening on" in self.text() or self.proc.poll() is not None) \
            and self.proc.poll() is None

    def connections(self):
        return len(re.findall(r"client #\d+ connected from", self.text()))

    def wait_log(self, pattern, timeout=2, flags=0):
        """The log is written by another process, maybe just after the
        client saw the reply: poll for a little while."""
        return wait_for(lambda: re.search(pattern, self.text(), flags) is not None, timeout)


def first_line(text, pattern):
    """The first line of text matching pattern, without its timestamp."""
    for line in text.splitlines():
        if re.search(pattern, line):
            return line.split(" ", 1)[-1].strip()
    return ""


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


# ---------------------------------------------------------------- configuration

def fill(template, values):
    with open(os.path.join(HERE, template)) as f:
        text = f.read()
    for k, v in values.items():
        text = text.replace(f"@{k}@", str(v))
    left = re.findall(r"@[A-Z_0-9]+@", text)
    if left:
        raise RuntimeError(f"{template}: unfilled placeholders {sorted(set(left))}")
    out = os.path.join(OUT, template[:-3])   # x.conf.in -> x.conf
    with open(out, "w") as f:
        f.write(text)
    return out


def temp_paths():
    """nginx's temporary directories default to compiled-in paths such as
    /var/lib/nginx/body, which an unprivileged user cannot create: point
    every one this nginx build has at OUT/tmp/."""
    try:
        v = subprocess.run([NGINX, "-V"], capture_output=True, text=True, timeout=STEP).stderr
    except (OSError, subprocess.SubprocessError):
        v = ""
    lines = [f"client_body_temp_path {OUT}/tmp/client_body;",
             f"proxy_temp_path {OUT}/tmp/proxy;"]
    for mod in ("fastcgi", "uwsgi", "scgi"):
        if f"--without-http_{mod}_module" not in v:
            lines.append(f"{mod}_temp_path {OUT}/tmp/{mod};")
    return "\n    ".join(lines)


def make_cert():
    """A throwaway self-signed certificate for 127.0.0.1 / localhost."""
    tls = os.path.join(OUT, "tls")
    os.makedirs(tls, exist_ok=True)
    key, cert = os.path.join(tls, "key.pem"), os.path.join(tls, "cert.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError("openssl req failed: " + r.stderr.strip())
    return cert


# ---------------------------------------------------------------- client helpers

def ws_connect(port, scheme="ws", ctx=None, headers=None):
    return websockets.connect(
        f"{scheme}://{'localhost' if ctx else '127.0.0.1'}:{port}/",
        ssl=ctx, local_addr=(CLIENT_ADDR, 0), extra_headers=headers or {},
        ping_interval=None, max_size=None, open_timeout=STEP, close_timeout=STEP)


async def echo(ws, msg):
    await ws.send(msg)
    got = await asyncio.wait_for(ws.recv(), STEP)
    return got == msg and type(got) is type(msg)


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"EOF after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def raw_rsv1(port):
    """Handshake by hand through the proxy, then send a text frame with
    RSV1 set. No extension was negotiated, so RFC 6455 §5.2 says the
    server MUST fail the connection: expect a close frame with 1002."""
    key = base64.b64encode(os.urandom(16)).decode()
    want = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
    s = socket.socket()
    s.settimeout(STEP)
    try:
        s.bind((CLIENT_ADDR, 0))
        s.connect(("127.0.0.1", port))
        s.sendall((f"GET /raw HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                return False, "EOF during handshake"
            head += chunk
        head, rest = head.split(b"\r\n\r\n", 1)
        if not head.startswith(b"HTTP/1.1 101") or want.encode() not in head:
            return False, f"bad handshake reply {head!r}, want accept {want}"
        # FIN | RSV1 | text, masked, 5-byte payload "hello"
        mask = os.urandom(4)
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(b"hello"))
        s.sendall(bytes([0x80 | 0x40 | 0x1, 0x80 | 5]) + mask + payload)
        data = rest + recv_exact(s, max(0, 2 - len(rest)))
        b0, b1 = data[0], data[1]
        n = b1 & 0x7F
        if b0 & 0x0F != 0x8 or b1 & 0x80 or n < 2 or n > 125:
            return False, f"not an unmasked close frame: {data[:2].hex()}"
        body = data[2:] + recv_exact(s, max(0, n - (len(data) - 2)))
        code = struct.unpack("!H", body[:2])[0]
        # RFC 6455 §7.1.1: the server closes the TCP connection first; nginx
        # passes the FIN on. Read (and ignore) anything left until EOF.
        t = time.monotonic()
        while s.recv(4096):
            pass
        return code == 1002, f"close code {code}, EOF after {(time.monotonic() - t) * 1000:.0f} ms"
    finally:
        s.close()


def http_get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=STEP,
                                   source_address=(CLIENT_ADDR, 0))
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.getheader("Content-Type", ""), r.getheader("Server", ""), r.read()
    finally:
        c.close()


# ---------------------------------------------------------------- the checks

async def through_proxy(front, trusted, tls_port, ctx):
    """Scenario 1: one ws6455 behind nginx."""
    hdrs = {"X-Forwarded-For": SPOOFED}
    ws = await ws_connect(front, headers=hdrs)
    try:
        h = ws.response_headers
        check("handshake through nginx (101, Upgrade: websocket)",
              h.get("Upgrade", "").lower() == "websocket"
              and h.get("Connection", "").lower() == "upgrade"
              and "nginx" in h.get("Server", ""),
              f"Server: {h.get('Server')}")
        await acheck("echo text", _pair(echo(ws, "héllo through nginx ✓")))
        await acheck("echo binary (all 256 byte values)", _pair(echo(ws, bytes(range(256)))))
        await acheck("echo empty text and empty binary",
                     _pair(_both(echo(ws, ""), echo(ws, b""))))
        big = os.urandom(1 << 20)
        await acheck("echo 1 MiB binary", _pair(echo(ws, big)))

        async def ping():
            t = time.monotonic()
            waiter = await ws.ping(b"through-proxy")
            await asyncio.wait_for(waiter, STEP)
            return True, f"{(time.monotonic() - t) * 1000:.1f} ms"
        await acheck("ping answered with pong", ping())

        async def close4000():
            await ws.close(4000, "done")
            return ws.close_code == 4000, f"server replied {ws.close_code}"
        await acheck("close code 4000 echoed", close4000())
    finally:
        await ws.close()

    scheck("RSV1 frame answered with close 1002 through nginx", raw_rsv1, front)

    def page():
        status, ctype, server, body = http_get(front, "/")
        with open(os.path.join(CLIENT_DIR, "index.html"), "rb") as f:
            index = f.read()
        return (status == 200 and body == index and ctype.startswith("text/html")
                and "nginx" in server), f"HTTP {status}, {ctype}, {len(body)} bytes, {server}"
    scheck("HTML page served through nginx (GET / -> index.html)", page)

    want = rf"connected from {re.escape(CLIENT_ADDR)} \(via proxy {re.escape(PROXY_ADDR)}(:\d+)?\)"
    found = trusted.wait_log(want)
    check("trusted log: client from X-Forwarded-For, via proxy 127.0.0.1", found,
          first_line(trusted.text(), want) if found
          else f"no 'connected from {CLIENT_ADDR} (via proxy {PROXY_ADDR})' in {trusted.log}")
    check("client-supplied X-Forwarded-For is not believed",
          SPOOFED not in trusted.text(), f"{SPOOFED} must not be logged")

    # wss:// with TLS terminated by nginx, the same ws6455 behind it.
    async def tls():
        async with ws_connect(tls_port, "wss", ctx) as w:
            ok = await echo(w, "over TLS") and await echo(w, os.urandom(70000))
            return ok, f"{w.transport.get_extra_info('ssl_object').version()}"
    await acheck("wss:// (TLS terminated by nginx) echoes", tls())


async def direct(port):
    """Python's websockets straight to ws6455, no proxy, on any path: the
    same client as above, so a failure here and not there (or the other
    way round) points at the proxy."""
    ws = await websockets.connect(
        f"ws://127.0.0.1:{port}/any/path?q=1", ping_interval=None, max_size=None,
        open_timeout=STEP, close_timeout=STEP)
    try:
        await acheck("direct: echo text", _pair(echo(ws, "héllo direct ✓")))
        await acheck("direct: echo empty text and empty binary",
                     _pair(_both(echo(ws, ""), echo(ws, b""))))
        await acheck("direct: echo 16 MiB binary (the default --max-message)",
                     _pair(echo(ws, os.urandom(16 << 20))))
        await acheck("direct: echo 16 MiB text",
                     _pair(echo(ws, "ws6455 ✓ " * ((16 << 20) // 11))))

        async def close1000():
            await ws.close(1000, "bye")
            return ws.close_code == 1000, f"server replied {ws.close_code}"
        await acheck("direct: close 1000 echoed", close1000())
    finally:
        await ws.close()


async def without_trust(front, plain):
    async with ws_connect(front) as ws:
        await echo(ws, "plain")
    # The peer is logged as ADDR:PORT, then the request target: no
    # "(via proxy ...)" and no client address in between.
    ok = plain.wait_log(rf"connected from {re.escape(PROXY_ADDR)}(:\d+)? to /", flags=re.M)
    log = plain.text()
    check("without --trust-proxy the log shows the proxy address only",
          ok and "via proxy" not in log and CLIENT_ADDR not in log,
          first_line(log, "connected from"))


async def origin(front, plain):
    """nginx passes the browser's Origin on, so --allow-origin works behind it."""
    async with ws_connect(front, headers={"Origin": "http://app.example"}) as ws:
        await echo(ws, "from the allowed page")
    check("an allowed Origin through nginx gets its connection", True)
    status = None
    try:
        async with ws_connect(front, headers={"Origin": "http://evil.example"}) as ws:
            pass
    except websockets.exceptions.InvalidStatusCode as e:
        status = e.status_code
    check("another Origin through nginx gets ws6455's 403", status == 403, f"status {status}")
    ok = plain.wait_log(r"-> 403 \(origin http://evil\.example not allowed\)")
    check("... and the access line says why", ok, first_line(plain.text(), "403"))


async def idle(front_ping, front_noping):
    """proxy_read_timeout (READ_TIMEOUT) versus --ping-interval."""
    async def survives():
        async with ws_connect(front_ping) as ws:
            await asyncio.sleep(IDLE)
            return await echo(ws, "still here"), \
                f"idle {IDLE} s > proxy_read_timeout {READ_TIMEOUT} s, ping every {PING_INTERVAL} s"

    async def cut():
        ws = await ws_connect(front_noping)
        t = time.monotonic()
        try:
            await asyncio.wait_for(ws.wait_closed(), READ_TIMEOUT + STEP)
            took = time.monotonic() - t
            return READ_TIMEOUT - 0.5 <= took <= READ_TIMEOUT + 2, \
                f"closed by nginx after {took:.1f} s (code {ws.close_code})"
        finally:
            await ws.close()

    r = await asyncio.gather(survives(), cut(), return_exceptions=True)
    names = ["with pings (--ping-interval < proxy_read_timeout) an idle connection stays open",
             "without pings nginx cuts an idle connection at proxy_read_timeout"]
    for name, res in zip(names, r):
        if isinstance(res, BaseException):
            check(name, False, f"{type(res).__name__}: {res}")
        else:
            check(name, *res)


async def pool(front, pool1, pool2):
    """Scenario 2: two instances behind one upstream."""
    before = (pool1.connections(), pool2.connections())
    conns = []
    try:
        for _ in range(20):
            conns.append(await ws_connect(front))
        oks = await asyncio.gather(*(echo(w, f"connection {i}: " + "x" * i)
                                     for i, w in enumerate(conns)), return_exceptions=True)
        good = sum(1 for o in oks if o is True)
        check("20 connections through the upstream each echo correctly", good == 20,
              f"{good}/20")
    finally:
        await asyncio.gather(*(w.close() for w in conns), return_exceptions=True)
    wait_for(lambda: pool1.connections() + pool2.connections() - sum(before) >= 20, 2)
    n1, n2 = pool1.connections() - before[0], pool2.connections() - before[1]
    check("round-robin spreads them over both instances", n1 > 0 and n2 > 0 and n1 + n2 == 20,
          f"pool1 {n1}, pool2 {n2}")

    stop(pool2.proc)
    check("pool2 stopped (SIGTERM by PID)", pool2.proc.returncode == 0
          and not port_open(pool2.port), f"exit status {pool2.proc.returncode}")
    base1, base2 = pool1.connections(), pool2.connections()
    good = 0
    for i in range(6):
        try:
            async with ws_connect(front) as w:
                good += await echo(w, f"after failover {i}")
        except Exception as e:  # noqa: BLE001
            print(f"     connection {i}: {type(e).__name__}: {e}")
    wait_for(lambda: pool1.connections() - base1 >= 6, 2)
    check("with pool2 down, new connections still work (nginx fails over)",
          good == 6 and pool1.connections() - base1 == 6 and pool2.connections() == base2,
          f"{good}/6 echoed, pool1 took {pool1.connections() - base1}")
    err = read(os.path.join(OUT, "error.log"))
    check("nginx logged the refused upstream it skipped",
          re.search(rf"Connection refused.*upstream: \"http://127\.0\.0\.1:{pool2.port}/", err)
          is not None)


# ---------------------------------------------------------------- main

def main():
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGALRM, on_signal)
    signal.alarm(DEADLINE)

    for f in ("nginx.conf", "ws-proxy.conf", "tls-server.conf", "error.log", "access.log"):
        try:
            os.unlink(os.path.join(OUT, f))
        except FileNotFoundError:
            pass
    os.makedirs(os.path.join(OUT, "tmp"), exist_ok=True)
    print(f"# ws6455 {BIN}, nginx {NGINX}, output in {OUT}", flush=True)

    (ws_trusted, ws_plain, ws_pool1, ws_pool2,
     f_trusted, f_plain, f_pool, f_tls) = free_ports(8)
    values = dict(DIR=OUT, TEMP_PATHS=temp_paths(), READ_TIMEOUT=f"{READ_TIMEOUT}s",
                  WS_TRUSTED=ws_trusted, WS_PLAIN=ws_plain,
                  WS_POOL1=ws_pool1, WS_POOL2=ws_pool2,
                  FRONT_TRUSTED=f_trusted, FRONT_PLAIN=f_plain,
                  FRONT_POOL=f_pool, FRONT_TLS=f_tls)
    conf = fill("nginx.conf.in", values)
    fill("ws-proxy.conf.in", values)
    fill("tls-server.conf.in", values)
    cert = make_cert()

    nginx_args = [NGINX, "-p", OUT + "/", "-c", conf, "-e", os.path.join(OUT, "error.log")]
    t = subprocess.run(nginx_args + ["-t", "-q"], capture_output=True, text=True, timeout=STEP * 2)
    if not check("nginx -t accepts the generated configuration", t.returncode == 0,
                 t.stderr.strip()):
        return

    servers = {
        "trusted": Server("trusted", ws_trusted, "--trust-proxy", PROXY_ADDR,
                          "--ping-interval", str(PING_INTERVAL), "--ping-timeout", "2"),
        "plain": Server("plain", ws_plain, "--ping-interval", "0",
                        "--allow-origin", "http://app.example"),
        "pool1": Server("pool1", ws_pool1, "--trust-proxy", PROXY_ADDR),
        "pool2": Server("pool2", ws_pool2, "--trust-proxy", PROXY_ADDR),
    }
    for s in servers.values():
        ready = s.ready()
        if not check(f"ws6455 {s.name} (pid {s.proc.pid}) listening on 127.0.0.1:{s.port}",
                     ready, "" if ready else s.text().strip()[-200:]):
            return

    with open(os.path.join(OUT, "nginx.out"), "w") as out:
        nginx = subprocess.Popen(nginx_args, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    procs.append(nginx)
    fronts = (f_trusted, f_plain, f_pool, f_tls)
    up = wait_for(lambda: nginx.poll() is not None or all(port_open(p) for p in fronts))
    up = up and nginx.poll() is None
    if not check(f"nginx (pid {nginx.pid}) listening on 127.0.0.1:{','.join(map(str, fronts))}",
                 up, "" if up else read(os.path.join(OUT, "error.log"))[-300:]):
        return

    ctx = ssl.create_default_context(cafile=cert)

    async def scenarios():
        # A scenario that breaks off (say, its first connection fails)
        # counts as one failure; the others still run.
        for name, scenario, args in (
                ("direct, no proxy", direct, (ws_plain,)),
                ("one instance", through_proxy, (f_trusted, servers["trusted"], f_tls, ctx)),
                ("without --trust-proxy", without_trust, (f_plain, servers["plain"])),
                ("Origin through nginx", origin, (f_plain, servers["plain"])),
                ("idle timeouts", idle, (f_trusted, f_plain)),
                ("upstream pool", pool, (f_pool, servers["pool1"], servers["pool2"]))):
            try:
                await asyncio.wait_for(scenario(*args), 60)
            except Exception as e:  # noqa: BLE001
                check(f"scenario '{name}' ran to the end", False, f"{type(e).__name__}: {e}")
    asyncio.run(scenarios())

    for s in servers.values():
        if s.name != "pool2":
            alive = s.proc.poll() is None
            check(f"ws6455 {s.name} still running at the end", alive,
                  "" if alive else f"exit status {s.proc.returncode}")


if __name__ == "__main__":
    start = time.monotonic()
    try:
        main()
    except BaseException as e:  # noqa: BLE001 -- report, then clean up below
        check("run completed", False, f"{type(e).__name__}: {e}")
    finally:
        signal.alarm(0)
        stop_all()
    print(f"# {time.monotonic() - start:.1f} s; logs in {OUT}", flush=True)
    print(f"{passed} passed, {failed} failed", flush=True)
    sys.exit(1 if failed or not passed else 0)
