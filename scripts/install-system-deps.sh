#!/usr/bin/env bash
# Install the Debian packages the real-server tests need, without starting or enabling any service.
#
# Idempotent and fast when everything is present (no apt-get at all). Only missing packages are
# installed; a temporary /usr/sbin/policy-rc.d (exit 101) stops the maintainer scripts of postfix,
# openssh-server and dovecot from starting their daemons, the systemd units of the packages installed
# here are disabled again, and Postfix is preseeded to "No configuration" (no /etc/postfix/main.cf).
# The tests run their own instances from temp directories; the machine's services stay untouched.
set -euo pipefail

PACKAGES=(postfix openssh-server openssh-client dovecot-imapd pflogsumm chromium)
# Daemons a package's maintainer scripts could start or enable: systemd units and pid file.
declare -A UNITS=(
    [postfix]="postfix.service"
    [openssh-server]="ssh.service ssh.socket"
    [dovecot-imapd]="dovecot.service dovecot.socket"
)
declare -A PIDFILES=(
    [postfix]=/var/spool/postfix/pid/master.pid
    [openssh-server]=/run/sshd.pid
    [dovecot-imapd]=/run/dovecot/master.pid
)

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" && return 0
    [[ "$1" == chromium ]] && command -v chromium >/dev/null 2>&1
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    installed "$pkg" || missing+=("$pkg")
done
if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-system-deps: all present (${PACKAGES[*]})"
    exit 0
fi
echo "install-system-deps: installing ${missing[*]}"

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    SUDO=(sudo -n)
fi

POLICY=/usr/sbin/policy-rc.d
created_policy=0
cleanup() {
    if [[ $created_policy -eq 1 ]]; then
        "${SUDO[@]}" rm -f "$POLICY"
    fi
}
trap cleanup EXIT
if [[ ! -e $POLICY ]]; then
    printf '#!/bin/sh\n# relaywatch install-system-deps: start no service during install\nexit 101\n' |
        "${SUDO[@]}" tee "$POLICY" >/dev/null
    "${SUDO[@]}" chmod 0755 "$POLICY"
    created_policy=1
fi

echo "postfix postfix/main_mailer_type select No configuration" | "${SUDO[@]}" debconf-set-selections
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"

if command -v systemctl >/dev/null 2>&1; then
    for pkg in "${missing[@]}"; do
        for unit in ${UNITS[$pkg]:-}; do
            "${SUDO[@]}" systemctl --no-reload disable "$unit" >/dev/null 2>&1 || true
        done
    done
fi

# Nothing we installed may be left running: its pid file must not name a live process.
running=()
for pkg in "${missing[@]}"; do
    pidfile=${PIDFILES[$pkg]:-}
    if [[ -n $pidfile && -r $pidfile ]] && pid=$(tr -dc '0-9' <"$pidfile") && [[ -n $pid ]] &&
        kill -0 "$pid" 2>/dev/null; then
        running+=("$pkg:$pidfile:$pid")
    fi
done
if [[ ${#running[@]} -gt 0 ]]; then
    echo "install-system-deps: a system service is running: ${running[*]}" >&2
    exit 1
fi
echo "install-system-deps: done"
