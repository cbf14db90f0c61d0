#!/usr/bin/env bash
# Set-up shared by `npm test` and `npm run demo` on a fresh machine: Debian packages and node_modules.
# The Temporal CLI and the Kubernetes binaries are installed/built on first use and cached outside the clone.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash test/testbed/ensure-packages.sh
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing npm dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund >&2
fi
