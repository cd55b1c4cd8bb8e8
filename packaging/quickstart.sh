#!/usr/bin/env bash
# The front door: installs dependencies, builds, installs, and runs a first
# container. Today that is `ocirun run` of a busybox bundle made from
# Debian's busybox-static; as the stack grows this becomes
# `gantry run --rm busybox echo hello` against locally started daemons.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $(id -u) != 0 ]]; then
  echo "quickstart.sh: run as root (sudo ./packaging/quickstart.sh)" >&2
  exit 1
fi

./packaging/deps.sh
cmake --preset release
cmake --build --preset release
cmake --install build/release

work=$(mktemp -d /tmp/gantry-quickstart.XXXXXX)
trap 'ocirun delete --force quickstart >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
bash tests/fixtures/make-fixtures.sh "$work/fixtures" >/dev/null
bundle=$work/fixtures/bundle
# The bundle is runc's default spec; give it a command to run.
sed -i 's|"sh"$|"echo", "hello from gantry"|' "$bundle/config.json"
ocirun run --bundle "$bundle" quickstart
