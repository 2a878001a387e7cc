#!/usr/bin/env bash
# pollux-gen against pollux-server, two processes, each on its own net_tap; the two taps are
# ports of a Linux bridge in a namespace the test creates, so every frame crosses the
# kernel. Raw echo (rps, cps, bulk both ways) and HTTP (rps, cps) for a few seconds each: non-zero
# rates, zero errors, zero bad responses, a report that passes the schema, and the server's
# own count of requests agrees with the generator's.
# usage: gen_server_tap_test.sh PATH/TO/pollux-gen PATH/TO/pollux-server [SECONDS]
. "$(dirname "$0")/lib.sh"  # also: set -uo pipefail, $here
gen=${1:?usage: $0 PATH/TO/pollux-gen PATH/TO/pollux-server [SECONDS]}
server=${2:?usage: $0 PATH/TO/pollux-gen PATH/TO/pollux-server [SECONDS]}
secs=${3:-2}
interop_init

ns=pxgs$$
netns_add "$ns"
in_ns() { ip netns exec "$ns" "$@"; }
in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1
in_ns ip link add br0 type bridge
in_ns ip link set br0 up

# attach TAP: make a fresh tap a port of the bridge. net_tap gives the kernel side of the
# tap the same MAC as the DPDK port, and a bridge delivers frames for its ports' own MACs to
# itself instead of forwarding them: the kernel side gets a MAC of its own first.
macs=0
attach() {
  macs=$((macs + 1))
  in_ns ip link set "$1" address "02:00:5e:10:00:$(printf %02x $macs)"
  in_ns ip link set "$1" master br0
  in_ns ip link set "$1" up
}

# start_server MODE: pollux-server on tap pxs$$ (CPU 1).
start_server() {
  local log=$workdir/server-$1.log
  spawn "$log" ip netns exec "$ns" timeout 120 "$server" --preset "tap:pxs$$" -l 1 \
    --log-level=4 -- --ip 10.212.0.1/24 --port 8080 --mode "$1" --quiet
  spid=$spawned
  wait_ready "$log" && attach "pxs$$"
}
stop_server() {
  stop_pid "$spid"
  spid=""
}

runs=0
# Four source addresses per run: one address gives 28,232 ephemeral ports, each reusable a
# second after its TIME-WAIT began (RFC 6191 with timestamps), so one address sustains about
# 28k connections/s, and cps over a polling tap on a quiet machine runs faster than that (54k/s
# seen). Past it connect() finds no port, which pollux-gen counts as a local error.
run_gen() {  # run_gen NAME ARGS...: pollux-gen on tap pxg$$ (CPU 0)
  local name=$1; shift
  local log=$workdir/$name.log
  runs=$((runs + 1))
  in_ns timeout $((secs + 30)) "$gen" --preset "tap:pxg$$" -l 0 --log-level=4 -- \
    --ip 10.212.0.$((runs + 1))/24 --ip 10.212.0.$((runs + 101))/24 \
    --ip 10.212.0.$((runs + 151))/24 --ip 10.212.0.$((runs + 201))/24 --dst 10.212.0.1:8080 \
    --delay 1 --duration "$secs" --quiet \
    --json "$workdir/$name.json" "$@" >"$log" 2>&1 &
  local p=$!
  wait_for "$log" '^ready' 30 && attach "pxg$$"
  wait $p
  local rc=$?
  grep -E '^  (connections|requests|bytes|errors)' "$log" | sed "s/^/# $name: /"
  check "[$name] exits 0 (rc=$rc)" test $rc -eq 0
  check "[$name] report matches the schema" python3 "$here/gen_report_schema.py" "$workdir/$name.json"
}
clean() { jcheck "$1" "zero errors, zero bad responses" "e['total'] == 0 and e['bad_response'] == 0"; }

start_server echo
run_gen rps-raw --mode rps --connections 8 --req-size 200
jcheck rps-raw "requests per second > 500" "t['req_per_s'] > 500"
clean rps-raw
run_gen cps-raw --mode cps --concurrency 8
jcheck cps-raw "connections per second > 200" "t['conn_per_s'] > 200"
clean cps-raw
run_gen bulk-both --mode bulk --connections 2 --direction both
jcheck bulk-both "goodput both ways" "t['rx_gbps'] > 0.01 and t['tx_gbps'] > 0.01"
clean bulk-both
stop_server

start_server http
run_gen rps-http --mode rps --http --connections 8
jcheck rps-http "keep-alive requests > 500/s, no reconnects" \
  "t['req_per_s'] > 500 and t['reconnects'] == 0"
clean rps-http
run_gen cps-http --mode cps --http --concurrency 8
jcheck cps-http "HTTP connections per second > 200" "t['conn_per_s'] > 200"
clean cps-http
stop_server
# The server answered exactly the requests the generator counted as good (plus those still
# in flight when the generator stopped: at most one per connection).
served=$(awk '$1 == "app_requests" {print $2}' "$workdir/server-http.log")
counted=$(python3 -c "
import json
print(sum(json.load(open('$workdir/' + n + '.json'))['totals']['requests'] for n in ('rps-http', 'cps-http')))")
check "the server's request count ($served) matches the generators' ($counted, +16 in flight)" \
  test "${served:-0}" -ge "$counted" -a "${served:-0}" -le $((counted + 16))
finish
