#!/usr/bin/env bash
# Interop, static neighbour entries (issue 14 item 6): `--arp IP=MAC` gives pollux a peer's
# MAC that no ARP exchange can change. Proved against a kernel that cannot resolve at all:
# the kernel side of the tap runs with ARP off (it neither asks nor answers), and knows
# pollux's MAC from a permanent entry. Its pings are answered only if pollux sends the
# replies to the MAC it was given, without ever asking (arp_requests_sent stays 0); a
# second server without the static entry is the control: it asks, nobody answers, and its
# replies never leave (counted as unresolved).
# usage: static_arp_test.sh PATH/TO/pollux-server
. "$(dirname "$0")/lib.sh"  # also: set -uo pipefail, $here
server=${1:?usage: $0 PATH/TO/pollux-server}
interop_init

ns=pxsa$$
netns_add "$ns"
in_ns() { ip netns exec "$ns" "$@"; }
kernel_mac=02:00:5e:10:00:01

# run NAME IFACE IP [args]: pollux-server on its own tap, the kernel side with ARP off.
# Prints nothing; leaves $pid and $log.
run() {
  local name=$1 ifname=$2 ip=$3; shift 3
  log=$workdir/$name.log
  spawn "$log" ip netns exec "$ns" timeout 60 "$server" --preset "tap:$ifname" -l 0 --log-level=4 -- \
    --ip "$ip/24" --quiet "$@"
  pid=$spawned
  wait_ready "$log" || { bad "[$name] pollux-server starts"; return 1; }
  local mac
  mac=$(sed -n 's/^port 0 ([a-z_]*) \([0-9a-f:]*\):.*/\1/p' "$log")
  in_ns ip link set "$ifname" address $kernel_mac
  in_ns ip link set "$ifname" arp off
  in_ns ip addr add "${ip%.*}.1/24" dev "$ifname"
  in_ns ip link set "$ifname" up
  in_ns ip neigh replace "$ip" lladdr "$mac" dev "$ifname" nud permanent
}

stop() {
  kill -INT "$pid"
  wait "$pid"
  pid=""
}

if run static pxsa$$a 10.203.0.2 --arp 10.203.0.1=$kernel_mac; then
  # The tap needs a moment after it comes up; the first pings may be lost to that.
  wait_ping "$ns" 10.203.0.2
  check "[static] kernel with ARP off gets 3 of 3 echo replies" \
    bash -c "ip netns exec $ns ping -c 3 -i 0.2 -W 2 10.203.0.2 | grep -q ' 3 received'"
  stop
  check "[static] pollux answered from its static entry: no ARP request sent (got $(counter "$log" arp_requests_sent))" \
    test "$(counter "$log" arp_requests_sent)" -eq 0
  check "[static] echo replies counted" test "$(counter "$log" icmp_echo_replies_sent)" -ge 3
fi

if run control pxsa$$b 10.204.0.2; then
  check "[control] without the entry, the kernel's pings get no reply" \
    bash -c "! ip netns exec $ns ping -c 3 -i 0.2 -W 1 10.204.0.2 | grep -q ' [1-9][0-9]* received'"
  stop
  check "[control] pollux asked for the kernel's MAC (got $(counter "$log" arp_requests_sent))" \
    test "$(counter "$log" arp_requests_sent)" -ge 1
fi
finish
