#!/usr/bin/env bash
# Debian's Chromium for the browser tests (playwright-core drives it; no browser is downloaded),
# installed only when /usr/bin/chromium is missing. Idempotent.
set -euo pipefail
if [[ -x /usr/bin/chromium ]]; then
  /usr/bin/chromium --version
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# refresh the package lists only when they do not know the package or point at a stale version
if ! apt-get install -y -q --no-install-recommends chromium; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends chromium
fi
/usr/bin/chromium --version
