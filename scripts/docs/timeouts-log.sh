#!/bin/sh
# timeouts-log.sh BUILD -- what ws6455 logs for the two stalled clients of
# docs/from-minimal.md ("Limits and timeouts"), with the page's options
# --handshake-timeout 2 --message-timeout 2: a request head that never
# ends (it must get a 408), then a frame that announces 100 bytes and
# sends 10 (it must get the close frame the page shows, 1008). Run by
# scripts/docs/docs.py; timestamps, ports and durations are blurred there
# (timeouts-log.norm). Loopback only, about 5 s, stopped by PID.
set -eu
. "$(dirname "$0")/server.sh"
start_server "${1:-build}" --handshake-timeout 2 --message-timeout 2
timeout 20 python3 - "$port" <<'PY'
import socket, sys
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(5)
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")            # and nothing more
assert s.recv(4096).startswith(b"HTTP/1.1 408 Request Timeout\r\n")
s.close()
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(5)
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
assert s.recv(4096).startswith(b"HTTP/1.1 101 ")
s.sendall(bytes([0x81, 0x80 | 100, 0, 0, 0, 0]) + b"x" * 10)  # 10 of 100 bytes
want = bytes.fromhex("881e03f0") + b"message timeout: no progress"
got = b""
while len(got) < len(want):
    d = s.recv(100)
    assert d, got
    got += d
assert got == want, got
s.close()
PY
stop_server
sed -n '/INFO  client #1 .*-> 408/p; /INFO  client #2: message timeout/p' "$tmp/log"
