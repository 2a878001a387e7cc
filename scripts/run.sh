#!/usr/bin/env bash
# README command 1: sets up a fresh machine, builds, and runs the main job.
#
# At this milestone the main job is pollux-server on a net_tap whose kernel side sits in a
# network namespace made for the run: the kernel pings it, resolves it with ARP, is refused
# on a closed TCP port, and pollux prints its counters. When the load generator lands this
# script runs pollux-gen against pollux-server over the in-memory link instead.
#
#   scripts/run.sh [--seconds N]     (needs root for the namespace and the tap)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=5
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=${2:?--seconds needs a value}; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --seconds takes a positive whole number" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (network namespace and tap)" >&2; exit 1; }

scripts/setup.sh
scripts/build.sh

ns=pollux-run$$
ifname=pxrun$$
log=$(mktemp)
pid=""
cleanup() {
  [ -n "$pid" ] && kill -INT "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  ip netns del "$ns" 2>/dev/null || true
  rm -f "$log"
}
trap cleanup EXIT
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" build/apps/pollux-server/pollux-server --preset "tap:$ifname" -l 0 \
  --log-level=4 -- --ip 10.200.0.2/24 --gw 10.200.0.1 >"$log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q '^ready' "$log" && break; sleep 0.1; done
grep -q '^ready' "$log" || { cat "$log"; echo "run.sh: pollux-server did not start" >&2; exit 1; }
ip netns exec "$ns" ip addr add 10.200.0.1/24 dev "$ifname"
ip netns exec "$ns" ip link set "$ifname" up
grep -E '^(port|address|gateway|tcp:)' "$log"

echo
echo "== kernel (10.200.0.1) -> pollux (10.200.0.2), for ${seconds}s"
ip netns exec "$ns" ping -c $((seconds * 5)) -i 0.2 -W 1 10.200.0.2 | tail -n 2
ip netns exec "$ns" ping -c 200 -i 0 -q -W 1 10.200.0.2 | tail -n 2 | sed 's/^/flood: /'
ip netns exec "$ns" arping -c 1 -w 2 -I "$ifname" 10.200.0.2 | grep -i reply || true
ip netns exec "$ns" python3 -c "
import socket
s = socket.socket(); s.settimeout(3)
try:
    s.connect(('10.200.0.2', 8080)); print('tcp 8080: connected')
except ConnectionRefusedError:
    print('tcp 8080: connection refused (pollux sent RST: no TCP engine yet)')
except OSError as e:
    print('tcp 8080:', e)"

kill -INT "$pid"
wait "$pid" || true
pid=""
echo
echo "== pollux-server counters"
sed -n '/^summary:/,$p' "$log"
