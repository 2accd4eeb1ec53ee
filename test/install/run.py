#!/usr/bin/env python3
"""run.py -- `make install` and `make uninstall` as a packager and an
operator meet them.

    python3 test/install/run.py [--build DIR]

Builds a fresh tree in DIR (default build/install-test; its own build
directory, so that build/ws6455 keeps the default prefix) and installs it
with DESTDIR=<tmp>/stage PREFIX=<tmp>/prefix, as a package build would.
Then it checks every installed file: the exact list and modes; the binary
stripped while the build tree's copy keeps its symbols; the page byte for
byte; the man page the same as docs/ws6455.1 and rendering without a
warning; the unit naming the prefix, never the DESTDIR nor /usr/local,
with its hardening. It unpacks the staged tree at the prefix (what
installing the package does), runs `systemd-analyze verify` on the unit
(skipped, saying so, where systemd-analyze is missing), and starts the
installed binary on a free 127.0.0.1 port from / without --client-dir:
it must serve the installed index.html and client.js byte for byte and
echo over a WebSocket (a handshake written here, standard library only),
then exit 0 on SIGTERM, sent to its PID. A copy of the binary away from
its tree must fall back to the page under the prefix it was built for.
Last, `make uninstall` must remove every installed file and share/ws6455,
and nothing that was not installed.

Prints one line per check and "N passed, N failed[, N skipped]"; exits 1
on a failure. Every wait is bounded; the temporary tree and the server
are removed and stopped whatever happens.
"""
import base64
import gzip
import hashlib
import http.client
import os
import re
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
DEADLINE = 270          # seconds for the whole run (make's timeout(1) says 300)

passed = failed = skipped = 0
procs = []              # every server started, killed by PID on the way out


def check(ok, what, why=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   " + what, flush=True)
    else:
        failed += 1
        print("FAIL " + what + (": " + str(why) if why != "" else ""), flush=True)
    return ok


def skip(what, why):
    global skipped
    skipped += 1
    print("skip %s: %s" % (what, why), flush=True)


def run(cmd, timeout=60, **kw):
    """Run cmd, return (exit status, stdout+stderr text)."""
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout, universal_newlines=True, **kw)
        return r.returncode, r.stdout
    except subprocess.TimeoutExpired as e:
        return -1, "timed out after %s s: %s" % (timeout, e.output or "")


def files_under(top):
    """Every non-directory path under top, relative to it."""
    out = set()
    for d, _, names in os.walk(top):
        for n in names:
            out.add(os.path.relpath(os.path.join(d, n), top))
    return out


def make_env():
    """The environment for the sub-make: the parent make's variables stay
    (CC, OPT, ... under make asan), its jobserver does not (this script
    is not a recursive make line, so the pipe is not ours)."""
    env = dict(os.environ)
    flags = [f for f in env.get("MAKEFLAGS", "").split()
             if not f.startswith(("--jobserver", "-j"))]
    env["MAKEFLAGS"] = " ".join(flags)
    env.pop("MFLAGS", None)
    return env


# ------------------------------------------------------------- WebSocket

