#!/bin/sh
# test-minimal.sh -- run the conformance driver against examples/minimal-echo.c
# (the one-file server of docs/minimal.md) and require 0 failures.
#
#   sh scripts/test-minimal.sh [SERVER [DRIVER [DRIVER OPTIONS...]]]
#   e.g. sh scripts/test-minimal.sh build/examples/minimal-echo build/conformance --verbose
#
# `make examples-test` runs it. SERVER defaults to build/examples/minimal-echo,
# DRIVER to build/conformance. scripts/run-conformance.sh --port-host does
# the running: the server on 127.0.0.1 on a free port ($MINIMAL_PORT if
# set, which must then be free), accepting within 5 s; the driver on the
# categories the minimal server claims, bounded in time; then the server
# stopped by PID, with each connection process it forked that still runs.
#
# The categories (docs/conformance.md):
#   1.  framing: every length class, echoed exactly (up to 16 MiB)
#   2.  ping and pong            3.  RSV bits      4.  reserved opcodes
#   5.  fragmentation            6.  UTF-8         7.  closing
#   9.  large messages, many fragments, 1000 round trips, the 1009 limit
#       (the server's MAX_MESSAGE is 16 MiB, the driver's default)
#   10. a message in 1300-byte fragments
#   X.1-X.4  unmasked client frames, a 64-bit length with its top bit set
# Not attempted: 12., 13., X.5, X.6, X.7 are permessage-deflate (RFC 7692),
# which the minimal server does not offer (X.6, declined offers, happens to
# pass, since it declines everything; it is left out with the rest).
set -u

server=${1:-build/examples/minimal-echo}
driver=${2:-build/conformance}
if [ $# -ge 2 ]; then shift 2; else shift $#; fi
prefixes=1.,2.,3.,4.,5.,6.,7.,9.,10.,X.1,X.2,X.3,X.4

echo "test-minimal: $server, cases $prefixes"
CONF_PORT=${MINIMAL_PORT:-} exec sh "$(dirname "$0")/run-conformance.sh" --port-host \
    "$server" "$driver" --prefix "$prefixes" "$@"
