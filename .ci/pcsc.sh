#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Prepares PC/SC for the transport/pcsc integration test: installs pcscd, the
# vsmartcard virtual reader driver (vpcd) and pcsc-tools, starts pcscd in the
# background when it is not running (containers have no systemd), waits for
# its socket and checks that the "Virtual PCD" reader exists.
#
# Idempotent: safe to run again; it installs and starts only what is missing.
#
# Environment:
#   PCSCD_LOG      pcscd's log file (default /tmp/pcscd.log)
#   PCSCD_DEBUG=1  start pcscd with --debug (logs every APDU)
#   PCSCLITE_CSOCK_NAME  pcscd's socket (default /run/pcscd/pcscd.comm)
set -euo pipefail

SOCK="${PCSCLITE_CSOCK_NAME:-/run/pcscd/pcscd.comm}"
LOG="${PCSCD_LOG:-/tmp/pcscd.log}"
PACKAGES=(pcscd vsmartcard-vpcd pcsc-tools)

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "pcsc.sh: not root and no sudo: cannot install or start pcscd" >&2; exit 1
  fi
fi

echo "== pcsc: packages"
missing=()
for p in "${PACKAGES[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get -qq update >/dev/null
  $SUDO apt-get -y -qq install --no-install-recommends "${missing[@]}" >/dev/null
  pcscd_fresh=1
else
  echo "already installed: ${PACKAGES[*]}"
  pcscd_fresh=0
fi
if [ ! -e /etc/reader.conf.d/vpcd ]; then
  echo "pcsc.sh: /etc/reader.conf.d/vpcd is missing: vsmartcard-vpcd is not configured" >&2; exit 1
fi

start_pcscd() {
  # A socket without a daemon is stale and would stop pcscd from starting.
  $SUDO rm -f "$SOCK" /run/pcscd/pcscd.pid
  $SUDO mkdir -p "$(dirname "$SOCK")"
  local args=(--foreground)
  if [ "${PCSCD_DEBUG:-0}" = 1 ]; then args+=(--debug); fi
  echo "starting pcscd ${args[*]} (log: $LOG)"
  # setsid + nohup: pcscd outlives this script and the CI step's shell.
  $SUDO setsid nohup pcscd "${args[@]}" >"$LOG" 2>&1 </dev/null &
}

echo "== pcsc: daemon"
if pidof pcscd >/dev/null 2>&1; then
  if [ "$pcscd_fresh" = 1 ]; then
    # A pcscd started before vpcd was installed does not know its reader.
    echo "restarting pcscd to load the freshly installed vpcd driver"
    # shellcheck disable=SC2046
    $SUDO kill $(pidof pcscd)
    for _ in $(seq 50); do pidof pcscd >/dev/null 2>&1 || break; sleep 0.1; done
    start_pcscd
  else
    echo "pcscd already running (pid $(pidof pcscd))"
  fi
else
  start_pcscd
fi

for _ in $(seq 100); do
  [ -S "$SOCK" ] && break
  sleep 0.1
done
if [ ! -S "$SOCK" ]; then
  echo "pcsc.sh: pcscd did not create $SOCK within 10s; its log:" >&2
  cat "$LOG" >&2 2>/dev/null || true
  exit 1
fi
echo "pcscd socket: $SOCK"

echo "== pcsc: readers"
readers=""
for _ in $(seq 20); do
  readers=$(timeout 5 pcsc_scan -r 2>&1 || true)
  if grep -q "Virtual PCD" <<<"$readers"; then break; fi
  sleep 0.5
done
echo "$readers"
if ! grep -q "Virtual PCD" <<<"$readers"; then
  echo "pcsc.sh: pcscd does not list the vpcd reader \"Virtual PCD\"; pcscd log:" >&2
  cat "$LOG" >&2 2>/dev/null || true
  exit 1
fi
echo "PC/SC ready: vpcd listens on TCP 35963 for a virtual card (go run ./cmd/pboc serve-card)"
