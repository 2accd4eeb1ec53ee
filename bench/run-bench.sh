#!/usr/bin/env bash
# run-bench.sh -- ws6455 side by side with Node's ws, as `make bench` runs it.
#
# What it measures (docs/benchmarks.md explains the method):
#   1. throughput and p99 latency on a matrix of cells, against both servers,
#      each cell the median of BENCH_ROUNDS rounds, the two servers' rounds
#      interleaved so that background noise hits both alike;
#   2. server memory per idle connection at 10,000 and 50,000 connections;
#   3. ws6455 with 1 worker against 2 workers;
#   4. system calls per echoed message of ws6455 (strace -c -f);
#   5. heap allocations per echoed message of ws6455 (LD_PRELOAD counter);
#   6. ws6455 --busy-poll 50 against the default on the latency-bound cells;
#   7. (codec) our DEFLATE encoder against zlib and libdeflate on a fixed
#      corpus, in one process, no server (build/codec-bench);
#   8. (deflate) compressed echo: ws6455 --deflate against Node's ws with
#      permessage-deflate at the same level, and the idle cost of a
#      connection that agreed to it.
# The server is pinned to CPU 0 and wsbench to CPU 1 (taskset), except in
# the workers comparison, where the server needs both CPUs.
#
# Environment (all optional): BENCH_SECONDS (5) BENCH_ROUNDS (3)
# BENCH_WARMUP (1) BENCH_PORT (18200; uses BENCH_PORT..BENCH_PORT+25)
# BENCH_OUT (build/bench/results.md) BENCH_CLIENT_ARGS (extra wsbench flags)
# WS6455 (build/ws6455) WSBENCH (build/wsbench)
# WS6455_BEFORE (another build's server, e.g. an earlier revision's; the
# matrix then measures it too, in the same rounds) BEFORE_LABEL (its name)
# MALLOC_COUNT_SO (build/bench/malloc_count.so) NODE (node)
# CODEC_BENCH (build/codec-bench) CODEC_ROUNDS (7) CODEC_MIN_MS (150)
# BENCH_SECTIONS (default "matrix memory workers syscalls allocs busypoll
# codec deflate": any subset; only codec needs no server, node or wsbench)
#
# Every server started here is killed by PID on exit (trap); every wsbench
# run is bounded by timeout(1). Exit status is non-zero if any run that
# should be clean reported an error.
set -u -o pipefail

SECONDS_PER=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
WARMUP=${BENCH_WARMUP:-1}
PORT=${BENCH_PORT:-18200}
OUT=${BENCH_OUT:-build/bench/results.md}
CLIENT_ARGS=${BENCH_CLIENT_ARGS:-}
WS6455=${WS6455:-build/ws6455}
BEFORE=${WS6455_BEFORE:-}
BEFORE_LABEL=${BEFORE_LABEL:-before}
WSBENCH=${WSBENCH:-build/wsbench}
MALLOC_COUNT_SO=${MALLOC_COUNT_SO:-build/bench/malloc_count.so}
NODE=${NODE:-node}
CODEC_BENCH=${CODEC_BENCH:-build/codec-bench}
CODEC_ROUNDS=${CODEC_ROUNDS:-7}
CODEC_MIN_MS=${CODEC_MIN_MS:-150}
SECTIONS=" ${BENCH_SECTIONS:-matrix memory workers syscalls allocs busypoll codec deflate} "
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d /tmp/ws6455-bench.XXXXXX)
SERVER_CPU=0
CLIENT_CPU=1
# seconds any one wsbench run may take (the durations may be fractional)
LIMIT=$(awk -v a="$SECONDS_PER" -v b="$WARMUP" 'BEGIN { printf "%d", a + b + 61 }')
FAILED=0
SERVERS=()

log() { printf '%s\n' "$*" >&2; }
want() { [[ "$SECTIONS" == *" $1 "* ]]; }

