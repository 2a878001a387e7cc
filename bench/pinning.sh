#!/usr/bin/env bash
# Memory pinning bench (issue 14 item 2): legitimate short echo connections to pollux-server
# (--mode echo, on a tap) before, during and after an attack by many connections that never
# read (so the server's replies queue behind their zero window) and, once its send queue is
# full, send one-byte segments: the attack tests/fixture/memory_test.cpp plays in frames,
# played here by the kernel's sockets (bench/pinning.py). Prints the legitimate rate in each
# phase and the server's memory counters. A bench, not a test: it asserts nothing.
#
#   bench/pinning.sh [BUILD_DIR] [--seconds N] [--attackers N] [--rate N] [--mbufs N]
#
# --rate: the attackers' one-byte writes a second, all together (default 5000); --mbufs:
# the server's pool (default: its own).
#
# Everything runs in a namespace made here. Needs root and python3.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=../scripts/lib/netns.sh
. "$root/scripts/lib/netns.sh"

build=build-release  # scripts/build.sh release
secs=5
attackers=64
rate=5000
mbufs=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) secs=${2:?}; shift 2 ;;
    --attackers) attackers=${2:?}; shift 2 ;;
    --rate) rate=${2:?}; shift 2 ;;
    --mbufs) mbufs="--mbufs ${2:?}"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    -*) echo "pinning.sh: unknown option $1" >&2; exit 2 ;;
    *) build=$1; shift ;;
  esac
done
server="$root/$build/apps/pollux-server/pollux-server"
[ -x "$server" ] || { echo "pinning.sh: no $server (build first)" >&2; exit 2; }

netns_init
cns=pnc$$ tap=pxp$$
netns_add $cns
# One-byte writes leave as one-byte segments (no autocorking behind queued ones).
ip netns exec $cns sysctl -qw net.ipv4.tcp_autocorking=0 2>/dev/null || true
# Thousands of short legitimate connections a second leave their TIME-WAIT here, the client
# side: the whole port range, and reuse (timestamps), so that connect() never hunts for a port.
ip netns exec $cns sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1

# shellcheck disable=SC2086
spawn "$workdir/pollux.log" ip netns exec $cns "$server" --preset tap:$tap -l 0 -- \
  --ip 10.93.0.2/24 --mode echo --port 7 $mbufs
pollux_pid=$spawned
wait_ready "$workdir/pollux.log" || exit 1
tap_up $cns $tap 10.93.0.1/24
wait_ping $cns 10.93.0.2 || { echo "pinning.sh: pollux does not answer ping" >&2; exit 1; }

legit() { ip netns exec $cns python3 "$here/pinning.py" legit 10.93.0.2 7 "$secs" 4; }

echo "| phase | legit conn/s | legit errors |"
echo "| --- | ---: | ---: |"
row() { awk -v p="$1" '/^legit:/ {printf "| %s | %s | %s |\n", p, $2, $4}'; }
legit | row "no attack"
spawn "$workdir/attack.log" ip netns exec $cns python3 "$here/pinning.py" attack 10.93.0.2 7 \
  "$attackers" $((secs + 4)) "$rate"
attack_pid=$spawned
sleep 3  # the attackers connect and fill their send queues
legit | row "$attackers attackers"
wait "$attack_pid" 2>/dev/null
legit | row "after the attack"
legit | row "after the attack (2)"
stop_pid $pollux_pid
echo
sed 's/^/  /' "$workdir/attack.log"
echo "pollux counters (receive and send memory, pool):"
grep -E 'drop_tcp_rcv_memory|drop_tcp_ofo_pruned|tcp_rcv_collapsed|tcp_snd_memory_refused|rx_nombuf|drop_tcp_no_mbuf|drop_no_mbuf|tcp_passive_opens|tcp_user_timeouts' \
  "$workdir/pollux.log" | sed 's/^/  /'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
