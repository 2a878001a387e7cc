#!/usr/bin/env bash
# DPDK telemetry (issue 15.1): pollux-server on a tap in a namespace made here serves curl;
# its telemetry socket is asked for /pollux/counters, /pollux/lcores and /pollux/ports while
# it runs, and the answers must agree with the summary it prints when stopped; with three
# connections held open by the kernel, /pollux/conns lists them (and LIMIT bounds it), and
# counts the pair left in TIME-WAIT by one the server closed first. A
# pollux-gen --local-server run at the same time has its own socket (no shared file prefix)
# and answers /pollux/gen and /pollux/runtimes. dpdk-telemetry.py (dpdk-dev) reads the same socket,
# and scripts/pollux_exporter.py serves both processes' as Prometheus metrics.
# usage: telemetry_test.sh PATH/TO/pollux-server PATH/TO/pollux-gen
. "$(dirname "$0")/lib.sh"  # also: set -uo pipefail, $here
server=${1:?usage: $0 PATH/TO/pollux-server PATH/TO/pollux-gen}
gen=${2:?usage: $0 PATH/TO/pollux-server PATH/TO/pollux-gen}
interop_init curl python3
query() { python3 "$here/telemetry_query.py" "$@"; }

ns=pxt$$
ifname=pxt$$
ours=10.206.0.2
netns_add "$ns" || { echo "not ok - cannot create namespace"; exit 1; }
log=$workdir/server.log
spawn "$log" ip netns exec "$ns" timeout 60 "$server" --preset "tap:$ifname" -l 0 \
  --log-level=4 -- --ip $ours/24 --mode http --quiet
pid=$spawned
wait_ready "$log" || { bad "pollux-server starts"; finish; exit 1; }
sock=$(sed -n 's/^telemetry //p' "$log")
check "the server names its telemetry socket ($sock)" test -S "$sock"
tap_up "$ns" "$ifname" 10.206.0.1/24
wait_ping "$ns" $ours

glog=$workdir/gen.log
spawn "$glog" timeout 60 "$gen" -l 0-1 --log-level=4 -- --mode rps --connections 2 --rate 200 \
  --duration 5 --quiet --local-server echo
gpid=$spawned
wait_ready "$glog" || bad "pollux-gen starts beside the server"
gsock=$(sed -n 's/^telemetry //p' "$glog")
check "two processes, two sockets ($gsock)" test -S "$gsock" -a "$gsock" != "$sock"

for _ in 1 2 3 4 5; do
  ip netns exec "$ns" curl -s -m 5 -o /dev/null "http://$ours:8080/"
done
sleep 1
query "$gsock" /pollux/runtimes /pollux/gen /pollux/counters,local_server >"$workdir/g.json"
# The Prometheus exporter (scripts/pollux_exporter.py) serves both processes' telemetry.
mport=$((20000 + $$ % 20000))
spawn "$workdir/exporter.log" timeout 60 "$here/../../scripts/pollux_exporter.py" \
  --listen 127.0.0.1:$mport "$sock" "$gsock"
scrape() {
  for _ in $(seq 50); do
    curl -s -m 2 -o "$workdir/$1" "http://127.0.0.1:$mport/metrics" && return 0
    sleep 0.2
  done
  return 1
}
check "the exporter serves /metrics while pollux-gen runs" scrape m1.txt
# Three connections held open by the kernel side: /pollux/conns lists them, bounded by LIMIT.
ip netns exec "$ns" python3 -c "
import socket, time
held = [socket.create_connection(('$ours', 8080), timeout=5) for _ in range(3)]
for i, s in enumerate(held): s.send(b'GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')
time.sleep(3)" &
holder=$!
sleep 1
query "$sock" /pollux/conns /pollux/conns,server,2 >"$workdir/c.json"
wait $holder
# One request with "Connection: close": the server closes first, so its side of the pair is
# in TIME-WAIT (a record, outside the table): /pollux/conns counts it apart from the open.
ip netns exec "$ns" python3 -c "
import socket
s = socket.create_connection(('$ours', 8080), timeout=5)
s.send(b'GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n')
while s.recv(4096): pass
s.close()"
sleep 1  # the last FIN and ACK are in
query "$sock" /pollux/conns >"$workdir/tw.json"
query "$sock" /pollux/runtimes /pollux/counters /pollux/lcore_counters /pollux/lcores \
  /pollux/ports >"$workdir/t.json"
