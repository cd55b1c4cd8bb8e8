#!/usr/bin/env bash
# Installs, from Debian 12's packages, everything Gantry's build and tests need.
# Idempotent: when every package is already present it only runs dpkg-query.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git clang-format
  # libraries named in shared/DESIGN.md
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev
  libabsl-dev nlohmann-json3-dev libboost-dev libssl-dev libseccomp-dev
  libsqlite3-dev libarchive-dev libcap-dev libnl-route-3-dev libmnl-dev
  libnftables-dev libcli11-dev libspdlog-dev catch2
  # test fixtures, peers and tools the tests drive
  busybox-static docker-registry skopeo runc docker.io iproute2 iptables nftables
  # registry tests: certificates (openssl CLI), bcrypt htpasswd entries (libcrypt)
  openssl libcrypt-dev
  util-linux procps kmod
  # network tests: curl to published ports; the network benchmark's iperf3
  curl iperf3
  # docker run --init: tini's static binary, mounted into containers
  tini
  # the docker SDK test (Debian's, run with /usr/bin/python3)
  python3-docker
  # gantry -H ssh://: a private sshd on 127.0.0.1 and the ssh client
  openssh-server openssh-client
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Services such as docker-registry must not be started by their postinst:
# tests start their own instances on private ports.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  created_policy=1
fi
trap '[[ $created_policy == 1 ]] && rm -f "$policy"' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
