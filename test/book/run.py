"""run.py -- the exercise checkers of docs/handlers.md and
docs/client-side.md, run on the right answers and on wrong ones, so that
neither a checker that accepts anything nor an answer the code no longer
gives can go unnoticed.

  python3 test/book/run.py

Answers are in test/book/answers/: answers.txt for those given in words,
handlers-N.c (right) and handlers-N-wrong.c (a plausible mistake) for the
handlers a reader writes. Prints "ok"/"FAIL" per check and
"N passed, N failed".
"""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANSWERS = os.path.join(ROOT, "test", "book", "answers")
SCRIPT = {"handlers": "scripts/exercise-handlers.sh", "client": "scripts/exercise-client.sh"}
RESULTS = [0, 0]


def run(chapter, n, answer_args, want_ok):
    r = subprocess.run(["sh", SCRIPT[chapter], n] + answer_args, cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    first = (r.stdout.strip().splitlines() or [""])[0]
    ok = (r.returncode == 0 and first == "correct") if want_ok else \
         (r.returncode == 1 and first.startswith("not yet: "))
    RESULTS[0 if ok else 1] += 1
    print("%s %s %s, %s answer: %s" % ("ok  " if ok else "FAIL", chapter, n,
                                        "right" if want_ok else "wrong", first or r.stderr[-300:]))


def main():
    seen = set()
    with open(os.path.join(ANSWERS, "answers.txt"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            key, right, wrong = (x.strip() for x in line.split(" | "))
            chapter, n = key.split()
            run(chapter, n, right.split(), True)
            run(chapter, n, wrong.split(), False)
            seen.add((chapter, n))
    for name in sorted(os.listdir(ANSWERS)):
        if name.endswith(".c") and not name.endswith("-wrong.c"):
            chapter, n = name[:-2].split("-")
            path = os.path.join(ANSWERS, name)
            run(chapter, n, [path], True)
            run(chapter, n, [path[:-2] + "-wrong.c"], False)
            seen.add((chapter, n))
    # Every exercise has its answers here.
    for chapter, count in (("handlers", 4), ("client", 4)):
        for n in range(1, count + 1):
            ok = (chapter, str(n)) in seen
            RESULTS[0 if ok else 1] += 1
            if not ok:
                print("FAIL %s %d: no answer in test/book/answers" % (chapter, n))
    print("%d passed, %d failed" % tuple(RESULTS))
    return 1 if RESULTS[1] else 0


if __name__ == "__main__":
    sys.exit(main())