def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def send_frame(s, opcode, payload):
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    s.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def recv_frame(s):
    b0, b1 = recv_exact(s, 2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", recv_exact(s, 2))[0]
    elif n == 127:
        n = struct.unpack("!Q", recv_exact(s, 8))[0]
    if b1 & 0x80:
        raise ValueError("the server masked a frame")
    return b0, recv_exact(s, n)


def websocket_echo(port):
    """Handshake, a text and a binary message echoed, a clean close.
    Returns None or what went wrong."""
    key = base64.b64encode(os.urandom(16)).decode()
    want = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(("GET /install-test HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n" % (port, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(1)
            if not chunk:
                return "no handshake response: %r" % head
            head += chunk
        lines = head.decode("latin-1").split("\r\n")
        if not lines[0].startswith("HTTP/1.1 101"):
            return "handshake answered %r" % lines[0]
        fields = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip()
                  for l in lines[1:] if ":" in l}
        if fields.get("sec-websocket-accept") != want:
            return "Sec-WebSocket-Accept %r, not %r" % (fields.get("sec-websocket-accept"), want)
        for opcode, payload in ((1, "héllo from the install test".encode()),
                                (2, bytes(range(256)) * 300)):
            send_frame(s, opcode, payload)
            # A large message may come back in fragments (it is echoed
            # while it arrives): opcode first, then continuations to FIN.
            b0, got = recv_frame(s)
            first = b0
            while not b0 & 0x80:
                b0, more = recv_frame(s)
                if b0 & 0x7F != 0:
                    return "frame %#x inside a fragmented message" % b0
                got += more
            if first & 0x7F != opcode or first & 0x70 or got != payload:
                return "sent opcode %d, %d bytes; got first byte %#x, %d bytes" % (
                    opcode, len(payload), first, len(got))
        send_frame(s, 8, struct.pack("!H", 1000))
        b0, got = recv_frame(s)
        if b0 != 0x88 or got[:2] != struct.pack("!H", 1000):
            return "close answered with %#x %r" % (b0, got)
        if s.recv(1) != b"":
            return "no EOF after the close"
    return None


def http_get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


# ------------------------------------------------------------------ test

def main():
    build = os.path.abspath(os.path.join(ROOT, "build", "install-test"))
    if len(sys.argv) == 3 and sys.argv[1] == "--build":
        build = os.path.abspath(sys.argv[2])
    elif len(sys.argv) != 1:
        print("usage: %s [--build DIR]" % sys.argv[0], file=sys.stderr)
        return 2
    os.makedirs(build, exist_ok=True)

    def on_signal(signum, _frame):
        raise SystemExit("stopped by signal %d" % signum)

    def on_alarm(_signum, _frame):
        raise TimeoutError("the run took longer than %d s" % DEADLINE)

    # A signal (timeout(1) sends SIGTERM) or the deadline still cleans up.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(DEADLINE)
    tmp = tempfile.mkdtemp(prefix="ws6455-install.")
    try:
        test(build, os.path.realpath(tmp))
    except Exception as e:  # a check that could not even run is a failure
        check(False, "the test ran to its end", "%s: %s" % (type(e).__name__, e))
    finally:
        signal.alarm(0)
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(5)
        shutil.rmtree(tmp, ignore_errors=True)
    if skipped:
        print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    else:
        print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def test(build, tmp):
    make = os.environ.get("MAKE", "make")
    prefix = os.path.join(tmp, "prefix")
    stage = os.path.join(tmp, "stage")
    staged = stage + prefix
    objdir = os.path.join(build, "build")
    jobs = "-j%d" % (os.cpu_count() or 1)
    client = sorted(os.listdir(os.path.join(ROOT, "client")))
    args = ["BUILD=" + objdir, "PREFIX=" + prefix, "DESTDIR=" + stage]

    # ---- install into the stage
    rc, out = run([make, "-C", ROOT, "--no-print-directory", jobs, "install"] + args,
                  timeout=DEADLINE - 30, env=make_env())
    if not check(rc == 0, "make install PREFIX=%s DESTDIR=%s" % (prefix, stage), "\n" + out):
        return

    want = {"bin/ws6455", "share/man/man1/ws6455.1.gz", "lib/systemd/system/ws6455.service"}
    want |= {"share/ws6455/client/" + n for n in client}
    got = files_under(stage)
    got_rel = {os.path.relpath(os.path.join(stage, f), staged) for f in got}
    check(got_rel == want and all(os.path.join(stage, f).startswith(staged + "/") for f in got),
          "it installs exactly %d files, all under DESTDIR/PREFIX" % len(want),
          "missing %s, extra %s" % (sorted(want - got_rel), sorted(got_rel - want)))
    modes = {}
    for f in want:
        p = os.path.join(staged, f)
        if os.path.exists(p):
            modes[f] = stat.S_IMODE(os.stat(p).st_mode)
    bad = {f: oct(m) for f, m in modes.items()
           if m != (0o755 if f == "bin/ws6455" else 0o644)}
    for d, dirs, _ in os.walk(stage):
        for n in dirs:
            m = stat.S_IMODE(os.stat(os.path.join(d, n)).st_mode)
            if m != 0o755:
                bad[os.path.relpath(os.path.join(d, n), stage) + "/"] = oct(m)
    check(not bad, "the binary is 755, the other files 644, directories 755 "
          "(a service's DynamicUser can read them)", bad)

    # ---- the binary: stripped, the build tree's copy not
    binary = os.path.join(staged, "bin", "ws6455")
    if shutil.which("nm"):
        rc, out = run(["nm", binary])
        check("no symbols" in out, "the installed binary is stripped (nm: no symbols)", out[:200])
        rc, out = run(["nm", os.path.join(objdir, "ws6455")])
        check(rc == 0 and re.search(r" T main$", out, re.M),
              "the build tree's binary keeps its symbols (nm shows main)", out[:200])
    else:
        skip("the binary is stripped", "nm (binutils) is not installed")
    if shutil.which("file"):
        rc, out = run(["file", "-b", binary])
        check(", stripped" in out, "file(1) calls it stripped", out.strip())

    # ---- the page, the man page, the unit
    same = [n for n in client if open(os.path.join(ROOT, "client", n), "rb").read() ==
            open(os.path.join(staged, "share/ws6455/client", n), "rb").read()]
    check(same == client, "the installed page is client/, byte for byte", same)

    man_gz = os.path.join(staged, "share/man/man1/ws6455.1.gz")
    with gzip.open(man_gz, "rb") as f, open(os.path.join(ROOT, "docs/ws6455.1"), "rb") as g:
        check(f.read() == g.read(), "share/man/man1/ws6455.1.gz is docs/ws6455.1, gzipped")
    if shutil.which("groff"):
        rc, out = run(["sh", "-c", "gzip -dc '%s' | groff -man -Tutf8 -ww -z" % man_gz])
        check(rc == 0 and out.strip() == "", "the man page renders without a warning "
              "(groff -man -ww)", out)
    else:
        skip("the man page renders without a warning", "groff is not installed")
    if shutil.which("man"):
        rc, out = run(["man", "-l", man_gz], env=dict(os.environ, MANPAGER="cat", PAGER="cat",
                                                       MANWIDTH="80", LC_ALL="C.UTF-8"))
        check(rc == 0 and "SYNOPSIS" in out and "EXIT STATUS" in out and "--client-dir" in
              out.replace("\u2010", "-"), "man -l shows it (SYNOPSIS ... EXIT STATUS)", out[:300])
    else:
        skip("man -l shows it", "man is not installed")

    unit_path = os.path.join(staged, "lib/systemd/system/ws6455.service")
    unit = open(unit_path).read()
    execs = re.findall(r"^ExecStart=(.*)$", unit, re.M)
    check(execs == ["%s/bin/ws6455 --client-dir %s/share/ws6455/client $WS6455_OPTS"
                    % (prefix, prefix)], "the unit's ExecStart names the prefix's binary and page",
          execs)
    settings = "\n".join(l for l in unit.splitlines() if not l.startswith("#"))
    check(stage not in unit and not re.search(r"@[A-Z_]+@", unit) and
          "/usr/local" not in settings,
          "the unit names no DESTDIR, no placeholder, and no /usr/local outside comments")
    hardening = ["DynamicUser=yes", "NoNewPrivileges=yes", "ProtectSystem=strict",
                 "ProtectHome=yes", "PrivateTmp=yes", "PrivateDevices=yes",
                 "CapabilityBoundingSet=", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
                 "MemoryDenyWriteExecute=yes", "SystemCallFilter=@system-service",
                 "SystemCallFilter=~@privileged", "KillMode=mixed", "LimitNOFILE=65536"]
    lines = set(unit.splitlines())
    check(all(h in lines for h in hardening), "the unit keeps the hardening docs/deploy.md "
          "describes", [h for h in hardening if h not in lines])

    # ---- unpack the staged tree at its prefix, as installing a package would
    os.rename(staged, prefix)
    try:
        installed(prefix, tmp, unit_path.replace(staged, prefix))
    finally:
        os.rename(prefix, staged)

    # ---- uninstall: exactly what install put there
    foreign = ["bin/other-tool", "share/man/man1/other.1.gz", "share/other/data",
               "lib/systemd/system/other.service"]
    for f in foreign:
        os.makedirs(os.path.dirname(os.path.join(staged, f)), exist_ok=True)
        open(os.path.join(staged, f), "w").close()
    rc, out = run([make, "-C", ROOT, "--no-print-directory", "uninstall"] + args, env=make_env())
    check(rc == 0, "make uninstall with the same PREFIX and DESTDIR", "\n" + out)
    left = {os.path.relpath(os.path.join(stage, f), staged) for f in files_under(stage)}
    check(left == set(foreign), "it removes every installed file and nothing else",
          "left %s; removed %s" % (sorted(left - set(foreign)), sorted(set(foreign) - left)))
    check(not os.path.exists(os.path.join(staged, "share/ws6455")) and
          os.path.isdir(os.path.join(staged, "bin")),
          "share/ws6455 is gone; bin/, shared with others, stays")


def installed(prefix, tmp, unit):
    """The unpacked tree: the unit verified, the binary run."""
    if shutil.which("systemd-analyze"):
        rc, out = run(["systemd-analyze", "verify", unit], timeout=30)
        check(rc == 0 and out.strip() == "", "systemd-analyze verify accepts the unit", out)
    else:
        skip("systemd-analyze verify accepts the unit", "systemd-analyze is not installed")

    binary = os.path.join(prefix, "bin", "ws6455")
    page = os.path.join(prefix, "share/ws6455/client")
    rc, out = run([binary, "--version"], timeout=10, cwd="/")
    check(rc == 0 and ("the page: %s\n" % page) in out,
          "the installed binary's page is the one beside it (--version)", out)
    elsewhere = os.path.join(tmp, "elsewhere")
    os.makedirs(elsewhere)
    shutil.copy2(binary, elsewhere)
    rc, out = run([os.path.join(elsewhere, "ws6455"), "--version"], timeout=10, cwd="/")
    check(rc == 0 and ("the page: %s\n" % page) in out,
          "a copy away from the tree falls back to the prefix it was built for", out)

    # Started from /, without --client-dir, on a port the kernel picks.
    log_path = os.path.join(tmp, "server.log")
    log = open(log_path, "w")
    server = subprocess.Popen([binary, "--host", "127.0.0.1", "--port", "0", "--workers", "1",
                               "--log-level", "info"], cwd="/", stdin=subprocess.DEVNULL,
                              stdout=log, stderr=log)
    procs.append(server)
    log.close()
    port, deadline = None, time.monotonic() + 10
    while port is None and time.monotonic() < deadline and server.poll() is None:
        m = re.search(r"listening on 127\.0\.0\.1:(\d+) ", open(log_path).read())
        if m:
            port = int(m.group(1))
        else:
            time.sleep(0.05)
    if not check(port is not None, "the installed server starts from / and listens",
                 open(log_path).read()):
        return
    for path, name in (("/", "index.html"), ("/client.js", "client.js")):
        try:
            status, body = http_get(port, path)
        except OSError as e:
            status, body = str(e), b""
        want = open(os.path.join(page, name), "rb").read()
        check(status == 200 and body == want, "GET %s is the installed %s (200, %d bytes)"
              % (path, name, len(want)), "%s, %d bytes" % (status, len(body)))
    try:
        why = websocket_echo(port)
    except (OSError, EOFError, ValueError) as e:
        why = repr(e)
    check(why is None, "a WebSocket echoes a text and a 75 KiB binary message, closes 1000", why)

    server.send_signal(signal.SIGTERM)
    try:
        rc = server.wait(10)
    except subprocess.TimeoutExpired:
        rc = "still running 10 s after SIGTERM"
    check(rc == 0, "SIGTERM to its PID: it exits 0", rc)
    if failed:
        print("--- server log ---\n" + open(log_path).read() + "---", flush=True)


if __name__ == "__main__":
    sys.exit(main())
