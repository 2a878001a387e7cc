#!/usr/bin/env bash
# Interop, tail loss probe timing (issue 12 item 4): pollux sends lone segments to a Linux
# receiver that delays its ACKs, and must not probe them before the ACK can come.
#
# RFC 8985 7.2: with one segment in flight the probe timeout adds WCDelAckT, the receiver's
# worst-case delayed-ACK wait (RECOMMENDED 200 ms); pollux used to add 40 ms, which is only
# Linux's minimum, so a Linux receiver in delayed-ACK mode saw probes (spurious
# retransmissions) before its ACK left.
#
# The client is python in the tap's namespace. Each round: 25 back-to-back exchanges of 64
# bytes with pollux-server's echo (the kernel's ACK of each echo rides on the next request,
# so pollux's smoothed RTT stays below a millisecond), then one more whose echo (a lone
# segment from pollux) the kernel, with TCP_QUICKACK off, acknowledges only from its
# delayed-ACK timer: the client then stays quiet for 120 ms (less than its RTO, which would
# put the kernel back in quick-ACK mode). pollux's --conn-info line must show no
# retransmission, and its RTT variance the kernel's delay (the delayed ACKs' samples).
# For comparison (reported, not asserted: it depends on the kernel's timer) a second server
# runs with --tlp-wc-delack 40, the old value.
# usage: tlp_delack_test.sh PATH/TO/pollux-server [ROUNDS]
. "$(dirname "$0")/lib.sh"  # also: set -uo pipefail, $here
server=${1:?usage: $0 PATH/TO/pollux-server [ROUNDS]}
rounds=${2:-10}
interop_init python3

ns=pxtlp$$
netns_add "$ns"
in_ns() { ip netns exec "$ns" "$@"; }
in_ns sysctl -qw net.ipv4.tcp_sack=1 net.ipv4.tcp_timestamps=1


# start_server NAME IFACE IP [args]: a pollux-server echo on its own tap, kernel side .1
start_server() {
  local name=$1 ifname=$2 ip=$3; shift 3
  local log=$workdir/$name.log
  spawn "$log" ip netns exec "$ns" timeout 300 "$server" --preset "tap:$ifname" -l 0 \
    --log-level=4 -- --ip "$ip/24" --mode echo --port 7 --quiet --conn-info "$@"
  wait_ready "$log" || return 1
  tap_up "$ns" "$ifname" "${ip%.*}.1/24"
  wait_ping "$ns" "$ip"
}

cat >"$workdir/client.py" <<'EOF'
import socket, sys, time
ip, rounds = sys.argv[1], int(sys.argv[2])
s = socket.create_connection((ip, 7), timeout=5)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

def exchange():
    s.sendall(b"r" * 64)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 0)  # delay the echo's ACK
    got = b""
    while len(got) < 64:
        chunk = s.recv(64 - len(got))
        if not chunk:
            sys.exit("connection closed early")
        got += chunk
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 0)

for _ in range(rounds):
    # Back-to-back exchanges: each echo's ACK rides on the next request at once, so pollux's
    # RTT estimate stays sub-millisecond, as on a fast path...
    for _ in range(25):
        exchange()
    # ...then a last echo whose ACK only the kernel's delayed-ACK timer sends.
    exchange()
    time.sleep(0.12)
s.close()
EOF

# run LABEL NAME IFACE IP [args]: one connection of $rounds exchanges; sets $conn.
run() {
  local label=$1 name=$2 ifname=$3 ip=$4; shift 4
  conn=""
  if ! start_server "$name" "$ifname" "$ip" "$@"; then
    bad "[$label] echo server up"
    return
  fi
  in_ns timeout 60 python3 "$workdir/client.py" "$ip" "$rounds"
  check "[$label] $rounds request/echo rounds completed" test $? -eq 0
  for _ in $(seq 100); do
    conn=$(grep -m1 '^conn-closed ' "$workdir/$name.log")
    [ -n "$conn" ] && break
    sleep 0.1
  done
  echo "# [$label] pollux conn: ${conn:-none}"
}

run "WCDelAckT 200 ms (default)" d200 pxd$$ 10.205.0.2
rttvar=$(conn_field "$conn" rtt); rttvar=${rttvar#*/}
check "[default] the kernel delayed some ACKs (pollux's RTT variance ${rttvar:-?} us > 2 ms)" \
  test "${rttvar:-0}" -gt 2000
check "[default] no retransmission of the lone segments ($(conn_field "$conn" retrans) retransmitted)" \
  test "$(conn_field "$conn" retrans)" = 0

run "WCDelAckT 40 ms" d40 pxo$$ 10.206.0.2 --tlp-wc-delack 40
check "[40 ms] the banner names the non-default WCDelAckT" \
  grep -q ', tlp wc-delack 40 ms$' "$workdir/d40.log"
echo "# [40 ms, the old value] $(conn_field "$conn" retrans) of $rounds lone segments retransmitted before the kernel's delayed ACK"

for p in "${netns_pids[@]}"; do kill -INT "$p" 2>/dev/null; done
for p in "${netns_pids[@]}"; do wait "$p"; done
netns_pids=()
finish
