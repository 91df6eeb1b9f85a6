#!/usr/bin/env bash
# The container engine the plugin runner tests need: Debian's docker.io (installed only when dockerd
# is missing), a running daemon, and the locally built plugin base images. Idempotent; a machine that
# already has all three spends about a second here.
set -euo pipefail
cd "$(dirname "$0")/.."
trap 'echo "setup-docker: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
started=$SECONDS
socket=/var/run/docker.sock
log=/tmp/dockerd.log

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
[[ -x /usr/bin/python3.11 ]] || missing+=(python3)
if ((${#missing[@]})); then
  echo "setup-docker: installing ${missing[*]}"
  .ci/apt-install.sh "${missing[@]}"
fi

if ! docker version >/dev/null 2>&1; then
  command -v dockerd >/dev/null || { echo "setup-docker: docker.io is installed but dockerd is not on PATH ($PATH)" >&2; exit 1; }
  echo "setup-docker: starting dockerd (log: $log)"
  setsid dockerd >"$log" 2>&1 </dev/null &
  daemon=$!
  for _ in $(seq 120); do
    docker version >/dev/null 2>&1 && break
    kill -0 "$daemon" 2>/dev/null || break # it died: waiting longer would not help
    sleep 0.5
  done
  if ! docker version >/dev/null 2>&1; then
    echo "setup-docker: dockerd is not answering on $socket (gave up after $((SECONDS - started)) s); its log:" >&2
    cat "$log" >&2
    exit 1
  fi
fi

scripts/build-base-images.sh
echo "setup-docker: ready in $((SECONDS - started)) s ($(docker version -f 'engine {{.Server.Version}}'))"
