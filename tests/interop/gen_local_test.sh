#!/usr/bin/env bash
# pollux-gen with --local-server: generator and pollux-server in one process, joined by the
# in-memory link (no NIC, tap or namespace). Every mode runs a few seconds and must show
# non-zero rates, zero errors and a report that passes the JSON schema; the open-loop rate
# must be held; four lcores on two cores must work; bad combinations must say what is wrong.
# usage: gen_local_test.sh PATH/TO/pollux-gen [SECONDS] [GROUP]
#   GROUP: ipv4 (cps and rps), ipv4-bulk (bulk, hold, four lcores), ipv6 (IPv6, both
#   families, --config, refusals), or all (the default). meson runs the three groups as
#   separate tests that may run side by side; runs that measure over time set their own
#   --duration (the last one given counts).
. "$(dirname "$0")/lib.sh"  # also: set -uo pipefail, $here
gen=${1:?usage: $0 PATH/TO/pollux-gen [SECONDS] [GROUP]}
secs=${2:-2}
group=${3:-all}
case "$group" in
  ipv4|ipv4-bulk|ipv6|all) ;;
  *) echo "gen_local_test.sh: unknown group '$group' (ipv4, ipv4-bulk, ipv6, all)" >&2; exit 2 ;;
esac
in_group() { [ "$group" = all ] || [ "$group" = "$1" ]; }
netns_init  # only $workdir and its cleanup: the in-memory link needs no namespace

# run_local NAME [EAL ARGS] -- GEN ARGS...: one run; its report is NAME.json.
run_local() {
  local name=$1; shift
  local eal=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do eal+=("$1"); shift; done
  shift
  local log=$workdir/$name.log
  timeout $((secs + 30)) "$gen" "${eal[@]}" --log-level=4 -- --duration "$secs" --quiet \
    --json "$workdir/$name.json" "$@" >"$log" 2>&1
  local rc=$?
  grep -E '^  (connections|requests|bytes|errors|response)|^local server' "$log" | sed "s/^/# $name: /"
  check "[$name] exits 0 (rc=$rc)" test $rc -eq 0
  check "[$name] report matches the schema" python3 "$here/gen_report_schema.py" "$workdir/$name.json"
}
# Zero errors of every kind, "local" (connect() found no free port or TCB) included: the
# generator opens from several source addresses and recycles its TIME-WAIT records.
clean() {
  jcheck "$1" "zero errors" "e['total'] == 0"
}

if in_group ipv4; then
# The generator closes first and holds TIME-WAIT; the cps runs keep it short (--time-wait)
# so that the TCB table holds it at 100k+ connections/s (a quiet machine passes 130k), and
# --local-server's four source addresses give 4 x 55k ports.
run_local cps-raw -l 0-1 -- --mode cps --concurrency 8 --local-server echo --time-wait 200
jcheck cps-raw "connections per second > 500, every one answered" \
  "t['conn_per_s'] > 500 and t['requests'] >= t['established'] - 8"
clean cps-raw

run_local cps-http -l 0-1 -- --mode cps --http --concurrency 8 --local-server http \
  --time-wait 200
jcheck cps-http "HTTP connections per second > 500" "t['conn_per_s'] > 500"
clean cps-http

run_local rps-raw -l 0-1 -- --mode rps --connections 8 --req-size 100 --local-server echo
jcheck rps-raw "requests per second > 1000, each with a latency sample" \
  "t['req_per_s'] > 1000 and d['latency']['response']['count'] == t['requests']"
clean rps-raw

run_local rps-http -l 0-1 -- --mode rps --http --connections 8 --resp-size 1000 --local-server http
jcheck rps-http "keep-alive requests > 1000/s, no reconnects" \
  "t['req_per_s'] > 1000 and t['reconnects'] == 0"
# A response of one segment is read where it lies (the whole-response fast path): almost none
# borrows a parser (one only if the server's head and body went out apart).
jcheck rps-http "responses read in place, < 1% of them through a lent parser" \
  "t['parsers_lent'] * 100 < t['requests']"
clean rps-http

# 20 kB bodies arrive in pieces and each borrows a parser; with one parser for 8 connections
# the pool runs dry: each response that finds it empty aborts its connection, counted as
# parser_pool_empty and as a local error, and the slot reconnects -- responses still complete.
run_local rps-http-parsers -l 0-1 -- --mode rps --http --connections 8 --resp-size 20000 \
  --parsers 1 --local-server http
