#!/usr/bin/env bash
# Builds pod-server:local, the Pod itself as a container image (Dockerfile at the root), with no
# registry: its base, pod-server-node:<node version>, is this machine's node binary and the
# libraries that it and the native modules in node_modules link (SQLCipher's among them), so the
# image runs the very Node the native module was built for. The base is rebuilt only when that
# node or those libraries change; the image's layers are cached (node_modules before the code).
# Usage: scripts/build-pod-image.sh [--force]   (POD_IMAGE_TAG: the tag, default pod-server:local)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=rootfs.sh
source scripts/rootfs.sh

force=${1:-}
tag=${POD_IMAGE_TAG:-pod-server:local}
node_bin=$(command -v node)
node_version=$(node --version)
base=pod-server-node:$node_version

if ! problem=$(node -e "new (require('better-sqlite3-multiple-ciphers'))(':memory:').close()" 2>&1); then
  echo "the native SQLCipher module does not load in node $node_version ($node_bin): ${problem%%$'\n'*}" >&2
  echo "run the build under the Node it was built for, or rebuild it: npm rebuild better-sqlite3-multiple-ciphers" >&2
  exit 1
fi
npm run build --silent

# The native modules the image carries; their libraries outside the repository go into the base.
mapfile -t addons < <(find node_modules -path '*/obj.target' -prune -o -type f \( -name '*.node' -o -name '*.so*' \) -print)
mapfile -t libs < <(libraries_of "$node_bin" "${addons[@]}" | grep -v "^$PWD/")
label="node-$node_version+libs-$(printf '%s\n' "${libs[@]}" | sha256sum | cut -c1-12)"
if [[ $force == --force || $(label_of "$base") != "$label" ]]; then
  stage=$(new_stage)
  echo "$base: staging node $node_version and the ${#libs[@]} libraries it and ${#addons[@]} native modules link"
  add_files "$stage" "${libs[@]}"
  cp -L "$node_bin" "$stage/usr/bin/node"
  mkdir -p "$stage/app"
  stage_check=$(chroot "$stage" /usr/bin/node -e 'process.stdout.write(process.version)' 2>&1) ||
    { echo "the node root filesystem does not run: $stage_check" >&2; exit 1; }
  import_stage "$stage" "$base" "$label" '["node"]'
else
  echo "$base is up to date ($label)"
fi

docker build --quiet --build-arg "BASE=$base" --tag "$tag" . >/dev/null
echo "built $tag on $base ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