cleanup() {
	local pid
	for pid in "${SERVERS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${SERVERS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Every section but codec runs servers and wsbench.
SERVERS_NEEDED=0
for s in matrix memory workers syscalls allocs busypoll deflate; do
	want $s && SERVERS_NEEDED=1
done
command -v taskset >/dev/null || { log "run-bench: taskset (util-linux) is missing"; exit 1; }
if [ $SERVERS_NEEDED = 1 ]; then
	for f in "$WS6455" "$WSBENCH"; do
		[ -x "$f" ] || { log "run-bench: $f is missing (run make first)"; exit 1; }
	done
	command -v "$NODE" >/dev/null || { log "run-bench: node is missing"; exit 1; }
	[ -f "$HERE/node_modules/ws/package.json" ] ||
		{ log "run-bench: bench/node_modules/ws missing (make bench installs it)"; exit 1; }
fi
if want codec; then
	[ -x "$CODEC_BENCH" ] ||
		{ log "run-bench: $CODEC_BENCH is missing (make bench-codec builds it)"; exit 1; }
fi
if [ $SERVERS_NEEDED = 1 ] && ! command -v strace >/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		log "run-bench: installing strace"
		apt-get install -y -qq strace >/dev/null 2>&1 ||
			{ apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq strace >/dev/null 2>&1; }
	fi
fi
if [ "$(nproc)" -lt 2 ]; then SERVER_CPU=0; CLIENT_CPU=0; fi

# ---- servers -------------------------------------------------------------

# wait_port PORT: until something accepts on 127.0.0.1:PORT (5 s at most).
wait_port() {
	local i
	for i in $(seq 50); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	return 1
}

# start_server NAME PORT CPUS [ARGS...]: NAME is ws6455, before (the
# WS6455_BEFORE binary) or node; the PID lands in SERVER_PID and in SERVERS
# for the trap.
start_server() {
	local name=$1 port=$2 cpus=$3 bin=$WS6455
	shift 3
	[ "$name" = before ] && bin=$BEFORE
	# SERVER_ENV: extra VAR=value words for this server only (LD_PRELOAD,
	# NODE_DEFLATE).
	if [ "$name" = node ]; then
		# shellcheck disable=SC2086
		env ${SERVER_ENV:-} taskset -c "$cpus" "$NODE" "$HERE/node-echo.js" "$port" 127.0.0.1 \
			>>"$TMP/server.log" 2>&1 &
	else
		# shellcheck disable=SC2086
		env ${SERVER_ENV:-} taskset -c "$cpus" "$bin" --host 127.0.0.1 --port "$port" \
			--log-level warn "$@" >>"$TMP/server.log" 2>&1 &
	fi
	SERVER_PID=$!
	SERVERS+=("$SERVER_PID")
	if ! wait_port "$port"; then
		log "run-bench: $name did not start on port $port:"
		tail -n 5 "$TMP/server.log" >&2
		exit 1
	fi
}

# stop_server PID: SIGTERM, then SIGKILL after 5 s.
stop_server() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	local keep=()
	for i in "${SERVERS[@]}"; do [ "$i" != "$pid" ] && keep+=("$i"); done
	SERVERS=("${keep[@]+"${keep[@]}"}")
}

# ---- wsbench --------------------------------------------------------------

# field NAME LINE: the value of NAME=... in a RESULT line.
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1; }

# bench CPUS ARGS...: run wsbench, print its RESULT line; an empty line if
# it failed, and the failure is noted in $TMP/failed (bench runs in a
# command substitution, a subshell, so a variable set here would be lost).
bench() {
	local cpus=$1 out rc line
	shift
	# shellcheck disable=SC2086
	out=$(timeout "$LIMIT" taskset -c "$cpus" "$WSBENCH" -q "$@" $CLIENT_ARGS 2>>"$TMP/wsbench.err")
	rc=$?
	line=$(printf '%s\n' "$out" | grep '^RESULT' | tail -n 1)
	if [ $rc -ne 0 ] || [ -z "$line" ]; then
		log "run-bench: wsbench $* failed (exit $rc): ${line:-no RESULT}"
		tail -n 3 "$TMP/wsbench.err" >&2
		: >"$TMP/failed"
	fi
	printf '%s\n' "$line"
}

# reset_rounds NAME...: empty the per-server result files of a cell.
reset_rounds() {
	local s
	for s in "$@"; do : >"$TMP/$s.rates"; : >"$TMP/$s.p99"; done
}

# load_round LABEL ROUND NAME CPUS PORT CONNS SIZE DEPTH [WSBENCH-ARGS...]:
# one measured run against server NAME; its msg/s and p99 go to
# $TMP/NAME.rates and .p99.
load_round() {
	local label=$1 r=$2 s=$3 cpus=$4 port=$5 conns=$6 size=$7 depth=$8 line
	shift 8
	line=$(bench "$cpus" --port "$port" -c "$conns" -s "$size" -d "$depth" \
		-t "$SECONDS_PER" -w "$WARMUP" "$@")
	log "  $label round $r $s: $(field msgs_per_sec "$line") msg/s, p99 $(field p99_us "$line") us"
	field msgs_per_sec "$line" >>"$TMP/$s.rates"
	field p99_us "$line" >>"$TMP/$s.p99"
	field sent_bytes "$line" >"$TMP/$s.sent"
}

