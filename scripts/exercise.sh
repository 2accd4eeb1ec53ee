#!/bin/sh
# exercise.sh -- check an answer to an exercise of the book (the section
# "Exercises" at the end of each chapter of docs/).
#
#   sh scripts/exercise.sh CHAPTER N ANSWER...
#   e.g. sh scripts/exercise.sh framing 3 82 7f 00 00 00 00 00 01 11 70
#        sh scripts/exercise.sh framing 4 my_header.c
#
# Prints "correct" (exit 0) or "not yet: <hint>" (exit 1). The work is done
# by scripts/exercise.py, which computes most answers from the code itself
# (build/book-oracle, built on first use); see its header.
here=$(dirname "$0")
exec "${TEST_PYTHON:-python3}" "$here/exercise.py" "$@"
