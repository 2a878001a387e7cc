#!/usr/bin/env bash
# Interop, multi-core (issue 6): pollux with four worker lcores on this two-core machine
# (--lcores '(0-4)@(0-1)': five lcores, the main one idle, four pollers sharing two CPUs),
# on devices whose queue choice is the kernel's, not the shard function's:
#   tap       net_tap with four queues (the kernel's tun picks a queue by its flow hash and
#             later follows the queue pollux answers on)
#   afpacket  net_af_packet with qpairs=4 over a veth pair (PACKET_FANOUT_HASH: the kernel's
#             flow hash picks the socket)
# (A last run over the in-memory link, whose queue pairing agrees with the shard function like
# a NIC programmed for RSS, must steer nothing at all.)
# Against each: Linux curl opens hundreds of short connections (Connection: close) and
# socat echoes several streams in parallel (sha256); pollux-gen, with four lcores opening
# connections, runs request/response against a kernel socat echo server. Every connection
# must work, nothing may be reset or refused, and the counters must show software steering at
# work: the mode line says "software", segments were steered (steered_out > 0), every one
# arrived (steered_in == steered_out, no drop_steer_ring_full), and the per-lcore lines
# show how they spread.
# usage: multicore_test.sh PATH/TO/pollux-server PATH/TO/pollux-gen
. "$(dirname "$0")/lib.sh"  # also: set -uo pipefail, $here
server=${1:?usage: $0 PATH/TO/pollux-server PATH/TO/pollux-gen}
gen=${2:?usage: $0 PATH/TO/pollux-server PATH/TO/pollux-gen}
interop_init socat curl sha256sum ethtool

lcores='(0-4)@(0-1)'
ns=prssk$$    # the kernel peer
pns=prssp$$   # pollux, for af_packet (its own end of the veth)
netns_add "$ns" || { echo "not ok - cannot create namespace"; exit 1; }
netns_add "$pns"
in_ns() { ip netns exec "$ns" "$@"; }

# start DEVICE LABEL MODE PORT: pollux-server with four lcores; sets $pid and $log.
start() {
  local device=$1 label=$2 mode=$3 port=$4 eal
  log=$workdir/$label.log
  if [ "$device" = tap ]; then
    eal=(--preset "tap:prsst$$")
    spawn "$log" ip netns exec "$ns" timeout 120 "$server" "${eal[@]}" --lcores "$lcores" \
      --log-level=4 -- --ip 10.209.0.2/24 --mode "$mode" --port "$port" --quiet
  else
    # afpacket:IF with four queue pairs: raw EAL arguments instead of the one-queue preset.
    eal=(--vdev="net_af_packet0,iface=prssa$$,qpairs=4" --no-pci --no-huge -m 1024 --no-shconf)
    spawn "$log" ip netns exec "$pns" timeout 120 "$server" "${eal[@]}" --lcores "$lcores" \
      --log-level=4 -- --ip 10.210.0.2/24 --mode "$mode" --port "$port" --quiet
  fi
  pid=$spawned
  wait_ready "$log"
}

# link_up DEVICE: the kernel side's address, then one ping through.
link_up() {
  local ip
  if [ "$1" = tap ]; then
    ip=10.209.0.2
    in_ns ip addr replace 10.209.0.1/24 dev prsst$$
    in_ns ip link set prsst$$ up
  else
    ip=10.210.0.2
  fi
  wait_ping "$ns" $ip
}

