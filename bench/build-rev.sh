#!/usr/bin/env bash
# build-rev.sh REV DIR -- build another revision's server, to measure it
# side by side with this tree's (make bench BENCH_BEFORE=REV, make
# bench-instructions ICOUNT_BEFORE=REV). REV's files are taken with `git
# archive` into DIR/src-SHORT and built there with REV's own Makefile, once;
# prints the binary's path. Logs go to stderr.
set -u
[ $# -eq 2 ] || { echo "usage: build-rev.sh REV DIR" >&2; exit 2; }
rev=$(git rev-parse --short "$1") || exit 1
src=$2/src-$rev
if [ ! -x "$src/build/ws6455" ]; then
	echo "build-rev: building $1 ($rev) in $src" >&2
	rm -rf "$src" && mkdir -p "$src" &&
		git archive "$rev" | tar -x -C "$src" &&
		timeout 600 make -C "$src" --no-print-directory build/ws6455 >/dev/null ||
		{ echo "build-rev: could not build $1" >&2; exit 1; }
fi
echo "$src/build/ws6455"
