#!/bin/sh
# install-nginx.sh -- make sure nginx is there for `make proxy-test`,
# without leaving a web server running on the machine.
#
# The test runs an nginx of its own: in the foreground, as the invoking
# user, on 127.0.0.1 with its configuration in build/proxy/, stopped by
# its PID (test/proxy/run.py). It needs the nginx binary and nothing else.
# But Debian's nginx package, once installed, starts nginx.service (its
# default site listens on port 80 of every address) and enables it at
# boot. So, when nginx is missing and we are root on Debian:
#
# 1. policy-rc.d keeps the service from starting during the install.
#    invoke-rc.d and deb-systemd-invoke, which maintainer scripts use to
#    start services, ask /usr/sbin/policy-rc.d first; exit status 101
#    means "forbidden" (/usr/share/doc/init-system-helpers/README.policy-rc.d.gz).
#    Preventing the start beats stopping it afterwards: nothing ever
#    listens on port 80, and the install cannot fail because something
#    else holds that port. Ours is written only when there is none (an
#    image may have its own, as Docker's Debian images do) and removed as
#    soon as apt-get is done, whatever happened.
# 2. The service is then disabled, so it does not start at boot either:
#    systemctl disable --now when systemd runs the machine; otherwise
#    update-rc.d disable (the SysV links, and systemd's through systemctl
#    --root when systemctl exists), and a stop through the init script in
#    case an existing policy-rc.d let it start.
#
# An nginx that was installed before is the machine owner's: it is used
# as it is, and its service is left alone.
set -eu

if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "proxy-test: nginx is not installed. On Debian, as root:" \
         "apt-get install --no-install-recommends nginx-light; then make proxy-test again." >&2
    exit 1
fi

echo "proxy-test: installing nginx-light with apt-get --no-install-recommends, for the" \
     "nginx the test runs itself; the package's nginx.service is kept from starting and disabled"

policy=/usr/sbin/policy-rc.d
ours=
if [ ! -e "$policy" ] && [ ! -L "$policy" ]; then
    trap 'rm -f "$policy"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    printf '%s\n' '#!/bin/sh' \
        '# Written by ws6455 test/proxy/install-nginx.sh while it installs nginx:' \
        '# no service may start meanwhile. Removed when it is done.' 'exit 101' > "$policy"
    chmod 755 "$policy"
    ours=1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends nginx-light >/dev/null ||
    apt-get install -y -qq --no-install-recommends nginx >/dev/null

if [ -n "$ours" ]; then
    rm -f "$policy"
    trap - EXIT INT TERM
fi

if [ -d /run/systemd/system ]; then
    systemctl disable --now --quiet nginx.service
else
    update-rc.d nginx disable >/dev/null 2>&1 || true
    if [ -s /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; then
        service nginx stop >/dev/null
    fi
fi

state=
if command -v systemctl >/dev/null 2>&1; then
    state=$(systemctl is-enabled nginx.service 2>/dev/null || true)
fi
if ls /etc/rc[2-5].d/S[0-9][0-9]nginx >/dev/null 2>&1 || [ "$state" = enabled ] ||
    { [ -s /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; }; then
    echo "proxy-test: nginx is installed, but its service is still enabled or running" >&2
    exit 1
fi
echo "proxy-test: nginx installed; nginx.service is ${state:-not enabled} and not running"
