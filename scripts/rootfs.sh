# Root filesystems from this machine's own binaries, imported into Docker as images: what
# build-base-images.sh (the plugin base images) and build-pod-image.sh (the Pod's base) share.
# Sourced, not run.

label_of() { docker image inspect -f '{{index .Config.Labels "pod.base"}}' "$1" 2>/dev/null || true; }

# Copies files under their own names into the directory they really live in (so /lib/x/libc.so.6
# lands in usr/lib/x/, as on this merged-/usr system) with symlinks dereferenced: the loader finds
# each library by the name ldd printed.
add_files() {
  local stage=$1 file dir
  shift
  for file in "$@"; do
    dir=$(realpath "$(dirname "$file")")
    mkdir -p "$stage$dir"
    cp -L "$file" "$stage$dir/"
  done
}

# Every library ldd lists for the given ELF files, the dynamic loader included (with several
# files, ldd also prints each file's name followed by a colon).
libraries_of() {
  ldd "$@" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $1 !~ /:$/ { print $1 }' | sort -u
}

new_stage() {
  local stage
  stage=$(mktemp -d /tmp/pod-rootfs.XXXXXX)
  # the merged-/usr layout of the host, so the loader's built-in paths resolve as they do here
  mkdir -p "$stage"/{usr/bin,usr/lib,usr/lib64,usr/sbin,etc,tmp,root}
  ln -s usr/bin "$stage/bin"; ln -s usr/lib "$stage/lib"; ln -s usr/lib64 "$stage/lib64"; ln -s usr/sbin "$stage/sbin"
  chmod 1777 "$stage/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' >"$stage/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$stage/etc/group"
  echo "$stage"
}

import_stage() {
  local stage=$1 tag=$2 label=$3 cmd=$4
  echo "$tag: importing $(du -sh "$stage" | cut -f1) into Docker"
  tar -C "$stage" --numeric-owner -c . |
    docker import \
      --change "LABEL pod.base=$label" \
      --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
      --change 'ENV HOME=/tmp' \
      --change 'WORKDIR /app' \
      --change "CMD $cmd" \
      - "$tag" >/dev/null
  rm -rf "$stage"
  echo "built $tag ($label, $(docker image inspect -f '{{.Size}}' "$tag" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
}
