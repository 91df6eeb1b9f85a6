#!/usr/bin/env bash
# Builds the plugin base images from this machine's own binaries, since no image registry can be
# reached: pod-plugin-node:base (the node binary and the libraries it links) and
# pod-plugin-python:base (Debian's python3, its standard library and the libraries it links).
# Each image is labelled with the version it was built from and rebuilt only when that changes.
# Usage: scripts/build-base-images.sh [--force]
set -euo pipefail

force=${1:-}
node_bin=$(command -v node)
node_version=$(node --version)
python_bin=/usr/bin/python3.11

# shellcheck source=rootfs.sh
source "$(dirname "$0")/rootfs.sh"

if [[ $force == --force || $(label_of pod-plugin-node:base) != "node-$node_version" ]]; then
  stage=$(new_stage)
  mapfile -t libs < <(libraries_of "$node_bin")
  echo "pod-plugin-node:base: staging node $node_version and the ${#libs[@]} libraries it links"
  add_files "$stage" "${libs[@]}"
  cp -L "$node_bin" "$stage/usr/bin/node"
  mkdir -p "$stage/app"
  stage_check=$(chroot "$stage" /usr/bin/node -e 'process.stdout.write(process.version)' 2>&1) ||
    { echo "the node root filesystem does not run: $stage_check" >&2; exit 1; }
  import_stage "$stage" pod-plugin-node:base "node-$node_version" '["node"]'
else
  echo "pod-plugin-node:base is up to date (node-$node_version)"
fi

if [[ ! -x $python_bin ]]; then
  echo "$python_bin is missing: install Debian's python3 (apt-get install python3)" >&2
  exit 1
fi
python_version=$($python_bin -c 'import sys; print(".".join(map(str, sys.version_info[:3])))')
if [[ $force == --force || $(label_of pod-plugin-python:base) != "python-$python_version" ]]; then
  stage=$(new_stage)
  stdlib=/usr/lib/python3.11
  echo "pod-plugin-python:base: staging python $python_version and its standard library"
  # the standard library without the static libpython, GUI, test and build-tool parts, and without
  # Debian's sitecustomize (a symlink into /etc that would dangle)
  tar -C / -c --exclude="${stdlib#/}/config-3.11-*" --exclude="${stdlib#/}/"{idlelib,tkinter,turtledemo,lib2to3,ensurepip,sitecustomize.py} \
    "${stdlib#/}" | tar -C "$stage" -x
  mapfile -t libs < <(libraries_of "$python_bin" "$stdlib"/lib-dynload/*.so)
  add_files "$stage" "${libs[@]}"
  cp -L "$python_bin" "$stage/usr/bin/python3.11"
  ln -s python3.11 "$stage/usr/bin/python3"
  ln -s python3 "$stage/usr/bin/python"
  mkdir -p "$stage/app"
  stage_check=$(chroot "$stage" /usr/bin/python3 -c 'import json, ssl, sqlite3, urllib.request; print("ok")' 2>&1) ||
    { echo "the python root filesystem does not run: $stage_check" >&2; exit 1; }
  import_stage "$stage" pod-plugin-python:base "python-$python_version" '["python3"]'
else
  echo "pod-plugin-python:base is up to date (python-$python_version)"
fi
