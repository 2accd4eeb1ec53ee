#!/usr/bin/python3
"""scripts/exercise-endings.py -- check an answer to an exercise of
docs/endings.md ("What the peer sees") by running the server.

  scripts/exercise-endings.py N ANSWER...      (run `make` first)

The answer is not stored here: each exercise runs its scenario against
build/ws6455 on loopback (the scenarios of test/endings/run.py, the same
code that checks the chapter's table) and compares what a client saw with
your answer. Prints "right" and exits 0, or "not right" and exits 1
(with EXERCISE_SHOW=1 in the environment it also says what it saw).
`make endings-test` runs it against test/book/answers/endings.txt.
"""
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "test", "endings"))
import run  # noqa: E402  (test/endings/run.py: the server and the client)

BIN = os.environ.get("WS6455_BIN", os.path.join(ROOT, "build", "ws6455"))


def scenario(row_id, fn=None, args=None):
    """Run a row's scenario (or fn with args) and return what was seen."""
    if fn is None:
        fn, args, _ = run.SCENARIOS[row_id]
    srv = run.Server(BIN, args or [])
    try:
        return fn(srv)
    finally:
        srv.stop()


def hexnorm(s):
    return "".join(s.split()).lower()


def ex1(answer):
    seen = scenario("ws-1000-empty")
    return int(answer[0]) == seen["code"], "the server's reply carried %s" % seen["code"]


def ex2(answer):
    seen = scenario("ws-1007")
    want = seen["frames"][0][:4].hex()
    return hexnorm("".join(answer)) == want, "the first four bytes were %s" % want


def ex3(answer):
    seen = scenario("tcp-send-timeout")
    return answer[0].upper() == seen["end"], "the connection ended with %s" % seen["end"]


def ex4(answer):
    def version_8(srv):
        return run.http_request(srv, run.upgrade_request(srv.port).replace(
            b"Sec-WebSocket-Version: 13", b"Sec-WebSocket-Version: 8"))
    seen = scenario(None, version_8, [])
    head = seen["head"].decode("latin-1")
    status = int(seen["status"].split()[1])
    if len(answer) < 2:
        return False, "give the status and the header's name"
    if int(answer[0]) != status:
        return False, "the status was not %s" % answer[0]
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == answer[1].lower():
            # The header that says what to use instead names version 13.
            return value.strip() == "13", "%s: %s" % (name, value.strip())
    return False, "the answer has no header %s" % answer[1]


def ex5(answer):
    def close_4000(srv):
        s, rest = run.ws_open(srv.port)
        s.sendall(run.frame(8, struct.pack("!H", 4000) + b"done"))
        data, end = run.collect(s, 3, rest)
        s.close()
        return run.ws_seen(data, end)
    seen = scenario(None, close_4000, [])
    want = seen["frames"][0].hex()
    return hexnorm("".join(answer)) == want, "the server sent %s" % want


EXERCISES = {"1": ex1, "2": ex2, "3": ex3, "4": ex4, "5": ex5}


if __name__ == "__main__":
    sys.exit(run.exercise_main(EXERCISES))
