#!/bin/sh
# check-quotes.sh -- do a chapter's code quotes match the program they quote?
#
#   sh scripts/check-quotes.sh DOC SOURCE
#   e.g. sh scripts/check-quotes.sh docs/minimal.md examples/minimal-echo.c
#
# Every ```c block of DOC must be lines of SOURCE, exactly (indentation
# included) and in a row. A line that is only "..." (indented or not)
# splits a block into excerpts, each checked on its own. Prints each quote
# that does not match, and exits 1 if any; `make examples-test` runs it on
# docs/minimal.md, so the chapter cannot drift from examples/minimal-echo.c.
set -u
if [ $# -ne 2 ] || [ ! -r "$1" ] || [ ! -r "$2" ]; then
    echo "usage: $0 DOC SOURCE (both readable files)" >&2
    exit 2
fi

awk -v doc="$1" '
# The source, line by line.
FNR == NR { src[++nsrc] = $0; next }

# Is q[1..nq] a run of consecutive source lines?
function found(   i, j) {
    for (i = 1; i + nq - 1 <= nsrc; i++) {
        for (j = 1; j <= nq && src[i + j - 1] == q[j]; j++) {}
        if (j > nq) return 1
    }
    return 0
}
function check(   j) {
    if (nq == 0) return
    quotes++
    if (!found()) {
        bad++
        printf "%s:%d: this quote is not in the source:\n", doc, qline
        for (j = 1; j <= nq; j++) printf "    %s\n", q[j]
    }
    nq = 0
}

/^```c[ \t]*$/ && !inblock { inblock = 1; nq = 0; next }
/^```/ && inblock { check(); inblock = 0; next }
inblock && /^[ \t]*\.\.\.[ \t]*$/ { check(); next }
inblock { if (nq == 0) qline = FNR; q[++nq] = $0 }

END {
    if (inblock) { printf "%s: a ```c block is not closed\n", doc; exit 1 }
    printf "check-quotes: %s: %d quotes, %d not in the source\n", doc, quotes, bad
    exit bad > 0
}
' "$2" "$1"
