#!/usr/bin/env bash
# Interop, foundation level: the Linux kernel and pollux-server over a virtual link.
#   tap:      pollux runs inside a namespace made for the test, so its net_tap is born there
#             and the kernel of that namespace is the peer.
#   afpacket: two namespaces joined by a veth pair; pollux binds net_af_packet to one end,
#             the kernel of the other namespace is the peer.
# Checked with real tools: ping gets echo replies, arping and the kernel's neighbour table
# resolve pollux's MAC, a TCP connect to a closed port is refused (our RST), and hostile
# frames from a raw socket are each counted and dropped while ping keeps working.
# Runs with the device's checksum offloads, with --no-offload (software paths), and for tap
# with two worker lcores on two queues.
#
# usage: link_basics_test.sh tap|afpacket PATH/TO/pollux-server
. "$(dirname "$0")/lib.sh"  # also: set -uo pipefail, $here
device=${1:?usage: $0 tap|afpacket PATH/TO/pollux-server}
server=${2:?usage: $0 tap|afpacket PATH/TO/pollux-server}
case "$device" in tap|afpacket) ;; *) echo "unknown device $device"; exit 2 ;; esac
interop_init

ns=pxk$$          # the kernel peer's namespace
pns=$ns           # pollux's namespace (a second one for afpacket)
ifname=pxt$$      # the interface the kernel peer uses

if [ "$device" = tap ]; then ours=10.201.0.2 kernel=10.201.0.1; else ours=10.202.0.2 kernel=10.202.0.1; fi
# IPv6 beside IPv4 (issue 16): neighbour discovery and echo.
if [ "$device" = tap ]; then ours6=fd00:201::2 kernel6=fd00:201::1; else ours6=fd00:202::2 kernel6=fd00:202::1; fi
netns_add "$ns" || { echo "not ok - cannot create namespace"; exit 1; }
preset="tap:$ifname"
if [ "$device" = afpacket ]; then
  pns=pxp$$
  netns_add "$pns"
  veth_add "$pns" pxa$$ "$ns" "$ifname"
  # The kernel hands veth frames to af_packet with the TCP checksum still to be filled in
  # (CHECKSUM_PARTIAL) and net_af_packet has no virtio-net header to say so: the sending
  # side must finish its checksums itself.
  ip netns exec "$ns" ethtool -K "$ifname" tx off >/dev/null
  preset="afpacket:pxa$$"
fi

