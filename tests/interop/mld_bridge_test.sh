#!/usr/bin/env bash
# Interop, multicast listener reports (RFC 3810; RFC 4861 7.2.1, RFC 4862 5.4.2): a switch
# that snoops MLD forwards a group's frames only to the ports that reported it, so a node
# that never reports its solicited-node groups cannot be resolved over IPv6 behind one.
# The switch here is a Linux bridge with MLD snooping and its own querier; pollux-server
# sits on one of its ports through a veth (net_af_packet). The truth is the bridge's
# multicast database: it must list both of pollux's solicited-node groups (its link-local
# address's and fd00:2a3::2's) on pollux's port, learnt from pollux's own reports, and the
# bridge's queries must be answered. A kernel on the bridge then resolves and pings pollux.
# usage: mld_bridge_test.sh PATH/TO/pollux-server
. "$(dirname "$0")/lib.sh"  # also: set -uo pipefail, $here
server=${1:?usage: $0 PATH/TO/pollux-server}
interop_init

pns=pxmp$$ kns=pxmk$$
netns_add "$pns"
netns_add "$kns"
veth_add "$pns" pxma$$ "$kns" pxmb$$
in_k() { ip netns exec "$kns" "$@"; }
# The switch: snooping on, a querier that asks every 2 s and wants answers within 1 s (its
# intervals are in hundredths of a second). Queries need an IPv6 link-local source on it.
in_k ip link add br$$ type bridge mcast_snooping 1 mcast_querier 1 mcast_query_interval 200 \
  mcast_query_response_interval 100 mcast_startup_query_interval 100
in_k ip link set pxmb$$ master br$$
in_k ip link set br$$ up
in_k ip -6 addr add fd00:2a3::1/64 dev br$$ nodad
in_k ethtool -K pxmb$$ tx off >/dev/null  # af_packet sees no virtio header (link_basics)

log=$workdir/server.log
spawn "$log" ip netns exec "$pns" timeout 60 "$server" --preset "afpacket:pxma$$" -l 0 \
  --log-level=4 -- --ip 10.213.3.2/24 --ip fd00:2a3::2/64 --mode http --quiet
pid=$spawned
if ! wait_ready "$log"; then
  bad "pollux-server starts on a bridge port"
  finish
fi
ok "pollux-server starts on a bridge port"
mac=$(sed -n 's/^port 0 ([a-z_]*) \([0-9a-f:]*\):.*/\1/p' "$log")
# The solicited-node groups (RFC 4291 2.7.1): ff02::1:ff and the address's low 24 bits; the
# link-local address's low 24 bits are the MAC's last three bytes (modified EUI-64).
IFS=: read -r _ _ _ m4 m5 m6 <<<"$mac"
# The bridge prints groups in RFC 5952 form: no leading zeros in a group (06b1 -> 6b1).
ll_group=$(printf 'ff02::1:ff%s:%x' "$m4" "$((16#$m5$m6))")
ours_group="ff02::1:ff00:2"
mdb_has() { in_k bridge mdb show dev br$$ | grep -E "port pxmb$$ grp $1( |$)" >/dev/null; }
for _ in $(seq 50); do mdb_has "$ll_group" && mdb_has "$ours_group" && break; sleep 0.1; done
check "the bridge learnt pollux's link-local solicited-node group $ll_group on its port" \
  mdb_has "$ll_group"
check "the bridge learnt pollux's solicited-node group $ours_group on its port" mdb_has "$ours_group"
check "a kernel behind the snooping bridge resolves and pings pollux over IPv6" \
  bash -c "ip netns exec $kns ping -6 -c 3 -i 0.2 -W 2 fd00:2a3::2 | grep -q ' 3 received'"
sleep 3  # at least one of the querier's general queries, and its answer
stop_pid "$pid"
echo "# bridge mdb:"; in_k bridge mdb show dev br$$ | sed 's/^/#   /'
check "pollux answered the bridge's queries (queries $(counter "$log" mld_queries_received))" \
  test "$(counter "$log" mld_queries_received)" -ge 1
check "pollux sent its two joins and an answer (reports $(counter "$log" mld_reports_sent))" \
  test "$(counter "$log" mld_reports_sent)" -ge 3
# (The bridge's first query may leave before its own link-local address has: from ::, which
# RFC 3810 5.1.14 has a host discard, counted as drop_icmpv6_bad_mld.)
if [ "$fails" -ne 0 ]; then echo "# server log:"; sed 's/^/#   /' "$log"; fi
finish
