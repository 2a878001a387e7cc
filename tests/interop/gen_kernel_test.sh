#!/usr/bin/env bash
# Interop, active opens: pollux-gen against Linux kernel servers over net_tap, in a namespace
# the test creates (pollux-gen .2, .3, ..., the kernel .1). Each mode runs for a few seconds and must
# show non-zero rates, zero errors and zero bad responses, and write valid JSON:
#   raw    socat echo (rps, cps, bulk both, hold), socat /dev/zero source (bulk down) and a
#          discarding socat (bulk up)
#   http   nginx (rps keep-alive, cps) when installed, python3 -m http.server (HTTP/1.0:
#          the server closes after each response, so rps reconnects)
#   errors a port nobody listens on: every attempt is counted as refused, none is fatal
#   ipv6   (issue 16) --dst [fd00:211::1]:PORT from an --ip IPv6 address: socat echo over
#          TCP6 (rps), nginx (rps, cps; the Host header bracketed), the JSON family "ipv6";
#          and --gw fd00:211::1: a socat echo at fd00:212::2, off pollux's link, in a second
#          namespace behind the first one's kernel, which forwards IPv6 (a Linux router)
# usage: gen_kernel_test.sh PATH/TO/pollux-gen [SECONDS]
. "$(dirname "$0")/lib.sh"  # also: set -uo pipefail, $here
gen=${1:?usage: $0 PATH/TO/pollux-gen [SECONDS]}
secs=${2:-3}
interop_init socat python3
chmod 755 "$workdir"  # nginx's workers run as nobody
netns_stop_signal=TERM  # the kernel-side servers

ns=pxgen$$
tap=pxg$$
kip=10.211.0.1
kip6=fd00:211::1
on_cleanup '[ -f "$workdir/nginx.pid" ] && kill -TERM "$(cat "$workdir/nginx.pid")"'
netns_add "$ns"
in_ns() { ip netns exec "$ns" "$@"; }
# The servers bind the kernel-side address before the tap (created by each pollux-gen run)
# exists.
in_ns sysctl -qw net.ipv4.ip_nonlocal_bind=1
in_ns sysctl -qw net.ipv6.ip_nonlocal_bind=1

spawn /dev/null ip netns exec "$ns" socat TCP-LISTEN:7,bind=$kip,fork,reuseaddr,backlog=1024 EXEC:cat
spawn /dev/null ip netns exec "$ns" socat TCP-LISTEN:19,bind=$kip,fork,reuseaddr,backlog=1024 OPEN:/dev/zero
spawn /dev/null ip netns exec "$ns" socat TCP-LISTEN:9,bind=$kip,fork,reuseaddr,backlog=1024 SYSTEM:'cat >/dev/null'
spawn /dev/null ip netns exec "$ns" socat "TCP6-LISTEN:7,bind=[$kip6],fork,reuseaddr,backlog=1024" EXEC:cat
# Behind the router (issue 16, the IPv6 --gw): $far holds fd00:212::2 on a veth to $ns
# (fd00:212::1), its default route through $ns, which forwards IPv6 between the veth and the tap.
far=pxgf$$
farip6=fd00:212::2
netns_add "$far"
ip link add pxr$$ netns "$ns" type veth peer name pxf$$ netns "$far"
in_ns ip -6 addr add fd00:212::1/64 dev pxr$$ nodad
ip netns exec "$far" ip -6 addr add $farip6/64 dev pxf$$ nodad
in_ns ip link set pxr$$ up
ip netns exec "$far" ip link set pxf$$ up
ip netns exec "$far" ip -6 route add default via fd00:212::1
in_ns sysctl -qw net.ipv6.conf.all.forwarding=1
spawn /dev/null ip netns exec "$far" socat "TCP6-LISTEN:7,bind=[$farip6],fork,reuseaddr,backlog=1024" EXEC:cat
mkdir -p "$workdir/www"
head -c 1000 /dev/zero | tr '\0' 'p' >"$workdir/www/index.html"
(cd "$workdir/www" && exec ip netns exec "$ns" python3 -m http.server 8000 --bind $kip) >/dev/null 2>&1 &
netns_pids+=($!)
have_nginx=0
if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then
  nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
  cat >"$workdir/nginx.conf" <<CONF
