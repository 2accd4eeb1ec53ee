#!/bin/sh
# style.sh -- the one style of the tree (docs/testing.md, "Code style"):
# every C file as .clang-format says, and no line over 100 columns in C,
# shell or make files.
#
#   sh scripts/style.sh apply   reformat every C file in place (clang-format -i)
#   sh scripts/style.sh check   change nothing; list each C file clang-format
#                               would change and each line over 100 columns,
#                               end with "N passed, N failed" over the two
#                               checks, and exit 1 if either failed
#
# CLANG_FORMAT names the formatter (default clang-format). The style was
# set with clang-format 14 (Debian 12); other major versions break some
# lines differently, so check says so when it runs another one.
set -u

CLANG_FORMAT=${CLANG_FORMAT:-clang-format}
MAX_COLUMNS=100

cd "$(dirname "$0")/.." || exit 2

# Files of the tree that match the patterns: tracked or new, not ignored
# (so never bench/node_modules or build/). Outside a git
# checkout (an unpacked tarball), the same by find.
list() {
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git ls-files --cached --others --exclude-standard -- "$@"
    else
        for pat in "$@"; do
            find . -path ./build -prune -o -path '*/node_modules' -prune -o \
                -name "$pat" -type f -print | sed 's|^\./||'
        done
    fi | sort -u | while read -r f; do [ -f "$f" ] && echo "$f"; done
}

c_files() { list '*.c' '*.h'; }
text_files() { list '*.c' '*.h' '*.sh' '*.mk' 'Makefile' '.ci/run'; }

have_formatter() {
    command -v "$CLANG_FORMAT" >/dev/null 2>&1 && return 0
    echo "style: $CLANG_FORMAT not found (Debian: apt-get install clang-format)" >&2
    return 1
}

case ${1:-} in
apply)
    have_formatter || exit 2
    # shellcheck disable=SC2046
    "$CLANG_FORMAT" -i $(c_files)
    ;;
check)
    have_formatter || exit 2
    version=$("$CLANG_FORMAT" --version | sed -n 's/.*version \([0-9]*\)\..*/\1/p')
    [ "$version" = 14 ] ||
        echo "style: note: $CLANG_FORMAT is version ${version:-unknown}; the style was set with 14"
    passed=0 failed=0
    differ=""
    for f in $(c_files); do
        "$CLANG_FORMAT" "$f" | cmp -s - "$f" || differ="$differ $f"
    done
    if [ -n "$differ" ]; then
        echo "style: not formatted as .clang-format says (make style fixes them):"
        for f in $differ; do echo "  $f"; done
        failed=$((failed + 1))
    else
        passed=$((passed + 1))
    fi
    # Columns are characters, not bytes: a UTF-8 sequence (§, µ, →) is one.
    # shellcheck disable=SC2046
    long=$(LC_ALL=C awk -v max="$MAX_COLUMNS" '{
            n = length($0)
            s = $0; n -= gsub(/[\200-\277]/, "", s)
            if (n > max) printf "  %s:%d: %d columns\n", FILENAME, FNR, n
        }' $(text_files))
    if [ -n "$long" ]; then
        echo "style: lines over $MAX_COLUMNS columns:"
        echo "$long"
        failed=$((failed + 1))
    else
        passed=$((passed + 1))
    fi
    echo "$passed passed, $failed failed"
    [ "$failed" = 0 ]
    ;;
*)
    echo "usage: $0 apply|check" >&2
    exit 2
    ;;
esac
