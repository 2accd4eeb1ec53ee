#!/usr/bin/env bash
# icount.sh -- the server's user-space instructions per echoed message,
# per cell and per stage, counted by valgrind's callgrind
# (`make bench-instructions`; docs/benchmarks.md, "Instructions per echo").
#
#   bench/icount.sh SERVER WSSTEP
#
# For each cell, the server runs twice under callgrind (--workers 1
# --log-level warn, no keep-alive pings and long timeouts, so that a slow
# run is not interrupted; no compression: wsstep offers none): once while
# build/wsstep opens the cell's connections, echoes a fixed number of
# messages in lockstep and closes them, once while it does the same with
# no message bytes (--dry: the same connections, handshakes, steps and
# closes; the same start-up and shutdown). The difference, divided by the
# messages echoed, is the cost of an echo. wsstep makes the server see the
# same reads and wake-ups in every run (bench/wsstep/wsstep.c), so two runs
# print the same figures.
#
# Stages, from callgrind's inclusive costs (functions the compiler cannot
# inline, being called from another file):
#   receive  conn_read() without frames_feed() and batch_flush(), plus the
#            protocol engine ws_proto_feed_z() (frame parser, unmasking,
#            UTF-8) and the permessage-deflate hooks around it: read(2)'s
#            wrapper, parsing, unmasking, validation
#   hand-off frames_feed() without the engine and the sends: the event
#            loop over the engine, on_data(), the handler's own code
#   build    ws_send(), ws_send_part() and batch_flush(): the frame header,
#            the write batch, writev(2)'s wrapper
#   loop     the rest of the I/O callbacks (on_conn_event(), on_accept()):
#            dispatch by connection state, accepting
# The figure per echo is what the I/O callbacks cost in all, which is
# deterministic. The reactor's own iteration around them (epoll_wait()'s
# wrapper, the timer check, reaping, the signal check) is reported apart,
# in the "whole process" figure: the 250 ms sweep (on_sweep(), left out
# everywhere) runs by the wall clock, which callgrind stretches by a varying
# amount, and each of its idle wake-ups adds an iteration.
#
# Environment: ICOUNT_PORT (19000; one port per run from there),
# ICOUNT_CELLS (cell names, default all), ICOUNT_OUT
# (build/bench/instructions.md), ICOUNT_BEFORE (a git revision: its server
# is built from `git archive` into $BUILD/icount/ and measured first, side
# by side), BUILD (build).
#
# Every process started here is stopped by PID (trap); each run is bounded
# by a watchdog and by wsstep's own timeouts.
set -u -o pipefail

WS=${1:?usage: icount.sh SERVER WSSTEP}
WSSTEP=${2:?usage: icount.sh SERVER WSSTEP}
PORT=${ICOUNT_PORT:-19000}
OUT=${ICOUNT_OUT:-build/bench/instructions.md}
BEFORE=${ICOUNT_BEFORE:-}
BUILD=${BUILD:-build}
TMP=$(mktemp -d /tmp/ws6455-icount.XXXXXX)
RUN_LIMIT=900   # seconds one server may run under callgrind
PIDS=()

log() { printf '%s\n' "$*" >&2; }

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do kill -CONT "$pid" 2>/dev/null; kill -KILL "$pid" 2>/dev/null; done
	if [ -n "${ICOUNT_KEEP:-}" ]; then log "icount: profiles kept in $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v valgrind >/dev/null || { log "icount: valgrind is missing"; exit 1; }
command -v callgrind_annotate >/dev/null || { log "icount: callgrind_annotate is missing"; exit 1; }

# name | connections | payload bytes | depth | messages per connection | payload
CELLS_ALL=(
	"depth64|1|32|64|12800|--text"
	"100x32|100|32|1|100|--text"
	"10x16K|10|16K|1|100|--text"
	"10x1M|10|1M|1|4|--text"
	"10x16K-utf8|10|16K|1|100|--utf8"
)
declare -A TITLE=(
	[depth64]="1 conn x 32 B, depth 64"
	[100x32]="100 conns x 32 B"
	[10x16K]="10 conns x 16 KiB"
	[10x1M]="10 conns x 1 MiB"
	[10x16K-utf8]="10 conns x 16 KiB UTF-8 text"
)
# The issue's figures (#12): ws6455 then, and uWebSockets v20.79.
declare -A REF=( [depth64]=397 [100x32]=772 [10x16K]=3257 )