worker_processes 1;
pid $workdir/nginx.pid;
error_log $workdir/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $workdir/tmp;
  proxy_temp_path $workdir/tmp;
  fastcgi_temp_path $workdir/tmp;
  uwsgi_temp_path $workdir/tmp;
  scgi_temp_path $workdir/tmp;
  keepalive_requests 1000000;
  server {
    listen $kip:80 backlog=1024;
    listen [$kip6]:80 backlog=1024;
    root $workdir/www;
    # POST runs (issue 15 item 4): nginx reads and discards the body, then answers.
    location = /post { return 200 "posted\n"; }
  }
}
CONF
  mkdir -p "$workdir/tmp"
  if in_ns "$nginx_bin" -c "$workdir/nginx.conf" -e "$workdir/nginx-error.log" 2>"$workdir/nginx.out"; then
    have_nginx=1
  else
    echo "# nginx did not start: $(cat "$workdir/nginx.out")"
  fi
fi

# run_gen NAME ARGS...: one pollux-gen run on a fresh tap; its JSON report is NAME.json.
# Every run has an address of its own: a new process starts its ephemeral ports where the
# last one did, and the kernel still holds those tuples in TIME-WAIT where it closed first.
runs=0
v6=0  # 1: the run also has an IPv6 address (fd00:211::N/64), and so has the kernel's side
run_gen() {
  local name=$1; shift
  local log=$workdir/$name.log
  runs=$((runs + 1))
  local ip=10.211.0.$((runs + 1))
  local ip6=()
  [ $v6 = 1 ] && ip6=(--ip "fd00:211::$((runs + 1))/64")
  in_ns timeout $((secs + 30)) "$gen" --preset "tap:$tap" -l 0 --log-level=4 -- \
    --ip $ip/24 "${ip6[@]}" --delay 1 --duration "$secs" --quiet \
    --json "$workdir/$name.json" "$@" >"$log" 2>&1 &
  local p=$!
  wait_for "$log" '^ready' 30 && tap_up "$ns" "$tap" $kip/24 &&
    { [ $v6 = 0 ] || in_ns ip -6 addr add $kip6/64 dev "$tap" nodad; }
  wait $p
  local rc=$?
  grep -E '^  (connections|requests|bytes|errors|retrans|connect|response)' "$log" | sed "s/^/# $name: /"
  check "[$name] exits 0 (rc=$rc)" test $rc -eq 0
  check "[$name] JSON report is valid (python3 -m json.tool)" \
    python3 -m json.tool "$workdir/$name.json" /dev/null
}

clean() {  # clean NAME: no errors of any kind
  jcheck "$1" "zero errors, zero bad responses" "e['total'] == 0 and e['bad_response'] == 0"
}

run_gen rps-echo --dst $kip:7 --mode rps --connections 8 --req-size 100
jcheck rps-echo "requests flow (req/s > 100) with latency samples" \
  "t['req_per_s'] > 100 and d['latency']['response']['count'] == t['requests']"
clean rps-echo

run_gen cps-echo --dst $kip:7 --mode cps --concurrency 4 --req-size 32
jcheck cps-echo "connections per second > 20, every one answered" \
  "t['conn_per_s'] > 20 and t['requests'] >= t['established'] - 4"
clean cps-echo

run_gen bulk-both --dst $kip:7 --mode bulk --connections 4 --direction both
jcheck bulk-both "goodput both ways" "t['rx_gbps'] > 0.001 and t['tx_gbps'] > 0.001"
clean bulk-both

run_gen bulk-down --dst $kip:19 --mode bulk --connections 4 --direction down
jcheck bulk-down "download goodput" "t['rx_gbps'] > 0.01"
clean bulk-down

run_gen bulk-up --dst $kip:9 --mode bulk --connections 4 --direction up
jcheck bulk-up "upload goodput" "t['tx_gbps'] > 0.01"
clean bulk-up

