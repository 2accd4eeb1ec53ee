#!/usr/bin/python3
"""Other people's clients against ws6455: the test behind `make interop`.

Starts three build/ws6455 processes on 127.0.0.1 (--deflate shared, the
default; --deflate dedicated; --deflate off) and talks to each with

  * Node's `ws` client (test/interop/node-client.js): its default offer,
    echoes of 0 bytes to 4 MiB of text and random binary, the bytes on the
    wire (compressed when agreed, never larger than plain for random data
    in the shared mode), a message in compressed fragments, small windows
    the server must keep to, context takeover where the server keeps it;
  * Python's `websockets` (Debian's python3-websockets, 10.x): its default
    offer, echoes, its own window and context-takeover parameters, a
    fragmented message, a client that offers nothing.

Prints one line per check and then exactly `N passed, N failed`; exits 1
on any failure. Every server is killed by PID on the way out; the whole
run stops itself after DEADLINE seconds.

Environment: WS6455_BIN (default build/ws6455), NODE (default node),
NODE_PATH (where `ws` is; `make interop` points it at bench/node_modules).
Run it with /usr/bin/python3, the interpreter python3-websockets installs
into.
"""

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time

import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = os.path.abspath(os.environ.get("WS6455_BIN", os.path.join(ROOT, "build/ws6455")))
NODE = os.environ.get("NODE", "node")
DEADLINE = 150      # seconds for the whole run
STEP = 10           # seconds for any one network step

procs = []
passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}", flush=True)
    else:
        failed += 1
        print(f"FAIL {name}{': ' + detail if detail else ''}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(mode):
    """A server with --deflate MODE; returns its port once it accepts."""
    port = free_port()
    p = subprocess.Popen([BIN, "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                          "--log-level", "warn", "--deflate", mode])
    procs.append(p)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"ws6455 --deflate {mode} did not start")


def stop_all():
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=8)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def json_text(n, seed):
    rnd = random.Random(seed)
    words = ["hello", "meeting", "at", "noon", "ok", "see", "you", "there", "thanks"]
    out = []
    size = 0
    while size < n:
        rec = '{"id":%d,"user":"u%d","text":"%s %s"}\n' % (
            rnd.randrange(1000), rnd.randrange(7), rnd.choice(words), rnd.choice(words))
        out.append(rec)
        size += len(rec)
    return "".join(out)[:n]


# ------------------------------------------------------------------ Node

def node_suite(mode, port):
    env = dict(os.environ)
    try:
        r = subprocess.run([NODE, os.path.join(HERE, "node-client.js"), str(port), mode],
                           env=env, capture_output=True, text=True, timeout=90)
    except subprocess.TimeoutExpired:
        check(f"node ws client, --deflate {mode}", False, "did not finish within 90 s")
        return
    lines = [l for l in r.stdout.splitlines() if l.startswith(("ok   ", "FAIL "))]
    for l in lines:
        check(f"node ws, --deflate {mode}: {l[5:]}", l.startswith("ok"), "")
    if r.returncode != 0 or not lines:
        check(f"node ws client, --deflate {mode}", False,
              f"exit {r.returncode}: {r.stderr.strip()[-300:]}")


# ---------------------------------------------------------------- Python

def pmd(ws):
    """The PerMessageDeflate extension the connection agreed, or None."""
    for e in ws.extensions:
        if e.name == "permessage-deflate":
            return e
    return None


async def echo(ws, data):
    await asyncio.wait_for(ws.send(data), STEP)
    return await asyncio.wait_for(ws.recv(), STEP)


async def py_suite(mode, port):
    url = f"ws://127.0.0.1:{port}/"
    name = f"python websockets {websockets.__version__}, --deflate {mode}"

    # Its default offer, answered; echoes of every size.
    async with websockets.connect(url, max_size=8 << 20, open_timeout=STEP,
                                  close_timeout=STEP) as ws:
        ext = ws.response_headers.get("Sec-WebSocket-Extensions", "")
        e = pmd(ws)
        if mode == "off":
            check(f"{name}: default offer declined", e is None and ext == "", f'answered "{ext}"')
        else:
            check(f'{name}: default offer accepted ("{ext}")', e is not None, "no extension")
            if e is not None:
                nct = mode == "shared"
                check(f"{name}: context takeover as the mode says",
                      e.remote_no_context_takeover == nct and e.local_no_context_takeover == nct,
                      f"remote {e.remote_no_context_takeover}, local {e.local_no_context_takeover}")
        ok = True
        for n in (0, 1, 64, 1000, 65536, 300000, 4 << 20):
            text = json_text(n, n)
            blob = random.Random(n).randbytes(n)
            if await echo(ws, text) != text or await echo(ws, blob) != blob:
                ok = False
                check(f"{name}: echo of {n} bytes", False, "differs")
        check(f"{name}: text and binary echoes of 0 bytes to 4 MiB", ok)
        # A message in fragments (an iterable is sent as one fragmented message).
        parts = [json_text(20000, 1), json_text(20000, 2), "end"]
        got = await echo(ws, parts)
        check(f"{name}: a message in three fragments", got == "".join(parts), f"got {len(got)} bytes")

    if mode == "off":
        return

    # Its own parameters: windows of 2^11 both ways; no context takeover
    # asked of the server.
    factory = ClientPerMessageDeflateFactory(server_max_window_bits=11, client_max_window_bits=11,
                                             server_no_context_takeover=True)
    async with websockets.connect(url, extensions=[factory], compression=None, max_size=8 << 20,
                                  open_timeout=STEP, close_timeout=STEP) as ws:
        ext = ws.response_headers.get("Sec-WebSocket-Extensions", "")
        check(f'{name}: windows of 2^11 and server_no_context_takeover agreed ("{ext}")',
              "server_max_window_bits=11" in ext and "client_max_window_bits=11" in ext
              and "server_no_context_takeover" in ext, "")
        text = json_text(500000, 5) * 2
        check(f"{name}: 1 MB through 2 KiB windows", await echo(ws, text) == text, "differs")

    # A client that offers nothing gets nothing and is still echoed.
    async with websockets.connect(url, compression=None, open_timeout=STEP,
                                  close_timeout=STEP) as ws:
        ext = ws.response_headers.get("Sec-WebSocket-Extensions", "")
        check(f"{name}: no offer, no extension", ext == "" and await echo(ws, "plain") == "plain",
              f'answered "{ext}"')


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    signal.signal(signal.SIGALRM, lambda *_: sys.exit("interop: deadline reached"))
    signal.alarm(DEADLINE)
    try:
        for mode in ("shared", "dedicated", "off"):
            port = start(mode)
            node_suite(mode, port)
            try:
                asyncio.run(py_suite(mode, port))
            except Exception as e:  # a failed step ends that suite, not the run
                check(f"python websockets, --deflate {mode}", False, f"{type(e).__name__}: {e}")
    finally:
        stop_all()
        codes = [p.returncode for p in procs]
        if any(c != 0 for c in codes):
            check("every server stopped cleanly on SIGTERM", False, f"exit codes {codes}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
