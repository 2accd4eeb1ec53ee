#!/bin/sh
# exercise-handlers.sh -- check an answer to an exercise of docs/handlers.md.
#
#   sh scripts/exercise-handlers.sh N ANSWER...
#
# Prints "correct" (exit 0) or "not yet: HINT" (exit 1). The work is done by
# scripts/exercise-chapters.py, which says how each answer is checked.
exec "${TEST_PYTHON:-python3}" "$(dirname "$0")/exercise-chapters.py" handlers "$@"