# median: of the numbers on stdin (the lower middle one for an even count).
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "n/a" }'
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else print "n/a"
	}'
}

fmt_int() {
	awk -v a="$1" 'BEGIN { if (a == "n/a" || a == "") print "n/a"; else printf "%\047d", a }'
}

# ---- the report -------------------------------------------------------------

mkdir -p "$(dirname "$OUT")"
: >"$OUT"
emit() { printf '%s\n' "$*" | tee -a "$OUT"; }

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
mem_total=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
emit "## Results ($(date -u '+%Y-%m-%d %H:%M UTC'))"
emit ""
emit "- Machine: ${cpu_model:-unknown CPU}, $(nproc) CPUs, $mem_total RAM; $(uname -sr);" \
	"$(sed -n 's/^PRETTY_NAME="\(.*\)"/\1/p' /etc/os-release 2>/dev/null)"
emit "- Load while measuring: load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
if [ $SERVERS_NEEDED = 1 ]; then
	emit "- ws6455: $("$WS6455" --version 2>&1 | head -n 1)," \
		"built with $(${CC:-cc} --version | head -n 1)"
	[ -n "$BEFORE" ] && emit "- $BEFORE_LABEL: $BEFORE, in the matrix's same rounds"
	emit "- Node $("$NODE" --version)," \
		"ws $("$NODE" -p "require('$HERE/node_modules/ws/package.json').version")"
	knobs="${CLIENT_ARGS:+ BENCH_CLIENT_ARGS=\"$CLIENT_ARGS\"}${BEFORE:+ BENCH_BEFORE=$BEFORE_LABEL}"
	emit "- Command: \`make bench BENCH_SECONDS=$SECONDS_PER BENCH_ROUNDS=$ROUNDS" \
		"BENCH_WARMUP=$WARMUP$knobs\`;" \
		"server on CPU $SERVER_CPU, wsbench on CPU $CLIENT_CPU; text messages;" \
		"${SECONDS_PER} s measured after ${WARMUP} s warm-up; median of $ROUNDS rounds"
else
	emit "- Built with $(${CC:-cc} --version | head -n 1)"
fi
emit ""

# ---- 1. the matrix ----------------------------------------------------------

if want matrix; then
P_WS=$PORT
P_NODE=$((PORT + 1))
log "run-bench: matrix, $ROUNDS round(s) of ${SECONDS_PER}s per cell and server"
start_server ws6455 "$P_WS" "$SERVER_CPU" --workers 1
WS_PID=$SERVER_PID
start_server node "$P_NODE" "$SERVER_CPU"
NODE_PID=$SERVER_PID
SERVERS_MEASURED="ws node"
if [ -n "$BEFORE" ]; then
	P_BEFORE=$((PORT + 30))
	start_server before "$P_BEFORE" "$SERVER_CPU" --workers 1
	BEFORE_PID=$SERVER_PID
	SERVERS_MEASURED="ws before node"
fi

# conns size depth label
CELLS=(
	"1 32 1 1 conn x 32 B"
	"100 32 1 100 conns x 32 B"
	"1000 1024 1 1,000 conns x 1 KiB"
	"100 16384 1 100 conns x 16 KiB"
	"10 1048576 1 10 conns x 1 MiB"
	"1 32 64 1 conn x 32 B, depth 64"
)
emit "### Throughput and latency"
emit ""
if [ -n "$BEFORE" ]; then
	emit "| cell | ws6455 msg/s | $BEFORE_LABEL msg/s | ws6455 / $BEFORE_LABEL |" \
		"Node ws msg/s | ws6455 / Node | ws6455 p99 µs | $BEFORE_LABEL p99 µs | Node ws p99 µs |"
	emit "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
else
	emit "| cell | ws6455 msg/s | Node ws msg/s | ratio | ws6455 p99 µs | Node ws p99 µs |"
	emit "|---|---:|---:|---:|---:|---:|"
