#!/usr/bin/env bash
# The toolbox image for the real node's tests (test/testbed/toolbox): one static Go binary in an otherwise empty
# image, written as an OCI archive by hand (no podman, no registry), for `ctr -n k8s.io images import`.
# Prints the image reference, then (the last line) the archive's path. Cached by content under
# ${LOADTEST_OPERATOR_CACHE:-$HOME/.cache/loadtest-operator}/toolbox/: a call with nothing changed only hashes.
set -euo pipefail

REF=localhost/loadtest-toolbox:1
RECIPE=1 # bump when this script changes how the image is assembled

repo=$(cd "$(dirname "$0")/../.." && pwd)
cache="${LOADTEST_OPERATOR_CACHE:-${HOME:?}/.cache/loadtest-operator}/toolbox"
source_dir="$repo/test/testbed/toolbox"
mkdir -p "$cache"

key=$(
  {
    (cd "$source_dir" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
    GOTOOLCHAIN=local go env GOVERSION
    echo "$REF r$RECIPE"
  } | sha256sum | cut -c1-16
)
archive="$cache/toolbox-$key.tar"
if [ ! -f "$archive" ]; then
  work=$(mktemp -d "$cache/work.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/rootfs" "$work/oci/blobs/sha256"
  GOTOOLCHAIN=local CGO_ENABLED=0 go build -C "$source_dir" -trimpath -ldflags='-s -w' -o "$work/rootfs/toolbox" . >&2
  # A reproducible layer: fixed owner and time, sorted names.
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/rootfs" -cf "$work/layer.tar" toolbox
  blob() { # file media-type -> prints a descriptor and stores the blob
    local digest size
    digest=$(sha256sum "$1" | cut -d' ' -f1)
    size=$(stat -c %s "$1")
    cp "$1" "$work/oci/blobs/sha256/$digest"
    printf '{"mediaType":"%s","digest":"sha256:%s","size":%s}' "$2" "$digest" "$size"
  }
  layer=$(blob "$work/layer.tar" application/vnd.oci.image.layer.v1.tar)
  diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
  printf '{"architecture":"amd64","os":"linux","config":{"User":"65534:65534","Entrypoint":["/toolbox"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$diff_id" >"$work/config.json"
  config=$(blob "$work/config.json" application/vnd.oci.image.config.v1+json)
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":%s,"layers":[%s]}' \
    "$config" "$layer" >"$work/manifest.json"
  manifest=$(blob "$work/manifest.json" application/vnd.oci.image.manifest.v1+json)
  printf '{"schemaVersion":2,"manifests":[%s]}' \
    "${manifest%\}},\"annotations\":{\"io.containerd.image.name\":\"$REF\",\"org.opencontainers.image.ref.name\":\"${REF##*:}\"}}" \
    >"$work/oci/index.json"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$work/oci/oci-layout"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/oci" -cf "$work/image.tar" .
  mv "$work/image.tar" "$archive"
  # Keep the three newest archives (other clones may be on other versions).
  # shellcheck disable=SC2012 # names are ours: toolbox-<hex>.tar
  ls -1t "$cache"/toolbox-*.tar | tail -n +4 | xargs -r rm -f
fi
printf '%s\n%s\n' "$REF" "$archive"
