#!/bin/sh
# test-minimal.sh -- run the conformance driver against examples/minimal-echo.c
# (the one-file server of docs/minimal.md) and require 0 failures.
#
#   sh scripts/test-minimal.sh [SERVER [DRIVER [DRIVER OPTIONS...]]]
#   e.g. sh scripts/test-minimal.sh build/examples/minimal-echo build/conformance --verbose
#
# `make examples-test` runs it. SERVER defaults to build/examples/minimal-echo,
# DRIVER to build/conformance. The server is started on 127.0.0.1, on
# $MINIMAL_PORT if set (it must then be free), otherwise on the first free
# port from a start point derived from this shell's PID; it must accept
# within 5 s. Then the driver runs the categories the minimal server claims,
# bounded by its --deadline (and timeout 200 where timeout(1) exists), and
# the server is stopped by PID: the parent, and each connection process it
# forked that is still running (pgrep -P lists them by parent PID).
#
# The categories (docs/conformance.md):
#   1.  framing: every length class, echoed exactly (up to 16 MiB)
#   2.  ping and pong            3.  RSV bits      4.  reserved opcodes
#   5.  fragmentation            6.  UTF-8         7.  closing
#   9.  large messages, many fragments, 1000 round trips, the 1009 limit
#       (the server's MAX_MESSAGE is 16 MiB, the driver's default)
#   10. a message in 1300-byte fragments
#   X.1-X.4  unmasked client frames, a 64-bit length with its top bit set
# Not attempted: 12., 13., X.5, X.6, X.7 are permessage-deflate (RFC 7692),
# which the minimal server does not offer (X.6, declined offers, happens to
# pass, since it declines everything; it is left out with the rest).
set -u

server=${1:-build/examples/minimal-echo}
driver=${2:-build/conformance}
if [ $# -ge 2 ]; then shift 2; else shift $#; fi
host=127.0.0.1
prefixes=1.,2.,3.,4.,5.,6.,7.,9.,10.,X.1,X.2,X.3,X.4

for f in "$server" "$driver"; do
    if [ ! -x "$f" ]; then
        echo "test-minimal: $f is missing or not executable" >&2
        exit 2
    fi
done

log=$(mktemp "${TMPDIR:-/tmp}/minimal-echo.XXXXXX") || exit 2
pid=
driver_pid=
stop_server() {
    if [ -n "$pid" ]; then
        # The children first (they are the open connections), then the parent.
        children=$(pgrep -P "$pid" 2>/dev/null)
        # shellcheck disable=SC2086
        [ -n "$children" ] && kill $children 2>/dev/null
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        pid=
    fi
}
cleanup() {
    if [ -n "$driver_pid" ]; then
        kill "$driver_pid" 2>/dev/null
        wait "$driver_pid" 2>/dev/null
        driver_pid=
    fi
    stop_server
    rm -f "$log"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A port nothing listens on: the driver's --wait-ready 0 fails to connect.
if [ -n "${MINIMAL_PORT:-}" ]; then
    port=$MINIMAL_PORT
    tries=1
else
    port=$((20000 + $$ % 20000))
    tries=20
fi
while :; do
    if ! "$driver" "$host" "$port" --wait-ready 0; then
        "$server" "$port" "$host" 2>"$log" &
        pid=$!
        if "$driver" "$host" "$port" --wait-ready 5000 && kill -0 "$pid" 2>/dev/null; then
            break
        fi
        stop_server
    fi
    tries=$((tries - 1))
    if [ "$tries" -le 0 ]; then
        echo "test-minimal: could not start $server on $host (last port tried: $port)" >&2
        cat "$log" >&2
        exit 2
    fi
    port=$((port + 1))
done

echo "test-minimal: $server on $host:$port (pid $pid), cases $prefixes"
bound=
if command -v timeout >/dev/null 2>&1; then
    bound="timeout 200"
fi
$bound "$driver" "$host" "$port" --prefix "$prefixes" "$@" &
driver_pid=$!
wait "$driver_pid"
status=$?
driver_pid=

if ! kill -0 "$pid" 2>/dev/null; then
    echo "test-minimal: the server died during the run" >&2
    cat "$log" >&2
    pid=
    status=1
fi
exit "$status"