check "the server's telemetry answers every command" test -s "$workdir/t.json"
check "the exporter serves /metrics again after the connections closed" scrape m2.txt
if command -v dpdk-telemetry.py >/dev/null; then
  prefix=$(basename "$(dirname "$sock")")
  check "dpdk-telemetry.py reads /pollux/lcores from the server" bash -c \
    "echo /pollux/lcores | dpdk-telemetry.py -f $prefix 2>&1 | grep -q '\"busy_turns\"'"
fi
stop_pid "$pid"
wait "$gpid" 2>/dev/null

# tcheck WHAT PYTHON-EXPR: over t (the server's answers), g (the generator's) and the
# summary's counters (s: name -> value) and port line (p: ipackets, opackets).
tcheck() {
  check "$1" python3 -c "
import json, re, sys
t = json.load(open('$workdir/t.json')); g = json.load(open('$workdir/g.json'))
C = json.load(open('$workdir/c.json')); W = json.load(open('$workdir/tw.json'))
s = {}
for line in open('$log'):
    m = re.match(r'^  ([a-z_0-9]+) +(\d+)$', line)
    if m: s[m.group(1)] = int(m.group(2))
    m = re.match(r'^port 0: ipackets (\d+) opackets (\d+)', line)
    if m: p = {'ipackets': int(m.group(1)), 'opackets': int(m.group(2))}
c = t['/pollux/counters']; pl = t['/pollux/lcore_counters']; l = t['/pollux/lcores']; P = t['/pollux/ports']
ok = $2
if not ok: print(t, s, file=sys.stderr)
sys.exit(0 if ok else 1)"
}
tcheck "runtimes: the server's is called server" "t['/pollux/runtimes'] == ['server']"
tcheck "counters: 9 passive opens (5 curl, 3 held, 1 closed by the server), as in the summary" \
  "c['tcp_passive_opens'] == 9 == s['tcp_passive_opens']"
tcheck "counters: TCP segments in and out as in the summary" \
  "c['tcp_segs_in'] == s['tcp_segs_in'] and c['tcp_segs_out'] == s['tcp_segs_out']"
tcheck "counters: each is the sum of its per-lcore values" \
  "set(c) == set(pl) and all(c[k] == sum(pl[k]) for k in c if k != 'lcores') and pl['lcores'] == [0]"
tcheck "lcores: lcore 0 polls queue 0, busy some turns, idle in most" \
  "l['lcore'] == [0] and l['queue'] == [0] and 0 < l['busy_turns'][0] < l['idle_turns'][0]"
tcheck "lcores: its segments are the counters' in + out" \
  "l['segments'][0] == c['tcp_segs_in'] + c['tcp_segs_out']"
tcheck "ports: net_tap, link up, packets no more than the summary's" \
  "P['driver'] == 'net_tap' and P['link_up'] == 1 and 0 < P['ipackets'] <= p['ipackets'] and 0 < P['opackets'] <= p['opackets']"
tcheck "conns: 3 open connections from the kernel, established, with their peers" \
  "C['/pollux/conns']['open'] == 3 == C['/pollux/conns']['shown'] and set(C['/pollux/conns']['state']) == {'ESTABLISHED'} and all(r.startswith('10.206.0.1:') for r in C['/pollux/conns']['remote']) and all(b > 0 for b in C['/pollux/conns']['bytes_received'])"