CELLS=()
for c in "${CELLS_ALL[@]}"; do
	name=${c%%|*}
	if [ -z "${ICOUNT_CELLS:-}" ] || [[ " $ICOUNT_CELLS " == *" $name "* ]]; then CELLS+=("$c"); fi
done
[ ${#CELLS[@]} -gt 0 ] || { log "icount: no cell matches ICOUNT_CELLS=$ICOUNT_CELLS"; exit 2; }

# ---- Servers to measure -------------------------------------------------

LABELS=()
declare -A BIN
if [ -n "$BEFORE" ]; then
	rev=$(git rev-parse --short "$BEFORE") || exit 1
	before_bin=$(bash "$(dirname "$0")/build-rev.sh" "$BEFORE" "$BUILD/icount") || exit 1
	LABELS+=("$rev")
	BIN[$rev]=$before_bin
fi
head=$(git rev-parse --short HEAD 2>/dev/null || echo head)
git diff --quiet HEAD -- src include 2>/dev/null || head="$head+"
LABELS+=("$head")
BIN[$head]=$WS

# ---- One run --------------------------------------------------------------

NEXT_PORT=$PORT

# run BIN OUTFILE WSSTEP-ARGS...: the server under callgrind while wsstep
# runs; OUTFILE gets callgrind's profile, OUTFILE.result wsstep's line.
run() {
	local bin=$1 out=$2 port=$NEXT_PORT pid dog rc
	shift 2
	NEXT_PORT=$((NEXT_PORT + 1))
	valgrind --tool=callgrind --callgrind-out-file="$out" --collect-systime=no \
		"$bin" --port "$port" --workers 1 --log-level warn --ping-interval 0 \
		--message-timeout 3600 --send-timeout 3600 2>"$out.vg" &
	pid=$!
	PIDS+=("$pid")
	( sleep $RUN_LIMIT; kill -CONT "$pid"; kill -KILL "$pid" ) >/dev/null 2>&1 &
	dog=$!
	"$WSSTEP" --server-pid "$pid" --port "$port" -q "$@" >"$out.result"
	rc=$?
	# A failed run leaves connections open, which a graceful shutdown
	# would wait for: then the server is killed outright.
	if [ $rc -ne 0 ]; then kill -CONT "$pid"; kill -KILL "$pid"; fi 2>/dev/null
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pkill -P "$dog" 2>/dev/null   # its sleep, by parent PID
	kill "$dog" 2>/dev/null
	wait "$dog" 2>/dev/null
	if [ $rc -ne 0 ] || [ ! -s "$out" ]; then
		log "icount: run failed (wsstep exit $rc): $bin $*"
		tail -5 "$out.vg" >&2
		return 1
	fi
}

# stages FILE: "whole events receive handoff build" in instructions.
# whole: the process, the sweep (on_sweep()) left out. events: what the
# I/O callbacks cost (on_conn_event(), on_accept(), inclusive): everything
# a message makes the server do, and nothing the wall clock does. The
# difference is the reactor's own iteration (epoll_wait()'s wrapper, the
# timer check, reaping, the signal check), which the 250 ms sweep's idle
# wake-ups inflate by an amount that depends on how long the run took
# (callgrind is slow, and slower on a busy machine): that part of "whole"
# is not deterministic; "events" and every stage are. Inclusive costs are
# read straight from callgrind's profile format: a function's own cost
# lines, plus the cost line after each "calls=" line in its block, which is
# what that call cost in all. (callgrind_annotate splits a function by the
# file each inlined piece came from; summed by name here, nothing is lost
# or counted twice.)
stages() {
	awk '
	function fname(s,   id) {
		if (match(s, /^\([0-9]+\)/)) {
			id = substr(s, 2, RLENGTH - 2)
			if (length(s) > RLENGTH) names[id] = substr(s, RLENGTH + 2)
			return names[id]
		}
		return s
	}
	/^fn=/ { cur = fname(substr($0, 4)); next }
	/^cfn=/ { fname(substr($0, 5)); next }
	/^summary:/ { total = $2; next }
	/^[0-9+*-]/ { incl[cur] += $NF; next }
	END {
		engine = incl["ws_proto_feed_z"] + incl["pmd_zbuf"] + incl["pmd_after_feed"]
		send = incl["ws_send"] + incl["ws_send_part"]
		recv = incl["conn_read"] - incl["frames_feed"] - incl["batch_flush"] + engine
		hand = incl["frames_feed"] - engine - send
		build = send + incl["batch_flush"]
		events = incl["on_conn_event"] + incl["on_accept"]
		printf "%d %d %d %d %d\n", total - incl["on_sweep"], events, recv, hand, build
	}' "$1"
}

# ---- The cells ------------------------------------------------------------

mkdir -p "$(dirname "$OUT")"
declare -A RES   # RES[label,cell] = "events recv hand build loop whole" per echo
for c in "${CELLS[@]}"; do
	IFS='|' read -r name conns size depth msgs kind <<<"$c"
	args=(-c "$conns" -s "$size" -d "$depth" -n "$msgs" "$kind")
	for label in "${LABELS[@]}"; do
		log "icount: $label, ${TITLE[$name]} ($((conns * msgs)) echoes)"
		f=$TMP/$label.$name
		run "${BIN[$label]}" "$f.load" "${args[@]}" || exit 1
		run "${BIN[$label]}" "$f.dry" "${args[@]}" --dry || exit 1
		read -r lw le lr lh lb <<<"$(stages "$f.load")"
		read -r dw de dr dh db <<<"$(stages "$f.dry")"
		echoes=$(sed -n 's/.* msgs=\([0-9]*\) .*/\1/p' "$f.load.result")
		RES[$label,$name]=$(awk -v n="$echoes" -v e=$((le - de)) -v r=$((lr - dr)) \
			-v h=$((lh - dh)) -v b=$((lb - db)) -v w=$((lw - dw)) 'BEGIN {
			printf "%.0f %.0f %.0f %.0f %.0f %.0f", e / n, r / n, h / n, b / n,
			       (e - r - h - b) / n, w / n }')
		log "icount:   Ir/echo, stages (receive hand-off build loop), whole process:" \
			"${RES[$label,$name]} (raw: $((le - de)) Ir over $echoes echoes)"
	done
done

# ---- The report ----------------------------------------------------------

field() { cut -d' ' -f"$1" <<<"$2"; }
{
	printf '### Instructions per echoed message (callgrind, server only)\n\n'
	printf 'Command: `make bench-instructions%s`, %s, %s.\n\n' \
		"${BEFORE:+ ICOUNT_BEFORE=$BEFORE}" "$(date -u '+%Y-%m-%d %H:%M UTC')" \
		"$(valgrind --version)"
	printf '| cell |'
	for label in "${LABELS[@]}"; do printf ' %s Ir/echo |' "$label"; done
	printf ' uWebSockets (#12) |\n|---|'
	for label in "${LABELS[@]}"; do printf -- '---:|'; done
	printf -- '---:|\n'
	for c in "${CELLS[@]}"; do
		name=${c%%|*}
		printf '| %s |' "${TITLE[$name]}"
		for label in "${LABELS[@]}"; do printf ' %s |' "$(field 1 "${RES[$label,$name]}")"; done
		printf ' %s |\n' "${REF[$name]:-}"
	done
	printf '\nPer stage: receive/parse/unmask / hand-off / build/queue / loop (the I/O\n'
	printf "callbacks' own dispatch); then the whole process, with the reactor's own\n"
	printf 'iteration, which varies with the run'"'"'s wall-clock time (see bench/icount.sh):\n\n'
	printf '| cell |'
	for label in "${LABELS[@]}"; do printf ' %s stages | %s whole |' "$label" "$label"; done
	printf '\n|---|'
	for label in "${LABELS[@]}"; do printf -- '---|---:|'; done
	printf '\n'
	for c in "${CELLS[@]}"; do
		name=${c%%|*}
		printf '| %s |' "${TITLE[$name]}"
		for label in "${LABELS[@]}"; do
			printf ' %s | %s |' "$(field 2-5 "${RES[$label,$name]}" | sed 's/ / \/ /g')" \
				"$(field 6 "${RES[$label,$name]}")"
		done
		printf '\n'
	done
} | tee "$OUT"
log "icount: written to $OUT"