fi
for cell in "${CELLS[@]}"; do
	read -r conns size depth label <<<"$cell"
	# shellcheck disable=SC2086
	reset_rounds $SERVERS_MEASURED
	for r in $(seq "$ROUNDS"); do
		for s in $SERVERS_MEASURED; do
			case $s in ws) port=$P_WS ;; node) port=$P_NODE ;; before) port=$P_BEFORE ;; esac
			load_round "$label" "$r" $s "$CLIENT_CPU" "$port" "$conns" "$size" "$depth"
		done
	done
	ws_rate=$(median <"$TMP/ws.rates"); node_rate=$(median <"$TMP/node.rates")
	if [ -n "$BEFORE" ]; then
		b_rate=$(median <"$TMP/before.rates")
		emit "| $label | $(fmt_int "$ws_rate") | $(fmt_int "$b_rate") |" \
			"$(ratio "$ws_rate" "$b_rate") | $(fmt_int "$node_rate") |" \
			"$(ratio "$ws_rate" "$node_rate") | $(median <"$TMP/ws.p99") |" \
			"$(median <"$TMP/before.p99") | $(median <"$TMP/node.p99") |"
	else
		emit "| $label | $(fmt_int "$ws_rate") | $(fmt_int "$node_rate") |" \
			"$(ratio "$ws_rate" "$node_rate") |" \
			"$(median <"$TMP/ws.p99") | $(median <"$TMP/node.p99") |"
	fi
done
stop_server "$WS_PID"
stop_server "$NODE_PID"
[ -n "$BEFORE" ] && stop_server "$BEFORE_PID"
emit ""
fi

# ---- 2. memory per idle connection ----------------------------------------------

# Each count on a fresh server. First WARM connections are opened and held
# by a wsbench of their own, so that every worker has met connections
# (buffers a worker touches on its first ones, the first block of its
# connection table) before the measured wsbench samples VmRSS of the server
# and all its processes, before its N - WARM connections and SETTLE s after
# the last handshake: the figure is what one more idle connection costs.
HOLD=4
WARM=1000
# idle_row NAME N PORT WORKERS [SERVER-ARGS...]; IDLE_ARGS: wsbench flags.
idle_row() {
	local name=$1 n=$2 port=$3 workers=$4 line open per before after
	shift 4
	if [ "$name" = node ]; then
		start_server node "$port" "$SERVER_CPU"
	else
		start_server ws6455 "$port" "$SERVER_CPU" --workers "$workers" --max-connections 19000 "$@"
	fi
	sleep 1
	# shellcheck disable=SC2086
	timeout $((HOLD + 150)) taskset -c "$CLIENT_CPU" "$WSBENCH" -q --port "$port" -c "$WARM" \
		--idle $((HOLD + 12)) --timeout 5 ${IDLE_ARGS:-} >"$TMP/warm.out" 2>>"$TMP/wsbench.err" &
	local warm_pid=$!
	sleep 2
	# shellcheck disable=SC2086
	out=$(timeout $((HOLD + 120)) taskset -c "$CLIENT_CPU" "$WSBENCH" -q --port "$port" \
		-c $((n - WARM)) --idle "$HOLD" --settle 2 --timeout 5 --server-pid "$SERVER_PID" \
		${IDLE_ARGS:-} 2>>"$TMP/wsbench.err")
	line=$(printf '%s\n' "$out" | grep '^RESULT' | tail -n 1)
	# The warm connections outlive the sample (HOLD + 12 s from their
	# start), then close by themselves.
	wait "$warm_pid" 2>/dev/null
	stop_server "$SERVER_PID"
	local warm_open
	warm_open=$(field open "$(grep '^RESULT' "$TMP/warm.out" | tail -n 1)")
	open=$(( $(field open "$line") + ${warm_open:-0} ))
	before=$(field rss_before_kb "$line"); after=$(field rss_after_kb "$line")
	per=$(field bytes_per_conn "$line")
	local label="ws6455 --workers $workers${*:+ $*}"
	[ "$name" = node ] && label="Node ws${SERVER_ENV:+ ($SERVER_ENV)}"
	local note=""
	if [ "${open:-0}" != "$n" ]; then
		note="only $(fmt_int "${open:-0}") of $(fmt_int "$n") opened;"
		note="$note the other $(field errors "$line") failed"
		note="$note (connect $(field err_connect "$line"),"
		note="$note handshake $(field err_handshake "$line"))"
		[ "$name" = node ] || FAILED=1
	fi
	emit "| $label | $(fmt_int "$n") | $(fmt_int "${open:-0}") | $(fmt_int "${before:-0}") |" \
		"$(fmt_int "${after:-0}") | $(fmt_int "${per:-0}") | $note |"
}
if want memory; then
log "run-bench: memory per idle connection"
emit "### Memory per idle connection (server VmRSS, all processes)"
emit ""
emit "| server | connections | open | RSS before KiB | RSS with them KiB |" \
	"bytes per connection | note |"
