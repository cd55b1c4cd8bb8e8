#!/usr/bin/env bash
# runtime-tools.sh — runs the OCI runtime spec's own validation suite
# (opencontainers/runtime-tools: validation/*/ test programs and the
# runtimetest binary they run inside containers) against a runtime with
# runc's command line, and summarises the TAP output.
#
# usage: sudo tests/conformance/runtime-tools.sh [-o OUTDIR] [-k KNOWN] [-t TESTS] RUNTIME
#   RUNTIME  path of the runtime binary (build/debug/ocirun/ocirun, /usr/sbin/runc)
#   -o DIR   where TAP logs and summaries go (default build/conformance/out/NAME)
#   -k FILE  list of known passes ("test: description", as passes.txt below);
#            exit 1 when one of them does not pass with RUNTIME
#   -t LIST  space-separated test names to run (default: every test built)
#
# Sources. Debian's golang-github-opencontainers-runtime-tools-dev ships the
# library packages only (generate, specerror, validate, cgroups, ...), not
# validation/ nor cmd/runtimetest, and Debian has no package of
# github.com/mndrix/tap-go. The test programs are therefore taken from a GOPATH
# tree given as RUNTIME_TOOLS_GOPATH (default build/conformance/gopath) that
# holds src/github.com/opencontainers/runtime-tools/{validation,cmd/runtimetest}
# and src/github.com/mndrix/tap-go; everything else resolves from Debian's
# /usr/share/gocode (GO111MODULE=off, GOPATH mode). None of those sources are
# part of this repository.
#
# Build: each validation/NAME/ directory is a main package, built once into
# build/conformance/bin/NAME.t (runtimetest likewise); a binary is rebuilt only
# when missing (delete build/conformance/bin to rebuild). GOMAXPROCS=1, -p 1.
#
# Run: each test program runs in a work directory holding
# rootfs-amd64.tar.gz (made from the busybox fixture rootfs; the suite
# untars it straight into each bundle, whose root.path is ".") and the
# runtimetest binary, with RUNTIME set to a wrapper that adds a private
# --root, TMPDIR private, under `timeout -s KILL 60` (a runtime in the
# foreground forwards signals, so only SIGKILL is sure to stop it). The
# script makes itself a child subreaper first, since PID 1 on CI machines
# never reaps orphans. Afterwards every container left in the private root
# is deleted with `delete -f` and the temporary directories are removed.
#
# Output in OUTDIR: NAME.tap (stdout+stderr of each program), passes.txt and
# failures.txt ("NAME: description", numbering dropped, a repeated
# description within one program suffixed " #2", " #3"...; failures.txt
# keeps the YAML diagnostics that follow each "not ok"; "ok N # SKIP" lines
# are counted nowhere), summary.txt.
# A program that exits non-zero, or is killed by the
# timeout, counts as one failure "NAME: (exit N)" / "NAME: (timeout)" (on top
# of the TAP lines it printed, if any);
# see SILENT_OK below for programs whose pass is printing nothing.
# Needs root.
set -euo pipefail
export LC_ALL=C

if [[ -z ${GANTRY_CONFORMANCE_SUBREAPER:-} ]]; then
  export GANTRY_CONFORMANCE_SUBREAPER=1
  exec "$(dirname "${BASH_SOURCE[0]}")/../tools/as-subreaper" /bin/bash "${BASH_SOURCE[0]}" "$@"
fi

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${GANTRY_CONFORMANCE_CACHE:-$REPO/build/conformance}
SRC=${RUNTIME_TOOLS_GOPATH:-$CACHE/gopath}
OUT=""
KNOWN=""
TESTS=""
while getopts "o:k:t:h" opt; do
  case $opt in
    o) OUT=$OPTARG ;;
    k) KNOWN=$OPTARG ;;
    t) TESTS=$OPTARG ;;
    *) sed -n '2,15p' "${BASH_SOURCE[0]}"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