jcheck rps-http-parsers "an empty parser pool is counted, aborts only, and requests go on" \
  "t['parser_pool_empty'] > 0 and e['local'] == t['parser_pool_empty'] and \
   e['total'] == e['local'] and t['parsers_lent'] >= t['requests'] > 0"

# Open loop: 2000 requests/s over 10 connections, whatever the server's speed; two seconds,
# so that the first one's start does not weigh on the rate.
run_local rps-rate -l 0-1 -- --mode rps --connections 10 --rate 2000 --local-server echo \
  --duration 2
jcheck rps-rate "the open-loop rate is held (2000/s within 15%)" \
  "abs(t['req_per_s'] - 2000) < 300"
clean rps-rate

# Traffic profiles (issue 15 item 4): --ramp 3 raises 2000/s from zero (a sixth, a half and
# five sixths of it in the first three seconds), then holds it.
run_local rps-ramp -l 0-1 -- --mode rps --connections 10 --rate 2000 --ramp 3 --duration 4 \
  --local-server echo
jcheck rps-ramp "the rate rises over the ramp, then holds 2000/s" \
  "[x['t'] for x in d['series']][:4] == [1, 2, 3, 4] and d['config']['ramp_s'] == 3 and d['series'][0]['requests'] < 0.5 * d['series'][2]['requests'] and d['series'][1]['requests'] < d['series'][2]['requests'] < d['series'][3]['requests'] and abs(d['series'][3]['requests'] - 2000) < 300 and abs(d['series'][0]['requests'] - 333) < 200"
clean rps-ramp
# --path (twice) and --header: requests alternate between the paths, each with the header.
run_local rps-paths -l 0-1 -- --mode rps --http --connections 4 --local-server http \
  --path /a --path /bbbbbbbbbb --header 'X-Test: 1'
jcheck rps-paths "requests alternate between both paths and carry the header" \
  "(lambda a, b: d['config']['paths'] == ['/a', '/bbbbbbbbbb'] and t['requests'] > 1000 and abs(t['bytes_tx'] / t['requests'] - (a + b) / 2) < 1)(*[len('GET ' + p + ' HTTP/1.1\\r\\nHost: 198.18.0.1:8080\\r\\nUser-Agent: pollux-gen\\r\\nAccept: */*\\r\\nX-Test: 1\\r\\n\\r\\n') for p in ('/a', '/bbbbbbbbbb')])"
clean rps-paths

# Size mixes: raw requests of 100 and 1000 bytes, 3 to 1 (a smooth weighted round robin, so
# the mean is exact to a request), each echoed whole.
run_local rps-mix -l 0-1 -- --mode rps --connections 4 --req-size 100@3,1000@1 --local-server echo
jcheck rps-mix "requests average (3 x 100 + 1000) / 4 bytes each way" \
  "t['requests'] > 1000 and abs(t['bytes_tx'] / t['requests'] - 325) < 2 and abs(t['bytes_rx'] / t['requests'] - 325) < 2 and d['config']['req_sizes'] == [[100, 3], [1000, 1]]"
clean rps-mix
# POST with a body: the server reads the Content-Length body and answers 200.
run_local rps-post -l 0-1 -- --mode rps --http --method POST --body-size 1000 --connections 4 \
  --local-server http
post_len=$(python3 -c "print(len('POST / HTTP/1.1\r\nHost: 198.18.0.1:8080\r\nUser-Agent: pollux-gen\r\nAccept: */*\r\nContent-Length: 1000\r\n\r\n') + 1000)")
jcheck rps-post "POSTs of $post_len bytes answered 200, none refused" \
  "t['requests'] > 1000 and abs(t['bytes_tx'] / t['requests'] - $post_len) < 1 and d['config']['method'] == 'POST'"
grep -Eq '^local server: accepted [0-9]+, requests [1-9][0-9]*, bad requests 0,' "$workdir/rps-post.log"
check "[rps-post] the server answered every POST (bad requests 0)" test $? -eq 0
clean rps-post
# Stepped rates: 500/s, then 1000/s, then 2000/s held; the series carries each second's target.
run_local rps-steps -l 0-1 -- --mode rps --connections 10 --rate 500,1000,2000 --step 1 \
  --duration 4 --local-server echo