tcheck "conns: the server-closed pair is counted in time_wait, not listed as open" \
  "W['/pollux/conns']['time_wait'] == 1 and W['/pollux/conns']['open'] == 0 == W['/pollux/conns']['shown'] and C['/pollux/conns']['time_wait'] == 0"
tcheck "conns: the limit bounds the list (server,2: 2 of 3 shown)" \
  "C['/pollux/conns,server,2']['open'] == 3 and C['/pollux/conns,server,2']['shown'] == 2 and len(C['/pollux/conns,server,2']['remote']) == 2"
tcheck "gen: runtimes gen and local_server, requests and the last second counted" \
  "g['/pollux/runtimes'] == ['gen', 'local_server'] and g['/pollux/gen']['requests'] > 100 and g['/pollux/gen']['last_second/requests'] > 50 and g['/pollux/gen']['errors'] == 0"
tcheck "gen: latency percentiles for the run and the last second, in order" \
  "0 < g['/pollux/gen']['latency/response_p50_ns'] <= g['/pollux/gen']['latency/response_p99_ns'] <= g['/pollux/gen']['latency/response_p99_9_ns'] and g['/pollux/gen']['latency/response_samples'] >= g['/pollux/gen']['requests'] - 2 and 0 < g['/pollux/gen']['last_second/response_p50_ns'] <= g['/pollux/gen']['last_second/response_p99_ns'] and g['/pollux/gen']['latency/connect_samples'] == 2"
tcheck "gen: the local server's counters by name (passive opens = 2 connections)" \
  "g['/pollux/counters,local_server']['tcp_passive_opens'] == 2"

# mcheck FILE WHAT PYTHON-EXPR: over m(name, **labels), a sample's value from the scrape
# (None when absent); sp and gp are the server's and the generator's file prefixes.
sp=$(basename "$(dirname "$sock")")
gp=$(basename "$(dirname "$gsock")")
mcheck() {
  check "$2" python3 -c "
import re, sys
rows = []
for line in open('$workdir/$1'):
    r = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)\\})? (\\S+)$', line.strip())
    if r:
        labels = dict(re.findall(r'([a-zA-Z_]+)=\"([^\"]*)\"', r.group(2) or ''))
        rows.append((r.group(1), labels, float(r.group(3))))
def m(name, **want):
    for n, labels, v in rows:
        if n == name and all(labels.get(k) == str(x) for k, x in want.items()):
            return v
    return None
sp, gp = '$sp', '$gp'
ok = $3
if not ok: print(open('$workdir/$1').read()[-3000:], file=sys.stderr)
sys.exit(0 if ok else 1)"
}
mcheck m1.txt "metrics: both processes up, the generator's requests and latency quantiles" \
  "m('pollux_up', prefix=sp) == 1 and m('pollux_up', prefix=gp) == 1 and m('pollux_gen_requests_total', prefix=gp) > 100 and 0 < m('pollux_gen_latency_seconds', prefix=gp, kind='response', quantile='0.5', window='run') <= m('pollux_gen_latency_seconds', prefix=gp, kind='response', quantile='0.99', window='run') < 1 and m('pollux_gen_errors_total', prefix=gp, cause='timeout') == 0"
mcheck m1.txt "metrics: the local server's counters and lcores by runtime" \
  "m('pollux_counter_total', prefix=gp, runtime='local_server', counter='tcp_passive_opens') == 2 and m('pollux_lcore_busy_cycles_total', prefix=gp, runtime='gen') > 0"
mcheck m2.txt "metrics: the server's counters and port equal its telemetry's" \
  "m('pollux_counter_total', prefix=sp, runtime='server', counter='tcp_passive_opens') == 9 and m('pollux_port_ipackets_total', prefix=sp, runtime='server', driver='net_tap') > 0 and m('pollux_port_link_up', prefix=sp, driver='net_tap') == 1"
finish
