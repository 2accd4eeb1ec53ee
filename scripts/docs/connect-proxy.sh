#!/bin/sh
# connect-proxy.sh BUILD -- the log line of a connection through a trusted
# proxy, as docs/deploy.md shows it: --trust-proxy 127.0.0.1 and a request
# whose X-Forwarded-For is 203.0.113.7. Run by scripts/docs/docs.py;
# ports are blurred there (connect.norm). Loopback only, stopped by PID.
set -eu
. "$(dirname "$0")/server.sh"
start_server "${1:-build}" --trust-proxy 127.0.0.1
timeout 10 python3 - "$port" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(5)
s.sendall(b"GET / HTTP/1.1\r\nHost: app.example.com\r\nUpgrade: websocket\r\n"
          b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          b"Sec-WebSocket-Version: 13\r\nX-Forwarded-For: 203.0.113.7\r\n\r\n")
assert s.recv(4096).startswith(b"HTTP/1.1 101 ")
s.close()
PY
stop_server
sed -n 's/^[^ ]* \(INFO  client #1 connected .*\)$/\1/p' "$tmp/log"
