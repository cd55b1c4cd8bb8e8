#!/usr/bin/env bash
# shim_memory.sh — memory of the per-container shim: Gantry's contd-shim
# against Debian's containerd-shim-runc-v2, for the same N idle containers.
#
# usage: sudo tests/bench/shim_memory.sh [-n CONTAINERS] [-k]
#   -n   idle containers per side (default 50)
#   -k   keep the temporary directory (logs of containerd) for a look
#
# containerd side: Debian's containerd (/usr/bin/containerd) runs with a
# private root, state dir and socket in a temporary directory, a minimal
# config without the CRI plugin (no network, no CNI), inside a private mount
# namespace whose /run/containerd is a tmpfs: containerd 1.6's shims put
# their sockets in /run/containerd/s/ whatever the state dir, and the host's
# must stay untouched. The busybox fixture image (tests/fixtures/
# make-fixtures.sh, images/busybox-oci.tar) is imported with `ctr images
# import` and N containers running `sleep 1000000` are started with
# `ctr run -d`, their stdout and stderr going to a log file each
# (--log-uri file://…, so the shim copies output as a logging shim does).
#
# Measured, per side:
#   - Pss per container: the sum of Pss (/proc/PID/smaps_rollup) over the
#     live shim processes, divided by N. Pss shares pages mapped by several
#     shims among them, so the sum is what the shims cost the machine. The
#     number of shim processes is printed too (ctr starts one per container;
#     a grouping label would let one shim serve several).
#   - start time: wall time of each `ctr run -d` (it returns once the task
#     is running; checked with `ctr tasks ls`); median and p90.
# Then everything is removed (tasks killed and deleted, containers and their
# snapshots deleted, image removed, containerd stopped, the temporary
# directory removed, the namespace's parent cgroup removed) and checked: no
# mount under the temporary directory, no cgroup and no shim process left.
#
# Zombies: PID 1 on some machines (CI sandboxes) never reaps orphans, and
# every shim is an orphan (its `start` parent exits at once). The script
# therefore makes itself a child subreaper (prctl PR_SET_CHILD_SUBREAPER,
# through python3, kept across exec) so the shims are reparented to this
# bash, which reaps them; processes in state Z are never counted.
# Needs root. Not part of CI.
set -euo pipefail
export LC_ALL=C

# Become a child subreaper before anything starts (see above).
if [[ -z ${GANTRY_BENCH_SUBREAPER:-} ]]; then
  export GANTRY_BENCH_SUBREAPER=1
  exec "$(dirname "${BASH_SOURCE[0]}")/../tools/as-subreaper" /bin/bash "${BASH_SOURCE[0]}" "$@"
fi

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
N=50
KEEP=0
while getopts "n:kh" opt; do
  case $opt in
    n) N=$OPTARG ;;
    k) KEEP=1 ;;
    h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) exit 2 ;;
  esac
done
if [[ ! $N =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [-n CONTAINERS] [-k]" >&2
  exit 2
fi

die() { echo "shim_memory: $*" >&2; exit 1; }
[[ $EUID -eq 0 ]] || die "must run as root (containers need namespaces, cgroups, mounts)"

FIXTURES=$REPO/build/bench-fixtures
IMAGE_TAR=$FIXTURES/images/busybox-oci.tar
IMAGE_REF=docker.io/library/busybox:latest
bash "$REPO/tests/fixtures/make-fixtures.sh" "$FIXTURES"
[[ -f $IMAGE_TAR ]] || die "$IMAGE_TAR: missing after make-fixtures.sh"

# --- helpers ---------------------------------------------------------------

# median / p90 (nearest rank) of microsecond values on stdin, printed in ms.
stats_ms() {
  sort -n | awk '{v[NR] = $1} END {
    if (NR == 0) { print "n/a"; exit }
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    p = int(NR * 0.9); if (p < NR * 0.9) p++; if (p < 1) p = 1
    printf "median %.1f ms (p90 %.1f ms)", m / 1000, v[p] / 1000 }'
}

# PIDs of live (not zombie) processes whose executable is $1 and whose
# command line contains $2.
live_pids() {
  local exe=$1 needle=$2 dir pid
  for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    [[ $(readlink "$dir/exe" 2>/dev/null) == "$exe" ]] || continue
    [[ $(awk '{print $3}' "$dir/stat" 2>/dev/null) != Z ]] || continue
    tr '\0' ' ' <"$dir/cmdline" 2>/dev/null | grep -qF -- "$needle" || continue
    echo "$pid"
  done
}

# Sum of Pss in kB over the given PIDs.
pss_kb() {
  local pid sum=0 v
  for pid in "$@"; do
    v=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || true)
    sum=$((sum + ${v:-0}))
  done
  echo "$sum"
}

