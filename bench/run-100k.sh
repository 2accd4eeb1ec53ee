#!/bin/sh
# run-100k.sh -- 100,000 concurrent connections on one machine, with a few
# more echoing at full speed meanwhile (issue: "100,000 concurrent
# connections on this 2-core machine").
#
#   sh bench/run-100k.sh [build/ws6455] [build/wsbench]     (make bench-100k)
#
# One process may hold at most 20,000 file descriptors here (the hard
# RLIMIT_NOFILE), so the server runs 6 workers on one SO_REUSEPORT port,
# 19,500 connections each at most; wsbench spreads its sockets over
# 127.0.0.2-250 and over several processes for the same reason.
# Everything is bounded: the idle hold is HOLD seconds, the echo load 5 s.
set -eu
BIN=${1:-build/ws6455}
WSBENCH=${2:-build/wsbench}
PORT=${BENCH_100K_PORT:-18290}
CONNS=${BENCH_100K_CONNS:-100000}
HOLD=${BENCH_100K_HOLD:-25}

"$BIN" --port "$PORT" --workers 6 --max-connections 19500 --ping-interval 0 \
    --log-level warn 2>build/bench-100k-server.log &
SRV=$!
IDLE=
cleanup() {
    kill "$SRV" 2>/dev/null
    [ -n "$IDLE" ] && kill "$IDLE" 2>/dev/null
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM
sleep 1

"$WSBENCH" --port "$PORT" -c "$CONNS" --idle "$HOLD" --server-pid "$SRV" --settle 3 \
    >build/bench-100k-idle.txt 2>&1 &
IDLE=$!

# Wait until every connection is established (at most 60 s).
i=0
while [ $i -lt 60 ]; do
    n=$(ss -Htn state established "( sport = :$PORT )" | wc -l)
    [ "$n" -ge "$CONNS" ] && break
    sleep 1
    i=$((i + 1))
done
echo "established: $n connections after ${i} s"

echo "echo load while they are open (4 connections x 32 B, depth 16, 5 s):"
"$WSBENCH" --port "$PORT" -c 4 -s 32 -d 16 -t 5 -w 1 | grep '^RESULT'

wait $IDLE
IDLE=
grep -E '^RESULT|server RSS' build/bench-100k-idle.txt
