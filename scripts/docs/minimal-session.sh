#!/bin/sh
# minimal-session.sh BUILD -- the session of docs/minimal.md: the server's
# first line and what examples/minimal-session.py prints against
# BUILD/examples/minimal-echo on a free loopback port, shown as the page's
# 9001. Run by scripts/docs/docs.py.
# About 3 s; the server is stopped by its PID.
set -eu
server=${1:-build}/examples/minimal-echo
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
# A port the kernel says is free; another process may take it before the
# server binds it, so try a few.
for _ in 1 2 3 4 5; do
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
    "$server" "$port" 2>"$tmp/log" &
    pid=$!
    for _ in $(seq 50); do
        grep -q 'listening on' "$tmp/log" 2>/dev/null && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    grep -q 'listening on' "$tmp/log" && break
    wait "$pid" 2>/dev/null || true
    pid=
done
[ -n "$pid" ] || { echo "minimal-session: $server did not start" >&2; cat "$tmp/log" >&2; exit 1; }
timeout 30 python3 examples/minimal-session.py "$port" >"$tmp/out"
kill "$pid"
wait "$pid" 2>/dev/null || true
pid=
# The page runs it on port 9001: the free port found here is shown as that.
head -n 1 "$tmp/log" | sed "s/:$port\$/:9001/"
cat "$tmp/out"
