#!/usr/bin/python3
"""bench/sweep-cost.py -- what the timer sweep costs, measured from outside.

docs/timers.md: every SWEEP_MS (250 ms) a worker walks its whole connection
table (sweep_conn() for each live slot). This opens N idle WebSocket
connections to one worker (--ping-interval 0, so the sweep only looks and
never sends), lets the server sit idle for SECONDS, and reads the worker's
CPU time from /proc/PID/schedstat (nanoseconds on the CPU) before and
after. An idle server does nothing but its sweeps (and the epoll_wait that
wakes it for them), so CPU time / sweeps is the cost of one sweep. Then it
closes the connections and measures again: the table's slots stay
allocated, and the sweep still walks them.

  /usr/bin/python3 bench/sweep-cost.py [--bin build/ws6455] [--seconds 10]
                                       [N ...]          (default 0 1000 5000 15000)

Needs a descriptor limit above the largest N for this process and the
server (`ulimit -n`). Loopback only; a few seconds per N.
"""
import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def cpu_ns(pid):
    with open("/proc/%d/schedstat" % pid) as f:
        return int(f.read().split()[0])


def start(binary):
    log = tempfile.NamedTemporaryFile("w+", prefix="sweep-cost-", suffix=".log", delete=False)
    proc = subprocess.Popen([binary, "--host", "127.0.0.1", "--port", "0", "--workers", "1",
                             "--ping-interval", "0", "--log-level", "info",
                             "--max-connections", "100000"],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        m = re.search(r"listening on 127\.0\.0\.1:(\d+) ", open(log.name).read())
        if m:
            return proc, int(m.group(1)), log.name
        time.sleep(0.02)
    proc.kill()
    sys.exit("server did not start: " + open(log.name).read())


def open_many(port, n):
    """n open WebSocket connections (handshakes pipelined in batches)."""
    req = ("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % KEY).encode()
    socks = []
    while len(socks) < n:
        batch = []
        for _ in range(min(200, n - len(socks))):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(req)
            batch.append(s)
        for s in batch:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = s.recv(4096)
                if not chunk:
                    sys.exit("connection refused after %d" % len(socks))
                head += chunk
            if not head.startswith(b"HTTP/1.1 101"):
                sys.exit("no 101: %r" % head[:80])
        socks += batch
    return socks


def measure(pid, seconds):
    time.sleep(1.0)  # let the handshakes' buffers be given back first
    t0, c0 = time.monotonic(), cpu_ns(pid)
    time.sleep(seconds)
    t1, c1 = time.monotonic(), cpu_ns(pid)
    sweeps = (t1 - t0) / 0.25
    return (c1 - c0) / sweeps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/ws6455")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("n", nargs="*", type=int, default=[0, 1000, 5000, 15000])
    a = ap.parse_args()

    print("%8s  %14s  %14s  %18s" % ("idle", "CPU per sweep", "per connection",
                                     "after they left"))
    for n in a.n:
        proc, port, log = start(a.bin)
        try:
            socks = open_many(port, n)
            per_sweep = measure(proc.pid, a.seconds)
            for s in socks:
                s.close()
            time.sleep(1.0)
            after = measure(proc.pid, a.seconds)
        finally:
            proc.terminate()
            proc.wait(10)
            os.unlink(log)
        print("%8d  %11.1f us  %11.1f ns  %15.1f us" % (
            n, per_sweep / 1000, per_sweep / n if n else 0.0, after / 1000))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
