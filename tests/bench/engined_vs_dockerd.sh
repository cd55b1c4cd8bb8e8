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
# containerd) with --bridge=none --iptables=false, as engined has no
# networks yet: both sides run containers without a network. Needs root;
# not part of CI. Everything started is stopped and removed at exit.
set -euo pipefail
export LC_ALL=C

if [[ -z ${GANTRY_BENCH_SUBREAPER:-} ]]; then
  export GANTRY_BENCH_SUBREAPER=1
  exec "$(dirname "${BASH_SOURCE[0]}")/../tools/as-subreaper" /bin/bash "${BASH_SOURCE[0]}" "$@"
fi

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$REPO/build/release
RUNS=20
PARALLEL=50
KEEP=0
while getopts "n:p:kh" opt; do
  case $opt in
    n) RUNS=$OPTARG ;;
    p) PARALLEL=$OPTARG ;;
    k) KEEP=1 ;;
    h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) exit 2 ;;
  esac
done
die() { echo "engined_vs_dockerd: $*" >&2; exit 1; }
[[ $EUID -eq 0 ]] || die "must run as root"
for b in engined/engined contd/contd shim/contd-shim ocirun/ocirun; do
  [[ -x $BUILD/$b ]] || die "$BUILD/$b missing: cmake --preset release && ninja -C build/release"
done
DOCKER=/usr/bin/docker
[[ -x /usr/local/bin/docker ]] && DOCKER=/usr/local/bin/docker

FIXTURES=$REPO/build/bench-fixtures
bash "$REPO/tests/fixtures/make-fixtures.sh" "$FIXTURES"

TMP=$(mktemp -d /tmp/gantry-bench-engined.XXXXXX)
REGISTRY_PID= ENGINED_PID= DOCKERD_PID=
cleanup() {
  set +e
  for sock in "$TMP/engined.sock" "$TMP/dockerd.sock"; do
    [[ -S $sock ]] || continue
    ids=$("$DOCKER" -H "unix://$sock" ps -aq 2>/dev/null)
    [[ -n $ids ]] && "$DOCKER" -H "unix://$sock" rm -f $ids >/dev/null 2>&1
  done
  [[ -n $ENGINED_PID ]] && kill -TERM "$ENGINED_PID" 2>/dev/null && wait "$ENGINED_PID" 2>/dev/null
  [[ -n $DOCKERD_PID ]] && kill -TERM "$DOCKERD_PID" 2>/dev/null && wait "$DOCKERD_PID" 2>/dev/null
  [[ -n $REGISTRY_PID ]] && kill -KILL "$REGISTRY_PID" 2>/dev/null && wait "$REGISTRY_PID" 2>/dev/null
  grep " $TMP" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l
  if ((KEEP)); then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # wait_for SECONDS COMMAND...
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do ((SECONDS < deadline)) || return 1; sleep 0.1; done
}
median_ms() { sort -n | awk '{v[NR]=$1} END {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.1f", m/1000}'; }
now_us() { date +%s%6N; }
pss_kb() {
  local pid sum=0 v
  for pid in "$@"; do
    v=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || true)
    sum=$((sum + ${v:-0}))
  done
  echo "$sum"
}

# --- the registry, with the busybox fixture --------------------------------
PORT=$(free_port)
mkdir -p "$TMP/registry"
cat >"$TMP/registry/config.yml" <<YML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $TMP/registry/data}}
http: {addr: 127.0.0.1:$PORT}
YML
/usr/bin/docker-registry serve "$TMP/registry/config.yml" >"$TMP/registry/log" 2>&1 &
REGISTRY_PID=$!
wait_for 15 curl -fsS "http://127.0.0.1:$PORT/v2/" || die "docker-registry did not start"
IMAGE=127.0.0.1:$PORT/bench/busybox:latest
skopeo --insecure-policy copy --quiet --dest-tls-verify=false \
  "oci-archive:$FIXTURES/images/busybox-oci.tar" "docker://$IMAGE"

# --- the daemons -------------------------------------------------------------
echo '{}' >"$TMP/daemon.json"
PATH=$BUILD/contd:$BUILD/shim:$BUILD/ocirun:$PATH \
  "$BUILD/engined/engined" -H "unix://$TMP/engined.sock" --data-root "$TMP/engined" \
  --exec-root "$TMP/engined-exec" --config-file "$TMP/daemon.json" --group root \
  >"$TMP/engined.log" 2>&1 &
ENGINED_PID=$!
/usr/sbin/dockerd -H "unix://$TMP/dockerd.sock" --data-root "$TMP/docker" \
  --exec-root "$TMP/docker-exec" --pidfile "$TMP/dockerd.pid" --config-file "$TMP/daemon.json" \
  --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
  --insecure-registry "127.0.0.1:$PORT" \
  --containerd-namespace gantry-bench --containerd-plugins-namespace gantry-bench-plugins \
  >"$TMP/dockerd.log" 2>&1 &
DOCKERD_PID=$!
wait_for 30 "$DOCKER" -H "unix://$TMP/engined.sock" version || die "engined did not start: $(tail -5 "$TMP/engined.log")"
wait_for 60 "$DOCKER" -H "unix://$TMP/dockerd.sock" version || die "dockerd did not start: $(tail -5 "$TMP/dockerd.log")"

E=(env DOCKER_HOST="unix://$TMP/engined.sock" "$DOCKER")
D=(env DOCKER_HOST="unix://$TMP/dockerd.sock" "$DOCKER")
"${E[@]}" pull -q "$IMAGE" >/dev/null
"${D[@]}" pull -q "$IMAGE" >/dev/null

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

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "docker run --rm $IMAGE true, median of $RUNS (interleaved):"
echo "  engined: $RUN_E ms   dockerd: $RUN_D ms   ratio $(ratio "$RUN_E" "$RUN_D") (target <= 0.33)"
echo "$PARALLEL parallel docker run -d:"
echo "  engined: $PAR_E ms   dockerd: $PAR_D ms   ratio $(ratio "$PAR_E" "$PAR_D")"
echo "idle Pss (daemons only, no containers):"
echo "  engined+contd (pids ${ENGINED_SIDE[*]}): $MEM_E kB   dockerd+containerd (pids ${DOCKERD_SIDE[*]}): $MEM_D kB   ratio $(ratio "$MEM_E" "$MEM_D") (target <= 0.25)"
