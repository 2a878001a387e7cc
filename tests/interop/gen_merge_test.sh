#!/usr/bin/env bash
# Growing a load test past one generator (issue 15 item 4): two pollux-gen instances, each on
# its own tap, load one kernel echo server (socat, in a namespace made here) at the same time;
# scripts/merge_reports.py merges their --json reports and scripts/plot_report.py draws them.
# The merged totals, errors and histograms must be the sums of the instances', its
# percentiles lie between theirs, and the merged report passes the report schema.
# usage: gen_merge_test.sh PATH/TO/pollux-gen
. "$(dirname "$0")/lib.sh"  # also: set -uo pipefail, $here
gen=${1:?usage: $0 PATH/TO/pollux-gen}
interop_init socat python3
netns_stop_signal=TERM  # socat
scripts=$here/../../scripts

ns=pxmg$$
netns_add "$ns" || { echo "not ok - cannot create namespace"; exit 1; }
spawn /dev/null ip netns exec "$ns" socat TCP-LISTEN:7,fork,reuseaddr,backlog=1024 EXEC:cat

# run NAME LCORE NET: one generator on tap pxm$$NAME, 10.NET.0.2 -> the kernel's 10.NET.0.1.
run() {
  local name=$1 lcore=$2 net=$3 tap=pxm$$$1
  ip netns exec "$ns" timeout 40 "$gen" --preset "tap:$tap" -l "$lcore" --log-level=4 -- \
    --ip 10.$net.0.2/24 --dst 10.$net.0.1:7 --mode rps --connections 4 --req-size 200 \
    --delay 1 --duration 3 --quiet --json "$workdir/$name.json" >"$workdir/$name.log" 2>&1 &
  pids+=($!)
  wait_for "$workdir/$name.log" '^ready' 30 && tap_up "$ns" "$tap" 10.$net.0.1/24
}
pids=()
run a 0 216
run b 1 217
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=$?; done
check "both generators ran side by side and exited 0 (rc=$rc)" test "$rc" -eq 0

python3 "$scripts/merge_reports.py" "$workdir/a.json" "$workdir/b.json" -o "$workdir/m.json"
check "merge_reports.py merges the two reports" test -s "$workdir/m.json"
check "the merged report passes the report schema" \
  python3 "$here/gen_report_schema.py" "$workdir/m.json"
mcheck() {
  check "$1" python3 -c "
import json, sys
a, b, m = (json.load(open('$workdir/' + n + '.json')) for n in 'abm')
ok = $2
if not ok: print(json.dumps({k: (a[k], b[k], m[k]) for k in ('totals',)}), file=sys.stderr)
sys.exit(0 if ok else 1)"
}
mcheck "each instance served requests, none failed" \
  "a['totals']['requests'] > 100 and b['totals']['requests'] > 100 and a['totals']['errors']['total'] == b['totals']['errors']['total'] == 0"
mcheck "merged totals, rates and counters are the instances' sums" \
  "all(m['totals'][k] == a['totals'][k] + b['totals'][k] for k in ('requests', 'opens', 'bytes_rx', 'bytes_tx', 'retrans')) and abs(m['totals']['req_per_s'] - a['totals']['req_per_s'] - b['totals']['req_per_s']) < 1e-6 and m['stack_counters']['tcp_segs_out'] == a['stack_counters']['tcp_segs_out'] + b['stack_counters']['tcp_segs_out'] and m['instances'] == ['$workdir/a.json', '$workdir/b.json']"
mcheck "merged histograms hold every sample, bucket by bucket" \
  "m['latency']['response']['count'] == a['latency']['response']['count'] + b['latency']['response']['count'] == m['totals']['requests'] and sum(x[2] for x in m['latency']['response']['buckets']) == m['latency']['response']['count'] and m['latency']['response']['min'] == min(a['latency']['response']['min'], b['latency']['response']['min'])"
mcheck "merged percentiles lie between the instances'" \
  "all(min(a['latency']['response'][p], b['latency']['response'][p]) <= m['latency']['response'][p] <= max(a['latency']['response'][p], b['latency']['response'][p]) for p in ('p50', 'p90', 'p99', 'p99_9'))"
mcheck "the series is aligned on the second, counts summed" \
  "len(m['series']) == max(len(a['series']), len(b['series'])) and all(r['requests'] == sum(s['requests'] for s in a['series'] + b['series'] if s['t'] == r['t']) for r in m['series'])"
mcheck "destinations: each instance's server kept, their requests adding up to the total" \
  "sorted(x['dst'] for x in m['destinations']) == sorted(x['dst'] for x in a['destinations'] + b['destinations']) and sum(x['requests'] for x in m['destinations']) == m['totals']['requests'] and sum(x['opens'] for x in m['destinations']) == m['totals']['opens']"
mcheck "cpu: both instances' lcores, the total summed" \
  "len(m['cpu']['generator']['lcores']) == 2 and m['cpu']['generator']['total']['busy_cycles'] == a['cpu']['generator']['total']['busy_cycles'] + b['cpu']['generator']['total']['busy_cycles']"
python3 "$scripts/merge_reports.py" "$workdir/a.json" >"$workdir/one.out" 2>&1
check "merging a single report is refused with exit 2" \
  bash -c "[ $? -eq 2 ] && grep -q 'needs at least two reports' '$workdir/one.out'"
echo '{"x": 1}' >"$workdir/not.json"
python3 "$scripts/merge_reports.py" "$workdir/a.json" "$workdir/not.json" >"$workdir/bad.out" 2>&1
check "a file that is not a report is named, exit 2" \
  bash -c "[ $? -eq 2 ] && grep -q 'not.json is not a pollux-gen report' '$workdir/bad.out'"

for r in a m; do
  python3 "$scripts/plot_report.py" "$workdir/$r.json" -o "$workdir/$r.png" >/dev/null 2>"$workdir/plot.err"
  check "plot_report.py draws $r.json to a PNG" bash -c \
    "[ \"\$(head -c 8 '$workdir/$r.png' | od -An -tx1 | tr -d ' ')\" = 89504e470d0a1a0a ] && [ \$(stat -c %s '$workdir/$r.png') -gt 20000 ]"
done
finish
