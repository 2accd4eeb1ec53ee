#!/bin/sh
# run-conformance.sh -- start a fresh server, run the conformance driver
# against it, stop the server, exit with the driver's status.
#
#   sh scripts/run-conformance.sh [--server-args ARGS | --port-host] SERVER DRIVER
#                                 [DRIVER OPTIONS...]
#   e.g. sh scripts/run-conformance.sh build/ws6455 build/conformance --verbose
#        sh scripts/run-conformance.sh --server-args "--deflate dedicated" \
#            build/ws6455 build/conformance --prefix 13.
#
# The server listens on 127.0.0.1 on a free port: $CONF_PORT if set (it
# must then be free), otherwise the first free one from a start point
# derived from this shell's PID. Options after DRIVER go to the driver
# (--filter, --verbose, ...). The whole run is bounded: the server must
# accept within 5 s, and the driver gives up after its --deadline (170 s).
#
# Server options and why:
#   --workers 1              one process, so the PID we kill is the server
#   --log-level warn         quiet unless something is wrong
#   --max-message 16777216   9.x sends messages of exactly this size, and
#                            9.9 one byte more (the driver is told the same)
#   --max-fragments 100000   9.3.1 / 9.4.1 send 65536 fragments
#   --ping-interval 0        no keep-alive ping may land in a case's replies
# --server-args adds options of its own (split at spaces), e.g. another
# --deflate mode for a second pass over the compression cases.
# --port-host: SERVER takes only "PORT HOST" and no options (the one-file
# server of docs/minimal.md, scripts/test-minimal.sh); it may fork a
# process per connection, which is stopped with it.
set -u

server_args=
port_host=
while [ $# -gt 0 ]; do
    case $1 in
    --server-args)
        [ $# -ge 2 ] || { echo "$0: --server-args needs a value" >&2; exit 2; }
        server_args=$2
        shift 2
        ;;
    --port-host)
        port_host=1
        shift
        ;;
    *) break ;;
    esac
done
if [ $# -lt 2 ]; then
    echo "usage: $0 [--server-args ARGS | --port-host] SERVER DRIVER [DRIVER OPTIONS...]" >&2
    exit 2
fi
server=$1
driver=$2
shift 2
host=127.0.0.1
max_message=16777216

for f in "$server" "$driver"; do
    if [ ! -x "$f" ]; then
        echo "run-conformance: $f is missing or not executable" >&2
        exit 2
    fi
done

log=$(mktemp "${TMPDIR:-/tmp}/ws6455-conformance.XXXXXX") || exit 2
pid=
driver_pid=
# The server by its PID, and first any process it forked that still runs
# (a fork-per-connection server's open connections; pgrep -P lists them).
stop_server() {
    if [ -n "$pid" ]; then
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

start_server() {
    if [ -n "$port_host" ]; then
        "$server" "$1" "$host" 2>"$log" &
        pid=$!
        return
    fi
    # $server_args unquoted on purpose: one word per option.
    # shellcheck disable=SC2086
    "$server" --host "$host" --port "$1" --workers 1 --log-level warn \
        --max-message "$max_message" --max-fragments 100000 --ping-interval 0 \
        $server_args 2>"$log" &
    pid=$!
}

# Find a port nothing listens on, start the server there, wait until it
# accepts. A server that cannot bind exits at once; then try the next port.
if [ -n "${CONF_PORT:-}" ]; then
    port=$CONF_PORT
    tries=1
else
    port=$((20000 + $$ % 20000))
    tries=20
fi
while :; do
    if ! "$driver" "$host" "$port" --wait-ready 0; then
        start_server "$port"
        if "$driver" "$host" "$port" --wait-ready 5000 && kill -0 "$pid" 2>/dev/null; then
            break
        fi
        stop_server
    fi
    tries=$((tries - 1))
    if [ "$tries" -le 0 ]; then
        echo "run-conformance: could not start $server on $host (last port tried: $port)" >&2
        cat "$log" >&2
        exit 2
    fi
    port=$((port + 1))
done

echo "conformance: $server${server_args:+ $server_args} on $host:$port (pid $pid)"
# Belt and braces around the driver's own --deadline, where timeout(1) exists.
bound=
if command -v timeout >/dev/null 2>&1; then
    bound="timeout 200"
fi
# In the background so that a signal to this script is handled at once
# (the shell runs traps only after a foreground command ends).
$bound "$driver" "$host" "$port" --max-message "$max_message" "$@" &
driver_pid=$!
wait "$driver_pid"
status=$?
driver_pid=

if ! kill -0 "$pid" 2>/dev/null; then
    echo "run-conformance: the server died during the run" >&2
    wait "$pid" 2>/dev/null
    echo "run-conformance: exit status $?" >&2
    pid=
    status=1
fi
if [ "$status" -ne 0 ] && [ -s "$log" ]; then
    echo "--- server log (last 40 lines) ---" >&2
    tail -n 40 "$log" >&2
fi
exit "$status"