run_once() {
  local label=$1 lcores=$2; shift 2
  local log=$workdir/server-$label.log
  spawn "$log" ip netns exec "$pns" timeout 120 "$server" --preset "$preset" --lcores "$lcores" \
    --log-level=4 -- --ip $ours/24 --ip $ours6/64 --mode http --quiet "$@"
  pid=$spawned
  if ! wait_for "$log" '^ready' 30; then
    bad "[$label] pollux-server starts on $device"; cat "$log"; return
  fi
  ok "[$label] pollux-server starts on $device"
  local mac
  mac=$(sed -n 's/^port 0 ([a-z_]*) \([0-9a-f:]*\):.*/\1/p' "$log")
  ip netns exec "$ns" ip addr replace $kernel/24 dev "$ifname"
  ip netns exec "$ns" ip link set "$ifname" up
  ip netns exec "$ns" ip neigh flush dev "$ifname"
  # The kernel side of a fresh link needs a moment (carrier, neighbour discovery); pollux is
  # judged once one ping has gone through.
  wait_ping "$ns" $ours

  check "[$label] kernel ping gets 5 echo replies" \
    bash -c "ip netns exec $ns ping -c 5 -i 0.2 -W 2 $ours | grep -q ' 5 received'"
  if [ "$device" = tap ]; then
    # RFC 1122 3.3.2: the kernel fragments the 4028-byte request, pollux reassembles it and
    # fragments its reply to the MTU. (Not on afpacket: its fanout's defrag flag makes the
    # kernel reassemble first, and the whole datagram does not fit net_af_packet's frames.)
    check "[$label] kernel ping -s 4000 -M dont (fragmented both ways) gets 3 echo replies" \
      bash -c "ip netns exec $ns ping -c 3 -i 0.2 -W 2 -s 4000 -M dont $ours | grep -q ' 3 received'"
  fi
  # IPv6: the kernel solicits pollux's address (RFC 4861), pollux advertises it, and pings
  # are answered.
  ip netns exec "$ns" ip -6 addr replace $kernel6/64 dev "$ifname" nodad
  check "[$label] kernel ping -6 gets 3 echo replies" \
    bash -c "ip netns exec $ns ping -6 -c 3 -i 0.2 -W 2 $ours6 | grep -q ' 3 received'"
  check "[$label] kernel IPv6 neighbour table holds pollux's MAC $mac" \
    bash -c "ip netns exec $ns ip -6 neigh show $ours6 | grep -qi 'lladdr $mac'"
  # TCP over IPv6 (issue 16): the kernel's curl -6 gets a page from the same listener that
  # serves IPv4, and a connect to a closed port is refused by our RST over IPv6.
  check "[$label] curl -6 gets HTTP 200 from pollux-server over IPv6" \
    bash -c "test \"\$(ip netns exec $ns curl -6 -s -o /dev/null -w '%{http_code}' --max-time 5 'http://[$ours6]:8080/')\" = 200"
  check "[$label] a TCP connect over IPv6 to a port with no listener is refused (RST)" \
    ip netns exec "$ns" python3 -c "
import socket, sys
s = socket.socket(socket.AF_INET6); s.settimeout(5)
try:
    s.connect(('$ours6', 1)); sys.exit(1)
except ConnectionRefusedError:
    sys.exit(0)"
  check "[$label] kernel neighbour table holds pollux's MAC $mac" \
    bash -c "ip netns exec $ns ip neigh show $ours | grep -qi 'lladdr $mac'"
  ip netns exec "$ns" ip neigh flush dev "$ifname"
  check "[$label] arping resolves pollux's MAC" \
    bash -c "ip netns exec $ns arping -c 2 -w 5 -I $ifname $ours | grep -qi '$mac'"
  # 16 connects from 16 source ports: with several queues they spread over all of them.
  check "[$label] 16 TCP connects to a port with no listener are all refused (RST)" \
    ip netns exec "$ns" python3 -c "
import socket, sys
refused = 0
for _ in range(16):
    s = socket.socket(); s.settimeout(5)
    try:
        s.connect(('$ours', 1))
    except ConnectionRefusedError:
        refused += 1
    except OSError as e:
        print('connect:', e)
    s.close()
sys.exit(0 if refused == 16 else 1)"

  if [ "$device" = tap ]; then
    # net_tap polls like every other device (drivers-glue/eal.cpp): it took no realtime
    # signal for its Rx trigger, so no frame costs a signal to a sleeping EAL thread. SigCgt
    # bits 33-63 are the realtime signals SIGRTMIN+1 (35) and up that have a handler.
    local child cgt
    child=$(pgrep -P "$pid" | head -1)
    cgt=$(sed -n 's/^SigCgt:[[:space:]]*//p' "/proc/$child/status" 2>/dev/null)
    check "[$label] net_tap catches no realtime signal (SigCgt ${cgt:-unreadable})" \
      test -n "$cgt" -a "$(( 0x${cgt:-0} >> 34 ))" -eq 0
  fi
  local sent=$workdir/sent-$label.txt
  ip netns exec "$ns" python3 "$here/send_malformed.py" "$ifname" "$mac" $kernel $ours 20 >"$sent"
  check "[$label] ping still answered after the hostile burst" \
    bash -c "ip netns exec $ns ping -c 3 -i 0.2 -W 2 $ours | grep -q ' 3 received'"

  kill -INT "$pid"
  wait "$pid"
  local rc=$?
  pid=""
  local fails_before=$fails
  check "[$label] pollux-server exits cleanly on SIGINT (rc=$rc)" test "$rc" -eq 0
  check "[$label] summary printed" grep -q '^summary:' "$log"
  while read -r kind n; do
    local got
    got=$(counter "$log" "$kind")
    if [ "$device" = afpacket ] && [ "$kind" = drop_ip_reasm_too_long ]; then
      # net_af_packet joins a fanout group with PACKET_FANOUT_FLAG_DEFRAG: the kernel
      # reassembles fragments before pollux sees them, and a lone first fragment never
      # completes. pollux must not see (or count) them at all.
      check "[$label] lone fragments are held by af_packet's defrag, never delivered (got $got)" test "$got" -eq 0
      continue
    fi
    check "[$label] $n hostile frames counted as $kind (got $got)" test "$got" -ge "$n"
  done <"$sent"
  check "[$label] echo replies counted" test "$(counter "$log" icmp_echo_replies_sent)" -ge 8
  check "[$label] RST counted" test "$(counter "$log" tcp_rst_sent)" -ge 16
  check "[$label] IPv6 echo replies counted" test "$(counter "$log" icmpv6_echo_replies_sent)" -ge 3
  check "[$label] neighbour solicitations answered" \
    test "$(counter "$log" nd_advertisements_sent)" -ge 1
  # RFC 4862 5.4: one probe per address (link-local and $ours6) before using them, no
  # duplicate on a link where only the kernel speaks.
  check "[$label] DAD probed pollux's two IPv6 addresses" \
    test "$(counter "$log" nd_dad_probes_sent)" -eq 2
  check "[$label] DAD found no duplicate" test "$(counter "$log" nd_dad_duplicate)" -eq 0
  # The solicited-node and all-nodes groups pass the device's multicast filter (a list, or
  # allmulti; af_packet has no filter to program).
  check "[$label] the port line says how IPv6 multicast gets in" \
    grep -Eq 'ipv6 multicast: (list of 3|allmulti|device filters none)' "$log"
  if [ "$device" = tap ]; then
    check "[$label] the tap takes the exact group list or allmulti" \
      grep -Eq 'ipv6 multicast: (list of 3|allmulti)' "$log"
  fi
  if [ "$lcores" != 0 ]; then
    check "[$label] engines shared what they learnt about neighbours" \
      test "$(counter "$log" neighbour_sync_received)" -ge 1
  fi
  if [ "$fails" -ne "$fails_before" ]; then echo "# server log:"; sed 's/^/#   /' "$log"; fi
  # A tap disappears with the process (a fresh one is made next round); a veth stays.
}

if [ "$device" = tap ]; then
  # A device that refuses the MTU asked for (a tap's frames stop at 1522 bytes): one line and
  # exit 1. It used to crash on the way out, freeing the pool after the EAL had stopped.
  mtu_log=$workdir/server-mtu.log
  ip netns exec "$pns" timeout 60 "$server" --preset "tap:${ifname}m" -l 0 --log-level=4 -- \
    --ip $ours/24 --mtu 9000 --duration 1 >"$mtu_log" 2>&1
  rc=$?
  check "a --mtu the tap cannot carry is refused with exit 1, no crash (rc=$rc)" test "$rc" -eq 1
  check "... saying why in one line" grep -q '^pollux-server: rte_eth_dev_set_mtu: ' "$mtu_log"
fi
run_once "$device-offload" 0
run_once "$device-software" 0 --no-offload
if [ "$device" = tap ]; then
  # Two worker lcores on two queues (three lcores on the machine's two cores): replies must
  # work whichever queue a packet lands on, which needs the neighbour sync between engines.
  run_once "$device-2queues" '(0-2)@(0-1)'
fi
finish
