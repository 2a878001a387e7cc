#!/usr/bin/env bash
# End-to-end benchmark: pollux against the Linux kernel on the same machine, in one run.
#
#   bench/run.sh [--seconds N] [--conns N] [--out DIR] [--no-results]
#
# Four setups, the same scenarios, two CPUs each (one for the client side, one for the
# server side; pollux lcores and kernel processes are pinned alike):
#   memory   pollux-gen -> pollux-server in one process over the in-memory link
#   veth     pollux-gen -> pollux-server, two processes, net_af_packet on the two ends of a
#            veth pair (every frame crosses the kernel's veth)
#   vethxdp  the same over net_af_xdp on the two ends of another veth pair (the XDP program
#            redirects each frame to the socket; bench/VETH.md)
#   linux    wrk / iperf3 / a python holder -> nginx / iperf3 across two namespaces joined
#            by a veth pair (the kernel's TCP on both sides)
# Scenarios: cps (HTTP, Connection: close), rps (HTTP keep-alive, 32 connections), pingpong
# (one connection, one request at a time: latency), bulk (one stream, MSS 1460 on a 1500
# MTU) and memory per idle connection (--conns held connections); cps and bulk again over IPv6
# (cps-v6, bulk-v6: in memory from 2001:2::2-5 to 2001:2::1, over veth from fd00:241::2 to
# fd00:241::1, Linux from fd00:240::2 to fd00:240::1 on its veth pair).
# Output: DIR/results.md (absolute values and ratios to linux), DIR/*.json (raw reports),
# DIR/*.png (plots), and unless --no-results bench/RESULTS.md. Needs root (namespaces).
# This is a benchmark, not a test: nothing here passes or fails on a number.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seconds=5
conns=100000
out=$root/bench/results
write_results=1
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=${2:?}; shift 2 ;;
    --conns) conns=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --no-results) write_results=0; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "bench/run.sh: --seconds takes a whole number" >&2; exit 2; }
