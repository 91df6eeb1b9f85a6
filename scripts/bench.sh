#!/usr/bin/env bash
# `npm run bench`: the Pod's benches in turn. `npm run bench -- --scale [--items N]`: only the scale
# bench (issue 13: one owner filled to 1,000,000 items), with its own options.
set -euo pipefail
if [[ "${1:-}" == --scale ]]; then
  shift
  exec node packages/server/dist/bench/scale.js "$@"
fi
node packages/server/dist/bench/run.js
node packages/client/dist/bench/client-overhead.js
node packages/client/dist/bench/sync.js
node packages/client/dist/bench/indexeddb.js
node packages/app/dist/e2e/bench-data.js
