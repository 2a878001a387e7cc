#!/usr/bin/env bash
# net_af_packet over a veth pair, two defects a new user meets (issue 12):
#   queues     qpairs=2 with one worker lcore: the PMD opens both sockets at probe and the
#              kernel's fanout feeds both; pollux polls every queue the device has, so short
#              HTTP connections from the kernel peer (curl, one connection each) are all
#              served, whichever socket the fanout picks.
#   checksums  the peer's TX checksum offload left on: the veth hands af_packet segments whose
#              checksum is still to be filled in and every one fails verification; pollux
#              prints one line naming the fix (ethtool -K PEER tx off). With offload off, no
#              such line.
# usage: afpacket_queues_test.sh PATH/TO/pollux-server
. "$(dirname "$0")/lib.sh"  # also: set -uo pipefail, $here
server=${1:?usage: $0 PATH/TO/pollux-server}
require_root_netns

ns=pxqk$$     # the kernel peer
pns=pxqp$$    # pollux
peer=pxqk$$   # the kernel's end of the veth
ours_if=pxqa$$
ours=10.213.0.2 kernel=10.213.0.1
workdir=$(mktemp -d)
pid=""
stop_server() {
  [ -n "$pid" ] || return 0
  kill -INT "$pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  pid=""
}
cleanup() {
  stop_server
  ip netns del "$ns" 2>/dev/null
  ip netns del "$pns" 2>/dev/null
  rm -rf "$workdir"
}
trap cleanup EXIT

ip netns add "$ns" || { echo "not ok - cannot create namespace"; exit 1; }
ip netns add "$pns"
ip netns exec "$ns" ip link set lo up
ip link add "$ours_if" netns "$pns" type veth peer name "$peer" netns "$ns"
ip netns exec "$pns" ip link set "$ours_if" up
ip netns exec "$ns" ip addr add $kernel/24 dev "$peer"
ip netns exec "$ns" ip link set "$peer" up

# start LABEL QPAIRS LCORES: pollux-server (http) on our end of the veth.
start() {
  local label=$1 qpairs=$2 lcores=$3
  log=$workdir/$label.log
  ip netns exec "$pns" timeout 120 "$server" --lcores "$lcores" \
    --vdev="net_af_packet0,iface=$ours_if,qpairs=$qpairs" --no-pci --no-huge -m 1024 \
    --no-shconf --log-level=4 -- --ip $ours/24 --mode http --port 8080 --quiet >"$log" 2>&1 &
  pid=$!
  wait_for "$log" '^ready' 30 || { cat "$log"; return 1; }
  ip netns exec "$ns" ip neigh flush dev "$peer"
  for _ in $(seq 50); do ip netns exec "$ns" ping -c1 -W1 $ours >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

# --- checksums: the peer's TX offload on (the kernel's default for a veth) ---------------------
ip netns exec "$ns" ethtool -K "$peer" tx on >/dev/null
if start csum-partial 1 0; then
  ok "[checksums] pollux-server up on af_packet, peer tx offload on"
  # A few connection attempts: every SYN arrives with its checksum unfinished.
  for _ in 1 2 3 4 5 6; do
    ip netns exec "$ns" curl -s -o /dev/null --max-time 4 "http://$ours:8080/" &
  done
  wait_for "$log" 'ethtool -K PEER tx off' 15
  check "[checksums] one line says what to run (ethtool -K PEER tx off)" \
    test "$(grep -c 'ethtool -K PEER tx off' "$log")" -eq 1
  wait
  stop_server
  check "[checksums] the segments were counted as bad checksums" \
    test "$(counter "$log" drop_tcp_bad_checksum)" -ge 8
else
  bad "[checksums] pollux-server up on af_packet, peer tx offload on"
  stop_server
fi

ip netns exec "$ns" ethtool -K "$peer" tx off >/dev/null

# --- queues: more queue pairs than worker lcores --------------------------------------------
# qpairs=2 with one worker (the issue's case), and qpairs=3 with two workers (worker 0 polls
# queues 0 and 2; software steering takes each segment to its owner).
for cfg in "2 0-1 1" "3 (0-2)@(0-1) 2"; do
  read -r qpairs lcores workers <<<"$cfg"
  label="queues $qpairs/$workers"
  if start "q$qpairs" "$qpairs" "$lcores"; then
    ok "[$label] pollux-server up with qpairs=$qpairs and $workers worker lcore(s)"
    check "[$label] start-up says every queue is polled" \
      grep -q "opened $qpairs at probe for $workers worker lcore(s); every queue is polled" "$log"
    # 60 connections, each from a new source port: the fanout hash spreads them over every
    # socket.
    served=0
    for _ in $(seq 60); do
      code=$(ip netns exec "$ns" curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
        "http://$ours:8080/")
      [ "$code" = 200 ] && served=$((served + 1))
    done
    check "[$label] every connection is served (got $served of 60)" test "$served" -eq 60
    check "[$label] no checksum hint with offload off" bash -c "! grep -q 'ethtool -K PEER' '$log'"
    stop_server
    grep -E '^lcore|^port' "$log" | sed 's/^/# /'
  else
    bad "[$label] pollux-server up with qpairs=$qpairs and $workers worker lcore(s)"
    cat "$log"
    stop_server
  fi
done

# --- link down (issue 15 item 5): the kernel end of the veth down, so ours has no carrier ------
# pollux starts anyway and says in one line under the port line what is wrong and what to check.
ip netns exec "$ns" ip link set "$peer" down
log=$workdir/linkdown.log
ip netns exec "$pns" timeout 60 "$server" -l 0 --vdev="net_af_packet0,iface=$ours_if" --no-pci \
  --no-huge -m 1024 --no-shconf --log-level=4 -- --ip $ours/24 --mode http --duration 1 \
  --quiet >"$log" 2>&1
rc=$?
grep '^port' "$log" | sed 's/^/# /'
check "[link down] pollux-server runs and exits 0 (rc=$rc)" test $rc -eq 0
check "[link down] one line says the link is down and names the interface and the fix" \
  test "$(grep -c "^port 0 link: down (kernel interface $ours_if is [a-z]*down).*ip link set PEER up" "$log")" -eq 1
ip netns exec "$ns" ip link set "$peer" up
check "[link down] no such line while the link was up" bash -c "! grep -q 'link: down' '$workdir'/q2.log"

finish
