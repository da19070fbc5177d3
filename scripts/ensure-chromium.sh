#!/usr/bin/env bash
# Browser tests drive Debian's chromium through playwright-core: browser downloads
# (`npx playwright install`) are not possible on our machines, apt is. Installs it when missing and
# we may (root or passwordless sudo); otherwise says so, and the browser tests skip themselves.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: no apt-get here; browser tests will be skipped (set MEDVAULT_CHROMIUM to a Chromium binary)." >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "ensure-chromium: not root; install Debian's chromium for the browser tests (apt-get install chromium)." >&2
    exit 0
  fi
fi
echo "ensure-chromium: installing Debian's chromium for the browser tests…" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null
