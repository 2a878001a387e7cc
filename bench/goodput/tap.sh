#!/usr/bin/env bash
# Goodput vs random loss (0, 0.1, 1, 3%) between pollux and the Linux kernel over net_tap, in
# a network namespace made for the run. A bench, not a test: it prints markdown table rows and
# asserts nothing but that every run moved data.
#
#   pollux sends:  pollux-server --mode source (--cc newreno|cubic, SACK on/off) -> a kernel
#                  socket that reads for SECONDS (bench/goodput/tap_peer.py recv); goodput is
#                  what the kernel read. The kernel's SACK stays on: pollux --no-sack decides.
#   Linux sends:   a kernel socket writes for SECONDS (tap_peer.py send; TCP_CONGESTION
#                  cubic|reno on the socket, net.ipv4.tcp_sack 1|0 in the namespace) ->
#                  pollux-server --mode discard (CUBIC, SACK, timestamps);
#                  goodput is what pollux acknowledged (tcpi_bytes_acked).
# Path: Linux endpoint namespace -- veth -- router namespace -- net_tap -- pollux. Loss:
# iptables `statistic --mode random` in the router's FORWARD chain drops that fraction of the
# TCP segments each way (data one way, ACKs the other). GSO/TSO/GRO are off on the path so
# that a dropped packet is one segment, not a 64 KB aggregate. There is no added delay or
# rate limit (this kernel has no netem): the RTT is the path's (about 0.1 ms) and the rate
# whatever two shared cores give; see GOODPUT.md.
#
#   bench/goodput/tap.sh [BUILD_DIR] [SECONDS]   (root; default build, 5 s per run)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
secs=${2:-5}
server="$build/apps/pollux-server/pollux-server"
peer="$here/tap_peer.py"
[ -x "$server" ] || { echo "no $server: build first (ninja -C $build)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "tap.sh: needs root (namespace, tap, iptables)" >&2; exit 2; }

ns=pxgood$$      # the router: pollux's tap and one end of a veth; drops happen here
lns=pxgoodl$$    # the Linux endpoint: the other end of the veth
ifname=pxg$$
ip_pollux=10.231.0.2
ip_linux=10.231.1.2
. "$here/../../scripts/lib/netns.sh"
netns_init
spid=""
trap 'exit 130' INT TERM
in_ns() { ip netns exec "$ns" "$@"; }
in_lns() { ip netns exec "$lns" "$@"; }
# Why a router: iptables drops on the endpoint's own OUTPUT chain are not network loss, the
# kernel sees the local failure and resends without counting a retransmission (measured:
# 3% "loss" left Linux's goodput unchanged, with zero retransmissions). Dropped while
# forwarded, a segment is lost as on a real path, in both directions alike.
netns_add "$ns"
netns_add "$lns"
veth_add "$ns" vr$$ "$lns" vl$$ "${ip_linux%.*}.1/24" "$ip_linux/24"
# One segment per packet on the wire: no TSO/GSO on the sender's veth, no GRO where the
# router receives, so a drop loses one segment, not a 64 KB aggregate.
no_offloads "$ns" vr$$
no_offloads "$lns" vl$$
in_lns ip route add "${ip_pollux%.*}.0/24" via "${ip_linux%.*}.1"
in_ns sysctl -qw net.ipv4.ip_forward=1
# The Linux endpoint: SACK and timestamps on. Its congestion control is chosen per socket
# (tap_peer.py sets TCP_CONGESTION): a namespace may not make an algorithm its default unless
# the host allows it (this host's default is BBR and allows only reno and bbr).
in_lns sysctl -qw net.ipv4.tcp_sack=1 net.ipv4.tcp_timestamps=1

# start_server LABEL ARGS...: pollux-server on the tap (lcore 1), the router's side .1.
start_server() {
  local label=$1; shift
  slog=$workdir/server-$label.log
  spawn "$slog" ip netns exec "$ns" timeout 900 "$server" --preset "tap:$ifname" -l 1 \
    --log-level=4 -- --ip "$ip_pollux/24" --gw "${ip_pollux%.*}.1" --port 5001 --quiet \
    --conn-info "$@"
  spid=$spawned
  wait_ready "$slog" || exit 1
  no_offloads "$ns" "$ifname"
  tap_up "$ns" "$ifname" "${ip_pollux%.*}.1/24"
  wait_ping "$lns" "$ip_pollux" && return 0
  echo "tap.sh: pollux does not answer ping" >&2
  exit 1
}
stop_server() {
  stop_pid "$spid"
  spid=""
}

# set_loss PERCENT: the router drops that fraction of forwarded TCP segments, each direction.
# SYNs and RSTs pass, so that every run starts and ends alike (a lost RST would leave
# pollux's record of the connection to a timeout).
set_loss() {
  in_ns iptables -F
  [ "$1" = 0 ] && return
  local p
  p=$(awk -v x="$1" 'BEGIN { printf "%.4f", x / 100 }')
  in_ns iptables -A FORWARD -p tcp --tcp-flags SYN,RST NONE -m statistic --mode random \
    --probability "$p" -j DROP
}

# run ROLE LOSS SENDER VARIANT LINUX_CC: one timed transfer; prints a table row.
run() {
  local role=$1 loss=$2 sender=$3 variant=$4 lcc=$5 out
  set_loss "$loss"
  out=$(in_lns /usr/bin/python3 "$peer" "$role" "$ip_pollux" 5001 "$secs" "$lcc")
  in_ns iptables -F
  [ -n "$out" ] || { echo "tap.sh: $role run at $loss% produced nothing" >&2; return; }
  # pollux's record of the same connection (its --conn-info line, printed when it closed).
  local port line=""
  port=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["local_port"])' "$out")
  for _ in $(seq 50); do
    line=$(grep -F "conn-closed $ip_linux:$port " "$slog" | tail -n 1)
    [ -n "$line" ] && break
    sleep 0.1
  done
  /usr/bin/python3 - "$out" "$line" "$loss" "$sender" "$variant" <<'EOF'
import json, re, sys
r = json.loads(sys.argv[1]); line = sys.argv[2]; loss, sender, variant = sys.argv[3:6]
def field(name):
    m = re.search(r"\b%s (\d+)\b" % name, line)
    return int(m.group(1)) if m else -1
if not line or r["bytes"] <= 0:
    print(f"tap.sh: {sender} {variant} at {loss}%: no data or no pollux record", file=sys.stderr)
lx = r["linux"]
pollux_opts = "+".join(o for o in ("sack", "ts") if re.search(r"\b%s\b" % o, line)) or "-"
if sender == "pollux":
    retrans, rtos = field("retrans"), field("timeouts")
    recov = field("fast_recoveries")
else:
    retrans, rtos, recov = lx["retrans"], "", ""
print(f"| {loss}% | {sender} | {variant} | {r['mbps']:.1f} | {retrans} | {rtos} | {recov} | "
      f"{pollux_opts} | {lx['cc']} |")
EOF
}

echo "| loss | sender | variant | goodput Mbit/s | retransmits | RTOs | fast recoveries | options | linux cc |"
echo "| --- | --- | --- | ---: | ---: | ---: | ---: | --- | --- |"
losses=(0 0.1 1 3)
for cc in cubic newreno; do
  for sack in on off; do
    flags=(--mode source --cc "$cc")
    [ "$sack" = off ] && flags+=(--no-sack)
    start_server "$cc-$sack" "${flags[@]}"
    variant=$cc$([ "$sack" = on ] && echo +sack)
    for loss in "${losses[@]}"; do run recv "$loss" pollux "$variant" cubic; done
    stop_server
  done
done
start_server linux-senders --mode discard
for lcc in cubic reno; do
  for lsack in 1 0; do
    in_lns sysctl -qw net.ipv4.tcp_sack=$lsack
    variant=$lcc$([ "$lsack" = 1 ] && echo +sack)
    for loss in "${losses[@]}"; do run send "$loss" linux "$variant" "$lcc"; done
  done
done
stop_server
