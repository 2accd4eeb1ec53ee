#!/bin/sh
# connect-deflate.sh BUILD -- the log line of a connection that agreed on
# permessage-deflate, as docs/deflate.md shows it: the request of its
# curl example (client_max_window_bits offered), from a client that then
# closes. Run by scripts/docs/docs.py; timestamps and ports are blurred
# there (connect.norm). Loopback only, stopped by PID.
set -eu
. "$(dirname "$0")/server.sh"
start_server "${1:-build}"
timeout 10 python3 - "$port" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(5)
s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
          b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          b"Sec-WebSocket-Version: 13\r\n"
          b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n")
assert s.recv(4096).startswith(b"HTTP/1.1 101 ")
s.close()
PY
stop_server
sed -n 's/^[^ ]* \(INFO  client #1 connected .*\)$/\1/p' "$tmp/log"
