#!/usr/bin/env bash
# setup_browser.sh - make sure Debian's chromium is installed for the browser tests
# (tests/browser/, driven by Python's playwright through executable_path).
#
# Like setup_services.sh: idempotent (one cheap check when chromium is there), Debian,
# run as root or with password-less sudo, non-interactive. Never `playwright install`:
# that downloads browsers from outside the package registries.
#
# Environment:
#   MAI_CHROMIUM     the browser binary to check/install (default: /usr/bin/chromium)
#   MAI_SETUP_LOG    log file for apt output (default: /tmp/mai-setup-browser.log)
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
CHROMIUM="${MAI_CHROMIUM:-/usr/bin/chromium}"
LOG="${MAI_SETUP_LOG:-/tmp/mai-setup-browser.log}"

say() { printf 'setup: %s\n' "$*"; }

if [[ -x "$CHROMIUM" ]]; then
  say "ok   chromium ($("$CHROMIUM" --version 2>/dev/null | head -n1))"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { say "ERROR: chromium is missing and this is not root (no sudo)"; exit 1; }
  SUDO="sudo -n"
fi
command -v apt-get >/dev/null || { say "ERROR: $CHROMIUM is missing and apt-get is not available; install chromium"; exit 1; }

say "installing chromium with apt-get (log: $LOG)"
if ! { $SUDO apt-get update -q && $SUDO apt-get install -y -q --no-install-recommends chromium fonts-liberation; } >"$LOG" 2>&1; then
  say "ERROR: apt-get install chromium failed; last lines of $LOG:"
  tail -n 20 "$LOG" >&2
  exit 1
fi
[[ -x "$CHROMIUM" ]] || { say "ERROR: chromium installed but $CHROMIUM is missing"; exit 1; }
say "ok   chromium ($("$CHROMIUM" --version 2>/dev/null | head -n1))"
