#!/usr/bin/python3
"""test/book/check-answers.py -- run an exercise checker against its answers.

  /usr/bin/python3 test/book/check-answers.py CHECKER ANSWERS

CHECKER is one of the scripts/exercise-*.py programs, ANSWERS the file of
answers for it under test/book/answers/: each line "N ANSWER..." must be
accepted (exit 0), each line "! N ANSWER..." rejected (exit 1), so neither
the chapter's answers nor the checker can rot. Prints one line per answer
and "N passed, N failed"; exits 1 on a failure.
"""
import subprocess
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    checker, answers = sys.argv[1], sys.argv[2]
    passed = failed = 0
    for line in open(answers):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        wrong = line.startswith("!")
        words = line.lstrip("! ").split()
        r = subprocess.run([sys.executable, checker] + words, capture_output=True, text=True,
                           timeout=120)
        ok = (r.returncode == 1) if wrong else (r.returncode == 0)
        what = "%s %s %s" % (checker, " ".join(words), "is rejected" if wrong else "is accepted")
        if ok:
            passed += 1
            print("ok   " + what)
        else:
            failed += 1
            print("FAIL %s (exit %d)\n     %s" % (what, r.returncode,
                                                (r.stdout + r.stderr).strip()[-600:]))
        sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