# check_steering LABEL LOG [SLACK]: the summary shows software steering at work and nothing
# lost. SLACK: steered segments that may still sit in a ring when the run is stopped (each
# lcore stops on its own; pollux-gen stops mid-traffic, a server may see a stray segment as
# it stops); they are freed at exit, not counted as received.
check_steering() {
  local label=$1 log=$2 slack=${3:-8} out in full rst
  out=$(counter "$log" steered_out)
  in=$(counter "$log" steered_in)
  full=$(counter "$log" drop_steer_ring_full)
  rst=$(counter "$log" tcp_rst_sent)
  check "[$label] mode line: software steering" grep -q '^port 0 steering: software' "$log"
  check "[$label] segments were steered to their owner (steered_out $out)" test "$out" -gt 0
  check "[$label] every steered segment arrived (in $in, out $out, in flight at stop <= $slack, ring full $full)" \
    test "$in" -le "$out" -a $((out - in)) -le "$slack" -a "$full" -eq 0
  local before=$fails resets
  # A connection reset or timed out is a failure. A RST answering a stray segment after a
  # connection ended is not: the kernel moves a flow between queues (tun automq follows the
  # queue pollux answers on, af_packet's fanout rolls over from a full socket), which can
  # reorder a few segments around the move; the count is shown.
  resets=$(counter "$log" app_resets_or_timeouts)
  check "[$label] no connection reset or timed out ($resets; RSTs sent to stray segments: $rst)" \
    test "$resets" -eq 0
  check "[$label] four per-lcore lines, each lcore steered or received something" \
    test "$(grep -cE '^lcore [0-9]+ queue [0-3]: .*steered_out [0-9]+ steered_in [0-9]+' "$log")" -eq 4
  grep -E '^port 0 steering|^lcore [0-9]+ queue' "$log" | sed 's/^/# /'
  [ "$fails" -eq "$before" ] || sed -n '/^summary:/,$p' "$log" | sed 's/^/# /'
}

# curl_many LABEL IP N: N sequential connections, each one request with Connection: close.
curl_many() {
  local label=$1 ip=$2 n=$3 urls codes
  urls=$(for i in $(seq "$n"); do printf 'http://%s:8080/%d ' "$ip" "$i"; done)
  # shellcheck disable=SC2086
  # (-o applies to the first URL only: the bodies go to the pipe, each code on its own line.)
  codes=$(in_ns timeout 60 curl -s -w '\n%{http_code}\n' -H 'Connection: close' $urls |
    grep -c '^200$')
  check "[$label] curl: $n connections, $codes answered 200" test "$codes" -eq "$n"
}

# echo_parallel LABEL IP K MB: K socat streams at once, each MB megabytes echoed intact.
echo_parallel() {
  local label=$1 ip=$2 k=$3 mb=$4 i good=0
  head -c $((mb * 1000 * 1000)) /dev/urandom >"$workdir/in"
  local want
  want=$(sha256sum <"$workdir/in" | cut -c1-64)
  local spids=()
  for i in $(seq "$k"); do
    in_ns timeout 60 socat -b 65536 -t 10 -T 30 - "TCP:$ip:7" <"$workdir/in" >"$workdir/out$i" &
    spids+=($!)
  done
  for p in "${spids[@]}"; do wait "$p"; done
  for i in $(seq "$k"); do
    [ "$(sha256sum <"$workdir/out$i" | cut -c1-64)" = "$want" ] && good=$((good + 1))
  done
  check "[$label] socat: $k parallel streams of $mb MB echoed intact ($good/$k)" test "$good" -eq "$k"
}

# gen_rps LABEL DEV-ARGS... : pollux-gen, four lcores each opening its share, against the
# kernel's socat echo on .1:7; zero errors and requests answered.
gen_rps() {
  local label=$1 netns=$2 ip=$3 dst=$4; shift 4
  local glog=$workdir/gen-$label.log
  ip netns exec "$netns" timeout 60 "$gen" "$@" --lcores "$lcores" --log-level=4 -- \
    --ip "$ip/24" --dst "$dst:7" --mode rps --connections 32 --duration 3 --delay 1 \
    --json "$workdir/gen-$label.json" >"$glog" 2>&1
  local rc=$?
  local errs reqs
  errs=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['totals']['errors']['total'])" \
    "$workdir/gen-$label.json" 2>/dev/null || echo x)
  reqs=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['totals']['requests'])" \
    "$workdir/gen-$label.json" 2>/dev/null || echo 0)
  check "[$label] pollux-gen rps from four lcores: rc $rc, $reqs requests, errors $errs" \
    test "$rc" -eq 0 -a "$errs" = 0 -a "$reqs" -gt 100
  check "[$label] pollux-gen opened connections from every lcore" \
    grep -q 'on 4 lcore(s)' "$glog"
  # The stack counters are in the JSON report: append them as "name value" lines.
  python3 -c "import json,sys; [print(k, v) for k, v in json.load(open(sys.argv[1]))['stack_counters'].items()]" \
    "$workdir/gen-$label.json" >>"$glog" 2>/dev/null
  check_steering "$label gen" "$glog" 256
}

