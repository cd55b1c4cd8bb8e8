# lib.sh — what the engined benchmarks share: timing helpers, a private
# docker-registry holding the busybox fixture, engined and Debian's dockerd
# started privately, and a cleanup that stops and removes all of it.
# Source it after setting BENCH_NAME; then call bench_setup.
#
# Sets: REPO BUILD DOCKER TMP FIXTURES PORT IMAGE E D (E and D run the docker
# CLI against engined and dockerd).

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$REPO/build/release
DOCKER=/usr/bin/docker
[[ -x /usr/local/bin/docker ]] && DOCKER=/usr/local/bin/docker
FIXTURES=$REPO/build/bench-fixtures
REGISTRY_PID= ENGINED_PID= DOCKERD_PID= KEEP=${KEEP:-0}

# Re-runs the benchmark ($0 with its arguments) as a subreaper (the
# daemons' orphans come back to it) in a network namespace of its own with
# loopback up, so that neither daemon touches the machine's links or rules.
# Returns in the re-run.
bench_isolate() {
  [[ -n ${GANTRY_BENCH_SUBREAPER:-} ]] && return 0
  export GANTRY_BENCH_SUBREAPER=1
  exec unshare --net -- /bin/sh -c 'ip link set lo up && s=$1 && shift && exec "$0" /bin/bash "$s" "$@"' \
    "$REPO/tests/tools/as-subreaper" "$0" "$@"
}

die() { echo "$BENCH_NAME: $*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # wait_for SECONDS COMMAND...
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do ((SECONDS < deadline)) || return 1; sleep 0.1; done
}
median_ms() { sort -n | awk '{v[NR]=$1} END {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.1f", m/1000}'; }
now_us() { date +%s%6N; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

bench_cleanup() {
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

# bench_setup [dockerd flags...]: checks, the registry with the fixture
# pushed as $IMAGE, both daemons up with the image pulled.
bench_setup() {
  [[ $EUID -eq 0 ]] || die "must run as root"
  local b
  for b in engined/engined contd/contd shim/contd-shim ocirun/ocirun; do
    [[ -x $BUILD/$b ]] || die "$BUILD/$b missing: cmake --preset release && ninja -C build/release"
  done
  bash "$REPO/tests/fixtures/make-fixtures.sh" "$FIXTURES"
  TMP=$(mktemp -d "/tmp/gantry-bench-$BENCH_NAME.XXXXXX")
  trap bench_cleanup EXIT

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

  echo '{}' >"$TMP/daemon.json"
  PATH=$BUILD/contd:$BUILD/shim:$BUILD/ocirun:$PATH \
    "$BUILD/engined/engined" -H "unix://$TMP/engined.sock" --data-root "$TMP/engined" \
    --exec-root "$TMP/engined-exec" --config-file "$TMP/daemon.json" --group root \
    >"$TMP/engined.log" 2>&1 &
  ENGINED_PID=$!
  /usr/sbin/dockerd -H "unix://$TMP/dockerd.sock" --data-root "$TMP/docker" \
    --exec-root "$TMP/docker-exec" --pidfile "$TMP/dockerd.pid" --config-file "$TMP/daemon.json" \
    --insecure-registry "127.0.0.1:$PORT" \
    --containerd-namespace gantry-bench --containerd-plugins-namespace gantry-bench-plugins \
    "$@" >"$TMP/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  wait_for 30 "$DOCKER" -H "unix://$TMP/engined.sock" version || die "engined did not start: $(tail -5 "$TMP/engined.log")"
  wait_for 60 "$DOCKER" -H "unix://$TMP/dockerd.sock" version || die "dockerd did not start: $(tail -5 "$TMP/dockerd.log")"

  E=(env DOCKER_HOST="unix://$TMP/engined.sock" "$DOCKER")
  D=(env DOCKER_HOST="unix://$TMP/dockerd.sock" "$DOCKER")
  "${E[@]}" pull -q "$IMAGE" >/dev/null
  "${D[@]}" pull -q "$IMAGE" >/dev/null
}
