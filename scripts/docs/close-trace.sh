#!/bin/sh
# close-trace.sh BUILD -- a client-initiated close as strace shows it on the
# server, for docs/messages.md: the end of tour-trace.sh's run, from the
# read of the client's close frame to close(), without the epoll_wait()
# rounds and the log's write(2) calls, each call annotated. Run by
# scripts/docs/docs.py; close-trace.norm blurs what varies.
set -eu
sh "$(dirname "$0")/tour-trace.sh" "${1:-build}" | awk '
    /^read\(7, "\\210/ { on = 1 }
    !on || /^epoll_wait\(/ || /^write\(2,/ { next }
    /^read\(7, "\\210/           { note = "masked close, code 1000" }
    /^writev\(7, .*"\\210/       { note = "reply: close 1000" }
    /^shutdown\(/                { note = "our FIN first" }
    /^read\(7, "",/              { note = "the client'"'"'s FIN" }
    /^epoll_ctl\(.*EPOLL_CTL_DEL/ { note = "after the batch:" }
    /^close\(7\)/                { note = "conn_reap()" }
    { printf "%-52s  %s\n", $0, note; note = "" }
'