[[ "$conns" =~ ^[1-9][0-9]*$ ]] && [ "$conns" -le 110000 ] ||
  { echo "bench/run.sh: --conns takes 1..110000 (two source addresses' ephemeral ports)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "bench/run.sh: needs root (network namespaces)" >&2; exit 1; }

for tool in wrk iperf3 nginx ethtool; do
  command -v $tool >/dev/null || [ -x /usr/sbin/$tool ] || need_apt=1
done
/usr/bin/python3 -c 'import matplotlib' 2>/dev/null || need_apt=1
if [ "${need_apt:-0}" = 1 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk iperf3 nginx-light ethtool \
    python3-matplotlib >/dev/null
fi
scripts/build.sh release  # benchmarks measure the release build (issue 13)
gen=$root/build-release/apps/pollux-gen/pollux-gen
server=$root/build-release/apps/pollux-server/pollux-server
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
py=/usr/bin/python3

mkdir -p "$out"
rm -f "$out"/*.json "$out"/*.txt "$out"/*.png
. "$root/scripts/lib/netns.sh"
netns_stop_signal=TERM  # iperf3, the holders, the kernel-side servers
netns_init
work=$workdir
chmod 755 "$work"
on_cleanup '[ -f "$work/nginx.pid" ] && kill -TERM "$(cat "$work/nginx.pid")"'
nsl=pxbl$$      # linux: client namespace
nss=pxbs$$      # linux: server namespace
nsp=pxbp$$      # pollux over veth: both ends
say() { echo "== $*" >&2; }

# --- linux setup: nsl (10.240.0.2, CPU 0) <-> nss (10.240.0.1, CPU 1) -------------------------
# IPv6 on the same pair for the -v6 rows: fd00:240::2 <-> fd00:240::1, no DAD (nothing else
# is on the link) and no router solicitations (no router either).
netns_add $nsl
netns_add $nss
for n in $nsl $nss; do
  ip netns exec $n sysctl -qw net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.default.router_solicitations=0
done
veth_add $nsl pxbl$$ $nss pxbs$$ 10.240.0.2/24 10.240.0.1/24
ip netns exec $nsl ip -6 addr add fd00:240::2/64 dev pxbl$$ nodad
ip netns exec $nss ip -6 addr add fd00:240::1/64 dev pxbs$$ nodad
ip netns exec $nsl ip addr add 10.240.0.3/24 dev pxbl$$  # a second port space for the holder
ip netns exec $nsl sysctl -qw net.ipv4.ip_local_port_range="10000 65535"
ip netns exec $nsl sysctl -qw net.ipv4.tcp_tw_reuse=1
ip netns exec $nss sysctl -qw net.core.somaxconn=4096
mkdir -p "$work/www" "$work/tmp"
workers=$(( (conns + 17999) / 18000 ))
head -c 128 /dev/zero | tr '\0' 'p' >"$work/www/b128"
cat >"$work/nginx.conf" <<CONF
# One worker per 18,000 held connections (a process may not open more than its file limit,
# $(ulimit -Hn) here); reuseport spreads connections over them. All pinned to CPU 1.
worker_processes $workers;
worker_cpu_affinity $(printf '10 %.0s' $(seq $workers));
worker_rlimit_nofile $(ulimit -Hn);
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections $(( $(ulimit -Hn) - 100 )); }
http {
  access_log off;
  client_body_temp_path $work/tmp;
  proxy_temp_path $work/tmp;
  fastcgi_temp_path $work/tmp;
  uwsgi_temp_path $work/tmp;
  scgi_temp_path $work/tmp;
  keepalive_requests 100000000;
  client_header_timeout 600s;
  server {
    listen 10.240.0.1:80 backlog=4096 reuseport;
    listen [fd00:240::1]:80 backlog=4096 reuseport;
    root $work/www;
  }
}
CONF
ip netns exec $nss "$nginx_bin" -c "$work/nginx.conf" -e "$work/nginx-error.log"
ip netns exec $nss taskset -c 1 iperf3 -s -B 10.240.0.1 -D --pidfile "$work/iperf3.pid"
ip netns exec $nss taskset -c 1 iperf3 -s -B fd00:240::1 -p 5202 -D --pidfile "$work/iperf3-v6.pid"
sleep 0.5
netns_pids+=("$(cat "$work/iperf3.pid")" "$(cat "$work/iperf3-v6.pid")")

# wrk_json NAME ARGS...: a wrk run (pinned to CPU 0) summarised as JSON; over IPv6 when NAME
# ends in -v6.
wrk_json() {
  local name=$1; shift
  local host=10.240.0.1
  [[ $name == *-v6 ]] && host="[fd00:240::1]"
  ip netns exec $nsl taskset -c 0 wrk -t1 --latency -d"${seconds}s" "$@" \
    "http://$host/b128" >"$out/linux-$name.txt" 2>&1
  $py - "$out/linux-$name.txt" "$seconds" >"$out/linux-$name.json" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
secs = float(sys.argv[2])
def us(v, unit):
    return float(v) * {"us": 1, "ms": 1e3, "s": 1e6}[unit]
reqs = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
lat = {p: us(*re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", text).groups()) for p in ("50", "99")}
errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(json.dumps({"req_per_s": reqs, "p50_us": lat["50"], "p99_us": lat["99"],
                  "errors": (sum(map(int, errs.groups())) if errs else 0) +
                            (int(non2xx.group(1)) if non2xx else 0)}))
PY
}

# pollux_memory NAME GEN-ARGS...: pollux-gen and its local server, lcores 0 and 1.
pollux_memory() {
  local name=$1; shift
  "$gen" -l 0-1 --log-level=4 -- --duration "$seconds" --quiet --json "$out/memory-$name.json" \
    "$@" >"$out/memory-$name.txt" 2>&1
}

# pollux_veth NAME SERVER-MODE GEN-ARGS...: pollux-server on CPU 1, pollux-gen on CPU 0,
# each on one end of a veth pair through net_af_packet, then again through net_af_xdp on
# another pair; over IPv6 when NAME ends in -v6 (fd00:241::2 -> fd00:241::1, pollux's own
# neighbour discovery on both ends: the kernel's IPv6 stays off on the pairs, they only
# carry the frames).
veth_up=0
pollux_veth() {
  pollux_pair afpacket pxp veth "$@"
  pollux_pair afxdp pxx vethxdp "$@"
}
# pollux_pair PRESET IFPREFIX SETUP NAME SERVER-MODE GEN-ARGS...: one run of the two over
# --preset PRESET:IF on the pair IFPREFIX{a,b}$$, reported as SETUP-NAME.
pollux_pair() {
  local preset=$1 ifp=$2 setup=$3 name=$4 mode=$5; shift 5
  local sip=10.241.0.1/24 gip=10.241.0.2/24 dst=10.241.0.1:8080
  if [[ $name == *-v6 ]]; then
    sip=fd00:241::1/64 gip=fd00:241::2/64 dst='[fd00:241::1]:8080'
  fi
  if [ $veth_up = 0 ]; then
    netns_add $nsp
    ip netns exec $nsp sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    veth_add $nsp pxpa$$ $nsp pxpb$$
    veth_add $nsp pxxa$$ $nsp pxxb$$
    for i in pxpa$$ pxpb$$ pxxa$$ pxxb$$; do
      # Frames between two pollux ends carry complete checksums; keep the kernel from
      # marking them as still to be filled in.
      ip netns exec $nsp ethtool -K $i tx off >/dev/null
    done
    veth_up=1
  fi
  spawn "$work/server-$setup-$name.log" ip netns exec $nsp "$server" --preset $preset:${ifp}b$$ \
    -l 1 --log-level=4 -- --ip "$sip" --port 8080 --mode "$mode" --max-conns 65536 --quiet
  local sp=$spawned
  wait_for "$work/server-$setup-$name.log" '^ready' 10 || true
  # IPv6: the server's address is tentative for its one DAD probe's second (RFC 4862 5.4);
  # a neighbour solicitation for it meanwhile goes unanswered and the first SYNs wait a
  # retransmission timeout. The run starts once the address is the server's.
  if [[ $name == *-v6 ]]; then sleep 1.2; fi
  ip netns exec $nsp "$gen" --preset $preset:${ifp}a$$ -l 0 --log-level=4 -- \
    --ip "$gip" --dst "$dst" --duration "$seconds" --quiet \
    --json "$out/$setup-$name.json" "$@" >"$out/$setup-$name.txt" 2>&1 || true
  stop_pid $sp
  # The server's busy cycles (its summary, printed at exit) for the report's cost table.
  grep '^  cpu server' "$work/server-$setup-$name.log" >"$out/$setup-$name.server-cpu.txt" || true
}

# --- the scenarios ------------------------------------------------------------------------------
say "cps (HTTP, Connection: close, 32 in flight)"
# pollux-gen closes first and holds TIME-WAIT: shortened so one address's ports suffice
# (the Linux client reuses its TIME-WAIT ports: tcp_tw_reuse=1).
pollux_memory cps --mode cps --http --concurrency 32 --local-server http --time-wait 200
pollux_veth cps http --mode cps --http --concurrency 32 --time-wait 400
wrk_json cps -c32 -H "Connection: close"

say "rps (HTTP keep-alive, 32 connections)"
pollux_memory rps --mode rps --http --connections 32 --local-server http
pollux_veth rps http --mode rps --http --connections 32
wrk_json rps -c32

say "pingpong (one connection, one request at a time)"
pollux_memory pingpong --mode rps --http --connections 1 --local-server http
pollux_veth pingpong http --mode rps --http --connections 1
wrk_json pingpong -c1

say "bulk (one stream, upload)"
# The in-memory link offers what a NIC would (drivers-glue/ring_link.hpp): by default
# checksum offload, TSO and LRO (64 KB frames, as Linux's veth hands over GSO skbs);
# --link-offloads csum keeps checksum offload only, none makes both stacks send MTU-sized
# frames and checksum every segment in software.
pollux_memory bulk --mode bulk --direction up --connections 1 --local-server discard
pollux_memory bulk-csum --mode bulk --direction up --connections 1 --local-server discard \
  --link-offloads csum
pollux_memory bulk-nooffload --mode bulk --direction up --connections 1 --local-server discard \
  --link-offloads none
pollux_veth bulk discard --mode bulk --direction up --connections 1
ip netns exec $nsl taskset -c 0 iperf3 -c 10.240.0.1 -t "$seconds" -J >"$out/linux-bulk.json"

say "cps and bulk over IPv6"
# The same runs as cps and bulk with an IPv6 server: --local-server holds 2001:2::1 and the
# generator opens from 2001:2::2-5 (its defaults for an IPv6 --dst); over the veth pair
# fd00:241::2 -> fd00:241::1 (pollux_veth); Linux over its veth pair.
pollux_memory cps-v6 --mode cps --http --concurrency 32 --local-server http --time-wait 200 \
  --dst '[2001:2::1]:8080'
pollux_veth cps-v6 http --mode cps --http --concurrency 32 --time-wait 400
wrk_json cps-v6 -c32 -H "Connection: close"
pollux_memory bulk-v6 --mode bulk --direction up --connections 1 --local-server discard \
  --dst '[2001:2::1]:8080'
pollux_veth bulk-v6 discard --mode bulk --direction up --connections 1
ip netns exec $nsl taskset -c 0 iperf3 -c fd00:240::1 -p 5202 -t "$seconds" -J \
  >"$out/linux-bulk-v6.json"

say "memory per idle connection ($conns held)"
# pollux: the process's resident memory holding $conns connections (both ends live in the
# process, tables sized for them) minus the same process holding 16 with 1024-entry tables:
# what each connection costs, its share of the preallocated tables included. Two source
# addresses give the generator two ephemeral port spaces.
rss_of_hold() {  # rss_of_hold N TABLE: VmRSS in kB once N connections are established
  local n=$1 table=$2 log=$work/hold-$1.txt
  "$gen" -l 0-1 --log-level=4 -- --mode hold --connections "$n" --rate 50000 \
    --ip 198.18.0.2/24 --ip 198.18.0.3/24 --max-conns "$table" --local-server discard \
    --duration $((conns / 20000 + 6)) >"$log" 2>&1 &
  local p=$!
  local rss=0
  for _ in $(seq $((conns / 2000 + 60))); do
    sleep 0.5
    grep -q "active $n " "$log" 2>/dev/null && { rss=$(awk '/VmRSS/ {print $2}' /proc/$p/status); break; }
  done
  wait $p || true
  echo "$rss"
}
rss_small=$(rss_of_hold 16 1024)
rss_big=$(rss_of_hold "$conns" $((conns + 1024)))
echo "{\"conns\": $conns, \"rss_kb_16\": $rss_small, \"rss_kb_held\": $rss_big}" >"$out/memory-idle.json"
# linux: kernel memory (slab + TCP buffer pages) with $conns connections from a python
# holder to nginx, minus before; both ends are kernel sockets.
kmem() {  # slab kB + tcp pages*4
  local slab tcp
  slab=$(awk '/^Slab:/ {print $2}' /proc/meminfo)
  tcp=$(ip netns exec $nss awk '/^TCP:/ {print $NF}' /proc/net/sockstat)
  echo $((slab + tcp * 4))
}
sync; echo 2 >/proc/sys/vm/drop_caches
k0=$(kmem)
# Python holders, 18,000 connections each (the per-process file limit), alternating source
# addresses for two port spaces.
holders=()
for ((h = 0; h < workers; h++)); do
  chunk=$(( conns - h * 18000 < 18000 ? conns - h * 18000 : 18000 ))
  ip netns exec $nsl $py - "$chunk" "$work/holder.$h" <<'PY' &
import socket, sys, time
n = int(sys.argv[1])
socks = []
for i in range(n):
    s = socket.create_connection(("10.240.0.1", 80), source_address=("10.240.0.%d" % (2 + i % 2), 0))
    socks.append(s)
open(sys.argv[2], "w").write("ready")
time.sleep(60)
PY
  holders+=($!)
  netns_pids+=($!)
done
for _ in $(seq 900); do
  [ "$(ls "$work"/holder.* 2>/dev/null | wc -l)" -ge "$workers" ] && break
  sleep 0.2
done
sleep 1
k1=$(kmem)
held=$(ip netns exec $nsl ss -Htn state established | wc -l)
kill "${holders[@]}" 2>/dev/null || true
echo "{\"conns\": $held, \"kernel_kb_before\": $k0, \"kernel_kb_held\": $k1}" >"$out/linux-idle.json"

# --- report -------------------------------------------------------------------------------------
load=$(cut -d' ' -f1-3 /proc/loadavg)
machine="$(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}'), $(nproc) cores, $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC'), load average before the report $load, release build (-O3, LTO, -march=native, no assertions)"
$py "$root/bench/report.py" "$out" "$seconds" "$machine" >"$out/results.md"
cat "$out/results.md"
if [ $write_results = 1 ]; then
  {
    echo "# Benchmark results"
    echo
    echo "Latest \`bench/run.sh\` run (\`--seconds $seconds --conns $conns\`). Plots and raw"
    echo "JSON are written to \`bench/results/\`."
    echo
    cat "$out/results.md"
    echo
    echo "![pollux vs Linux](RESULTS.png)"
    echo
    cat <<'NOTES'
How to read this:
- The machine is a shared 2-CPU VM; other work ran during the run (the load average above).
  pollux's pollers spin and suffer more from a busy neighbour than Linux's sleeping
  processes do, so the pollux columns are the more pessimistic ones. Compare ratios within
  one run, not numbers across runs.
- "pollux in-memory" never leaves the process (two net_ring ports): an upper bound for the
  stack itself. "pollux veth" puts every frame through the kernel twice (net_af_packet on
  both ends of a veth pair), which costs a system call per burst and a copy per frame; it
  is not what a NIC costs. Linux uses the same veth pair with GSO/GRO, i.e. 64 KB
  segments: pollux has no TSO on af_packet, hence its bulk gap over veth. In memory pollux
  has TSO/LRO by default (the bulk row; bulk-csum and bulk-nooffload turn them off).
- "pollux veth (af_xdp)" runs the same over net_af_xdp on another veth pair: the veth's
  native XDP program redirects each frame into the socket's ring (one copy into the pool's
  memory, no socket buffer on the way in); sending still builds one kernel buffer per frame
  (veth has no zero-copy AF_XDP). No TSO, no checksum offload either (bench/VETH.md).
- Busy cycles per TCP segment: each poller counts the TSC cycles of the loop turns that
  received, steered or sent something, less the mean cost of an empty turn, and divides by
  the TCP segments its lcore received and sent (drivers-glue/poller.cpp). The spinning
  between bursts is not counted. End to end adds the two sides: the cost of one segment
  sent by one stack and received by the other.
- The -v6 rows run cps and bulk again over IPv6 (MSS 1440; in memory TSO/LRO as over IPv4,
  over veth GRO in software as over IPv4), Linux over its veth pair.
- Memory per idle connection: pollux counts its process RSS, the preallocated connection
  tables included; Linux counts kernel memory only (the holders' and nginx's user-space
  memory is not included), with as many connections as its per-process file limit
  allowed within the time given.
NOTES
  } >"$root/bench/RESULTS.md"
  [ -f "$out/bench.png" ] && cp "$out/bench.png" "$root/bench/RESULTS.png"
fi
