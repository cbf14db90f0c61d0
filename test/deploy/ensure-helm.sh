#!/usr/bin/env bash
# Helm, built from the Go module proxy (no release binaries can be downloaded here) and cached OUTSIDE the clone,
# keyed by version: ${LOADTEST_OPERATOR_CACHE:-$HOME/.cache/loadtest-operator}/helm-<version>/helm.
# Safe to call from many processes at once (a flock; the binary is moved into place whole). Build output goes
# to stderr; the last line of stdout is the binary's path.
#   bash test/deploy/ensure-helm.sh
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.19.5}"
CACHE_ROOT="${LOADTEST_OPERATOR_CACHE:-${HOME:?}/.cache/loadtest-operator}"
dir="$CACHE_ROOT/helm-$HELM_VERSION"
binary="$dir/helm"

if [ -x "$binary" ]; then
  echo "$binary"
  exit 0
fi

# The Go toolchain the test bed's builds use (test/testbed/build-binaries.sh): `go` on PATH, else /usr/local/go.
if command -v go >/dev/null 2>&1; then go=go; elif [ -x /usr/local/go/bin/go ]; then go=/usr/local/go/bin/go; else
  echo "ensure-helm.sh: Go is needed to build helm $HELM_VERSION (expected on PATH or at /usr/local/go/bin/go)" >&2
  exit 1
fi

mkdir -p "$CACHE_ROOT"
exec 9>"$dir.lock"
if ! flock -n 9; then
  echo "ensure-helm.sh: waiting for another build of helm $HELM_VERSION (lock $dir.lock)" >&2
  flock 9
fi
if [ -x "$binary" ]; then
  echo "$binary"
  exit 0
fi

echo "ensure-helm.sh: building helm $HELM_VERSION from the Go module proxy into $dir (a few minutes cold)" >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(
  cd "$work"
  # A wrapper module, as build-binaries.sh does, so the Kubernetes version helm was built against can be read
  # from its module graph and stamped in (helm's Makefile does the same; otherwise `helm template` assumes 1.20).
  cat >go.mod <<MOD
module loadtest-operator/helmbuild

go 1.24
MOD
  export GOFLAGS=-buildvcs=false CGO_ENABLED=0
  # Getting the command package (not only the module) records the sums of everything it imports.
  "$go" get "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
  k8s=$("$go" list -m -f '{{.Version}}' k8s.io/client-go) # v0.34.2 → Kubernetes 1.34
  k8s_minor=$(cut -d. -f2 <<<"$k8s")
  pkg=helm.sh/helm/v3
  ldflags="-s -w -X $pkg/internal/version.version=$HELM_VERSION -X $pkg/internal/version.gitTreeState=clean"
  ldflags="$ldflags -X $pkg/pkg/lint/rules.k8sVersionMajor=1 -X $pkg/pkg/lint/rules.k8sVersionMinor=$k8s_minor"
  ldflags="$ldflags -X $pkg/pkg/chartutil.k8sVersionMajor=1 -X $pkg/pkg/chartutil.k8sVersionMinor=$k8s_minor"
  "$go" build -trimpath -ldflags "$ldflags" -o "$work/helm" "$pkg/cmd/helm" >&2
)
"$work/helm" version --short >&2
mkdir -p "$dir"
mv "$work/helm" "$binary.tmp.$$"
mv "$binary.tmp.$$" "$binary"
echo "$binary"