emit "|---|---:|---:|---:|---:|---:|---|"
idle_row ws6455 10000 $((PORT + 2)) 1
idle_row node 10000 $((PORT + 3)) 1
idle_row ws6455 50000 $((PORT + 4)) 4
idle_row node 50000 $((PORT + 5)) 1
emit ""
emit "RSS before: with $(fmt_int $WARM) connections open already (held by a second wsbench);" \
	"bytes per connection: over the other connections." \
	"Open-file hard limit: $(ulimit -Hn) per process."
emit ""
fi

# ---- 3. one worker against two ---------------------------------------------------

if want workers; then
log "run-bench: 1 worker vs 2 workers (server and wsbench on both CPUs)"
emit "### ws6455 workers (server and wsbench unpinned, both CPUs)"
emit ""
emit "| cell | 1 worker msg/s | 2 workers msg/s | ratio | 1 worker p99 µs | 2 workers p99 µs |"
emit "|---|---:|---:|---:|---:|---:|"
start_server ws6455 $((PORT + 6)) 0-1 --workers 1
W1=$SERVER_PID
start_server ws6455 $((PORT + 7)) 0-1 --workers 2
W2=$SERVER_PID
for cell in "100 32 1 100 conns x 32 B" "1000 1024 1 1,000 conns x 1 KiB"; do
	read -r conns size depth label <<<"$cell"
	reset_rounds w1 w2
	for r in $(seq "$ROUNDS"); do
		for s in w1 w2; do
			port=$((PORT + 6)); [ $s = w2 ] && port=$((PORT + 7))
			load_round "$label" "$r" $s 0-1 "$port" "$conns" "$size" "$depth"
		done
	done
	a=$(median <"$TMP/w1.rates"); b=$(median <"$TMP/w2.rates")
	emit "| $label | $(fmt_int "$a") | $(fmt_int "$b") | $(ratio "$b" "$a") |" \
		"$(median <"$TMP/w1.p99") | $(median <"$TMP/w2.p99") |"
done
stop_server "$W1"
stop_server "$W2"
emit ""
fi

# ---- 4. system calls per message ------------------------------------------------

# Two traced server runs per cell: one where the connections only open and
# close (idle), one with load. (calls(load) - calls(idle)) / echoes is the
# steady-state cost of one echo, set-up and teardown cancelled out.
traced_calls() { # traced_calls PORT WSBENCH-ARGS... -> "total_calls echoes read write epoll_wait"
	local port=$1 spid pid i line
	shift
	strace -f -c -o "$TMP/strace.txt" taskset -c "$SERVER_CPU" "$WS6455" --host 127.0.0.1 \
		--port "$port" --workers 1 --log-level warn >>"$TMP/server.log" 2>&1 &
	spid=$!
	SERVERS+=("$spid")
	wait_port "$port" || { log "run-bench: traced ws6455 did not start"; exit 1; }
	line=$(bench "$CLIENT_CPU" --port "$port" "$@")
	# The server is strace's child: stop it, and strace writes its table.
	pid=$(awk '{ print $1 }' "/proc/$spid/task/$spid/children" 2>/dev/null)
	[ -n "$pid" ] || pid=$(pgrep -P "$spid" | head -n 1)
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
	for i in $(seq 100); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
	stop_server "$spid"
	awk -v msgs="$(field total_msgs "$line")" '
		$NF == "total" { total = $4 }
		$NF == "read" || $NF == "recvfrom" || $NF == "readv" { rd += $4 }
		$NF == "write" || $NF == "writev" || $NF == "sendto" || $NF == "sendmsg" { wr += $4 }
		$NF == "epoll_wait" || $NF == "epoll_pwait" { ep += $4 }
		END { printf "%d %d %d %d %d\n", total, msgs, rd, wr, ep }' "$TMP/strace.txt"
}
if ! want syscalls; then
	:
