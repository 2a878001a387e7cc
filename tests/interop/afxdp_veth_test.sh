#!/usr/bin/env bash
# net_af_xdp over veth pairs (issue 13: pollux without a DPDK NIC, faster than af_packet).
# --preset afxdp:IF binds an AF_XDP socket to queue 0 of a veth end; the driver attaches its
# XDP program there (veth runs it natively) and detaches it at close.
#   kernel     Linux in one namespace, pollux-server in another, one veth pair:
#              socat sends 4 MB of random bytes to the echo server and gets them back
#              intact (sha256); curl gets a 100,000-byte HTTP body; with the kernel's TX
#              checksum offload on, every segment arrives unfinished (the XDP frame carries
#              no checksum state) and pollux prints the one line naming the fix; with the
#              kernel's end down, the one line saying the link is down.
#   pollux     pollux-gen and pollux-server on the two ends of one veth pair, both on
#              af_xdp: a bulk upload whose bytes the server counts (all of them but what was
#              still queued when the generator stopped: at most its 256 KiB send buffer),
#              and raw echo requests of 3000 bytes each answered in full.
# After every run the interface carries no XDP program any more.
# usage: afxdp_veth_test.sh PATH/TO/pollux-server PATH/TO/pollux-gen
. "$(dirname "$0")/lib.sh"  # also: set -uo pipefail, $here
server=${1:?usage: $0 PATH/TO/pollux-server PATH/TO/pollux-gen}
gen=${2:?usage: $0 PATH/TO/pollux-server PATH/TO/pollux-gen}
interop_init socat curl sha256sum ethtool

kns=pxxk$$   # Linux
pns=pxxp$$   # pollux-server facing Linux
gns=pxxg$$   # pollux-gen and pollux-server on one veth pair
netns_add $kns
netns_add $pns
netns_add $gns
ip netns exec $pns sysctl -qw net.ipv6.conf.all.disable_ipv6=1
ip netns exec $gns sysctl -qw net.ipv6.conf.all.disable_ipv6=1
veth_add $kns pxxk$$ $pns pxxs$$
ip netns exec $kns ip addr add 10.214.0.1/24 dev pxxk$$
veth_add $gns pxxa$$ $gns pxxb$$
no_xdp() {  # no_xdp NS IF: no XDP program is attached to IF
  ! ip netns exec "$1" ip -d link show dev "$2" | grep -q 'prog/xdp'
}

# start NAME NS IF ARGS...: pollux-server on CPU 1 over af_xdp on IF.
start() {
  local name=$1 ns=$2 ifname=$3; shift 3
  sname=$name
  slog=$workdir/server-$name.log
  spawn "$slog" ip netns exec "$ns" timeout 120 "$server" --preset "afxdp:$ifname" -l 1 \
    --log-level=4 -- --port 8080 "$@"
  spid=$spawned
  wait_ready "$slog" || return 1
  grep '^port' "$slog" | sed "s/^/# $name: /"
  check "[$name] the port is net_af_xdp" grep -q '^port 0 (net_af_xdp)' "$slog"
  check "[$name] an XDP program is attached to $ifname while it runs" \
    ip netns exec "$ns" bash -c "ip -d link show dev $ifname | grep -q 'prog/xdp'"
}
stop() {  # stop NS IF
  stop_pid "$spid"
  check "[$sname] no XDP program left on $2 after the server's exit" no_xdp "$1" "$2"
}

# --- Linux to pollux-server ----------------------------------------------------------------------
ip netns exec $kns ethtool -K pxxk$$ tx off >/dev/null
if start echo $pns pxxs$$ --ip 10.214.0.2/24 --mode echo; then
  head -c 4000000 /dev/urandom >"$workdir/in"
  ip netns exec $kns timeout 60 socat -b 65536 -t 10 -T 30 - TCP:10.214.0.2:8080 \
    <"$workdir/in" >"$workdir/out"
  rc=$?
  check "[echo] socat: 4 MB echoed back intact (sha256, rc=$rc, got $(stat -c %s "$workdir/out") bytes)" \
    test "$(sha256sum <"$workdir/in" | cut -c1-64)" = "$(sha256sum <"$workdir/out" | cut -c1-64)" -a $rc -eq 0
fi
stop $pns pxxs$$
check "[echo] no segment failed its checksum" test "$(counter "$slog" drop_tcp_bad_checksum)" -eq 0

