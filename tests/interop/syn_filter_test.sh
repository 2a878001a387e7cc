#!/usr/bin/env bash
# Interop, hostile-input limits and filters (issue 14 items 4 and 5) with the Linux kernel as
# the peer, on a tap in a namespace this test creates:
#  1. --deny KERNEL/32:8080: curl to 8080 gets no answer at all (a silent drop, counted
#     drop_tcp_syn_filtered), while another listening port is still served (the rule names
#     one port) and a closed port still answers with RST (curl: connection refused).
#  2. --rst-limit 200: a SYN flood to a closed port (hping3, ~5000 SYN/s for 3 s) draws at most
#     200/s (plus the burst of 50) RSTs; the rest are counted drop_tcp_rst_rate_limited.
#  3. SYN+FIN to a listening port (hping3 -SF): no SYN-ACK, counted drop_tcp_bad_flags.
#  4. IPv6 (issue 16): the same server has fd00:209::2/64 and --deny [fd00:209::1]/128:8080:
#     curl -6 to 8080 gets no answer. A second server with an IPv4 allow list only
#     (--allow 10.209.0.0/24 --deny 0.0.0.0/0) serves curl -4 and refuses curl -6 silently:
#     an allow list written for IPv4 is not walked around over IPv6.
# usage: syn_filter_test.sh PATH/TO/pollux-server
. "$(dirname "$0")/lib.sh"  # also: set -uo pipefail, $here
server=${1:?usage: $0 PATH/TO/pollux-server}
interop_init curl hping3

ns=pxsf$$
netns_add "$ns"
in_ns() { ip netns exec "$ns" "$@"; }

log=$workdir/server.log
spawn "$log" ip netns exec "$ns" timeout 120 "$server" --preset "tap:pxsf$$" -l 0 \
  --log-level=4 -- --ip 10.209.0.2/24 --gw 10.209.0.1 --mode http --port 8080 --quiet \
  --deny 10.209.0.1/32:8080 --rst-limit 200 --ip fd00:209::2/64 --deny '[fd00:209::1]/128:8080'
ping6_up() {
  for _ in $(seq 50); do in_ns ping -6 -c1 -W1 "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}
if wait_ready "$log" && tap_up "$ns" "pxsf$$" 10.209.0.1/24 && wait_ping "$ns" 10.209.0.2 &&
  in_ns ip -6 addr add fd00:209::1/64 dev "pxsf$$" nodad && ping6_up fd00:209::2; then
  srv=$spawned
  check "the banner names the RST limit" grep -q ', closed-port rsts 200/s$' "$log"

  # 1. Denied: no answer (curl times out, code 28), not refused (code 7).
  in_ns curl -s -o /dev/null -m 2 http://10.209.0.2:8080/
  rc=$?
  check "a denied SYN gets no answer at all (curl rc $rc, 28: timeout)" test "$rc" -eq 28
  in_ns curl -s -o /dev/null -m 2 http://10.209.0.2:9999/
  rc=$?
  check "a closed port still refuses (curl rc $rc, 7: refused)" test "$rc" -eq 7
  in_ns curl -6 -g -s -o /dev/null -m 2 'http://[fd00:209::2]:8080/'
  rc=$?
  check "[ipv6] a SYN denied by an IPv6 rule gets no answer (curl -6 rc $rc, 28: timeout)" \
    test "$rc" -eq 28

  # 2. A flood to a closed port: the RSTs it draws are rate-limited.
  t0=$(date +%s.%N)
  in_ns timeout 3 hping3 -q -S -p 9999 -i u200 10.209.0.2 >/dev/null 2>&1
  t1=$(date +%s.%N)
  sleep 0.5
  # 3. SYN+FIN to the listening port.
  in_ns timeout 2 hping3 -q -S -F -p 8080 -c 3 -i u100000 10.209.0.2 >/dev/null 2>&1
  stop_pid "$srv"
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  rsts=$(counter "$log" tcp_rst_sent)
  limited=$(counter "$log" drop_tcp_rst_rate_limited)
  echo "# flood of $secs s to a closed port: tcp_rst_sent $rsts, drop_tcp_rst_rate_limited $limited"
  max=$(awk -v s="$secs" 'BEGIN { printf "%d", 200 * s + 50 + 10 }')
  check "RSTs for closed ports stay within 200/s + the burst ($rsts <= $max)" test "$rsts" -le "$max"
  check "the RSTs not sent are counted ($limited)" test "$limited" -gt 1000
  check "the denied SYNs are counted, both families" \
    test "$(counter "$log" drop_tcp_syn_filtered)" -ge 2
  check "SYN+FIN is dropped and counted" test "$(counter "$log" drop_tcp_bad_flags)" -ge 3
  check "no connection was made from SYN+FIN" test "$(counter "$log" tcp_passive_opens)" -eq 0
else
  bad "server up"
fi

# 4. An IPv4 allow list: IPv6 has no rules, so its SYNs are refused.
log=$workdir/server-allow.log
spawn "$log" ip netns exec "$ns" timeout 60 "$server" --preset "tap:pxsf$$" -l 0 \
  --log-level=4 -- --ip 10.209.0.2/24 --ip fd00:209::2/64 --mode http --port 8080 --quiet \
  --allow 10.209.0.0/24 --deny 0.0.0.0/0
if wait_ready "$log" && tap_up "$ns" "pxsf$$" 10.209.0.1/24 && wait_ping "$ns" 10.209.0.2 &&
  in_ns ip -6 addr add fd00:209::1/64 dev "pxsf$$" nodad && ping6_up fd00:209::2; then
  srv=$spawned
  code=$(in_ns curl -4 -s -o /dev/null -w '%{http_code}' -m 3 http://10.209.0.2:8080/)
  check "[allow-list] the allowed IPv4 client is served (HTTP $code)" test "$code" = 200
  in_ns curl -6 -g -s -o /dev/null -m 2 'http://[fd00:209::2]:8080/'
  rc=$?
  check "[allow-list] an IPv6 client gets no answer (curl -6 rc $rc, 28: timeout)" test "$rc" -eq 28
  stop_pid "$srv"
  check "[allow-list] the refused IPv6 SYNs are counted" \
    test "$(counter "$log" drop_tcp_syn_filtered)" -ge 1
else
  bad "[allow-list] server up"
fi
finish
