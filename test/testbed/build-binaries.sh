#!/usr/bin/env bash
# Builds the test bed's real Kubernetes binaries from the Go module proxy: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, and for the real node kubelet, kube-proxy and CoreDNS.
# Output is cached OUTSIDE the clone, keyed by version, so CI's fresh clones reuse it; only missing binaries
# are built.
# Usage: build-binaries.sh   (prints the bin directory on the last line of stdout)
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.34.4}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.15.0}"
CACHE_ROOT="${LOADTEST_OPERATOR_CACHE:-$HOME/.cache/loadtest-operator}"
K8S_BIN="$CACHE_ROOT/kubernetes-$K8S_VERSION"
ETCD_BIN="$CACHE_ROOT/etcd-$ETCD_VERSION"
COREDNS_BIN="$CACHE_ROOT/coredns-$COREDNS_VERSION"
K8S_COMMANDS="kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

staging_minor="${K8S_VERSION#v1.}"            # 34.4
staging_version="v0.${staging_minor}"         # v0.34.4
minor="${staging_minor%%.*}"                  # 34

build_etcd() {
  [ -x "$ETCD_BIN/etcd" ] && return 0
  echo "building etcd $ETCD_VERSION into $ETCD_BIN" >&2
  local work; work=$(mktemp -d)
  mkdir -p "$work"
  (
    cd "$work"
    cat > go.mod <<MOD
module testbed/etcdbuild

go 1.24
MOD
    go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2
    mkdir -p "$ETCD_BIN.tmp"
    go build -trimpath -ldflags "-s -w" -o "$ETCD_BIN.tmp/etcd" go.etcd.io/etcd/server/v3 >&2
  )
  rm -rf "$work" "$ETCD_BIN"
  mv "$ETCD_BIN.tmp" "$ETCD_BIN"
}

build_kubernetes() {
  local missing="" cmd
  for cmd in $K8S_COMMANDS; do [ -x "$K8S_BIN/$cmd" ] || missing="$missing $cmd"; done
  [ -z "$missing" ] && return 0
  echo "building$missing $K8S_VERSION into $K8S_BIN (10-25 min cold)" >&2
  local work; work=$(mktemp -d)
  (
    cd "$work"
    # k8s.io/kubernetes replaces its staging modules with local folders, so it cannot be `go install`ed:
    # a wrapper module requires it and points every staging module at its published version instead.
    local staging="api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
      cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api cri-client
      csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms kube-aggregator
      kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics mount-utils
      pod-security-admission sample-apiserver sample-cli-plugin sample-controller"
    if [ "$minor" -ge 36 ]; then staging="$staging cri-streaming streaming"; fi
    {
      echo "module testbed/k8sbuild"
      echo
      echo "go 1.24"
      echo
      echo "require k8s.io/kubernetes $K8S_VERSION"
      echo
      for m in $staging; do echo "replace k8s.io/$m => k8s.io/$m $staging_version"; done
    } > go.mod
    {
      printf '//go:build tools\n\npackage tools\n\nimport (\n'
      for cmd in $missing; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$cmd"; done
      printf ')\n'
    } > tools.go
    go mod tidy >&2
    local pkg=k8s.io/component-base/version
    local ldflags="-s -w -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags="$ldflags -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION"
    rm -rf "$K8S_BIN.tmp"
    mkdir -p "$K8S_BIN.tmp"
    local packages=""
    for cmd in $missing; do packages="$packages k8s.io/kubernetes/cmd/$cmd"; done
    # shellcheck disable=SC2086
    go build -trimpath -ldflags "$ldflags" -o "$K8S_BIN.tmp/" $packages >&2
  )
  rm -rf "$work"
  mkdir -p "$K8S_BIN"
  for cmd in $missing; do mv "$K8S_BIN.tmp/$cmd" "$K8S_BIN/$cmd"; done
  rm -rf "$K8S_BIN.tmp"
}

build_coredns() {
  [ -x "$COREDNS_BIN/coredns" ] && return 0
  echo "building coredns $COREDNS_VERSION into $COREDNS_BIN" >&2
  rm -rf "$COREDNS_BIN.tmp"
  # Its main package is the module root and its go.mod has no replace directives: go install works.
  GOBIN="$COREDNS_BIN.tmp" go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$COREDNS_VERSION" >&2
  rm -rf "$COREDNS_BIN"
  mv "$COREDNS_BIN.tmp" "$COREDNS_BIN"
}

mkdir -p "$CACHE_ROOT"
# One build at a time, even when CI and a developer start together.
exec 9>"$CACHE_ROOT/.build.lock"
flock 9
build_etcd
build_kubernetes
build_coredns
echo "ETCD=$ETCD_BIN/etcd"
echo "KUBE_APISERVER=$K8S_BIN/kube-apiserver"
echo "KUBE_CONTROLLER_MANAGER=$K8S_BIN/kube-controller-manager"
echo "KUBE_SCHEDULER=$K8S_BIN/kube-scheduler"
echo "KUBELET=$K8S_BIN/kubelet"
echo "KUBE_PROXY=$K8S_BIN/kube-proxy"
echo "COREDNS=$COREDNS_BIN/coredns"