if start http $pns pxxs$$ --ip 10.214.0.2/24 --mode http --http-body 100000; then
  got=$(ip netns exec $kns curl -s -o "$workdir/body" -w '%{http_code} %{size_download}' \
    --max-time 10 http://10.214.0.2:8080/)
  check "[http] curl: 200 and the 100000-byte body (got '$got')" test "$got" = "200 100000"
fi
stop $pns pxxs$$

# The kernel's TX checksum offload on (a veth's default): one line says what to run.
ip netns exec $kns ethtool -K pxxk$$ tx on >/dev/null
if start csum-partial $pns pxxs$$ --ip 10.214.0.2/24 --mode http; then
  for _ in 1 2 3 4 5 6; do
    ip netns exec $kns curl -s -o /dev/null --max-time 4 http://10.214.0.2:8080/ &
  done
  wait_for "$slog" 'ethtool -K PEER tx off' 15
  check "[csum-partial] one line names the driver and says what to run" \
    test "$(grep -c '^port 0 (net_af_xdp): all .*ethtool -K PEER tx off' "$slog")" -eq 1
  wait
fi
stop $pns pxxs$$
ip netns exec $kns ethtool -K pxxk$$ tx off >/dev/null

# The kernel's end down: ours has no carrier, and the port line is followed by the one line
# that says so (net_af_xdp says up whatever the interface is; the kernel is asked).
ip netns exec $kns ip link set pxxk$$ down
ip netns exec $pns timeout 60 "$server" --preset "afxdp:pxxs$$" -l 1 --log-level=4 -- \
  --ip 10.214.0.2/24 --mode http --duration 1 --quiet >"$workdir/linkdown.log" 2>&1
rc=$?
check "[link down] pollux-server runs and exits 0 (rc=$rc)" test $rc -eq 0
check "[link down] one line says the link is down and names the interface" \
  test "$(grep -c "^port 0 link: down (kernel interface pxxs$$ is [a-z]*down)" "$workdir/linkdown.log")" -eq 1
ip netns exec $kns ip link set pxxk$$ up
check "[link down] no such line while the link was up" bash -c "! grep -q 'link: down' '$workdir'/server-http.log"

# --- pollux-gen to pollux-server, both on af_xdp -----------------------------------------------
# run_gen NAME ARGS...: pollux-gen on CPU 0 over af_xdp on pxxa, to the server on pxxb.
run_gen() {
  local name=$1; shift
  ip netns exec $gns timeout 60 "$gen" --preset "afxdp:pxxa$$" -l 0 --log-level=4 -- \
    --ip 10.215.0.2/24 --dst 10.215.0.1:8080 --duration 2 --quiet \
    --json "$workdir/$name.json" "$@" >"$workdir/$name.log" 2>&1
  local rc=$?
  grep -E '^  (connections|requests|bytes|errors)' "$workdir/$name.log" | sed "s/^/# $name: /"
  check "[$name] pollux-gen exits 0 (rc=$rc)" test $rc -eq 0
  check "[$name] no XDP program left on pxxa after exit" no_xdp $gns pxxa$$
}
if start discard $gns pxxb$$ --ip 10.215.0.1/24 --mode discard; then
  run_gen bulk --mode bulk --direction up --connections 1
  jcheck bulk "zero errors, goodput > 0.01 Gb/s" "e['total'] == 0 and t['tx_gbps'] > 0.01"
fi
stop $gns pxxb$$
sent=$(python3 -c "import json; print(json.load(open('$workdir/bulk.json'))['totals']['bytes_tx'])" 2>/dev/null)
got=$(counter "$slog" app_bytes_in)
check "[bulk] the server received what was sent but the last send buffer (sent ${sent:-?}, received $got)" \
  test "${sent:-0}" -gt 0 -a "$got" -le "${sent:-0}" -a $(( ${sent:-0} - got )) -le 262144
check "[bulk] no segment failed its checksum" test "$(counter "$slog" drop_tcp_bad_checksum)" -eq 0

if start echo-raw $gns pxxb$$ --ip 10.215.0.1/24 --mode echo; then
  run_gen rps --mode rps --connections 4 --req-size 3000
  # Each of the 4 connections may have had one answer under way when the generator stopped.
  jcheck rps "requests answered in full: 3000 bytes back for each, zero errors" \
    "t['requests'] > 100 and 3000 * t['requests'] <= t['bytes_rx'] < 3000 * (t['requests'] + 4) and e['total'] == 0 and e['bad_response'] == 0"
fi
stop $gns pxxb$$
finish