# --- net_tap, four queues -------------------------------------------------------------------
if start tap tap-http http 8080 && link_up tap; then
  ok "[tap] pollux-server (http) up with four lcores"
  curl_many tap 10.209.0.2 400
  stop_pid "$pid"
  check_steering "tap http" "$log"
else
  bad "[tap] pollux-server (http) up with four lcores"
fi
if start tap tap-echo echo 7 && link_up tap; then
  echo_parallel tap 10.209.0.2 6 5
  stop_pid "$pid"
  check_steering "tap echo" "$log"
else
  bad "[tap] pollux-server (echo) up with four lcores"
fi

# --- net_af_packet, four queue pairs (kernel fanout) -----------------------------------------
veth_add "$pns" prssa$$ "$ns" prssk$$
# veth hands af_packet TCP segments whose checksum is still to be filled in (no virtio-net
# header says so): the kernel side computes its checksums itself.
in_ns ethtool -K prssk$$ tx off >/dev/null
in_ns ip addr add 10.210.0.1/24 dev prssk$$
if start afpacket af-http http 8080 && link_up afpacket; then
  ok "[afpacket] pollux-server (http) up with four queue pairs"
  curl_many afpacket 10.210.0.2 400
  stop_pid "$pid"
  check_steering "afpacket http" "$log"
else
  bad "[afpacket] pollux-server (http) up with four queue pairs"
fi
if start afpacket af-echo echo 7 && link_up afpacket; then
  echo_parallel afpacket 10.210.0.2 6 5
  stop_pid "$pid"
  check_steering "afpacket echo" "$log"
else
  bad "[afpacket] pollux-server (echo) up with four queue pairs"
fi

# --- pollux-gen active opens from four lcores against a kernel server ---------------------
in_ns sysctl -qw net.ipv4.ip_nonlocal_bind=1
spawn /dev/null ip netns exec "$ns" socat TCP-LISTEN:7,bind=10.209.0.1,fork,reuseaddr,backlog=1024 EXEC:cat
spawn /dev/null ip netns exec "$ns" socat TCP-LISTEN:7,bind=10.210.0.1,fork,reuseaddr,backlog=1024 EXEC:cat
# The tap appears when pollux-gen starts; the kernel side gets its address during --delay.
(for _ in $(seq 100); do
  in_ns ip link show prsst$$ >/dev/null 2>&1 && break
  sleep 0.05
done
in_ns ip addr replace 10.209.0.1/24 dev prsst$$
in_ns ip link set prsst$$ up) &
gen_rps tap-gen "$ns" 10.209.0.3 10.209.0.1 --preset "tap:prsst$$"
gen_rps af-gen "$pns" 10.210.0.3 10.210.0.1 \
  --vdev="net_af_packet0,iface=prssa$$,qpairs=4" --no-pci --no-huge -m 1024 --no-shconf

# --- queues that already match the shard function: no cross-lcore message at all ---------
# pollux-gen --local-server joins generator queue i to server queue i in memory; with
# ports chosen by the shard function, every reply comes back on the lcore that opened the
# connection, as with a NIC programmed for RSS: steered_out must stay 0 on every lcore.
llog=$workdir/gen-local.log
timeout 60 "$gen" --lcores "$lcores" --log-level=4 -- --mode cps --http --concurrency 64 \
  --duration 2 --quiet --local-server http --json "$workdir/gen-local.json" >"$llog" 2>&1
rc=$?
lsteer=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['stack_counters'].get('steered_out', 0))" \
  "$workdir/gen-local.json" 2>/dev/null || echo x)
lconns=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['totals']['established'])" \
  "$workdir/gen-local.json" 2>/dev/null || echo 0)
check "[local] in-memory link, two lcores a side: $lconns connections, steered_out $lsteer (rc $rc)" \
  test "$rc" -eq 0 -a "$lsteer" = 0 -a "$lconns" -gt 100
check "[local] both generator lcores opened connections and received without steering" \
  test "$(grep -cE '^lcore [0-9]+ queue [01]: queue_rx [1-9][0-9]* steered_out 0 steered_in 0' "$llog")" -eq 2
grep -E '^lcore [0-9]+ queue' "$llog" | sed 's/^/# /'

finish
