#!/usr/bin/env bash
# engined_vs_dockerd.sh — engined + contd against Debian's dockerd +
# containerd, driven by the same docker CLI with the same image pulled from
# the same private docker-registry on 127.0.0.1:
#   1. `docker run --rm IMAGE true` latency, the two daemons interleaved
#      (target: engined ≤ 0.33× dockerd);
#   2. wall time of P parallel `docker run -d IMAGE sleep 600`;
#   3. idle memory once everything is removed: Pss of engined + contd
#      against dockerd + containerd (target ≤ 0.25×).
#
# usage: sudo tests/bench/engined_vs_dockerd.sh [-n RUNS] [-p PARALLEL] [-k]
#   -n   sequential runs per daemon (default 20)
#   -p   parallel detached runs per daemon (default 50)
#   -k   keep the temporary directory (daemon logs)
#
# Uses the release build (cmake --preset release && ninja -C build/release).
# dockerd runs privately (its own data root, exec root, socket and
# containerd), both daemons with their default bridge networking, inside a
# network namespace of the benchmark's own (the machine's links and rules
# are not touched). Needs root; not part of CI. Everything started is
# stopped and removed at exit.
set -euo pipefail
export LC_ALL=C

BENCH_NAME=engined_vs_dockerd
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_isolate "$@"

RUNS=20
PARALLEL=50
while getopts "n:p:kh" opt; do
  case $opt in
    n) RUNS=$OPTARG ;;
    p) PARALLEL=$OPTARG ;;
    k) KEEP=1 ;;
    h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) exit 2 ;;
  esac
done
# Both daemons with their default networking: each container gets a veth
# on the default bridge.
bench_setup
pss_kb() {
  local pid sum=0 v
  for pid in "$@"; do
    v=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || true)
    sum=$((sum + ${v:-0}))
  done
  echo "$sum"
}

# --- 1. docker run --rm latency ---------------------------------------------
for side in E D; do  # warm-up
  declare -n cli=$side
  "${cli[@]}" run --rm "$IMAGE" true
done
: >"$TMP/run-engined" ; : >"$TMP/run-dockerd"
for ((i = 0; i < RUNS; i++)); do
  t=$(now_us); "${E[@]}" run --rm "$IMAGE" true; echo $(($(now_us) - t)) >>"$TMP/run-engined"
  t=$(now_us); "${D[@]}" run --rm "$IMAGE" true; echo $(($(now_us) - t)) >>"$TMP/run-dockerd"
done
RUN_E=$(median_ms <"$TMP/run-engined")
RUN_D=$(median_ms <"$TMP/run-dockerd")

# --- 2. parallel detached runs ----------------------------------------------
parallel_ms() {
  local -n cli=$1
  local t i
  t=$(now_us)
  for ((i = 0; i < PARALLEL; i++)); do "${cli[@]}" run -d "$IMAGE" sleep 600 >/dev/null & done
  wait
  echo $((($(now_us) - t) / 1000))
  [[ $("${cli[@]}" ps -q | wc -l) -eq $PARALLEL ]] || die "$1: not all $PARALLEL containers run"
  "${cli[@]}" rm -f $("${cli[@]}" ps -aq) >/dev/null
}
PAR_E=$(parallel_ms E)
PAR_D=$(parallel_ms D)

# --- 3. idle memory ------------------------------------------------------------
sleep 3
ENGINED_SIDE=("$ENGINED_PID" $(pgrep -f "^contd --root $TMP/engined/contd" || true))
CONTAINERD_PID=$(pgrep -f "containerd --config $TMP/docker-exec" || pgrep -P "$DOCKERD_PID" containerd || true)
DOCKERD_SIDE=("$DOCKERD_PID" $CONTAINERD_PID)
MEM_E=$(pss_kb "${ENGINED_SIDE[@]}")
MEM_D=$(pss_kb "${DOCKERD_SIDE[@]}")

echo "docker run --rm $IMAGE true, median of $RUNS (interleaved):"
echo "  engined: $RUN_E ms   dockerd: $RUN_D ms   ratio $(ratio "$RUN_E" "$RUN_D") (target <= 0.33)"
echo "$PARALLEL parallel docker run -d:"
echo "  engined: $PAR_E ms   dockerd: $PAR_D ms   ratio $(ratio "$PAR_E" "$PAR_D")"
echo "idle Pss (daemons only, no containers):"
echo "  engined+contd (pids ${ENGINED_SIDE[*]}): $MEM_E kB   dockerd+containerd (pids ${DOCKERD_SIDE[*]}): $MEM_D kB   ratio $(ratio "$MEM_E" "$MEM_D") (target <= 0.25)"