# Zombie shims on the machine (comm is cut to 15 characters).
zombie_shims() { ps -eo stat=,comm= | awk '$1 ~ /^Z/ && $2 ~ /^containerd-shim/' | wc -l; }

# Results, filled by each side.
CONTAINERD_PSS_KB=
GANTRY_PSS_KB=

# --- containerd side ---------------------------------------------------------

containerd_side() {
  local shim
  shim=$(readlink -f "$(command -v containerd-shim-runc-v2 || echo /usr/bin/containerd-shim-runc-v2)")
  [[ -x /usr/bin/containerd && -x /usr/bin/ctr && -x $shim ]] ||
    die "containerd, ctr or containerd-shim-runc-v2 missing (apt-get install containerd)"

  # Globals, not locals: the EXIT trap may run after this function is gone.
  tmp= sock= ctr_pid= ns=
  tmp=$(mktemp -d /tmp/gantry-bench-containerd-XXXXXX)
  sock=$tmp/containerd.sock
  mkdir -p "$tmp/root" "$tmp/state" "$tmp/logs"
  cat >"$tmp/config.toml" <<EOF
version = 2
root = "$tmp/root"
state = "$tmp/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
[debug]
  address = "$tmp/debug.sock"
  level = "warn"
[metrics]
  address = ""
EOF

  # The namespace names the containers' parent cgroup (/<ns>/<id>): unique
  # per run, so the script can remove it without touching anyone else's.
  ns=gantry-bench-$$
  local ctr=(ctr -a "$sock" -n "$ns")
  local cleaned=0
  containerd_cleanup() {
    [[ $cleaned == 0 ]] || return 0
    cleaned=1
    set +e
    if [[ -S $sock ]]; then
      local id
      for id in $("${ctr[@]}" tasks ls -q 2>/dev/null); do
        "${ctr[@]}" tasks kill -s KILL "$id" >/dev/null 2>&1
      done
      for id in $("${ctr[@]}" tasks ls -q 2>/dev/null); do
        # Waits for the exit, then removes the task (and its shim).
        timeout 20 "${ctr[@]}" tasks delete -f "$id" >/dev/null 2>&1
      done
      for id in $("${ctr[@]}" containers ls -q 2>/dev/null); do
        "${ctr[@]}" containers delete "$id" >/dev/null 2>&1
      done
      "${ctr[@]}" images rm --sync "$IMAGE_REF" >/dev/null 2>&1
    fi
    if [[ -n ${ctr_pid:-} ]] && kill -0 "$ctr_pid" 2>/dev/null; then
      kill -TERM "$ctr_pid"
      local i
      for ((i = 0; i < 100; i++)); do kill -0 "$ctr_pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$ctr_pid" 2>/dev/null
      wait "$ctr_pid" 2>/dev/null
    fi
    # Shims that outlived their tasks (a failed delete): ask them to go.
    local pids
    pids=$(live_pids "$shim" "$sock")
    if [[ -n $pids ]]; then
      echo "containerd side: killing leftover shims: $pids" >&2
      kill -KILL $pids 2>/dev/null
      sleep 0.5
    fi
    # runc removes each container's cgroup, not the namespace's parent.
    local cg
    for cg in /sys/fs/cgroup/"$ns" /sys/fs/cgroup/*/"$ns"; do
      [[ -d $cg ]] && rmdir "$cg"
    done
    # The mount namespace died with its last process; the host never saw
    # the overlay mounts. Check both, then remove the directory.
    local left
    left=$(awk -v t="$tmp" 'index($5, t) == 1 {print $5}' /proc/self/mountinfo)
    if [[ -n $left ]]; then
      echo "containerd side: unmounting leftovers: $left" >&2
      echo "$left" | sort -r | xargs -r -n1 umount -l
    fi
    if [[ $KEEP == 1 ]]; then
      echo "containerd side: kept $tmp" >&2
    else
      rm -rf "$tmp"
    fi
    set -e
  }
  trap containerd_cleanup EXIT

  # Private mount namespace: a tmpfs over /run/containerd for the shim
  # sockets; the overlay mounts of the containers stay in it too.
  unshare --mount --propagation private -- /bin/sh -c '
    mkdir -p /run/containerd && mount -t tmpfs -o mode=0711 tmpfs /run/containerd &&
    exec /usr/bin/containerd --config "$1"' sh "$tmp/config.toml" \
    >"$tmp/containerd.log" 2>&1 &
  ctr_pid=$!
  local i
  for ((i = 0; i < 100; i++)); do
    "${ctr[@]}" version >/dev/null 2>&1 && break
    kill -0 "$ctr_pid" 2>/dev/null || die "containerd exited: $(tail -5 "$tmp/containerd.log")"
    sleep 0.1
  done
  "${ctr[@]}" version >/dev/null 2>&1 || die "containerd did not answer on $sock"

  "${ctr[@]}" images import "$IMAGE_TAR" >/dev/null ||
    die "ctr images import $IMAGE_TAR failed"

  local times=() t0 t1 id
  for ((i = 1; i <= N; i++)); do
    id=idle-$i
    t0=$EPOCHREALTIME
    "${ctr[@]}" run -d --log-uri "file://$tmp/logs/$id.log" "$IMAGE_REF" "$id" \
      sleep 1000000 >/dev/null || die "ctr run $id failed"
    t1=$EPOCHREALTIME
    times+=($(((${t1/./} - ${t0/./}))))
  done
  local running
  running=$("${ctr[@]}" tasks ls | awk '$3 == "RUNNING"' | wc -l)
  [[ $running == "$N" ]] || die "$running of $N tasks RUNNING"

  # Let the shims settle (Go runtime start-up, first GC) before measuring.
  sleep 2
  local pids count kb
  pids=$(live_pids "$shim" "$sock")
  count=$(echo "$pids" | grep -c . || true)
  # shellcheck disable=SC2086
  kb=$(pss_kb $pids)
  # Orphaned shims land on this script (the subreaper), not on PID 1.
  local ours=0 pid
  for pid in $pids; do
    [[ $(awk '{print $4}' "/proc/$pid/stat") == "$$" ]] && ours=$((ours + 1))
  done
  CONTAINERD_PSS_KB=$(awk -v kb="$kb" -v n="$N" 'BEGIN {printf "%.0f", kb / n}')
  echo "containerd: $N containers, $count shim processes ($shim; $ours children of this script), Pss total $((kb / 1024)) MiB," \
    "per container $CONTAINERD_PSS_KB kB; ctr run -d $(printf '%s\n' "${times[@]}" | stats_ms)"

  containerd_cleanup
  trap - EXIT
  # Verify nothing is left: shims, mounts under the directory, cgroups, the directory.
  local left_pids left_mounts
  left_pids=$(live_pids "$shim" "$sock")
  left_mounts=$(awk -v t="$tmp" 'index($5, t) == 1' /proc/self/mountinfo)
  [[ -z $left_pids ]] || die "containerd side: shims left: $left_pids"
  [[ -z $left_mounts ]] || die "containerd side: mounts left: $left_mounts"
  local left_cgroups
  left_cgroups=$(find /sys/fs/cgroup -maxdepth 2 -type d -name "$ns" 2>/dev/null)
  [[ -z $left_cgroups ]] || die "containerd side: cgroups left: $left_cgroups"
  [[ $KEEP == 1 || ! -e $tmp ]] || die "containerd side: $tmp left"
  echo "containerd: cleaned up (no shim, mount or cgroup left$([[ $KEEP == 1 ]] || echo ', directory removed');" \
    "zombie shims on the machine: $(zombie_shims))"
}

# --- Gantry side -------------------------------------------------------------

# contd_tasks_bench (tests/bench/contd_tasks_bench.cc, from the release
# build unless GANTRY_BUILD_DIR says otherwise) runs a private contd with N
# idle containers of the same fixture (rootfs used in place, read-only; no
# image import: contd's images arrive with the images issue), sums Pss over
# the contd-shim processes the same way, times Tasks.Create+Start and a bare
# shim's start-to-ready, deletes everything and checks that no shim or mount
# is left. It prints GANTRY_PSS_KB for the ratio below.
gantry_side() {
  local build=${GANTRY_BUILD_DIR:-$REPO/build/release} out
  [[ -x $build/tests/bench/contd_tasks_bench ]] ||
    die "$build/tests/bench/contd_tasks_bench missing: build the release preset first"
  echo "== gantry: contd + contd-shim ($build)"
  out=$("$build/tests/bench/contd_tasks_bench" "$build" "$FIXTURES" "$N" 2>/dev/null) ||
    die "gantry side failed: $out"
  grep -v '^GANTRY_PSS_KB=' <<<"$out"
  GANTRY_PSS_KB=$(sed -n 's/^GANTRY_PSS_KB=//p' <<<"$out")
}

containerd_side
gantry_side
if [[ -n $GANTRY_PSS_KB && -n $CONTAINERD_PSS_KB ]]; then
  awk -v g="$GANTRY_PSS_KB" -v c="$CONTAINERD_PSS_KB" \
    'BEGIN {printf "ratio (contd-shim / containerd-shim-runc-v2 Pss): %.2f\n", g / c}'
fi
