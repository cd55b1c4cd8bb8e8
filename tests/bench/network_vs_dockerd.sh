#!/usr/bin/env bash
# network_vs_dockerd.sh — engined's networking against Debian's dockerd's,
# with the same docker CLI and the same image from the same private
# docker-registry:
#   1. TCP throughput host -> container through a published port, with
#      Debian's iperf3 (server in the container, client on the host):
#        proxy path: to 127.0.0.1:PORT (engined's userland proxy; docker-proxy)
#        DNAT path:  to a local non-loopback address (nftables; iptables)
#   2. per-container network setup time: the median of `docker run --rm
#      IMAGE true` on the default bridge minus the same with --network none,
#      the two daemons interleaved.
# Prints each side and the ratio engined/dockerd (for throughput, higher is
# better; for setup time, lower is).
#
# usage: sudo tests/bench/network_vs_dockerd.sh [-n RUNS] [-t SECONDS] [-k]
#   -n   runs per daemon and mode for the setup time (default 15)
#   -t   seconds per iperf3 run (default 5)
#   -k   keep the temporary directory (daemon logs)
#
# Everything runs in a network namespace of the benchmark's own (a veth
# there holds the "host" address for the DNAT path), so the machine's
# links, routes and firewall rules are never touched. The container runs the
# host's iperf3, bind-mounted read-only with its libraries. Release build;
# needs root; not part of CI.
set -euo pipefail
export LC_ALL=C

BENCH_NAME=network_vs_dockerd
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_isolate "$@"

RUNS=15
SECONDS_PER_RUN=5
while getopts "n:t:kh" opt; do
  case $opt in
    n) RUNS=$OPTARG ;;
    t) SECONDS_PER_RUN=$OPTARG ;;
    k) KEEP=1 ;;
    h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) exit 2 ;;
  esac
done
command -v iperf3 >/dev/null || die "iperf3 missing: packaging/deps.sh installs it"
HOST_ADDRESS=10.213.99.1
ip link add gbench0 type veth peer name gbench1  # (no dummy links in every kernel)
ip addr add "$HOST_ADDRESS/24" dev gbench0
ip link set gbench0 up
ip link set gbench1 up
bench_setup

# --- 1. throughput through published ports -----------------------------------
IPERF_MOUNTS=(-v /usr/lib:/usr/lib:ro -v /usr/lib:/lib:ro -v /usr/lib64:/lib64:ro
  -v /usr/bin/iperf3:/usr/bin/iperf3:ro)
gbits() { # gbits HOST PORT: received Gbit/s of one iperf3 run
  local out
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    out=$(iperf3 -c "$1" -p "$2" -t "$SECONDS_PER_RUN" -J 2>/dev/null) && break
    sleep 0.3
  done
  python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))' <<<"$out"
}
throughput() { # throughput SIDE PROXY_PORT DNAT_PORT: "proxy dnat"
  local -n cli=$1
  "${cli[@]}" run -d --name iperf -p "127.0.0.1:$2:5201" -p "$3:5201" "${IPERF_MOUNTS[@]}" \
    "$IMAGE" /usr/bin/iperf3 -s >/dev/null
  echo "$(gbits 127.0.0.1 "$2") $(gbits "$HOST_ADDRESS" "$3")"
  "${cli[@]}" rm -f iperf >/dev/null
}
read -r PROXY_E DNAT_E < <(throughput E 15201 15202)
read -r PROXY_D DNAT_D < <(throughput D 15211 15212)

# --- 2. network setup time ------------------------------------------------------
for side in E D; do  # warm-up
  declare -n cli=$side
  "${cli[@]}" run --rm "$IMAGE" true
  "${cli[@]}" run --rm --network none "$IMAGE" true
done
for f in bridge-E none-E bridge-D none-D; do : >"$TMP/$f"; done
for ((i = 0; i < RUNS; i++)); do
  for side in E D; do
    declare -n cli=$side
    t=$(now_us); "${cli[@]}" run --rm "$IMAGE" true; echo $(($(now_us) - t)) >>"$TMP/bridge-$side"
    t=$(now_us); "${cli[@]}" run --rm --network none "$IMAGE" true; echo $(($(now_us) - t)) >>"$TMP/none-$side"
  done
done
setup_ms() { awk -v a="$(median_ms <"$TMP/bridge-$1")" -v b="$(median_ms <"$TMP/none-$1")" 'BEGIN { printf "%.1f", a - b }'; }
SETUP_E=$(setup_ms E)
SETUP_D=$(setup_ms D)

echo "TCP throughput host -> container through a published port (iperf3, ${SECONDS_PER_RUN}s):"
echo "  proxy path (127.0.0.1):      engined: $PROXY_E Gbit/s   dockerd: $PROXY_D Gbit/s   ratio $(ratio "$PROXY_E" "$PROXY_D")"
echo "  DNAT path ($HOST_ADDRESS):  engined: $DNAT_E Gbit/s   dockerd: $DNAT_D Gbit/s   ratio $(ratio "$DNAT_E" "$DNAT_D")"
echo "network setup per container (median run --rm on bridge minus --network none, $RUNS runs):"
echo "  engined: $SETUP_E ms   dockerd: $SETUP_D ms   ratio $(ratio "$SETUP_E" "$SETUP_D")"
