#!/usr/bin/env bash
# pull_vs_dockerd.sh — image pull + unpack time: contd against Debian's
# dockerd, pulling the same image from the same local registry.
#
# usage: sudo tests/bench/pull_vs_dockerd.sh [-n RUNS] [-s MB] [-k]
#   -n   measured pulls per side (default 3), after one warm-up pull each
#   -s   uncompressed size of the generated image in MB (default 200)
#   -k   keep the temporary directory (daemon logs, the image layout)
#
# The image: the busybox fixture rootfs as its first layer, then four layers
# of generated files, each half random bytes (one large file, a few medium,
# many small: incompressible) and half text (log-like lines: compressible),
# tarred with GNU tar, gzipped, assembled as an OCI image layout and copied
# with skopeo into a private Debian docker-registry on 127.0.0.1:<free port>.
#
# The daemons, all private to a temporary directory: contd from the release
# build (--root, --state, --address there) and dockerd (--data-root,
# --exec-root, its own containerd, no bridge, no iptables, the registry
# marked insecure). Then, alternating, contd pulls (Images.Pull with unpack
# through tests/bench/contd_pull_bench, then Images.Delete with sync so the
# next pull fetches everything again) and dockerd pulls (`docker pull`, then
# `docker rmi` and `docker image prune -af`).
#
# Printed: the median pull time of each, the ratio contd/dockerd (target
# <= 0.7), and contd's unpack throughput: uncompressed layer bytes over the
# time from each layer's "extracting" progress event to its "done" (median).
# Needs root, docker-registry, skopeo, dockerd, docker, GNU tar, gzip, jq.
# Not part of CI.
set -euo pipefail
export LC_ALL=C

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${GANTRY_BUILD_DIR:-$REPO/build/release}
RUNS=3
SIZE_MB=200
KEEP=0
while getopts "n:s:kh" opt; do
  case $opt in
    n) RUNS=$OPTARG ;;
    s) SIZE_MB=$OPTARG ;;
    k) KEEP=1 ;;
    h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) exit 2 ;;
  esac
