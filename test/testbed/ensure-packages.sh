#!/usr/bin/env bash
# Installs the Debian packages the tests and benchmarks use, when missing: nginx (a real HTTP/1.1 server for
# the runner's tests), wrk (benchmark peer), chromium (the Temporal Web UI browser test), openssl (test bed
# certificates), python3-venv (the Temporal CLI's virtualenv); for the real node and its images (images.sh):
# podman and buildah (build and save images without a Docker engine or a registry), mmdebstrap (the base image's
# Debian root filesystem), containerd, runc and the CNI plugins (the container runtime under the kubelet),
# iptables (kubelet and kube-proxy rules, the test bed's guard).
set -euo pipefail
needed=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || needed+=(nginx-light)
command -v wrk >/dev/null 2>&1 || needed+=(wrk)
command -v chromium >/dev/null 2>&1 || needed+=(chromium)
command -v openssl >/dev/null 2>&1 || needed+=(openssl)
command -v podman >/dev/null 2>&1 || needed+=(podman)
command -v buildah >/dev/null 2>&1 || needed+=(buildah)
command -v mmdebstrap >/dev/null 2>&1 || needed+=(mmdebstrap)
command -v containerd >/dev/null 2>&1 || needed+=(containerd)
command -v runc >/dev/null 2>&1 || needed+=(runc)
[ -x /usr/lib/cni/bridge ] || needed+=(containernetworking-plugins)
command -v iptables >/dev/null 2>&1 || [ -x /usr/sbin/iptables ] || needed+=(iptables)
[ ${#needed[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing Debian packages: ${needed[*]} (run: sudo apt-get install -y ${needed[*]})" >&2
  exit 1
fi
echo "installing Debian packages: ${needed[*]}" >&2
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${needed[@]}" >&2