elif command -v strace >/dev/null; then
	log "run-bench: system calls per message (strace -c -f)"
	emit "### ws6455 system calls per echoed message (strace -c -f, --workers 1)"
	emit ""
	emit "| cell | echoes traced | syscalls per echo | read | write | epoll_wait |"
	emit "|---|---:|---:|---:|---:|---:|"
	sp=$((PORT + 8))
	for cell in "1 32 1 1 conn x 32 B" "100 32 1 100 conns x 32 B" \
		"1 32 64 1 conn x 32 B, depth 64"; do
		read -r conns size depth label <<<"$cell"
		read -r t0 m0 r0 w0 e0 <<<"$(traced_calls $sp -c "$conns" --idle 0 --settle 0)"
		sp=$((sp + 1))
		read -r t1 m1 r1 w1 e1 <<<"$(traced_calls $sp -c "$conns" -s "$size" -d "$depth" \
			-t "$SECONDS_PER" -w 0)"
		sp=$((sp + 1))
		emit "| $label | $(fmt_int "$m1") |" \
			"$(awk -v a="$t1" -v b="$t0" -v m="$m1" 'BEGIN { printf "%.2f", m ? (a - b) / m : 0 }') |" \
			"$(awk -v a="$r1" -v b="$r0" -v m="$m1" 'BEGIN { printf "%.2f", m ? (a - b) / m : 0 }') |" \
			"$(awk -v a="$w1" -v b="$w0" -v m="$m1" 'BEGIN { printf "%.2f", m ? (a - b) / m : 0 }') |" \
			"$(awk -v a="$e1" -v b="$e0" -v m="$m1" 'BEGIN { printf "%.2f", m ? (a - b) / m : 0 }') |"
	done
	emit ""
else
	emit "(strace not available: system-call counts skipped)"
	emit ""
fi

# ---- 5. allocations per message -------------------------------------------------

