# server.sh -- sourced by the scripts/docs/*.sh generators that need a
# running server: start_server BUILD ARGS... starts BUILD/ws6455 with one
# worker on a free loopback port, its log in $tmp/log, and sets $port and
# $server (its PID); stop_server stops it by that PID. $tmp is removed on
# exit.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

start_server() {
    _build=$1
    shift
    "$_build/ws6455" --workers 1 --host 127.0.0.1 --port 0 "$@" 2>"$tmp/log" &
    server=$!
    port=
    for _ in $(seq 100); do
        port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/log" 2>/dev/null |
            head -n 1)
        [ -n "$port" ] && return 0
        sleep 0.1
    done
    kill "$server" 2>/dev/null
    echo "$0: the server did not start:" >&2
    cat "$tmp/log" >&2
    exit 1
}

stop_server() {
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
}
