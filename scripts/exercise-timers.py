#!/usr/bin/python3
"""scripts/exercise-timers.py -- check an answer to an exercise of
docs/timers.md ("Timers and timeouts") by running the server.

  scripts/exercise-timers.py N ANSWER          (run `make` first)

Each exercise runs build/ws6455 on loopback with small timeouts and
measures or watches what the answer is about. Prints "right" and exits 0,
or "not right" and exits 1 (EXERCISE_SHOW=1 in the environment also says
what it saw). `make endings-test` runs it against
test/book/answers/timers.txt.
"""
import os
import re
import struct
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "test", "endings"))
import run  # noqa: E402  (test/endings/run.py: the server and the client)

BIN = os.environ.get("WS6455_BIN", os.path.join(ROOT, "build", "ws6455"))


def with_server(args, fn):
    srv = run.Server(BIN, args)
    try:
        return fn(srv)
    finally:
        srv.stop()


def ex1(answer):
    """Sweeps per second: with --stats-interval 0.001 every sweep is due to
    log a stats line, so the lines count the sweeps."""
    def count(srv):
        time.sleep(0.2)
        n0 = srv.log().count("stats (periodic)")
        time.sleep(3.0)
        return (srv.log().count("stats (periodic)") - n0) / 3.0
    rate = with_server(["--stats-interval", "0.001"], count)
    return abs(float(answer[0]) - rate) < 0.5, "%.2f sweeps a second" % rate


def ex2(answer):
    """Pings a silent client receives before the close frame."""
    def silent(srv):
        s, rest = run.ws_open(srv.port)
        data, end = run.collect(s, 6, rest)
        s.close()
        return run.frames_of(data)
    frames = with_server(["--ping-interval", "1", "--ping-timeout", "1", "--close-timeout", "1"],
                         silent)
    pings = 0
    for op, _, _ in frames:
        if op == 8:
            break
        pings += op == 9
    return int(answer[0]) == pings, "%d ping(s), then %s" % (
        pings, "a close frame" if any(op == 8 for op, _, _ in frames) else "no close frame")


def ex3(answer):
    """Half a message, kept company by pings: which close code?"""
    def pinging(srv):
        s, rest = run.ws_open(srv.port)
        s.sendall(run.frame(1, b"half", fin=False))
        data, t0 = rest, time.monotonic()
        s.settimeout(0.3)
        while time.monotonic() - t0 < 4:
            s.sendall(run.frame(9, b"still here"))
            try:
                chunk = s.recv(4096)
            except OSError:
                chunk = None
            if chunk == b"":
                break
            data += chunk or b""
            if any(op == 8 for op, _, _ in run.frames_of(data)):
                break
        s.close()
        return run.ws_seen(data, "")["code"]
    code = with_server(["--message-timeout", "1"], pinging)
    return int(answer[0]) == code, "closed with %s" % code


def ends_soon(args, setup):
    """Does a connection set up by setup() end within 1.5 s?"""
    def watch(srv):
        s, rest = setup(srv)
        data, end = run.collect(s, 1.5, rest)
        s.close()
        return end != "OPEN"
    return with_server(args, watch)


def ex4(answer):
    """Which timeout's 0 means 'at once' rather than 'never'?"""
    name = answer[0].lstrip("-").replace("-timeout", "").replace("-interval", "")

    def half_head(srv):
        s = run.connect(srv.port)
        s.sendall(b"GET / HTTP/1.1\r\n")
        return s, b""

    def half_message(srv):
        s, rest = run.ws_open(srv.port)
        s.sendall(run.frame(1, b"half", fin=False))
        return s, rest

    def server_closes(srv):
        # A silent client: ping after 0.2 s, close 1001 0.2 s later, then
        # the wait for its close reply is what --close-timeout sets.
        s, rest = run.ws_open(srv.port)
        return s, rest

    def idle(srv):
        return run.ws_open(srv.port)

    cases = {
        "handshake": (["--handshake-timeout", "0"], half_head),
        "message": (["--message-timeout", "0"], half_message),
        "close": (["--close-timeout", "0", "--ping-interval", "0.2", "--ping-timeout", "0.2"],
                  server_closes),
        "ping": (["--ping-interval", "0"], idle),
        "send": (["--send-timeout", "0", "--ping-interval", "0"], idle),
    }
    if name not in cases:
        return False, "options: %s" % ", ".join(cases)
    if name == "close":
        # Compare with the default close timeout: the connection must end
        # within 1.5 s with 0, and not with the default 5 s.
        args, setup = cases[name]
        quick = ends_soon(args, setup)
        slow = ends_soon(args[2:], setup)
        return quick and not slow, "with 0: %s; with 5: %s" % (
            "ended" if quick else "open", "ended" if slow else "open")
    args, setup = cases[name]
    return ends_soon(args, setup), "--%s 0 did not end the connection" % answer[0]


EXERCISES = {"1": ex1, "2": ex2, "3": ex3, "4": ex4}


if __name__ == "__main__":
    sys.exit(run.exercise_main(EXERCISES))