# Counters of the LD_PRELOAD library, summed over the server's processes.
alloc_sum() { # -> "malloc+calloc+realloc+memalign bytes"
	local f total=0 bytes=0 v
	for f in "$TMP"/mc/*; do
		[ -f "$f" ] || continue
		read -r -a v <<<"$(od -An -t u8 -w64 "$f")"
		total=$((total + v[1] + v[2] + v[3] + v[5]))
		bytes=$((bytes + v[6]))
	done
	echo "$total $bytes"
}
if want allocs && [ -f "$MALLOC_COUNT_SO" ]; then
	log "run-bench: allocations per message (LD_PRELOAD counter)"
	emit "### ws6455 heap allocations per echoed message (LD_PRELOAD malloc counter, --workers 1)"
	emit ""
	emit "| cell | allocations per connection (open + close) | echoes |" \
		"allocations per echo | bytes allocated per echo |"
	emit "|---|---:|---:|---:|---:|"
	mp=$((PORT + 14))
	for cell in "100 32 1 100 conns x 32 B" "100 16384 1 100 conns x 16 KiB" \
		"10 1048576 1 10 conns x 1 MiB"; do
		read -r conns size depth label <<<"$cell"
		rm -rf "$TMP/mc"; mkdir -p "$TMP/mc"
		preload="$(cd "$(dirname "$MALLOC_COUNT_SO")" && pwd)/$(basename "$MALLOC_COUNT_SO")"
		SERVER_ENV="LD_PRELOAD=$preload MALLOC_COUNT_DIR=$TMP/mc" \
			start_server ws6455 "$mp" "$SERVER_CPU" --workers 1
		read -r a0 b0 <<<"$(alloc_sum)"
		bench "$CLIENT_CPU" --port "$mp" -c "$conns" --idle 0 --settle 0 >/dev/null
		read -r a1 b1 <<<"$(alloc_sum)"
		line=$(bench "$CLIENT_CPU" --port "$mp" -c "$conns" -s "$size" -d "$depth" \
			-t "$SECONDS_PER" -w 0)
		read -r a2 b2 <<<"$(alloc_sum)"
		stop_server "$SERVER_PID"
		m=$(field total_msgs "$line")
		# Allocations per connection; then per echo, minus what the
		# connections alone cost (the second difference).
		per_conn=$(awk -v a="$a1" -v b="$a0" -v n="$conns" 'BEGIN { printf "%.1f", (a - b) / n }')
		per_echo=$(awk -v a="$a2" -v b="$a1" -v c="$a0" -v m="$m" \
			'BEGIN { printf "%.4f", m ? ((a - b) - (b - c)) / m : 0 }')
		bytes_echo=$(awk -v a="$b2" -v b="$b1" -v c="$b0" -v m="$m" \
			'BEGIN { printf "%.1f", m ? ((a - b) - (b - c)) / m : 0 }')
		emit "| $label | $per_conn | $(fmt_int "$m") | $per_echo | $bytes_echo |"
		mp=$((mp + 1))
	done
	emit ""
fi

# ---- 6. busy polling ----------------------------------------------------------

# cpu_ticks PID: user + system clock ticks of PID so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# The default server against --busy-poll 50 on the cells where the server
# mostly waits, with Node as the reference; the busy-polling server's CPU
# use is reported, since that is the price.
if want busypoll; then
P_WS=$((PORT + 17))
P_BP=$((PORT + 18))
P_NODE=$((PORT + 19))
log "run-bench: --busy-poll 50 against the default"
start_server ws6455 "$P_WS" "$SERVER_CPU" --workers 1
WS_PID=$SERVER_PID
start_server ws6455 "$P_BP" "$SERVER_CPU" --workers 1 --busy-poll 50
BP_PID=$SERVER_PID
start_server node "$P_NODE" "$SERVER_CPU"
NODE_PID=$SERVER_PID
TICK=$(getconf CLK_TCK)
emit "### ws6455 --busy-poll 50 (server on CPU 0, wsbench on CPU 1)"
emit ""
emit "| cell | ws6455 msg/s | ws6455 --busy-poll 50 msg/s | Node ws msg/s | busy-poll / Node |" \
	"ws6455 p99 µs | busy-poll p99 µs | busy-poll server CPU |"
emit "|---|---:|---:|---:|---:|---:|---:|---:|"
for cell in "1 32 1 1 conn x 32 B" "1 32 64 1 conn x 32 B, depth 64" "100 32 1 100 conns x 32 B"; do
	read -r conns size depth label <<<"$cell"
	reset_rounds ws bp node
	: >"$TMP/bp.cpu"
	for r in $(seq "$ROUNDS"); do
		for s in ws bp node; do
			case $s in ws) port=$P_WS ;; bp) port=$P_BP ;; node) port=$P_NODE ;; esac
			t0=$(cpu_ticks "$BP_PID"); s0=$(date +%s.%N)
			load_round "$label" "$r" $s "$CLIENT_CPU" "$port" "$conns" "$size" "$depth"
			if [ $s = bp ]; then
				awk -v t0="$t0" -v t1="$(cpu_ticks "$BP_PID")" -v s0="$s0" -v s1="$(date +%s.%N)" \
					-v hz="$TICK" 'BEGIN { printf "%.0f\n", 100 * (t1 - t0) / hz / (s1 - s0) }' \
					>>"$TMP/bp.cpu"
			fi
		done
	done
	bp_rate=$(median <"$TMP/bp.rates"); node_rate=$(median <"$TMP/node.rates")
	emit "| $label | $(fmt_int "$(median <"$TMP/ws.rates")") | $(fmt_int "$bp_rate") |" \
		"$(fmt_int "$node_rate") | $(ratio "$bp_rate" "$node_rate") | $(median <"$TMP/ws.p99") |" \
		"$(median <"$TMP/bp.p99") | $(median <"$TMP/bp.cpu") % |"
done
stop_server "$WS_PID"
stop_server "$BP_PID"
stop_server "$NODE_PID"
emit ""
fi

# ---- 7. DEFLATE: ours against zlib and libdeflate -----------------------------

# One process on one CPU; codec-bench interleaves its configurations within
# each round and reports medians, and checks every output with zlib first.
if want codec; then
	log "run-bench: codec, $CODEC_ROUNDS round(s) of at least $CODEC_MIN_MS ms per configuration"
	emit "### DEFLATE: ws6455 against zlib and libdeflate (build/codec-bench, CPU $SERVER_CPU)"
	emit ""
	emit "Command: \`make bench-codec CODEC_ROUNDS=$CODEC_ROUNDS CODEC_MIN_MS=$CODEC_MIN_MS\`" \
		"(or \`taskset -c $SERVER_CPU $CODEC_BENCH --rounds $CODEC_ROUNDS --min-ms $CODEC_MIN_MS\`)"
	emit ""
	if taskset -c "$SERVER_CPU" "$CODEC_BENCH" --rounds "$CODEC_ROUNDS" --min-ms "$CODEC_MIN_MS" \
		>"$TMP/codec.md" 2>>"$TMP/codec.err"; then
		tee -a "$OUT" <"$TMP/codec.md"
	else
		log "run-bench: codec-bench failed:"
		tail -n 5 "$TMP/codec.err" >&2
		FAILED=1
	fi
	emit ""
fi

# ---- 8. compressed echo ------------------------------------------------------

# wsbench --deflate sends 16 chat-like JSON texts, compressed once by zlib,
# and checks every echo; both servers inflate each message and compress the
# echo (level 1, no context takeover: wsbench asks for none). ws6455 without
# compression on the same texts is the third column: what compression costs.
if want deflate; then
P_WS=$((PORT + 20))
P_NODE=$((PORT + 21))
P_PLAIN=$((PORT + 22))
log "run-bench: permessage-deflate, $ROUNDS round(s) of ${SECONDS_PER}s per cell and server"
start_server ws6455 "$P_WS" "$SERVER_CPU" --workers 1 --deflate shared
WS_PID=$SERVER_PID
SERVER_ENV=NODE_DEFLATE=1 start_server node "$P_NODE" "$SERVER_CPU"
NODE_PID=$SERVER_PID
start_server ws6455 "$P_PLAIN" "$SERVER_CPU" --workers 1 --deflate off
PLAIN_PID=$SERVER_PID
emit "### Compressed echo (permessage-deflate, level 1, no context takeover)"
emit ""
emit "| cell | bytes on the wire | ws6455 msg/s | Node ws msg/s | ratio |" \
	"ws6455 uncompressed msg/s | ws6455 p99 µs | Node ws p99 µs |"
emit "|---|---:|---:|---:|---:|---:|---:|---:|"
for cell in "1 1024 64 1 conn x 1 KiB, depth 64" "100 1024 1 100 conns x 1 KiB" \
	"10 16384 1 10 conns x 16 KiB" "4 262144 1 4 conns x 256 KiB"; do
	read -r conns size depth label <<<"$cell"
	reset_rounds ws node plain
	: >"$TMP/wire"
	for r in $(seq "$ROUNDS"); do
		for s in ws node plain; do
			case $s in
			ws) load_round "$label" "$r" ws "$CLIENT_CPU" "$P_WS" "$conns" "$size" "$depth" --deflate ;;
			node) load_round "$label" "$r" node "$CLIENT_CPU" "$P_NODE" "$conns" "$size" "$depth" \
				--deflate ;;
			plain) load_round "$label" "$r" plain "$CLIENT_CPU" "$P_PLAIN" "$conns" "$size" "$depth" ;;
			esac
		done
	done
	wire=$(cat "$TMP/ws.sent")
	ws_rate=$(median <"$TMP/ws.rates"); node_rate=$(median <"$TMP/node.rates")
	emit "| $label | $(fmt_int "${wire:-n/a}") of $(fmt_int "$size") | $(fmt_int "$ws_rate") |" \
		"$(fmt_int "$node_rate") |" \
		"$(ratio "$ws_rate" "$node_rate") | $(fmt_int "$(median <"$TMP/plain.rates")") |" \
		"$(median <"$TMP/ws.p99") | $(median <"$TMP/node.p99") |"
done
stop_server "$WS_PID"
stop_server "$NODE_PID"
stop_server "$PLAIN_PID"
emit ""

log "run-bench: idle connections that agreed to permessage-deflate"
emit "### Memory per idle connection with permessage-deflate agreed"
emit ""
emit "| server | connections | open | RSS before KiB | RSS with them KiB |" \
	"bytes per connection | note |"
emit "|---|---:|---:|---:|---:|---:|---|"
IDLE_ARGS="--deflate" idle_row ws6455 10000 $((PORT + 23)) 1 --deflate shared
IDLE_ARGS="--deflate" idle_row ws6455 10000 $((PORT + 24)) 1 --deflate dedicated
IDLE_ARGS="--deflate" SERVER_ENV=NODE_DEFLATE=1 idle_row node 10000 $((PORT + 25)) 1
emit ""
emit "Measured as the table above: RSS before with $(fmt_int $WARM) connections open already."
emit ""
fi

log "run-bench: results written to $OUT"
if [ -e "$TMP/failed" ]; then
	log "run-bench: some wsbench runs failed (see above)"
	FAILED=1
fi
exit $FAILED
