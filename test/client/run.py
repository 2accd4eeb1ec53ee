"""run.py -- examples/minimal-client.c against real servers and fake ones.

  python3 test/client/run.py CLIENT WS6455 MINIMAL_ECHO

1. Against build/ws6455 and examples/minimal-echo, each started here on a
   free loopback port: messages of 0, 5, 125, 126, 65535, 65536 and
   70,000 bytes (every length encoding of §5.2 on both sides), UTF-8 of 2,
   3 and 4 bytes, given on the command line and on stdin; stdout must be
   each message and a newline, exactly, and the exit status 0 (a clean
   close, §7).
2. Against test/client/fakeserver.py: a correct but unusual answer with
   pings and fragments, which must work; and each answer §4.1 says a
   client MUST fail on, which must end with status 1, a reason on stderr,
   nothing on stdout and no frame sent; a masked frame from the server
   (§5.1), answered with close 1002; a close with a code that is never
   sent (1005), answered with 1002; a close from the server, answered
   with the same code.

Every child runs under a timeout; servers are stopped by their own pid.
Prints "ok"/"FAIL" per check and "N passed, N failed" at the end.
"""

import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakeserver  # noqa: E402

RESULTS = [0, 0]


def check(name, cond, detail=""):
    RESULTS[0 if cond else 1] += 1
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else ": " + detail))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(argv_for_port):
    """Start a server on a free port; retry if another process took it."""
    for _ in range(10):
        port = free_port()
        proc = subprocess.Popen(argv_for_port(port), stderr=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return proc, port
            except OSError:
                time.sleep(0.05)
        proc.kill()
        proc.wait()
    raise SystemExit("run.py: could not start %s" % argv_for_port(0)[0])


def stop(proc):
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def client(binary, port, args, stdin=b""):
    return subprocess.run([binary, "127.0.0.1", str(port)] + args, input=stdin,
                          capture_output=True, timeout=30)


def messages():
    cycle = "é日🙂a"  # 2, 3, 4 and 1 bytes
    text = cycle * 7000  # 70,000 bytes
    return ["hello", "", "ça va? 日本 🙂", "x" * 125, "y" * 126, "z" * 65535, "w" * 65536,
            text, "last"]


def against_server(client_bin, name, proc_port):
    proc, port = proc_port
    try:
        msgs = messages()
        want = "".join(m + "\n" for m in msgs).encode()
        sizes = [len(m.encode()) for m in msgs]
        assert 70000 in sizes, sizes
        r = client(client_bin, port, msgs)
        check("%s: %d messages on the command line, %s bytes" % (name, len(msgs), sizes),
              r.returncode == 0 and r.stdout == want and r.stderr == b"",
              "status %d, %d bytes out (want %d), stderr %r" %
              (r.returncode, len(r.stdout), len(want), r.stderr[:300]))
        lines = ["from stdin", "a line of 100,000 bytes next", "q" * 100000, "", "end"]
        want = "".join(m + "\n" for m in lines).encode()
        r = client(client_bin, port, [], stdin=want)
        check("%s: %d lines on stdin" % (name, len(lines)),
              r.returncode == 0 and r.stdout == want and r.stderr == b"",
              "status %d, %d bytes out (want %d), stderr %r" %
              (r.returncode, len(r.stdout), len(want), r.stderr[:300]))
        # No newline at the end of the input: the last line still counts.
        r = client(client_bin, port, [], stdin=b"no newline")
        check("%s: a last line without newline" % name,
              r.returncode == 0 and r.stdout == b"no newline\n",
              "status %d, out %r" % (r.returncode, r.stdout))
    finally:
        stop(proc)


FAILS = {
    "bad-accept": "Sec-WebSocket-Accept is not the value of our key",
    "status-200": "the status is not 101",
    "no-upgrade": "no Upgrade: websocket",
    "no-connection": "no Connection: Upgrade",
    "extension": "an extension we did not ask for",
    "subprotocol": "a subprotocol we did not ask for",
}


def against_fakes(client_bin):
    # A correct answer in unusual dress, pings and fragments.
    fake = fakeserver.FakeServer("good")
    r = client(client_bin, fake.port, ["hello", "日本語", "x" * 70000])
    fake.join()
    want = ("hello\n日本語\n" + "x" * 70000 + "\n").encode()
    check("fake good: the replies, in fragments with pings between",
          r.returncode == 0 and r.stdout == want,
          "status %d, out %r, stderr %r" % (r.returncode, r.stdout[:80], r.stderr))
    check("fake good: the request, masks and pongs as the RFC says",
          not fake.errors and "pong ok" in fake.notes and fake.close_code == 1000,
          "errors %s, notes %s, close %s" % (fake.errors, fake.notes, fake.close_code))
    # A pong for the first ping; each message and the pong for the ping
    # between its fragments; the close: 8 frames, a fresh key each.
    check("fake good: a fresh masking key for each of its 8 frames",
          len(fake.masks) == 8 and len(set(fake.masks)) == 8, str(fake.masks))

    for mode, why in FAILS.items():
        fake = fakeserver.FakeServer(mode)
        r = client(client_bin, fake.port, ["never sent"])
        fake.join()
        check("fake %s: refused (%s)" % (mode, why),
              r.returncode == 1 and r.stdout == b"" and why.encode() in r.stderr and
              not fake.errors and not fake.masks,
              "status %d, out %r, stderr %r, fake saw %s" %
              (r.returncode, r.stdout, r.stderr, fake.errors))

    fake = fakeserver.FakeServer("masked")
    r = client(client_bin, fake.port, ["hi"])
    fake.join()
    check("fake masked: the client fails the connection with 1002 (§5.1)",
          r.returncode == 1 and fake.close_code == 1002 and
          b"a masked frame from the server" in r.stderr and not fake.errors,
          "status %d, close %s, stderr %r, fake %s" %
          (r.returncode, fake.close_code, r.stderr, fake.errors))

    fake = fakeserver.FakeServer("close-1005")
    r = client(client_bin, fake.port, ["hi"])
    fake.join()
    check("fake close-1005: a code that is never sent, answered with 1002 (§7.4.1)",
          r.returncode == 1 and fake.close_code == 1002 and b"a bad close frame" in r.stderr
          and not fake.errors,
          "status %d, close %s, stderr %r, fake %s" %
          (r.returncode, fake.close_code, r.stderr, fake.errors))

    fake = fakeserver.FakeServer("close-first")
    r = client(client_bin, fake.port, ["hi"])
    fake.join()
    check("fake close-first: the close echoed with 1001, the server's FIN awaited",
          r.returncode == 1 and fake.close_code == 1001 and
          b"the server closed with 1001: going away" in r.stderr and
          b"did not close TCP" not in r.stderr and not fake.errors,
          "status %d, close %s, stderr %r, fake %s" %
          (r.returncode, fake.close_code, r.stderr, fake.errors))


def main():
    if len(sys.argv) != 4:
        raise SystemExit("usage: run.py CLIENT WS6455 MINIMAL_ECHO")
    client_bin, ws6455, echo = sys.argv[1:]
    against_server(client_bin, "ws6455", start(lambda p: [
        ws6455, "--workers", "1", "--host", "127.0.0.1", "--port", str(p),
        "--log-level", "warn"]))
    against_server(client_bin, "minimal-echo", start(lambda p: [echo, str(p), "127.0.0.1"]))
    against_fakes(client_bin)
    r = client(client_bin, free_port(), ["x"])
    check("no server: status 1", r.returncode == 1 and b"cannot connect" in r.stderr,
          repr(r.stderr))
    print("%d passed, %d failed" % tuple(RESULTS))
    return 1 if RESULTS[1] else 0


if __name__ == "__main__":
    sys.exit(main())
