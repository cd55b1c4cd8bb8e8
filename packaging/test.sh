#!/usr/bin/env bash
# The test command: installs dependencies, builds (release preset), runs the
# whole suite through CTest. Exits non-zero on any failure.
# Usage: sudo ./packaging/test.sh [extra ctest arguments, e.g. -L unit]
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $(id -u) != 0 ]]; then
  echo "test.sh: run as root (integration tests need namespaces, cgroups and mounts)" >&2
  exit 1
fi

./packaging/deps.sh
# Cache hits across checkouts in different directories (CI clones afresh).
export CCACHE_BASEDIR=$PWD
cmake --preset release
cmake --build --preset release
ctest --preset release --timeout 600 "$@"
