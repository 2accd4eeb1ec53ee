#!/bin/sh
# tour-trace.sh BUILD -- the system calls of one connection, as docs/tour.md
# shows them: build/ws6455 (one worker) under strace, a client that sends
# the RFC's handshake, a masked "Hello" and a close, and the server's calls
# from the accept4() of that connection to its close(), without the
# epoll_wait() rounds that timed out empty. Run by scripts/docs/docs.py
# (make docs-check); what varies from run to run (ports, addresses, times)
# is matched loosely there (tour-trace.norm). Loopback only, a free port,
# 20 s at most; the server is stopped by its own PID.
set -eu
build=${1:-build}
command -v strace >/dev/null 2>&1 || { echo "tour-trace: strace is not installed" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# exec: $! is the PID of strace itself, which ends with the server.
calls=accept4,setsockopt,mmap,epoll_wait,epoll_ctl,read,write,writev,shutdown,close
( exec strace -o "$tmp/trace" -e trace=$calls \
      "$build/ws6455" --workers 1 --host 127.0.0.1 --port 0 --log-level debug 2>"$tmp/log" ) &
tracer=$!
port=
for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/log" 2>/dev/null |
        head -n 1)
    [ -n "$port" ] && break
    sleep 0.1
done
if [ -z "$port" ]; then
    kill "$tracer" 2>/dev/null
    echo "tour-trace: the server did not start" >&2
    cat "$tmp/log" >&2
    exit 1
fi

timeout 10 python3 - "$port" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(5)
s.sendall(b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\n"
          b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          b"Origin: http://example.com\r\nSec-WebSocket-Version: 13\r\n\r\n")
assert s.recv(4096).startswith(b"HTTP/1.1 101 ")
time.sleep(0.2)
s.sendall(bytes.fromhex("818537fa213d7f9f4d5158"))     # masked "Hello"
assert s.recv(100) == bytes.fromhex("810548656c6c6f")
s.sendall(bytes.fromhex("888237fa213d3412"))           # masked close 1000
assert s.recv(100) == bytes.fromhex("880203e8")
assert s.recv(100) == b""                               # the server's FIN
s.close()
PY
sleep 0.3
# The server is strace's only child: stop it by its PID; strace ends with it.
server=$(ps -o pid= --ppid "$tracer" | tr -d ' ')
[ -n "$server" ] && kill -TERM "$server"
wait "$tracer" 2>/dev/null || true

# From the accept4() that returned a connection to that connection's
# close(); empty epoll_wait() rounds dropped.
# (strace pads a short call with spaces up to a column before " = ".)
awk '
    !on && /^accept4\(.*\) += [0-9]+$/ { on = 1; fd = $NF }
    !on { next }
    /^epoll_wait\(.*\) += 0$/ { next }
    { print }
    $0 ~ "^close\\(" fd "\\)" { exit }
' "$tmp/trace"
