#!/usr/bin/env bash
# Interop, IPv6 on several lcores and pollux-server over both families (issue 16), with the
# kernel as the peer over a tap in a namespace this test creates. pollux runs four worker
# lcores on the two cores (net_tap with four queues: the kernel's tun picks a queue by its own
# flow hash, so software steering moves each segment to the lcore that owns its connection,
# for IPv6 by the IPv6/TCP Toeplitz hash).
#  1. pollux-server with --ip 10.212.0.2/24 --ip fd00:212::2/64 and no option naming a family:
#     IPv6 traffic only, curl -6 (200 sequential connections, Connection: close) all 200 and
#     wrk -c 32 for 3 s (requests flow, no socket errors, no non-2xx); IPv6 segments were
#     steered at receive (steered_out > 0) and none was passed on by tcp6_input after its
#     parse (ipv6_tcp_passed_to_owner 0: before, every misdelivered one was), every steered
#     one arrived, nothing reset but wrk's connections at its stop.
#  2. The same server, both families on the one listener: curl -4 and curl -6 get 200; and a
#     server with only an IPv6 --ip serves curl -6.
#  3. pollux-gen opening from four lcores over IPv6 to a kernel socat echo: each lcore picks
#     ports whose replies hash back to it, the replies land on any queue and are steered
#     there; zero errors (before, a reply on another lcore met a RST).
# usage: server_ipv6_test.sh PATH/TO/pollux-server PATH/TO/pollux-gen
. "$(dirname "$0")/lib.sh"  # also: set -uo pipefail, $here
server=${1:?usage: $0 PATH/TO/pollux-server PATH/TO/pollux-gen}
gen=${2:?usage: $0 PATH/TO/pollux-server PATH/TO/pollux-gen}
interop_init curl wrk socat python3
netns_stop_signal=TERM  # the kernel-side socat