jcheck rps-steps "the rate steps 500, 1000, 2000, 2000 (within 15%), each second's target in the series" \
  "[x['target'] for x in d['series']][:4] == [500, 1000, 2000, 2000] and all(abs(x['requests'] - x['target']) < 0.15 * x['target'] for x in d['series'][:4]) and d['config']['rate_steps'] == [500, 1000, 2000]"
clean rps-steps

# Weighted destinations: the in-memory server answers on both addresses; connections go 3 to 1
# (a smooth weighted round robin: exact to within the connections in flight at the end).
run_local cps-dsts -l 0-1 -- --mode cps --concurrency 8 --local-server echo --time-wait 200 \
  --dst 198.18.0.1:8080@3 --dst 198.18.0.7:8080@1
jcheck cps-dsts "connections spread 3 to 1 over two destinations, each answered, no errors" \
  "(lambda a, b: a['dst'] == '198.18.0.1:8080' and b['dst'] == '198.18.0.7:8080' and a['weight'] == 3 and b['established'] > 100 and abs(a['opens'] - 3 * b['opens']) <= 4 and a['errors'] == b['errors'] == 0 and a['requests'] + b['requests'] == t['requests'])(*d['destinations'])"
grep -Eq '^  dst 198.18.0.7:8080 +weight 1: [0-9]+ opened' "$workdir/cps-dsts.log"
check "[cps-dsts] the summary has a line per destination" test $? -eq 0
clean cps-dsts

fi

if in_group ipv4-bulk; then
run_local bulk-down -l 0-1 -- --mode bulk --connections 4 --direction down --local-server source
jcheck bulk-down "download goodput > 0.1 Gb/s" "t['rx_gbps'] > 0.1"
jcheck bulk-down "TCP_INFO: 4 connections, all with SACK, timestamps and window scaling (defaults)" \
  "d['config']['cc'] == 'cubic' and d['tcp_info']['connections'] == 4 and
   d['tcp_info']['sack'] == d['tcp_info']['timestamps'] == d['tcp_info']['wscale'] == 4"
clean bulk-down
# Busy cycles (issue 13): both sides did work, counted per segment; the poller spun for the
# rest (the empty turns), which is not counted.
jcheck bulk-down "busy cycles per segment counted on both sides, the idle turns apart" \
  "all(0 < d['cpu'][s]['total']['cycles_per_segment'] and d['cpu'][s]['total']['idle_turns'] > 0
       for s in ('generator', 'local_server'))"
# --cc/--no-sack/--no-timestamps reach both stacks: neither offers the option, none is agreed.
run_local bulk-up -l 0-1 -- --mode bulk --connections 4 --direction up --local-server discard \
  --cc newreno --no-sack --no-timestamps
jcheck bulk-up "upload goodput > 0.1 Gb/s" "t['tx_gbps'] > 0.1"
jcheck bulk-up "TCP_INFO: newreno, 4 connections, none with SACK or timestamps" \
  "d['config']['cc'] == 'newreno' and d['tcp_info']['connections'] == 4 and
   d['tcp_info']['sack'] == 0 and d['tcp_info']['timestamps'] == 0 and d['tcp_info']['wscale'] == 4"
grep -q '^tcp: cc newreno, sack off, timestamps off$' "$workdir/bulk-up.log"
check "[bulk-up] the banner names the choice" test $? -eq 0
clean bulk-up
run_local bulk-both -l 0-1 -- --mode bulk --connections 4 --direction both --local-server echo
jcheck bulk-both "goodput both ways" "t['rx_gbps'] > 0.05 and t['tx_gbps'] > 0.05"
clean bulk-both

# --link-offloads (issue 13 item 2): with all (the default) the uploading generator sends TSO
# frames of many segments, answered as LRO frames (about one ACK per frame, so far fewer
# segments in than out); with none every segment is MTU-sized and checksummed in software.
# The port lines say which.
run_local bulk-tso -l 0-1 -- --mode bulk --connections 1 --direction up --local-server discard \
  --link-offloads all
