#!/usr/bin/env bash
# Interop, SYN cookies (RFC 4987 3.6, issue 14 item 1) with the Linux kernel as the client.
#  1. pollux-server --syn-cookies always: every curl connection is made from a cookie, and
#     the options the kernel offered (SACK, timestamps, window scale) are in use on it.
#  2. Under a SYN flood from random sources (hping3 --rand-source, -i u200: up to 5000 SYN/s, more
#     than a 1024 backlog can hold for the 63 s a half-open connection used to live), with
#     the default --syn-cookies auto: curl connections keep completing during the flood and
#     at once after it (before cookies: none did, and none for a minute after).
# usage: syn_cookie_test.sh PATH/TO/pollux-server
. "$(dirname "$0")/lib.sh"  # also: set -uo pipefail, $here
server=${1:?usage: $0 PATH/TO/pollux-server}
interop_init curl hping3

ns=pxsc$$
netns_add "$ns"
in_ns() { ip netns exec "$ns" "$@"; }
in_ns sysctl -qw net.ipv4.tcp_sack=1 net.ipv4.tcp_timestamps=1 net.ipv4.tcp_window_scaling=1

# start_server NAME IFACE IP [args]: pollux-server (http) on its own tap, kernel side .1
start_server() {
  local name=$1 ifname=$2 ip=$3; shift 3
  local log=$workdir/$name.log
  spawn "$log" ip netns exec "$ns" timeout 300 "$server" --preset "tap:$ifname" -l 0 \
    --log-level=4 -- --ip "$ip/24" --gw "${ip%.*}.1" --mode http --port 8080 --quiet \
    --conn-info "$@"
  wait_ready "$log" || return 1
  tap_up "$ns" "$ifname" "${ip%.*}.1/24"
  wait_ping "$ns" "$ip"
}

# curls N URL: how many of N sequential requests got a 200 (2 s each at most).
curls() {
  local n=$1 url=$2 good=0
  for _ in $(seq "$n"); do
    [ "$(in_ns curl -s -o /dev/null -m 2 -w '%{http_code}' "$url")" = 200 ] && good=$((good + 1))
  done
  echo $good
}

# --- 1. every connection from a cookie ------------------------------------------------------
if start_server always pxca$$ 10.207.0.2 --syn-cookies always; then
  check "[always] the banner names the mode" grep -q ', syn cookies always$' "$workdir/always.log"
  got=$(curls 20 http://10.207.0.2:8080/)
  check "[always] 20 of 20 curl requests answered ($got)" test "$got" = 20
  stop_pid "$spawned"
  sent=$(counter "$workdir/always.log" syn_cookies_sent)
  accepted=$(counter "$workdir/always.log" syn_cookies_accepted)
  check "[always] every connection made from a cookie (sent $sent, accepted $accepted)" \
    test "$accepted" -ge 20 -a "$sent" -ge 20
  check "[always] no connection kept state before its ACK (passive opens = cookies accepted)" \
    test "$(counter "$workdir/always.log" tcp_passive_opens)" = "$accepted"
  line=$(grep -m1 '^conn-closed ' "$workdir/always.log")
  echo "# [always] ${line:-no conn-closed line}"
  check "[always] SACK, timestamps and window scale came back through the cookie" \
    bash -c "grep -q ' sack' <<<'$line' && grep -q ' ts' <<<'$line' && grep -q ' wscale' <<<'$line'"
else
  bad "[always] server up"
fi

# --- 2. a flood of spoofed SYNs ---------------------------------------------------------------
if start_server flood pxcf$$ 10.208.0.2; then
  srv=$spawned
  url=http://10.208.0.2:8080/
  before=$(curls 5 "$url")
  spawn "$workdir/hping.log" ip netns exec "$ns" timeout 20 hping3 -q -S -p 8080 --rand-source \
    -i u200 10.208.0.2
  hp=$spawned
  sleep 2  # the 1024-entry backlog is full after ~0.2 s at this rate
  during=$(curls 20 "$url")
  kill -TERM "$hp" 2>/dev/null; wait "$hp" 2>/dev/null
  after=$(curls 5 "$url")
  stop_pid "$srv"
  check "[flood] answered before the flood ($before of 5)" test "$before" = 5
  check "[flood] answered during the flood ($during of 20)" test "$during" -ge 19
  check "[flood] answered right after it ($after of 5)" test "$after" = 5
  sent=$(counter "$workdir/flood.log" syn_cookies_sent)
  echo "# [flood] syn_cookies_sent $sent accepted $(counter "$workdir/flood.log" syn_cookies_accepted) backlog_full $(counter "$workdir/flood.log" drop_tcp_backlog_full) martians $(counter "$workdir/flood.log" drop_ip_bad_source)"
  check "[flood] the full backlog switched the listener to cookies ($sent sent)" test "$sent" -gt 100
else
  bad "[flood] server up"
fi
finish
