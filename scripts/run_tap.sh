#!/usr/bin/env bash
# The Linux kernel talks to pollux: pollux-server (HTTP mode) on a net_tap whose kernel side
# sits in a network namespace made for the run; the kernel pings it, fetches a page with
# curl, and loads it with wrk; pollux prints its counters. (scripts/run.sh --tap runs this
# after the main job.)
#
#   scripts/run_tap.sh [--seconds N]     (needs root for the namespace and the tap)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=5
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=${2:?--seconds needs a value}; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "run_tap.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "run_tap.sh: --seconds takes a positive whole number" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "run_tap.sh: needs root (network namespace and tap)" >&2; exit 1; }

[ -x build/apps/pollux-server/pollux-server ] || { scripts/setup.sh && scripts/build.sh; }

. scripts/lib/netns.sh
ns=pollux-run$$
ifname=pxrun$$
netns_init
log=$workdir/server.log
netns_add "$ns"
spawn "$log" ip netns exec "$ns" build/apps/pollux-server/pollux-server --preset "tap:$ifname" \
  -l 0 --log-level=4 -- --ip 10.200.0.2/24 --gw 10.200.0.1 --mode http --port 80 \
  --http-body 1024 --quiet
pid=$spawned
wait_ready "$log" 10 || { echo "run_tap.sh: pollux-server did not start" >&2; exit 1; }
tap_up "$ns" "$ifname" 10.200.0.1/24
grep -E '^(port|address|gateway|tcp:)' "$log"

echo
echo "== kernel (10.200.0.1) -> pollux (10.200.0.2), for ${seconds}s"
ip netns exec "$ns" ping -c $((seconds * 5)) -i 0.2 -W 1 10.200.0.2 | tail -n 2
ip netns exec "$ns" ping -c 200 -i 0 -q -W 1 10.200.0.2 | tail -n 2 | sed 's/^/flood: /'
ip netns exec "$ns" arping -c 1 -w 2 -I "$ifname" 10.200.0.2 | grep -i reply || true
echo
echo "== curl http://10.200.0.2/"
ip netns exec "$ns" curl -s -i --max-time 5 http://10.200.0.2/ | head -n 6
echo
echo "== wrk (Linux client, 1 thread, 32 connections, ${seconds}s) -> pollux-server"
ip netns exec "$ns" wrk -t1 -c32 -d"${seconds}s" http://10.200.0.2/ |
  grep -E 'Latency|Req/Sec|requests in|Requests/sec|errors'

stop_pid "$pid"
echo
echo "== pollux-server counters"
sed -n '/^summary:/,$p' "$log"
