#!/usr/bin/env bash
# Installs Debian packages without their recommends, refreshing the package lists only when they do
# not know the packages or point at stale versions. Usage: .ci/apt-install.sh PACKAGE...
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends "$@"; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "$@"
fi
