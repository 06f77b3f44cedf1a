#!/usr/bin/env bash
# Test tools the project installs itself when a test needs them (Debian packages; as root).
#   bash scripts/tools.sh promtool    # Prometheus's promtool (package prometheus), for the alert-rule tests
#   bash scripts/tools.sh chromium    # a headless browser (package chromium), for the status page test
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
LOG_DIR=.run/logs
mkdir -p "$LOG_DIR"

say() { printf 'tools: %s\n' "$*" >&2; }
fail() {
  say "$*"
  exit 1
}

# apt-get install without starting the package's daemon (policy-rc.d 101 = "do not start services")
apt_install() {
  local pkg=$1 log=$LOG_DIR/apt-$1.log
  [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1 ||
    fail "$pkg is not installed and this is not a root shell with apt-get: install it by hand (\`sudo apt-get install $pkg\` on Debian/Ubuntu)"
  say "installing $pkg with apt-get (log $log)"
  local policy=/usr/sbin/policy-rc.d placed=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && placed=1
  fi
  local rc=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$pkg" >"$log" 2>&1 ||
    { apt-get update >>"$log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$pkg" >>"$log" 2>&1; } ||
    rc=$?
  [[ $placed == 1 ]] && rm -f "$policy"
  [[ $rc == 0 ]] || fail "apt-get install $pkg failed (see $log)"
}

case "${1:-}" in
  promtool)
    command -v promtool >/dev/null 2>&1 || apt_install prometheus
    command -v promtool >/dev/null 2>&1 || fail "promtool is still missing after installing prometheus"
    ;;
  chromium)
    command -v chromium >/dev/null 2>&1 || apt_install chromium
    command -v chromium >/dev/null 2>&1 || fail "chromium is still missing after installing it"
    ;;
  *)
    fail "usage: bash scripts/tools.sh promtool|chromium"
    ;;
esac
