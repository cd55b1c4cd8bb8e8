#!/usr/bin/env bash
# ocirun_vs_runc.sh — container start-up time of ocirun against runc.
#
# usage: sudo tests/bench/ocirun_vs_runc.sh [-n RUNS] [OCIRUN [BUNDLE]]
#   OCIRUN  ocirun binary (default: build/release/ocirun/ocirun)
#   BUNDLE  an OCI bundle whose rootfs has /bin/true (default: the busybox
#           fixture bundle, built with tests/fixtures/make-fixtures.sh into
#           build/bench-fixtures)
#   -n      runs per runtime (default 100)
#   RUNC    environment variable: the runc binary (default: runc on PATH)
#
# Each run is a foreground `run` of ["/bin/true"] (create, start, wait,
# delete) with stdio on /dev/null. The runtimes alternate (ocirun, runc,
# ocirun, ...) so that load changes on the machine hit both alike; each has
# its own --root and every container a unique id. Wall time is taken around
# the runtime's process only, with bash's $EPOCHREALTIME (microseconds, no
# fork, so no `date` process inflates both sides). Prints:
#   ocirun median 12.3 ms (p90 14.0 ms), runc median 30.1 ms (p90 33.0 ms), ratio 0.41 (target <= 0.5)
# Needs root (namespaces, cgroups). Not part of CI.
set -euo pipefail
export LC_ALL=C

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUNS=100
WARMUP=3
TARGET=0.5

while getopts "n:h" opt; do
  case $opt in
    n) RUNS=$OPTARG ;;
    h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [[ $# -gt 2 || ! $RUNS =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [-n RUNS] [OCIRUN [BUNDLE]]" >&2
  exit 2
fi

OCIRUN=${1:-$REPO/build/release/ocirun/ocirun}
BUNDLE=${2:-}
RUNC=${RUNC:-$(command -v runc || echo /usr/sbin/runc)}

die() { echo "ocirun_vs_runc: $*" >&2; exit 1; }
[[ $EUID -eq 0 ]] || die "must run as root (containers need namespaces and cgroups)"
[[ -x $OCIRUN ]] || die "$OCIRUN: no ocirun binary (build one: cmake --preset release && cmake --build --preset release --target ocirun)"
[[ -x $RUNC ]] || die "$RUNC: no runc binary (apt-get install runc, or set RUNC)"
OCIRUN=$(readlink -f "$OCIRUN")
RUNC=$(readlink -f "$RUNC")

if [[ -z $BUNDLE ]]; then
  bash "$REPO/tests/fixtures/make-fixtures.sh" "$REPO/build/bench-fixtures"
  BUNDLE=$REPO/build/bench-fixtures/bundle
fi
[[ -f $BUNDLE/config.json ]] || die "$BUNDLE: no config.json"
if ! grep -q '"path": *"rootfs"' "$BUNDLE/config.json" || [[ ! -x $BUNDLE/rootfs/bin/true ]]; then
  die "$BUNDLE: want root.path \"rootfs\" with /bin/true in it"
fi
BUNDLE=$(readlink -f "$BUNDLE")

WORK=$(mktemp -d /tmp/ocirun-bench-XXXXXX)
declare -A ROOT=([ocirun]=$WORK/root-ocirun [runc]=$WORK/root-runc)
declare -A BIN=([ocirun]=$OCIRUN [runc]=$RUNC)
cleanup() {
  local rt id
  for rt in ocirun runc; do
    # A failed run can leave its container behind; delete it, or its cgroups leak.
    for id in $("${BIN[$rt]}" --root "${ROOT[$rt]}" list -q 2>/dev/null); do
      "${BIN[$rt]}" --root "${ROOT[$rt]}" delete -f "$id" >/dev/null 2>&1 || true
    done
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# One bundle for both, running /bin/true: a copy, so the given one is left
# as it is (runc refuses a rootfs reached through a symlink).
mkdir -p "$WORK/bundle"
cp -a "$BUNDLE/rootfs" "$WORK/bundle/rootfs"
if command -v jq >/dev/null; then
  jq '.process.args = ["/bin/true"]' "$BUNDLE/config.json" >"$WORK/bundle/config.json"
else
  # runc's layout: `"args": [` alone on its line, one element per line.
  [[ $(grep -c '^[[:space:]]*"args": \[$' "$BUNDLE/config.json") == 1 ]] ||
    die "$BUNDLE/config.json: cannot set process.args without jq (not runc's layout)"
  sed '/^[[:space:]]*"args": \[$/,/\]/c\		"args": ["/bin/true"],' "$BUNDLE/config.json" \
    >"$WORK/bundle/config.json"
fi
grep -q '"terminal": *false' "$WORK/bundle/config.json" ||
  die "$BUNDLE/config.json: process.terminal must be false"

[[ -n ${EPOCHREALTIME:-} ]] || die "bash 5 or later is needed (\$EPOCHREALTIME)"

# run RUNTIME ID: one foreground run; prints its wall time in microseconds.
run() {
  local rt=$1 id=$2 t0 t1
  t0=${EPOCHREALTIME/[.,]/}
  if ! "${BIN[$rt]}" --root "${ROOT[$rt]}" run --bundle "$WORK/bundle" "$id" \
    </dev/null >/dev/null 2>"$WORK/$rt.err"; then
    echo "ocirun_vs_runc: $rt run $id failed:" >&2
    cat "$WORK/$rt.err" >&2
    exit 1
  fi
  t1=${EPOCHREALTIME/[.,]/}
  echo $((t1 - t0))
}

for ((i = 0; i < WARMUP; i++)); do
  run ocirun "warmup-ocirun-$$-$i" >/dev/null
  run runc "warmup-runc-$$-$i" >/dev/null
done

: >"$WORK/ocirun.us"
: >"$WORK/runc.us"
for ((i = 0; i < RUNS; i++)); do
  run ocirun "bench-ocirun-$$-$i" >>"$WORK/ocirun.us"
  run runc "bench-runc-$$-$i" >>"$WORK/runc.us"
done

# stats FILE: "MEDIAN_MS P90_MS" (p90 by nearest rank).
stats() {
  sort -n "$1" | awk '{ v[NR] = $1 }
    END {
      med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      r = int(0.9 * NR); if (r < 0.9 * NR) r++
      printf "%.1f %.1f\n", med / 1000, v[r] / 1000
    }'
}
read -r OCI_MED OCI_P90 < <(stats "$WORK/ocirun.us")
read -r RUNC_MED RUNC_P90 < <(stats "$WORK/runc.us")
RATIO=$(awk -v a="$OCI_MED" -v b="$RUNC_MED" 'BEGIN { printf "%.2f", a / b }')

echo "$RUNS runs each; ocirun: $OCIRUN; runc: $RUNC ($("$RUNC" --version | head -1))"
echo "ocirun median $OCI_MED ms (p90 $OCI_P90 ms), runc median $RUNC_MED ms (p90 $RUNC_P90 ms)," \
  "ratio $RATIO (target <= $TARGET)"