jcheck bulk-tso "TSO frames sent, each several segments; few ACKs back" \
  "t['tx_gbps'] > 0.1 and d['stack_counters']['tcp_tso_frames'] > 0 and
   d['stack_counters']['tcp_segs_out'] > 4 * d['stack_counters']['tcp_tso_frames'] and
   d['stack_counters']['tcp_segs_in'] < d['stack_counters']['tcp_segs_out'] / 4"
grep -q 'tso on, multi-seg' "$workdir/bulk-tso.log" && grep -q 'lro on;' "$workdir/bulk-tso.log"
check "[bulk-tso] the port lines say tso on, lro on" test $? -eq 0
clean bulk-tso
run_local bulk-notso -l 0-1 -- --mode bulk --connections 1 --direction up --local-server discard \
  --link-offloads none
jcheck bulk-notso "no TSO frame, software checksums" \
  "t['tx_gbps'] > 0.1 and d['stack_counters'].get('tcp_tso_frames', 0) == 0"
grep -q 'ipv4-cksum off, tcp-cksum off, tso off' "$workdir/bulk-notso.log"
check "[bulk-notso] the port lines say checksums and tso off" test $? -eq 0
clean bulk-notso

fi

if in_group ipv6; then
# IPv6 (issue 16): an IPv6 --dst makes the in-memory server listen on it and the generator
# open from 2001:2::2-5 (RFC 5180's benchmarking prefix); the same engine, every mode clean.
run_local cps-v6 -l 0-1 -- --mode cps --concurrency 8 --local-server echo --time-wait 200 \
  --dst '[2001:2::1]:8080'
jcheck cps-v6 "IPv6 connections per second > 500, every one answered, the report says ipv6" \
  "t['conn_per_s'] > 500 and t['requests'] >= t['established'] - 8 and d['config']['family'] == 'ipv6' and d['config']['dst'] == '2001:2::1'"
grep -q '^local server: echo on \[2001:2::1\]:8080 over' "$workdir/cps-v6.log"
check "[cps-v6] the banner names the server's IPv6 address, bracketed" test $? -eq 0
grep -q '^gen: cps raw from 2001:2::2 (+3) to \[2001:2::1\]:8080' "$workdir/cps-v6.log"
check "[cps-v6] opened from the four IPv6 sources" test $? -eq 0
clean cps-v6
run_local rps-v6 -l 0-1 -- --mode rps --http --connections 8 --local-server http \
  --ip fd00:77::2/64 --dst '[fd00:77::1]:80'
jcheck rps-v6 "HTTP keep-alive over IPv6 > 1000/s from the given --ip, the Host bracketed" \
  "t['req_per_s'] > 1000 and t['reconnects'] == 0 and abs(t['bytes_tx'] / t['requests'] - len('GET / HTTP/1.1\\r\\nHost: [fd00:77::1]:80\\r\\nUser-Agent: pollux-gen\\r\\nAccept: */*\\r\\n\\r\\n')) < 1"
clean rps-v6
run_local bulk-v6 -l 0-1 -- --mode bulk --connections 2 --direction up --local-server discard \
  --dst '[2001:2::1]:8080'
jcheck bulk-v6 "upload goodput over IPv6 > 0.1 Gb/s" "t['tx_gbps'] > 0.1"
clean bulk-v6
run_local bulk-v6-down -l 0-1 -- --mode bulk --connections 2 --direction down --local-server source \
  --dst '[2001:2::1]:8080' --link-offloads none
jcheck bulk-v6-down "download goodput over IPv6 without link offloads > 0.05 Gb/s" "t['rx_gbps'] > 0.05"
clean bulk-v6-down
# Both families at once: the one server holds 198.18.0.1 and 2001:2::1, connections alternate.
run_local rps-dual -l 0-1 -- --mode rps --connections 8 --local-server echo \
  --dst 198.18.0.1:8080 --dst '[2001:2::1]:8080'
jcheck rps-dual "requests over both families to the one server, each destination answered" \
  "(lambda a, b: a['dst'] == '198.18.0.1:8080' and b['dst'] == '[2001:2::1]:8080' and a['requests'] > 100 and b['requests'] > 100 and a['errors'] == b['errors'] == 0)(*d['destinations'])"
clean rps-dual

fi

