#!/usr/bin/env bash
# Installs what pollux needs from Debian 12's archive, idempotently: a second run installs
# nothing and finishes in a second. Optionally reserves hugepages.
#
#   scripts/setup.sh                 packages only
#   scripts/setup.sh --hugepages N   also reserve N 2 MB hugepages and mount hugetlbfs
set -euo pipefail

hugepages=""
while [ $# -gt 0 ]; do
  case "$1" in
    --hugepages) hugepages=${2:?--hugepages needs a count}; shift 2 ;;
    --hugepages=*) hugepages=${1#*=}; shift ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done
if [ -n "$hugepages" ] && ! [[ "$hugepages" =~ ^[0-9]+$ ]]; then
  echo "setup.sh: --hugepages takes a whole number, not '$hugepages'" >&2; exit 2
fi

# Build: compilers (clang 14 and its libFuzzer runtime for tests/fuzz), meson, DPDK 22.11, Boost.Intrusive, GoogleTest, Google Benchmark, CLI11 (the apps' options).
# Tests: the real peers the interop tests talk to, and the tools that set up namespaces;
# tshark reads captures, dpdk-dev has dpdk-dumpcap and dpdk-telemetry.py;
# python3-prometheus-client serves telemetry as Prometheus metrics (scripts/pollux_exporter.py),
# python3-matplotlib draws pollux-gen reports (scripts/plot_report.py).
packages=(
  g++ meson ninja-build pkg-config clang-14 libclang-rt-14-dev
  libdpdk-dev libnuma-dev libboost-dev libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev
  python3 iproute2 iputils-ping iputils-arping procps ethtool
  socat curl wrk netcat-openbsd iptables nginx-light hping3 tshark dpdk-dev
  python3-prometheus-client python3-matplotlib
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd=sudo
  echo "setup: installing ${missing[*]}"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ -n "$hugepages" ]; then
  echo "$hugepages" > /proc/sys/vm/nr_hugepages
  if ! mount | grep -q 'type hugetlbfs'; then
    mkdir -p /dev/hugepages
    mount -t hugetlbfs nodev /dev/hugepages
  fi
  echo "setup: $(grep HugePages_Free /proc/meminfo)"
fi
echo "setup: ok"
