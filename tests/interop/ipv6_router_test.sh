#!/usr/bin/env bash
# Interop, IPv6 through a Linux router (issue 16): pollux on a tap in namespace $rns, whose
# kernel forwards IPv6 (fd00:231::1 on the tap) to a host in $far (fd00:232::2) over a veth
# with an MTU of 1280 (IPv6's minimum, RFC 8200 5). The far host advertises MSS 1440, as a
# host on an Ethernet link beyond the narrow one would: the MSS says nothing of the path
# (RFC 8201 1), so pollux's first full-sized segments are too big for the router's far link
# and the router answers each with an ICMPv6 Packet Too Big of MTU 1280 (RFC 4443 3.2).
#   server  pollux-server --ip fd00:231::2/64 --gw fd00:231::1 (HTTP, 1 MB bodies), reached
#           by curl -6 from $far through the router: 20 connections all answered 200 with
#           the whole body; pollux counted the Packet Too Big messages and lowered its path
#           MTU (RFC 8201 4), each connection's MSS at close at most 1220 (1280 - 60);
#           the path MTU is kept for the far host's address (RFC 8201 5.2), so the
#           connections after the first start with MSS 1220: fewer Packet Too Big
#           messages than connections
#   gen     pollux-gen --gw fd00:231::1 to a socat echo in $far, bulk both ways: the
#           stream goes on through the narrow link after the Packet Too Big, zero errors
# Neither transfer can finish without PMTUD: the router drops every packet above 1280.
# usage: ipv6_router_test.sh PATH/TO/pollux-server PATH/TO/pollux-gen
. "$(dirname "$0")/lib.sh"  # also: set -uo pipefail, $here
server=${1:?usage: $0 PATH/TO/pollux-server PATH/TO/pollux-gen}
gen=${2:?usage: $0 PATH/TO/pollux-server PATH/TO/pollux-gen}
interop_init curl socat python3
netns_stop_signal=TERM  # the far socat

rns=pxr6$$   # the router: the tap's kernel side, forwarding IPv6
far=pxf6$$   # the far host behind the narrow link
tap=pxr6t$$
gw6=fd00:231::1
far6=fd00:232::2
netns_add "$rns"
netns_add "$far"
in_r() { ip netns exec "$rns" "$@"; }
in_far() { ip netns exec "$far" "$@"; }
veth_add "$rns" pxr6v$$ "$far" pxf6v$$
for n in "$rns:pxr6v$$" "$far:pxf6v$$"; do
  ip netns exec "${n%%:*}" ip link set "${n#*:}" mtu 1280
done
in_r ip -6 addr add fd00:232::1/64 dev pxr6v$$ nodad
in_far ip -6 addr add $far6/64 dev pxf6v$$ nodad
in_far ip -6 route add default via fd00:232::1 advmss 1440
in_r sysctl -qw net.ipv6.conf.all.forwarding=1
check "the far host's route advertises MSS 1440 over its 1280-byte link" \
  bash -c "ip netns exec $far ip -6 route show default | grep -q 'advmss 1440'"
spawn /dev/null ip netns exec "$far" socat "TCP6-LISTEN:7,bind=[$far6],fork,reuseaddr,backlog=64" EXEC:cat

# router_tap_up: the router's address on the tap pollux just created (a new tap every run).
router_tap_up() {
  in_r ip -6 addr add $gw6/64 dev "$tap" nodad && in_r ip link set "$tap" up
}

# 1. pollux-server behind the IPv6 gateway, curl -6 from the far host.
slog=$workdir/server.log
spawn "$slog" ip netns exec "$rns" timeout 120 "$server" --preset "tap:$tap" -l 0 \
  --log-level=4 -- --ip fd00:231::2/64 --gw $gw6 --mode http --http-body 1048576 --port 8080 \
  --conn-info --quiet