done
if [[ ! $RUNS =~ ^[1-9][0-9]*$ || ! $SIZE_MB =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [-n RUNS] [-s MB] [-k]" >&2
  exit 2
fi

die() { echo "pull_vs_dockerd: $*" >&2; exit 1; }
[[ $EUID -eq 0 ]] || die "must run as root (dockerd, overlay mounts)"
for tool in docker-registry skopeo dockerd docker tar gzip jq sha256sum; do
  command -v "$tool" >/dev/null || die "$tool: not installed"
done
CONTD=$BUILD/contd/contd
CLIENT=$BUILD/tests/bench/contd_pull_bench
ROOTFS=$BUILD/fixtures/rootfs
for f in "$CONTD" "$CLIENT" "$ROOTFS/bin/busybox"; do
  [[ -e $f ]] || die "$f: missing (cmake --preset release && ninja -C build/release contd contd-shim ocirun contd_pull_bench fixtures)"
done

TMP=$(mktemp -d /tmp/gantry-pullbench-XXXXXX)
PIDS=()

# --- clean-up --------------------------------------------------------------

stop() {  # stop PID: TERM, then KILL after 20 s
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 200); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  set +e
  # The newest first: dockerd (it stops its containerd), contd, the registry.
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop "${PIDS[i]}"; done
  # Mounts under the directory, deepest first (overlay layers, dockerd's
  # netns and plugins bind mounts).
  awk -v d="$TMP" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r |
    while read -r m; do umount -R "$m" 2>/dev/null || umount -l "$m"; done
  if ((KEEP)); then
    echo "kept $TMP" >&2
  else
    rm -rf "$TMP"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_us() { echo "${EPOCHREALTIME/./}"; }

# median of the numbers on stdin
median() {
  sort -g | awk '{v[NR] = $1} END {
    if (NR == 0) { print "nan"; exit }
    print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for() {  # wait_for WHAT SECONDS COMMAND...: until COMMAND succeeds
  local what=$1 secs=$2
  shift 2
  for _ in $(seq $((secs * 10))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "$what not ready after $secs s"
}

# --- the image --------------------------------------------------------------

LAYOUT=$TMP/layout
mkdir -p "$LAYOUT/blobs/sha256" "$TMP/gen"
echo '{"imageLayoutVersion":"1.0.0"}' >"$LAYOUT/oci-layout"

LAYER_DESCS=()
DIFF_IDS=()
UNCOMPRESSED=0
COMPRESSED=0

# add_layer DIR: tar DIR's contents as the next layer (owned by root).
add_layer() {
  local dir=$1 tarball=$TMP/gen/layer.tar
  tar --numeric-owner --owner=0 --group=0 --sort=name -C "$dir" -cf "$tarball" .
  local diff_id size digest csize
  diff_id=$(sha256sum "$tarball" | cut -d' ' -f1)
  size=$(stat -c %s "$tarball")
  gzip -n -6 "$tarball"
  digest=$(sha256sum "$tarball.gz" | cut -d' ' -f1)
  csize=$(stat -c %s "$tarball.gz")
  mv "$tarball.gz" "$LAYOUT/blobs/sha256/$digest"
  DIFF_IDS+=("\"sha256:$diff_id\"")
  LAYER_DESCS+=("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$digest\",\"size\":$csize}")
  UNCOMPRESSED=$((UNCOMPRESSED + size))
  COMPRESSED=$((COMPRESSED + csize))
}

# gen_layer DIR MB: MB/2 of random files (one large, 8 medium, 400 small)
# and MB/2 of text files (log-like lines).
gen_layer() {
  local dir=$1 half=$(($2 * 1024 * 1024 / 2)) i
  local small=4096 medium=$((half / 4 / 8))
  mkdir -p "$dir/random/small" "$dir/text"
  head -c $((half - 8 * medium - 400 * small)) /dev/urandom >"$dir/random/large.bin"
  for i in $(seq 8); do head -c "$medium" /dev/urandom >"$dir/random/medium-$i.bin"; done
  head -c $((400 * small)) /dev/urandom | split -b "$small" -a 3 - "$dir/random/small/f-"
  # ~70 bytes a line; 20 files.
  local lines=$((half / 70 / 20))
  for i in $(seq 20); do
    seq -f "%08g 2026-11-29T12:00:00Z service=bench level=info msg=\"request $i handled\"" \
      "$lines" >"$dir/text/log-$i.txt"
  done
}

echo "generating a ${SIZE_MB} MB image in $TMP ..." >&2
add_layer "$ROOTFS"
for l in 1 2 3 4; do
  rm -rf "$TMP/gen/data"
  gen_layer "$TMP/gen/data/data$l" $((SIZE_MB / 4))
  add_layer "$TMP/gen/data"
done
rm -rf "$TMP/gen"

blob() {  # blob FILE-WITH-JSON: store it, print its descriptor fields
  local digest size
  digest=$(sha256sum "$1" | cut -d' ' -f1)
  size=$(stat -c %s "$1")
  mv "$1" "$LAYOUT/blobs/sha256/$digest"
  echo "\"digest\":\"sha256:$digest\",\"size\":$size"
}
(
  IFS=,
  printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
    "${DIFF_IDS[*]}" >"$TMP/config.json"
)
CONFIG_DESC=$(blob "$TMP/config.json")
(
  IFS=,
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json",%s},"layers":[%s]}' \
    "$CONFIG_DESC" "${LAYER_DESCS[*]}" >"$TMP/manifest.json"
)
MANIFEST_DESC=$(blob "$TMP/manifest.json")
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json",%s,"annotations":{"org.opencontainers.image.ref.name":"bench"}}]}' \
  "$MANIFEST_DESC" >"$LAYOUT/index.json"

# --- the registry -----------------------------------------------------------

PORT=$(free_port)
REF=127.0.0.1:$PORT/bench/pull:latest
cat >"$TMP/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $TMP/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$PORT
EOF
docker-registry serve "$TMP/registry.yml" >"$TMP/registry.log" 2>&1 &
PIDS+=($!)
wait_for "docker-registry" 15 curl -fsS "http://127.0.0.1:$PORT/v2/"
skopeo copy --quiet --dest-tls-verify=false "oci:$LAYOUT:bench" "docker://$REF" >&2
rm -rf "$LAYOUT"

# --- the daemons ------------------------------------------------------------

mkdir -p "$TMP/contd" "$TMP/docker"
CONTD_SOCK=$TMP/contd/contd.sock
"$CONTD" --root "$TMP/contd/root" --state "$TMP/contd/state" --address "$CONTD_SOCK" \
  --registry-certs-dir "$TMP/contd/certs.d" \
  >"$TMP/contd.log" 2>&1 &
PIDS+=($!)
wait_for "contd" 15 test -S "$CONTD_SOCK"

echo '{}' >"$TMP/docker/daemon.json"
DOCKER_SOCK=$TMP/docker/docker.sock
dockerd --config-file "$TMP/docker/daemon.json" --data-root "$TMP/docker/root" \
  --exec-root "$TMP/docker/exec" -H "unix://$DOCKER_SOCK" --pidfile "$TMP/docker/docker.pid" \
  --bridge=none --iptables=false --ip6tables=false --insecure-registry "127.0.0.1:$PORT" \
  >"$TMP/dockerd.log" 2>&1 &
PIDS+=($!)
export DOCKER_HOST=unix://$DOCKER_SOCK
wait_for "dockerd" 30 docker version

# --- the runs ---------------------------------------------------------------

contd_pull() {  # prints "pull_ms=… extract_ms=… layers=…"
  "$CLIENT" "$CONTD_SOCK" "$REF" || die "contd pull failed (log: $TMP/contd.log)"
}

docker_pull() {  # prints the pull's milliseconds
  local begin end
  begin=$(now_us)
  docker pull -q "$REF" >/dev/null || die "docker pull failed (log: $TMP/dockerd.log)"
  end=$(now_us)
  docker rmi -f "$REF" >/dev/null
  docker image prune -af >/dev/null
  awk -v us=$((end - begin)) 'BEGIN {printf "%.1f\n", us / 1000}'
}

field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

echo "image: ${#DIFF_IDS[@]} layers, $(((UNCOMPRESSED + 524288) / 1048576)) MB uncompressed, $(((COMPRESSED + 524288) / 1048576)) MB gzipped; $RUNS runs each after a warm-up" >&2
contd_pull >/dev/null
docker_pull >/dev/null
CONTD_MS=()
EXTRACT_MS=()
DOCKER_MS=()
PAIR_RATIOS=()  # contd/dockerd of each run's pair: steadier on a busy machine
for i in $(seq "$RUNS"); do
  line=$(contd_pull)
  CONTD_MS+=("$(field pull_ms <<<"$line")")
  EXTRACT_MS+=("$(field extract_ms <<<"$line")")
  DOCKER_MS+=("$(docker_pull)")
  PAIR_RATIOS+=("$(awk -v c="${CONTD_MS[-1]}" -v d="${DOCKER_MS[-1]}" 'BEGIN {print c / d}')")
  echo "run $i: contd ${CONTD_MS[-1]} ms (extract ${EXTRACT_MS[-1]} ms), dockerd ${DOCKER_MS[-1]} ms" >&2
done

contd_median=$(printf '%s\n' "${CONTD_MS[@]}" | median)
docker_median=$(printf '%s\n' "${DOCKER_MS[@]}" | median)
extract_median=$(printf '%s\n' "${EXTRACT_MS[@]}" | median)
pair_median=$(printf '%s\n' "${PAIR_RATIOS[@]}" | median)
awk -v c="$contd_median" -v d="$docker_median" -v e="$extract_median" -v u="$UNCOMPRESSED" \
  -v p="$pair_median" -v n="$RUNS" -v dv="$(dockerd --version)" 'BEGIN {
  printf "%d runs each; dockerd: %s\n", n, dv
  printf "contd median %.0f ms, dockerd median %.0f ms, ratio %.2f (target <= 0.7); median of the runs\047 ratios %.2f\n", c, d, c / d, p
  printf "contd unpack: %.0f MB in %.0f ms (median), %.0f MB/s\n", u / 1048576, e, u / 1048576 / (e / 1000)
}'
