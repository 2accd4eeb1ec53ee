#!/bin/sh
# test-record.sh -- run test programs with their output shown as it comes,
# count what each passed and failed, and sum it up at the end, so that
# `make test` closes with one line covering every program it ran.
#
#   sh scripts/test-record.sh run DIR NAME KIND COMMAND [ARG...]
#       Runs COMMAND, its stdout and stderr both shown and copied to
#       DIR/NAME.log, and writes DIR/NAME.count: "passed failed skipped
#       status". Exits with COMMAND's status. KIND says how to count:
#         cmocka  cmocka's "[  PASSED  ] N test(s)." and "[  FAILED  ] N
#                 test(s), listed below:" (and SKIPPED) lines
#         plain   lines "N passed, N failed[, N skipped]", as the
#                 conformance driver and the Python tests print them
#   sh scripts/test-record.sh failed DIR NAME STATUS
#       Notes that a step (a sub-make: a build, or a program's set-up)
#       exited STATUS; it counts as one failure unless a test under DIR
#       already failed, which explains it.
#   sh scripts/test-record.sh summary DIR
#       Prints "N passed, N failed" (", N skipped" when some were) over
#       every .count under DIR, after a line for each program that failed;
#       exits 1 if anything failed.
#
# A program that exits non-zero without counting a failure (a crash, a
# timeout, a group set-up that failed) counts as one failure: a red run
# can never close with "0 failed".
set -u

usage() {
    echo "usage: $0 run DIR NAME KIND COMMAND... | failed DIR NAME STATUS | summary DIR" >&2
    exit 2
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$2
shift 2

case $cmd in
run)
    [ $# -ge 3 ] || usage
    name=$1 kind=$2
    shift 2
    mkdir -p "$dir" || exit 2
    log=$dir/$name.log
    rm -f "$dir/$name.status"
    # The test programs write stdout a line at a time even into this pipe
    # (test/support/linebuf.c), so stdout and stderr keep their order.
    { "$@" 2>&1; echo $? > "$dir/$name.status"; } | tee "$log"
    status=$(cat "$dir/$name.status" 2>/dev/null || echo 1)
    case $kind in
    cmocka)
        counts=$(awk '
            /^\[  PASSED  \] [0-9]+ test\(s\)\./ { p += $4 }
            /^\[  FAILED  \] [0-9]+ test\(s\)/   { f += $4 }
            /^\[  SKIPPED \] [0-9]+ test\(s\)/   { s += $4 }
            END { printf "%d %d %d", p, f, s }' "$log") ;;
    plain)
        counts=$(awk '
            { sub(/^[A-Za-z0-9_-]+: /, "") }
            /^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$/ {
                p += $1; f += $3; if (NF >= 6) s += $5 }
            END { printf "%d %d %d", p, f, s }' "$log") ;;
    *) usage ;;
    esac
    echo "$counts $status" > "$dir/$name.count"
    exit "$status"
    ;;
failed)
    [ $# -ge 2 ] || usage
    mkdir -p "$dir" || exit 2
    echo "0 0 0 $2" > "$dir/$1.step"
    exit 0
    ;;
summary)
    [ -d "$dir" ] || { echo "0 passed, 1 failed"; echo "$0: no results in $dir" >&2; exit 1; }
    # Per directory: a program that exited non-zero with nothing failed
    # is one failure; a failed step is one only if nothing in its
    # directory failed already.
    find "$dir" -name '*.count' -o -name '*.step' | sort | while read -r f; do
        printf '%s %s %s\n' "$(dirname "$f")" "$(basename "$f")" "$(cat "$f")"
    done | awk '
        $2 ~ /\.count$/ {
            name = $2; sub(/\.count$/, "", name)
            p += $3; s += $5; fl = $4
            if ($6 != 0 && fl == 0) {
                fl = 1
                printf "FAILED: %s exited %d without a failed test counted: one failure\n", name, $6
            } else if (fl > 0) {
                printf "FAILED: %s: %d test(s) failed\n", name, fl
            }
            f += fl; dirfail[$1] += fl
            next
        }
        { nsteps++; stepdir[nsteps] = $1; step[nsteps] = $2; stepst[nsteps] = $6 }
        END {
            for (i = 1; i <= nsteps; i++) if (stepst[i] != 0 && dirfail[stepdir[i]] == 0) {
                name = step[i]; sub(/\.step$/, "", name)
                printf "FAILED: %s exited %d before any test failed", name, stepst[i]
                printf " (a build or set-up error above): one failure\n"
                f++
            }
            if (s > 0) printf "%d passed, %d failed, %d skipped\n", p, f, s
            else printf "%d passed, %d failed\n", p, f
            exit (f > 0 ? 1 : 0)
        }'
    ;;
*) usage ;;
esac