srv=$spawned
if wait_ready "$slog" && router_tap_up; then
  for _ in $(seq 50); do in_far ping -6 -c1 -W1 fd00:231::2 >/dev/null 2>&1 && break; sleep 0.1; done
  urls=$(for i in $(seq 20); do printf -- '-o /dev/null http://[fd00:231::2]:8080/%d ' "$i"; done)
  # shellcheck disable=SC2086
  in_far timeout 30 curl -6 -g -s -w '%{http_code} %{size_download}\n' \
    -H 'Connection: close' $urls >"$workdir/curl.out"
  full=$(grep -c '^200 1048576$' "$workdir/curl.out")
  check "[server] curl -6 through the router: 20 connections, $full answered 200 with 1 MiB" \
    test "$full" -eq 20
  sort "$workdir/curl.out" | uniq -c | head -n 3 | sed 's/^ */# curl: /'
else
  bad "[server] pollux-server up on the tap"
fi
stop_pid "$srv"
ptb=$(counter "$slog" icmpv6_packet_too_big_received)
upd=$(counter "$slog" tcp_pmtu_updates)
check "[server] the router's Packet Too Big messages arrived and lowered the path MTU (too big $ptb, updates $upd)" \
  test "$ptb" -gt 0 -a "$upd" -gt 0
mss=$(grep '^conn-closed ' "$slog" | awk '{ for (i = 1; i < NF; i++) if ($i == "mss") print $(i + 1) }' |
  sort -n | uniq -c | tr '\n' ' ')
max=$(grep '^conn-closed ' "$slog" | awk '{ for (i = 1; i < NF; i++) if ($i == "mss") print $(i + 1) }' |
  sort -n | tail -n 1)
n=$(grep -c '^conn-closed ' "$slog")
check "[server] each of the $n connections closed with an MSS of at most 1220 (count mss: $mss)" \
  test "$n" -ge 20 -a "${max:-9999}" -le 1220
check "[server] no connection reset or timed out" \
  test "$(counter "$slog" app_resets_or_timeouts)" -eq 0
# RFC 8201 5.2: the path MTU is kept per destination (tcp/path_mtu_cache.hpp). curl opens
# its 20 connections one after another: the first learns 1280 from the router, the others
# start with MSS 1220 and never send a packet the router refuses.
hits=$(counter "$slog" tcp_pmtu_cache_hits)
check "[server] the path MTU was learnt once for the far host: fewer Packet Too Big ($ptb) than connections ($n), $hits opened with the learnt MSS" \
  test "$ptb" -lt "$n" -a "$hits" -ge 19

# 2. pollux-gen through the same gateway, a bulk stream each way to the far echo.
glog=$workdir/gen.log
in_r timeout 30 "$gen" --preset "tap:$tap" -l 0 --log-level=4 -- --ip fd00:231::3/64 \
  --gw $gw6 --dst "[$far6]:7" --mode bulk --direction both --connections 2 --delay 1 \
  --duration 3 --quiet --json "$workdir/gen.json" >"$glog" 2>&1 &
gpid=$!
wait_for "$glog" '^ready' 30 && router_tap_up
wait $gpid
rc=$?
grep -E '^  (connections|bytes|errors|retrans)' "$glog" | sed 's/^/# gen: /'
check "[gen] exits 0 (rc=$rc)" test $rc -eq 0
name=gen
jcheck $name "bulk both ways through the narrow link, zero errors" \
  "t['rx_gbps'] > 0.001 and t['tx_gbps'] > 0.001 and e['total'] == 0 and d['config']['family'] == 'ipv6'"
gptb=$(python3 -c "import json, sys; c = json.load(open(sys.argv[1]))['stack_counters']; print(c.get('icmpv6_packet_too_big_received', 0), c.get('tcp_pmtu_updates', 0))" "$workdir/gen.json" 2>/dev/null)
jcheck $name "Packet Too Big received and the path MTU lowered (too big, updates: ${gptb:-none})" \
  "d['stack_counters'].get('icmpv6_packet_too_big_received', 0) > 0 and d['stack_counters'].get('tcp_pmtu_updates', 0) > 0"
finish