lcores='(0-4)@(0-1)'
ns=pxv6$$
tap=pxv6t$$
ip4=10.212.0.2
ip6=fd00:212::2
netns_add "$ns"
in_ns() { ip netns exec "$ns" "$@"; }
ping6_up() {
  for _ in $(seq 50); do in_ns ping -6 -c1 -W1 "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}
curl_n() {  # curl_n FAMILY HOST N: N sequential connections; prints how many got 200
  local urls
  urls=$(for i in $(seq "$3"); do printf 'http://%s:8080/%d ' "$2" "$i"; done)
  # shellcheck disable=SC2086
  in_ns timeout 60 curl -"$1" -g -s -w '\n%{http_code}\n' -H 'Connection: close' $urls |
    grep -c '^200$'
}
# server_up LABEL [v6only]: pollux-server with both addresses (or only the IPv6 one) on a
# fresh tap; sets $srv and $log.
server_up() {
  log=$workdir/$1.log
  local ips=(--ip $ip4/24 --ip $ip6/64)
  [ "${2:-}" = v6only ] && ips=(--ip $ip6/64)
  spawn "$log" ip netns exec "$ns" timeout 120 "$server" --preset "tap:$tap" --lcores "$lcores" \
    --log-level=4 -- "${ips[@]}" --mode http --port 8080 --quiet
  srv=$spawned
  wait_ready "$log" && tap_up "$ns" "$tap" 10.212.0.1/24 &&
    in_ns ip -6 addr add fd00:212::1/64 dev "$tap" nodad &&
    { [ "${2:-}" = v6only ] || wait_ping "$ns" $ip4; } && ping6_up $ip6
}

# 1. IPv6 only, on four lcores.
if server_up v6; then
  ok "[v6] pollux-server up with an IPv4 and an IPv6 address, four lcores"
  codes=$(curl_n 6 "[$ip6]" 200)
  check "[v6] curl -6: 200 connections, $codes answered 200" test "$codes" -eq 200
  in_ns timeout 30 wrk -t 2 -c 32 -d 3 "http://[$ip6]:8080/" >"$workdir/wrk.out" 2>&1
  sed 's/^/# wrk: /' "$workdir/wrk.out"
  rps=$(awk '/^Requests\/sec:/ { printf "%d", $2 }' "$workdir/wrk.out")
  check "[v6] wrk: requests flow (${rps:-0}/s > 100)" test "${rps:-0}" -gt 100
  check "[v6] wrk: no socket errors" bash -c "! grep -q 'Socket errors' '$workdir/wrk.out'"
  check "[v6] wrk: no non-2xx answers" bash -c "! grep -q 'Non-2xx' '$workdir/wrk.out'"
  stop_pid "$srv"
  out=$(counter "$log" steered_out)
  in=$(counter "$log" steered_in)
  full=$(counter "$log" drop_steer_ring_full)
  check "[v6] IPv6 segments were steered to their owner (steered_out $out)" test "$out" -gt 0
  late=$(counter "$log" ipv6_tcp_passed_to_owner)
  check "[v6] steered at receive, none passed on after parsing (ipv6_tcp_passed_to_owner $late)" \
    test "$late" -eq 0
  check "[v6] every steered segment arrived (in $in, out $out, ring full $full)" \
    test "$in" -le "$out" -a $((out - in)) -le 8 -a "$full" -eq 0
  # wrk stops with requests in flight: the kernel resets those of its 32 connections that
  # have an answer unread (RFC 2525 2.17), so at most 32 resets are wrk's; none may time out.
  resets=$(counter "$log" app_resets_or_timeouts)
  check "[v6] no connection reset or timed out beyond wrk's 32 at its stop ($resets)" \
    test "$resets" -le 32
  opens=$(counter "$log" tcp_passive_opens)
  check "[v6] passive opens over IPv6 ($opens >= 232: 200 curl, 32 wrk)" test "$opens" -ge 232
  grep -E '^port 0 steering|^lcore [0-9]+ queue' "$log" | sed 's/^/# /'
else
  bad "[v6] pollux-server up with an IPv4 and an IPv6 address, four lcores"
  stop_pid "$srv"
fi

# 2. Both families on the one listener.
if server_up both; then
  for fam in 4 6; do
    if [ $fam = 4 ]; then host=$ip4; else host="[$ip6]"; fi
    codes=$(curl_n $fam "$host" 50)
    check "[both] curl -$fam: 50 connections, $codes answered 200" test "$codes" -eq 50
  done
  stop_pid "$srv"
  check "[both] no connection reset or timed out" \
    test "$(counter "$log" app_resets_or_timeouts)" -eq 0
else
  bad "[both] pollux-server up"
  stop_pid "$srv"
fi

# An IPv6-only server (no IPv4 --ip at all).
if server_up v6only v6only; then
  codes=$(curl_n 6 "[$ip6]" 50)
  check "[v6only] curl -6 to a server with only an IPv6 address: $codes/50 answered 200" \
    test "$codes" -eq 50
  stop_pid "$srv"
else
  bad "[v6only] pollux-server up with only --ip $ip6/64"
  stop_pid "$srv"
fi

# 3. pollux-gen, four lcores opening over IPv6, against the kernel's socat echo.
in_ns sysctl -qw net.ipv6.ip_nonlocal_bind=1
spawn /dev/null ip netns exec "$ns" socat "TCP6-LISTEN:7,bind=[fd00:212::1],fork,reuseaddr,backlog=1024" EXEC:cat
glog=$workdir/gen.log
in_ns timeout 60 "$gen" --preset "tap:$tap" --lcores "$lcores" --log-level=4 -- \
  --ip 10.212.0.3/24 --ip fd00:212::3/64 --dst "[fd00:212::1]:7" --mode rps --connections 32 \
  --duration 3 --delay 1 --json "$workdir/gen.json" >"$glog" 2>&1 &
gpid=$!
wait_for "$glog" '^ready' 30 && tap_up "$ns" "$tap" 10.212.0.1/24 &&
  in_ns ip -6 addr add fd00:212::1/64 dev "$tap" nodad
wait $gpid
rc=$?
read -r errs reqs steered family < <(python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
print(d['totals']['errors']['total'], d['totals']['requests'],
      d['stack_counters'].get('steered_out', 0), d['config']['family'])" "$workdir/gen.json" 2>/dev/null ||
  echo x 0 0 x)
check "[gen] pollux-gen rps over IPv6 from four lcores: rc $rc, $reqs requests, errors $errs" \
  test "$rc" -eq 0 -a "$errs" = 0 -a "$reqs" -gt 100
check "[gen] opened from every lcore, the report says ipv6 ($family)" \
  bash -c "grep -q 'on 4 lcore(s)' '$glog' && test '$family' = ipv6"
check "[gen] replies were steered to the opening lcore (steered_out $steered)" test "$steered" -gt 0
late=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['stack_counters'].get('ipv6_tcp_passed_to_owner', 0))" "$workdir/gen.json" 2>/dev/null || echo x)
check "[gen] none passed on after parsing (ipv6_tcp_passed_to_owner $late)" test "$late" = 0
finish
