#!/bin/sh
# check-wsbench.sh -- prove that wsbench tells a good echo server from a bad
# one: run it against each mode of bench/faulty-echo.js and check its exit
# status and the error counter that should fire.
#
# Usage: sh bench/check-wsbench.sh [WSBENCH] [PORT]
#   (defaults build/wsbench and 18290; needs node and bench/node_modules)
# Prints one line per mode and a closing "N passed, N failed" line; exits
# non-zero if any mode was judged wrongly. Each run is bounded by timeout(1).
set -u
WSBENCH=${1:-build/wsbench}
PORT=${2:-18290}
HERE=$(dirname "$0")
pass=0
fail=0
server=

cleanup() {
	if [ -n "$server" ]; then kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; fi
	server=
}
trap cleanup EXIT INT TERM

wait_port() {
	i=0
	while [ $i -lt 50 ]; do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		# /dev/tcp is a bash feature; fall back to node if sh lacks it.
		if node -e "require('net').connect($1, '127.0.0.1')
			.on('connect', () => process.exit(0)).on('error', () => process.exit(1))" 2>/dev/null
		then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# check MODE EXPECTED_EXIT FIELD_THAT_MUST_BE_NONZERO [wsbench args...]
check() {
	mode=$1 want=$2 field=$3
	shift 3
	node "$HERE/faulty-echo.js" "$mode" "$PORT" >/dev/null 2>&1 &
	server=$!
	if ! wait_port "$PORT"; then
		echo "FAIL $mode: server did not start"
		fail=$((fail + 1)); cleanup; return
	fi
	out=$(timeout 60 "$WSBENCH" --port "$PORT" -c 4 -t 1 -w 0 --timeout 2 -q "$@" \
		2>/tmp/check-wsbench.err)
	rc=$?
	cleanup
	line=$(printf '%s\n' "$out" | grep '^RESULT' | tail -n 1)
	val=$(printf '%s\n' "$line" | tr ' ' '\n' | grep "^$field=" | cut -d= -f2)
	first_err=$(head -n 1 /tmp/check-wsbench.err)
	if [ "$rc" -eq "$want" ] && [ -n "$val" ] && [ "$val" != 0 ]; then
		echo "ok   $mode: exit $rc, $field=$val ${first_err:+($first_err)}"
		pass=$((pass + 1))
	else
		echo "FAIL $mode: exit $rc (want $want), $field=${val:-missing}; $line"
		sed 's/^/     /' /tmp/check-wsbench.err | head -n 5
		fail=$((fail + 1))
	fi
}

check ok 0 msgs
check ok 0 msgs --binary -s 100K -d 4
check fragment 0 msgs -s 1000
check ping 0 pings
check dribble 0 total_msgs -c 2 -s 300 --binary
check dribble 0 total_msgs -c 1 -s 66000 --binary --timeout 5
check corrupt 1 err_verify
check deflate-ok 0 msgs --deflate
check deflate-ok 0 msgs --deflate --binary -s 100K -d 4
check deflate-fragment 0 msgs --deflate -s 1000
check deflate-corrupt 1 err_verify --deflate
check deflate-swap 1 err_verify --deflate -d 4
check ok 1 err_handshake --deflate
check truncate 1 err_verify
check swap 1 err_verify -d 4
check type 1 err_verify
check drop 1 err_timeout
check close 1 err_closed
check accept 1 err_handshake
check status 1 err_handshake
check extension 1 err_handshake
check masked 1 err_protocol
check rsv 1 err_protocol
check longlen 1 err_protocol
rm -f /tmp/check-wsbench.err
echo "wsbench check: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
