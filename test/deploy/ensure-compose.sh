#!/usr/bin/env bash
# podman-compose from PyPI, for test/deploy/compose.integration.test.ts: it runs docker-compose.yml the way a user
# without Docker would. Debian bookworm's podman-compose (1.0.3) cannot run it: it appends an override file's
# `command` to the base file's instead of replacing it, and adds `--net <project>_default` to containers whose
# network_mode is host, which podman refuses. Installed into a virtualenv cached OUTSIDE the clone, keyed by version:
# ${LOADTEST_OPERATOR_CACHE:-$HOME/.cache/loadtest-operator}/podman-compose-<version>/bin/podman-compose.
# Safe to call from many processes at once (a flock; a marker written last says the install completed). pip's
# output goes to stderr; the last line of stdout is the program's path.
set -euo pipefail

VERSION="${PODMAN_COMPOSE_VERSION:-1.6.0}"
CACHE_ROOT="${LOADTEST_OPERATOR_CACHE:-${HOME:?}/.cache/loadtest-operator}"
venv="$CACHE_ROOT/podman-compose-$VERSION"
program="$venv/bin/podman-compose"

if [ ! -f "$venv/.installed" ]; then
  mkdir -p "$CACHE_ROOT"
  exec 9>"$venv.lock"
  flock 9
  if [ ! -f "$venv/.installed" ]; then
    echo "ensure-compose.sh: installing podman-compose $VERSION (PyPI) into $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -q "podman-compose==$VERSION" >&2
    [ -x "$program" ] || {
      echo "ensure-compose.sh: podman-compose $VERSION installed no program at $program" >&2
      exit 1
    }
    echo "$VERSION" >"$venv/.installed"
  fi
fi
echo "$program"