run_gen hold --dst $kip:7 --mode hold --connections 200 --rate 400
jcheck hold "200 connections held at the end" "t['active'] == 200 and t['established'] == 200"
clean hold

if [ $have_nginx = 1 ]; then
  run_gen rps-nginx --dst $kip:80 --mode rps --http --connections 8
  jcheck rps-nginx "keep-alive requests (req/s > 100), no reconnects" \
    "t['req_per_s'] > 100 and t['reconnects'] == 0"
  clean rps-nginx
  run_gen cps-nginx --dst $kip:80 --mode cps --http --concurrency 8
  jcheck cps-nginx "connections per second > 100" "t['conn_per_s'] > 100"
  clean cps-nginx
  # POST with a 4 KB body (Content-Length), answered 200 by nginx, kept alive.
  run_gen post-nginx --dst $kip:80 --mode rps --http --method POST --body-size 4Ki --path /post \
    --connections 8
  jcheck post-nginx "POSTs of 4 KiB answered (req/s > 100), no reconnects" \
    "t['req_per_s'] > 100 and t['reconnects'] == 0 and t['bytes_tx'] / t['requests'] > 4096"
  clean post-nginx
  # Two HTTP servers on the kernel's side (nginx on 80, python's http.server on 8000), the
  # connections spread 3 to 1 by weight.
  run_gen dsts-kernel --dst $kip:80@3 --dst $kip:8000@1 --mode cps --http --concurrency 4
  jcheck dsts-kernel "connections spread 3 to 1 over nginx and python, no errors" \
    "(lambda a, b: b['established'] > 5 and abs(a['opens'] - 3 * b['opens']) <= 4 and a['errors'] == b['errors'] == 0)(*d['destinations'])"
  clean dsts-kernel
else
  echo "# nginx not installed: skipping the nginx runs"
fi

run_gen cps-python --dst $kip:8000 --mode cps --http --concurrency 4
jcheck cps-python "connections per second > 10" "t['conn_per_s'] > 10"
clean cps-python
run_gen rps-python --dst $kip:8000 --mode rps --http --connections 2
jcheck rps-python "HTTP/1.0 server: requests answered, each followed by a reconnect" \
  "t['requests'] > 10 and t['reconnects'] >= t['requests'] - 2"
clean rps-python

# IPv6 (issue 16): the same engine, opened from the IPv6 --ip; the kernel answers ND.
v6=1
run_gen rps-echo6 --dst "[$kip6]:7" --mode rps --connections 8 --req-size 100
jcheck rps-echo6 "requests flow over IPv6 (req/s > 100), the report says ipv6" \
  "t['req_per_s'] > 100 and d['config']['family'] == 'ipv6' and d['config']['dst'] == '$kip6'"
clean rps-echo6
if [ $have_nginx = 1 ]; then
  run_gen rps-nginx6 --dst "[$kip6]:80" --mode rps --http --connections 8
  jcheck rps-nginx6 "nginx answers over IPv6 with the bracketed Host (req/s > 100), no reconnects" \
    "t['req_per_s'] > 100 and t['reconnects'] == 0"
  clean rps-nginx6
  run_gen cps-nginx6 --dst "[$kip6]:80" --mode cps --http --concurrency 8
  jcheck cps-nginx6 "connections per second over IPv6 > 100" "t['conn_per_s'] > 100"
  clean cps-nginx6
fi
# Off-link: the segments to fd00:212::2 leave to the router's MAC (the --gw resolved by ND),
# the router forwards them and its replies come back to our on-link address.
run_gen rps-echo6-gw --dst "[$farip6]:7" --gw $kip6 --mode rps --connections 8 --req-size 100
jcheck rps-echo6-gw "requests flow over IPv6 through the gateway (req/s > 100)" \
  "t['req_per_s'] > 100 and d['config']['family'] == 'ipv6' and d['config']['dst'] == '$farip6'"
clean rps-echo6-gw
v6=0

run_gen refused --dst $kip:1 --mode cps --concurrency 2 --rate 100
jcheck refused "a closed port: attempts counted as refused, nothing else" \
  "e['refused'] > 10 and e['total'] == e['refused'] and t['requests'] == 0"

finish
