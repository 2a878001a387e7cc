#!/usr/bin/env bash
# Interop, foundation level: the Linux kernel and pollux-server over net_tap.
# The tap's kernel side lives in a namespace this test creates (pollux runs inside it, so the
# tap is born there). Checked with real tools: ping gets echo replies, arping and the kernel's
# neighbour table resolve pollux's MAC, a TCP connect to a closed port is refused (our RST),
# and hostile frames from a raw socket are each counted and dropped while ping keeps working.
# Runs twice: with the device's checksum offloads, and with --no-offload (software paths).
#
# usage: tap_basics_test.sh PATH/TO/pollux-server
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
server=${1:?usage: $0 PATH/TO/pollux-server}
require_root_netns

ns=pxit$$
ifname=pxt$$
workdir=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill -INT "$pid" 2>/dev/null && sleep 0.5 && kill -KILL "$pid" 2>/dev/null
  ip netns del "$ns" 2>/dev/null
  rm -rf "$workdir"
}
trap cleanup EXIT

ours=10.201.0.2
kernel=10.201.0.1
ip netns add "$ns" || { echo "not ok - cannot create namespace"; exit 1; }
ip netns exec "$ns" ip link set lo up

run_once() {
  local label=$1; shift
  local log=$workdir/server-$label.log
  ip netns exec "$ns" timeout 120 "$server" --preset "tap:$ifname" -l 0 --log-level=4 -- \
    --ip $ours/24 --quiet "$@" >"$log" 2>&1 &
  pid=$!
  if ! wait_for "$log" '^ready' 30; then
    bad "[$label] pollux-server starts on net_tap"; cat "$log"; return
  fi
  ok "[$label] pollux-server starts on net_tap"
  local mac
  mac=$(sed -n 's/^port 0 (net_tap) \([0-9a-f:]*\):.*/\1/p' "$log")
  ip netns exec "$ns" ip addr add $kernel/24 dev "$ifname"
  ip netns exec "$ns" ip link set "$ifname" up

  check "[$label] kernel ping gets 5 echo replies" \
    bash -c "ip netns exec $ns ping -c 5 -i 0.2 -W 2 $ours | grep -q ' 5 received'"
  check "[$label] kernel neighbour table holds pollux's MAC $mac" \
    bash -c "ip netns exec $ns ip neigh show $ours | grep -qi 'lladdr $mac'"
  ip netns exec "$ns" ip neigh flush dev "$ifname"
  check "[$label] arping resolves pollux's MAC" \
    bash -c "ip netns exec $ns arping -c 2 -w 5 -I $ifname $ours | grep -qi '$mac'"
  check "[$label] TCP connect to a closed port is refused (RST)" \
    ip netns exec "$ns" python3 -c "
import socket, sys
s = socket.socket(); s.settimeout(5)
try:
    s.connect(('$ours', 8080))
except ConnectionRefusedError:
    sys.exit(0)
sys.exit(1)"

  local sent=$workdir/sent-$label.txt
  ip netns exec "$ns" python3 "$here/send_malformed.py" "$ifname" "$mac" $kernel $ours 20 >"$sent"
  check "[$label] ping still answered after the hostile burst" \
    bash -c "ip netns exec $ns ping -c 3 -i 0.2 -W 2 $ours | grep -q ' 3 received'"

  kill -INT "$pid"
  wait "$pid"
  local rc=$?
  pid=""
  check "[$label] pollux-server exits cleanly on SIGINT (rc=$rc)" test "$rc" -eq 0
  check "[$label] summary printed" grep -q '^summary:' "$log"
  while read -r kind n; do
    local got
    got=$(counter "$log" "$kind")
    check "[$label] $n hostile frames counted as $kind (got $got)" test "$got" -ge "$n"
  done <"$sent"
  check "[$label] echo replies counted" test "$(counter "$log" icmp_echo_replies_sent)" -ge 8
  check "[$label] RST counted" test "$(counter "$log" tcp_rst_sent)" -ge 1
  # The tap disappears with the process; a fresh one is made for the next round.
}

run_once offload
run_once software --no-offload
finish
