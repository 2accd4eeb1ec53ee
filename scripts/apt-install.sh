#!/bin/sh
# apt-install.sh WHO WHY PACKAGE... -- install Debian packages a test or a
# tool needs, saying first what and why.
#
# It installs with apt-get --no-install-recommends: only the packages named
# and what they depend on, never the "recommended" extras (for chromium those
# are ~100 packages, systemd and udev upgrades among them). It needs root and
# apt-get; anywhere else it installs nothing, prints the packages to install
# by hand (on other systems: the same software from their package manager)
# and exits 1.
set -eu
[ $# -ge 3 ] || { echo "usage: apt-install.sh WHO WHY PACKAGE..." >&2; exit 2; }
who=$1 why=$2
shift 2
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "$who: installing $* with apt-get --no-install-recommends: $why"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
else
    echo "$who: needs $* ($why); install them (Debian: sudo apt-get install $*) and run again" >&2
    exit 1
fi