(($# == 1)) || { sed -n '2,15p' "${BASH_SOURCE[0]}"; exit 2; }
REAL_RUNTIME=$(readlink -f "$1")
[[ -x $REAL_RUNTIME ]] || { echo "runtime-tools.sh: $1 is not executable" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "runtime-tools.sh: needs root" >&2; exit 2; }
NAME=$(basename "$REAL_RUNTIME")
OUT=${OUT:-$CACHE/out/$NAME}
[[ -z $KNOWN ]] || KNOWN=$(readlink -f "$KNOWN")

RT=$SRC/src/github.com/opencontainers/runtime-tools
if [[ ! -d $RT/validation || ! -d $RT/cmd/runtimetest || ! -d $SRC/src/github.com/mndrix/tap-go ]]; then
  echo "runtime-tools.sh: no runtime-tools validation sources under $SRC" >&2
  echo "  (need src/github.com/opencontainers/runtime-tools/{validation,cmd/runtimetest}" >&2
  echo "   and src/github.com/mndrix/tap-go; Debian's -dev package has neither)" >&2
  # CTest runs with GANTRY_CONFORMANCE_SKIP_MISSING=1: skipped, not failed
  [[ -n ${GANTRY_CONFORMANCE_SKIP_MISSING:-} ]] && exit 77
  exit 2
fi
command -v go >/dev/null || { echo "runtime-tools.sh: go not found (packaging/deps.sh)" >&2; exit 2; }

# --- build ------------------------------------------------------------------
BIN=$CACHE/bin
mkdir -p "$BIN" "$CACHE/gocache"
export GO111MODULE=off GOFLAGS= GOPATH=$SRC:/usr/share/gocode GOCACHE=$CACHE/gocache GOMAXPROCS=1
build() { # build PKG OUTPUT
  [[ -x $2 ]] && return 0
  go build -p 1 -o "$2.tmp" "$1" && mv "$2.tmp" "$2"
}
t0=$(date +%s)
build github.com/opencontainers/runtime-tools/cmd/runtimetest "$BIN/runtimetest"
all=()
for d in "$RT"/validation/*/; do
  n=$(basename "$d")
  [[ $n == util ]] && continue
  ls "$d"/*.go >/dev/null 2>&1 || continue
  all+=("$n")
  build "github.com/opencontainers/runtime-tools/validation/$n" "$BIN/$n.t" ||
    echo "runtime-tools.sh: $n does not build; skipped" >&2
done
echo "build: $(($(date +%s) - t0)) s"
if [[ -n $TESTS ]]; then read -r -a all <<<"$TESTS"; fi

# --- rootfs tarball ---------------------------------------------------------
TARBALL=$CACHE/rootfs-amd64.tar.gz
if [[ ! -s $TARBALL ]]; then
  ROOTFS=${GANTRY_FIXTURES_DIR:-$REPO/build/debug/fixtures}/rootfs
  [[ -x $ROOTFS/bin/sh ]] || { echo "runtime-tools.sh: no busybox rootfs at $ROOTFS (tests/fixtures/make-fixtures.sh)" >&2; exit 2; }
  tar -C "$ROOTFS" -czf "$TARBALL.tmp" . && mv "$TARBALL.tmp" "$TARBALL"
fi

# Programs that print no TAP line at all: exit 0 without YAML diagnostics is
# their pass (process_capabilities_fail expects create to fail; the hook
# tests print diagnostics only when something is wrong). Any other program
# that exits 0 without a TAP line failed (e.g. runtimetest printed nothing).
SILENT_OK="process_capabilities_fail prestart poststart poststop hooks prestart_fail poststart_fail poststop_fail"

# --- run --------------------------------------------------------------------
WORK=$(mktemp -d /tmp/gantry-conformance.XXXXXX)
STATE=$WORK/state
WRAP=$WORK/$NAME
mkdir -p "$STATE" "$WORK/tmp" "$WORK/cwd"
printf '#!/bin/sh\nexec %q --root %q "$@"\n' "$REAL_RUNTIME" "$STATE" >"$WRAP"
chmod +x "$WRAP"
ln -s "$TARBALL" "$WORK/cwd/rootfs-amd64.tar.gz"
cp "$BIN/runtimetest" "$WORK/cwd/runtimetest"

cleanup() {
  local id
  for id in $("$WRAP" list -q 2>/dev/null); do
    "$WRAP" delete -f "$id" >/dev/null 2>&1 || true
  done
  # bundles of killed programs may still have mounts (none expected: the
  # bundle is the rootfs, mounts live in the containers' namespaces)
  rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$OUT"
rm -f "$OUT"/*.tap "$OUT/passes.txt" "$OUT/failures.txt" "$OUT/summary.txt"
: >"$OUT/passes.txt"
: >"$OUT/failures.txt"
total_ok=0
total_fail=0
summary=$OUT/summary.txt
printf '%-40s %5s %7s %s\n' test ok "not ok" note >"$summary"
t0=$(date +%s)
for n in "${all[@]}"; do
  [[ -x $BIN/$n.t ]] || continue
  log=$OUT/$n.tap
  rc=0
  (cd "$WORK/cwd" && RUNTIME=$WRAP TMPDIR=$WORK/tmp timeout -s KILL 60 "$BIN/$n.t") >"$log" 2>&1 || rc=$?
  # stray containers of this program (killed, or not cleaned by the suite)
  for id in $("$WRAP" list -q 2>/dev/null); do
    "$WRAP" delete -f "$id" >/dev/null 2>&1 || true
  done
  rm -rf "${WORK:?}/tmp/"* 2>/dev/null || true
  note=""
  read -r ok fail < <(awk -v name="$n" -v passes="$OUT/passes.txt" -v fails="$OUT/failures.txt" '
    function key(line,   d) {
      d = line
      sub(/^(not )?ok [0-9]+ *(- )?/, "", d)
      seen[d]++
      if (seen[d] > 1) d = d " #" seen[d]
      return name ": " d
    }
    /^ok [0-9]+ # SKIP/ { infail = 0; next }
    /^ok [0-9]+/      { ok++; print key($0) >> passes; infail = 0; next }
    /^not ok [0-9]+/  { nf++; print key($0) >> fails; infail = 1; next }
    infail && /^  /   { print "    " $0 >> fails; next }
    { infail = 0 }
    END { printf "%d %d\n", ok + 0, nf + 0 }' "$log")
  if ((rc == 137)); then
    note="timeout (killed after 60 s)"
    echo "$n: (timeout)" >>"$OUT/failures.txt"
    fail=$((fail + 1))
  elif ((rc != 0)); then
    # the program's own verdict (util.Fatal), whether or not TAP came first
    note="exit $rc"
    echo "$n: (exit $rc) $(grep -v '^\s*$' "$log" | tail -n 1)" >>"$OUT/failures.txt"
    fail=$((fail + 1))
  elif ((ok + fail == 0)); then
    if [[ " $SILENT_OK " == *" $n "* ]] && ! grep -q '^  ---' "$log"; then
      note="silent exit 0 (its pass)"
      echo "$n: (exit 0, no TAP)" >>"$OUT/passes.txt"
      ok=1
    else
      note="no TAP line"
      echo "$n: (exit 0, no TAP) $(grep -v '^\s*$' "$log" | tail -n 1)" >>"$OUT/failures.txt"
      sed -n '/^  ---/,/^  \.\.\./p' "$log" | sed 's/^/    /' >>"$OUT/failures.txt"
      fail=1
    fi
  fi
  total_ok=$((total_ok + ok))
  total_fail=$((total_fail + fail))
  printf '%-40s %5d %7d %s\n' "$n" "$ok" "$fail" "$note" >>"$summary"
done
elapsed=$(($(date +%s) - t0))
{
  echo
  echo "runtime: $REAL_RUNTIME ($("$REAL_RUNTIME" --version 2>/dev/null | head -n 1))"
  echo "total: $total_ok ok, $total_fail not ok, ${elapsed} s"
} >>"$summary"
cat "$summary"

if [[ -n $KNOWN ]]; then
  missing=$(grep -v '^\s*\(#\|$\)' "$KNOWN" | sort -u | comm -23 - <(sort -u "$OUT/passes.txt") || true)
  if [[ -n $missing ]]; then
    echo
    echo "known passes (of $KNOWN) that do not pass with $NAME:"
    echo "$missing"
    n_missing=$(grep -c . <<<"$missing")
    echo "$(($(grep -vc '^\s*\(#\|$\)' "$KNOWN") - n_missing)) passed, $n_missing failed"
    exit 1
  fi
  echo "$(grep -vc '^\s*\(#\|$\)' "$KNOWN") passed, 0 failed"
fi