if in_group ipv4-bulk; then
# Two seconds: half of it to open the 2000 at 4000/s, the rest to hold them.
run_local hold -l 0-1 -- --mode hold --connections 2000 --rate 4000 --local-server echo \
  --duration 2
jcheck hold "2000 connections held at the end" "t['active'] == 2000 and t['established'] == 2000"
clean hold

# Four lcores on two cores: two generator lcores, each with its own connections, and two
# server lcores; queue i of the link pairs generator lcore i with server lcore i.
run_local cps-4lcores --lcores '(0-3)@(0-1)' -- --mode cps --concurrency 16 --local-server echo \
  --time-wait 200
grep -q 'on 2 lcore(s)' "$workdir/cps-4lcores.log"
check "[cps-4lcores] connections are opened from 2 generator lcores" test $? -eq 0
jcheck cps-4lcores "connections per second > 500" "t['conn_per_s'] > 500"
clean cps-4lcores

fi

if in_group ipv6; then
# The options from a --config file (issue 15 item 3), the command line's (--duration,
# --json) on top.
printf 'mode = "rps"\nlocal-server = "http"\nhttp = true\npath = ["/a", "/b"]\nconnections = 8\n' \
  >"$workdir/rps.toml"
run_local config-rps -l 0-1 -- --config "$workdir/rps.toml"
jcheck config-rps "an HTTP rps run from the file answers requests" "t['requests'] > 100"
clean config-rps

# Bad combinations are refused before the EAL starts, with a reason.
expect_error() {  # expect_error DESCRIPTION PATTERN ARGS...
  local what=$1 pattern=$2; shift 2
  local out rc
  out=$(timeout 30 "$gen" "$@" 2>&1); rc=$?
  if [ $rc -eq 2 ] && grep -q -- "$pattern" <<<"$out"; then ok "$what"; else
    bad "$what (rc=$rc): $(head -n 2 <<<"$out")"; fi
}
expect_error "a server that cannot answer the mode is refused" "does not answer" \
  -- --mode bulk --direction down --local-server echo
expect_error "an unknown server mode is refused" "is not one of echo" \
  -- --mode cps --local-server ftp
expect_error "a destination off the link is refused" "must be on an --ip subnet" \
  -- --mode cps --local-server echo --ip 10.0.0.2/24 --dst 10.9.0.1:80 --gw 10.0.0.1
expect_error "an IPv6 destination off the link is refused" "must be on an --ip subnet" \
  -- --mode cps --local-server echo --ip fd00:1::2/64 --dst '[fd00:2::1]:80' --gw fd00:1::1
expect_error "one lcore is not enough" "at least 2 lcores" -l 0 -- --mode cps --local-server echo
expect_error "an unwritable --pcap file is refused" "pollux-gen: --pcap: cannot write /nonexistent-dir/g" \
  -- --mode cps --local-server echo --pcap /nonexistent-dir/g.pcapng
expect_error "a --body-size without POST is refused" "bodies are sent with --method POST" \
  -- --mode rps --http --local-server http --body-size 10
expect_error "several rates without --step are refused" "several rates need --step" \
  -- --mode rps --local-server echo --rate 1k,2k
expect_error "a bad size mix is refused" "--req-size: 'x' is not a weight" \
  -- --mode rps --local-server echo --req-size 64@x
expect_error "a bad --link-offloads is refused" "--link-offloads: expected none, csum or all" \
  -- --mode cps --local-server echo --link-offloads tso
expect_error "a --pcap snaplen of 0 is refused" "--pcap: snaplen '0'" \
  -- --mode cps --local-server echo --pcap "$workdir/g.pcapng:0"
expect_error "a TIME-WAIT store of 0 records is refused" "--time-wait-records: '0'" \
  -- --mode cps --local-server echo --time-wait-records 0
# --config FILE (issue 15 item 3): a bad value in the file names its key; units are checked.
printf 'mode = "cps"\nlocal-server = "echo"\nrate = 10q\n' >"$workdir/bad.toml"
expect_error "a bad value in a --config file is refused naming the key" \
  "bad.toml: rate: '10q' has an unknown suffix 'q'" -- --config "$workdir/bad.toml"
expect_error "a duration that is not whole seconds is refused" \
  "--duration: '1500ms' is not a whole number of seconds" -- --mode cps --local-server echo --duration 1500ms

fi

finish
