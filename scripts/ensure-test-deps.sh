#!/bin/sh
# ensure-test-deps.sh -- make sure the libraries the tests link are installed.
#
# `make test` runs this first. The tests need two libraries that a fresh
# system may lack, an interpreter and a tracer:
#   cmocka  the unit-test framework     (Debian/Ubuntu: libcmocka-dev)
#   zlib    an oracle for our DEFLATE   (Debian/Ubuntu: zlib1g-dev)
#   python3 test/options and test/install, standard library only
#           (Debian/Ubuntu: python3, for $TEST_PYTHON, default /usr/bin/python3)
#   strace  make docs-check runs the server under it for the system-call
#           trace docs/tour.md shows (scripts/docs/tour-trace.sh)
#           (Debian/Ubuntu: strace)
# The server itself links neither library (it links libc only). If one is
# missing and we are root on a Debian-like system, this installs it with
# apt-get --no-install-recommends; otherwise it says what to install and
# stops.
#
#   Fedora/RHEL:  dnf install libcmocka-devel zlib-devel python3 strace
#   Arch:         pacman -S cmocka zlib python strace
#   macOS:        brew install cmocka   (the server itself needs Linux epoll)
set -eu

# have HEADER LIB: can a program including HEADER link with -lLIB?
have() {
    {
        printf '#include <%s>\n' stdarg.h stddef.h stdint.h setjmp.h "$1"
        echo 'int main(void){return 0;}'
    } | ${CC:-cc} -x c - -o /dev/null "-l$2" >/dev/null 2>&1
}

python=${TEST_PYTHON:-/usr/bin/python3}

check_all() {
    missing=""
    have cmocka.h cmocka || missing="$missing libcmocka-dev"
    have zlib.h z || missing="$missing zlib1g-dev"
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 7))' >/dev/null 2>&1 ||
        missing="$missing python3"
    command -v strace >/dev/null 2>&1 || missing="$missing strace"
}

check_all
[ -z "$missing" ] && exit 0

echo "ensure-test-deps: the tests need these packages, which are not installed:$missing"
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "ensure-test-deps: installing them with:" \
        "apt-get install -y --no-install-recommends$missing"
    apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends $missing >/dev/null
    check_all
    if [ -z "$missing" ]; then
        echo "ensure-test-deps: installed."
        exit 0
    fi
    echo "ensure-test-deps: installation did not work; see the apt-get output above." >&2
    exit 1
fi
if command -v apt-get >/dev/null 2>&1; then
    echo "ensure-test-deps: run: sudo apt-get install$missing   (then make test again)" >&2
else
    echo "ensure-test-deps: install them with your package manager (see the top of $0)." >&2
fi
exit 1
