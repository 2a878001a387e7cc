#!/usr/bin/env bash
# SYN flood bench (issue 14): legitimate short HTTP connections (wrk with "Connection: close")
# to pollux-server on a tap, while hping3 sends SYNs from random sources at several rates; the
# same against Linux (nginx, net.ipv4.tcp_syncookies=1) in the same run. Prints a markdown
# table: legitimate connections/s as a share of the unflooded rate, and the time until a new
# connection succeeds after the flood stops. A bench, not a test: it asserts nothing.
#
#   bench/flood.sh [BUILD_DIR] [--seconds N] [--rates "1000 10000 max"] [--cookies MODE]
#   bench/flood.sh [BUILD_DIR] --profile [--seconds N]
#
# --profile runs no table: pollux-server under the fastest flood for N seconds inside
# `perf record -e cpu-clock --call-graph dwarf` (no hardware PMU needed) and prints the
# functions with the most samples, self and with children (where each spoofed SYN's time goes).
#
# Everything runs in namespaces made here: the client namespace holds the kernel side of
# pollux's tap and a veth to the namespace where nginx listens. Needs root, wrk, hping3, nginx.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=../scripts/lib/netns.sh
. "$root/scripts/lib/netns.sh"

build=build-release  # scripts/build.sh release
secs=5
rates="1000 10000 max"
cookies=auto
profile=0
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) secs=${2:?}; shift 2 ;;
    --rates) rates=${2:?}; shift 2 ;;
    --cookies) cookies=${2:?}; shift 2 ;;
    --profile) profile=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    -*) echo "flood.sh: unknown option $1" >&2; exit 2 ;;
    *) build=$1; shift ;;
  esac
done
server="$root/$build/apps/pollux-server/pollux-server"
[ -x "$server" ] || { echo "flood.sh: no $server (build first)" >&2; exit 2; }
tools="wrk hping3 nginx curl"
[ $profile = 1 ] && tools="hping3 perf"
for t in $tools; do
  command -v $t >/dev/null || { echo "flood.sh: needs $t (apt-get install $t)" >&2; exit 2; }
done

netns_init
cns=flc$$ lns=fll$$ tap=pxf$$
netns_add $cns
netns_add $lns
veth_add $cns vfc$$ $lns vfl$$ 10.92.0.1/24 10.92.0.2/24
ip netns exec $lns ip route add default via 10.92.0.1
ip netns exec $lns sysctl -qw net.ipv4.tcp_syncookies=1

# pollux-server, one lcore, on a tap whose kernel side is in the client namespace.
spawn "$workdir/pollux.log" ip netns exec $cns "$server" --preset tap:$tap -l 0 -- \
  --ip 10.91.0.2/24 --gw 10.91.0.1 --mode http --port 8080 --syn-cookies "$cookies"
pollux_pid=$spawned
wait_ready "$workdir/pollux.log" || exit 1
tap_up $cns $tap 10.91.0.1/24
wait_ping $cns 10.91.0.2 || { echo "flood.sh: pollux does not answer ping" >&2; exit 1; }

if [ $profile = 1 ]; then
  spawn "$workdir/hping.log" ip netns exec $cns hping3 -q -S -p 8080 --rand-source --flood 10.91.0.2
  hp=$spawned
  sleep 1
  perf record -q -e cpu-clock --call-graph dwarf,16384 -p "$pollux_pid" -o "$workdir/perf.data" \
    -- sleep "$secs" >/dev/null 2>&1
  kill -INT "$hp" 2>/dev/null; wait "$hp" 2>/dev/null
  stop_pid $pollux_pid
  [ -n "${FLOOD_PERF_DATA:-}" ] && cp "$workdir/perf.data" "$FLOOD_PERF_DATA"
  rows() { grep -E '^ +[0-9]' | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//'; }
  echo "samples per thread (the poller is the one named pollux-server with the most):"
  perf script -i "$workdir/perf.data" -F tid,comm 2>/dev/null | sort | uniq -c | sort -rn | head -6
  echo "self (top 20):"
  perf report -i "$workdir/perf.data" --no-children --percent-limit 0.5 --stdio -g none \
    --sort symbol 2>/dev/null | rows | head -20
  echo "pollux-server's own code, self (share of all samples):"
  perf report -i "$workdir/perf.data" --no-children --percent-limit 0.3 --stdio -g none \
    --dsos pollux-server --sort symbol 2>/dev/null | rows | head -20
  echo "with children (top 25):"
  perf report -i "$workdir/perf.data" --children --percent-limit 2 --stdio -g none \
    --sort symbol 2>/dev/null | rows | head -25
  grep -E 'syn_cookies_sent|tcp_segs_out|rx_packets|drop_ip_bad_source' "$workdir/pollux.log" | sed 's/^/  /'
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  exit 0
fi

cat >"$workdir/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $workdir/nginx.pid;
error_log $workdir/nginx.err;
events { worker_connections 4096; }
http {
  access_log off;
  server { listen 10.92.0.2:8080 backlog=1024; location / { return 200 "ok\n"; } }
}
EOF
spawn "$workdir/nginx.log" ip netns exec $lns nginx -c "$workdir/nginx.conf"
for _ in $(seq 50); do ip netns exec $cns curl -s -m 1 http://10.92.0.2:8080/ >/dev/null && break; sleep 0.1; done

in_c() { ip netns exec $cns "$@"; }

# Legitimate connections per second: wrk, one connection per request.
legit_rate() {
  in_c wrk -t1 -c8 -d"${secs}s" -H 'Connection: close' "http://$1:8080/" 2>/dev/null |
    awk '/Requests\/sec/ {printf "%d", $2}'
}
# Seconds from the flood's end until a fresh connection completes (curl, 0.5 s timeout each).
recovery() {
  local t0=$(date +%s.%N)
  for _ in $(seq 100); do
    in_c curl -s -m 0.5 "http://$1:8080/" >/dev/null && break
  done
  awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }'
}
flood_args() {
  case "$1" in
    max) echo "--flood" ;;
    *) echo "-i u$((1000000 / $1))" ;;
  esac
}

echo "| server | flood SYN/s | legit conn/s | share of unflooded | recovery s |"
echo "| --- | --- | ---: | ---: | ---: |"
for target in pollux:10.91.0.2 linux:10.92.0.2; do
  name=${target%%:*} ip=${target#*:}
  base=$(legit_rate "$ip")
  echo "| $name | 0 | $base | 100% | - |"
  for r in $rates; do
    # shellcheck disable=SC2046
    spawn "$workdir/hping.log" ip netns exec $cns hping3 -q -S -p 8080 --rand-source \
      $(flood_args "$r") "$ip"
    hp=$spawned
    sleep 1
    got=$(legit_rate "$ip")
    kill -INT "$hp" 2>/dev/null; wait "$hp" 2>/dev/null
    rec=$(recovery "$ip")
    share=$([ "${base:-0}" -gt 0 ] && echo "$((100 * ${got:-0} / base))%" || echo "-")
    printf '| %s | %s | %s | %s | %.2f |\n' "$name" "$r" "${got:-0}" "$share" "$rec"
  done
done
stop_pid $pollux_pid
echo
echo "pollux counters (syn cookies, backlog):"
grep -E 'syn_cookies|backlog_full|drop_ip_bad_source|passive_opens' "$workdir/pollux.log" | sed 's/^/  /'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
