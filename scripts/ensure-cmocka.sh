#!/bin/sh
# ensure-cmocka.sh -- make sure the cmocka unit-test library is installed.
#
# `make test` runs this first. The tests need cmocka's header and library
# (Debian/Ubuntu package: libcmocka-dev). If they are missing and we are
# root on a Debian-like system, this installs the package with apt-get;
# otherwise it says what to install and stops.
#
#   Fedora/RHEL:  dnf install libcmocka-devel
#   Arch:         pacman -S cmocka
#   macOS:        brew install cmocka   (the server itself needs Linux epoll)
set -eu

have_cmocka() {
    printf '#include <stdarg.h>\n#include <stddef.h>\n#include <stdint.h>\n#include <setjmp.h>\n#include <cmocka.h>\nint main(void){return 0;}\n' \
        | ${CC:-cc} -x c - -o /dev/null -lcmocka >/dev/null 2>&1
}

if have_cmocka; then
    exit 0
fi

echo "ensure-cmocka: the cmocka test library (libcmocka-dev) is not installed."
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "ensure-cmocka: installing it with: apt-get install -y libcmocka-dev"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libcmocka-dev >/dev/null
    have_cmocka && { echo "ensure-cmocka: installed."; exit 0; }
    echo "ensure-cmocka: installation did not work; see the apt-get output above." >&2
    exit 1
fi
if command -v apt-get >/dev/null 2>&1; then
    echo "ensure-cmocka: run: sudo apt-get install libcmocka-dev   (then make test again)" >&2
else
    echo "ensure-cmocka: install cmocka with your package manager (see the top of $0)." >&2
fi
exit 1
