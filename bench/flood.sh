#!/usr/bin/env bash
# SYN flood bench (issue 14): legitimate short HTTP connections (wrk with "Connection: close")
# to pollux-server on a tap, while hping3 sends SYNs from random sources at several rates; the
# same against Linux (nginx, net.ipv4.tcp_syncookies=1) in the same run. Prints a markdown
# table: legitimate connections/s as a share of the unflooded rate, and the time until a new
# connection succeeds after the flood stops. A bench, not a test: it asserts nothing.
#
#   bench/flood.sh [BUILD_DIR] [--seconds N] [--rates "1000 10000 max"] [--cookies MODE]
#                  [--no-decoy] [--pin | --isolate [--rt]] [--rate R]
#   bench/flood.sh [BUILD_DIR] --profile [--seconds N] [--rates R] [--rate R] [--isolate]
#
# --rt (with --isolate): both servers SCHED_FIFO (chrt -f 1) on CPU 1, as if the core were
# theirs alone (a DPDK lcore is meant to own its core). Without it, on a machine where other
# work also runs on CPU 1, pollux's poller gets only its fair share of that CPU, while
# Linux's packet handling runs in softirq, ahead of any task: a busy machine then starves
# pollux and not Linux. The kernel's RT throttling still leaves 5% of CPU 1 to the others.
#
# --rate R: the legitimate load at a fixed R connections/s (bench_connrate, an open loop: a
# connection every 1/R s whatever the server does, at most max(1000, R) in flight, 3 s
# timeout each) instead of wrk's closed loop of 8, which measures how many connections the
# client's core can make. Each row then runs N + 2 s: the flood stops at N s and a SIGUSR1
# marks that instant; "legit conn/s" is the completed rate in the whole 100 ms bins before
# the mark (the first left out), the connect latency p50/p99 is of the connections due before
# it, and recovery is read from the completions per 100 ms after it: the time until 5 bins in
# a row together complete >= 90% of the R/2 offered in them ("never" if none do). The
# unflooded row's recovery (which should be 0) shows how noisy that is. bench_connrate is
# looked for in BUILD_DIR/bench, then build-release/ and build/ of this tree.
#
# Each flooded pollux row is followed by a decoy row: the same flood sent to 10.91.0.3, an
# address on pollux's link that nobody owns (the client namespace has a static neighbour
# entry for it with a MAC nobody has, so the kernel sends the SYNs into the tap and pollux
# drops each at the Ethernet filter, sending nothing back). hping3 and the kernel do the same
# work as in the row above it, pollux almost none: the decoy row is what the flood costs the
# measurement itself (hping3, the tap's kernel side and wrk share this machine's cores), and
# "share of decoy" is the part of the loss pollux's own handling of the SYNs accounts for.
#
# --pin: hping3 on CPU 0 (pollux's lcore; nginx's too, which then runs there), wrk on CPU 1.
# The attacker then takes its CPU from the server's core, as on real hardware it would take
# none from the client's: without it, a busy poller leaves its core no room, the scheduler
# puts hping3 beside wrk, and the client, the instrument, loses what the flood costs.
#
# --isolate: the server alone on CPU 1, everything else on CPU 0 (this machine's two cores).
# pollux's lcore runs on CPU 1 (EAL -l 1; its EAL control threads, idle, stay on CPU 0), nginx
# (master and worker) on CPU 1; this script, and so hping3, wrk, curl and every kernel thread
# it starts, on CPU 0. The kernel's side of each server's traffic goes where a NIC's would:
# receive packet steering (RPS) puts the server namespace's veth receive (Linux's TCP, its
# SYN cookies) on CPU 1, and the client side's receive of what either server sends (the
# tap's and the veth's) on CPU 0. Checked and printed: each thread's CPU list. Without it
# the scheduler puts the flood's sender, wrk and the servers wherever there is room, and a
# flooded row measures the instrument as much as the server (the decoy rows above).
#
# Every row also reads what the server's core spent: pollux's busy cycles (the poller's
# turns that found work, from its telemetry socket), CPU 1's busy time for Linux under
# --isolate; divided by the connections served in the row (ns per connection; in
# a flooded row it includes the flood's SYNs) and by the row's time (busy %: the server's core
# has the rest to spare),
# and, in the second before wrk starts while only the flood runs, by the SYN-ACKs sent in it
# (a cookie's, or a half-open's while the backlog has room: ns per SYN answered). These costs
# are the server's own and do not depend on how fast wrk could ask.
#
# --profile runs no table: pollux-server under the flood (the fastest, or the first of
# --rates; with --rate R, the legitimate load at R conn/s beside it) for N seconds inside
# `perf record -e cpu-clock --call-graph dwarf` (no hardware PMU needed) and prints the functions with the most samples, self and with children (where each
# spoofed SYN's time goes), and the CPU ticks of every process of the run.
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
decoy=1
pin=0
isolate=0
rates_given=0
rate=""
rt=0
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) secs=${2:?}; shift 2 ;;
    --rates) rates=${2:?}; rates_given=1; shift 2 ;;
    --no-decoy) decoy=0; shift ;;
    --pin) pin=1; shift ;;
    --isolate) isolate=1; shift ;;
    --rt) rt=1; shift ;;
    --cookies) cookies=${2:?}; shift 2 ;;
    --rate) rate=${2:?}; shift 2 ;;
    --profile) profile=1; shift ;;
    -h|--help) sed -n '2,67p' "$0"; exit 0 ;;
    -*) echo "flood.sh: unknown option $1" >&2; exit 2 ;;
    *) build=$1; shift ;;
  esac
done
case $build in /*) ;; *) build=$root/$build ;; esac
server="$build/apps/pollux-server/pollux-server"
[ -x "$server" ] || { echo "flood.sh: no $server (build first)" >&2; exit 2; }
tools="wrk hping3 nginx curl"
[ $profile = 1 ] && tools="hping3 perf"
for t in $tools; do
  command -v $t >/dev/null || { echo "flood.sh: needs $t (apt-get install $t)" >&2; exit 2; }
done

[ $pin = 1 ] && [ $isolate = 1 ] && { echo "flood.sh: --pin or --isolate, not both" >&2; exit 2; }
connrate=""
if [ -n "$rate" ]; then
  case $rate in ''|*[!0-9]*|0) echo "flood.sh: --rate '$rate' is not a whole number of connections/s > 0" >&2; exit 2 ;; esac
  for d in "$build" "$root/build-release" "$root/build"; do
    [ -x "$d/bench/bench_connrate" ] && { connrate=$d/bench/bench_connrate; break; }
  done
  [ -n "$connrate" ] || { echo "flood.sh: --rate needs bench_connrate (ninja -C build bench/bench_connrate)" >&2; exit 2; }
fi
[ $rt = 1 ] && [ $isolate = 0 ] && { echo "flood.sh: --rt needs --isolate" >&2; exit 2; }
rt_prio=""
[ $rt = 1 ] && rt_prio="chrt -f 1"
if [ $isolate = 1 ]; then
  [ "$(nproc --all)" -ge 2 ] || { echo "flood.sh: --isolate needs 2 CPUs" >&2; exit 2; }
  [ -e /sys/class/net/lo/queues/rx-0/rps_cpus ] ||
    { echo "flood.sh: --isolate needs RPS (CONFIG_RPS)" >&2; exit 2; }
  taskset -pc 0 $$ >/dev/null  # this shell, and so everything it starts, on CPU 0
fi

netns_init
cns=flc$$ lns=fll$$ tap=pxf$$
netns_add $cns
netns_add $lns
veth_add $cns vfc$$ $lns vfl$$ 10.92.0.1/24 10.92.0.2/24
ip netns exec $lns ip route add default via 10.92.0.1
ip netns exec $lns sysctl -qw net.ipv4.tcp_syncookies=1

# Receive packet steering of namespace $1's device $2 to the CPUs of mask $3 (--isolate).
rps() { ip netns exec "$1" sh -c "echo $3 > /sys/class/net/$2/queues/rx-0/rps_cpus"; }

# pollux-server, one lcore, on a tap whose kernel side is in the client namespace. Under
# --isolate its lcore is CPU 1 and the process may use CPU 0 too, where the EAL puts its
# control threads (the CPUs it was given less the lcores').
lcore=0 server_cpu=""
[ $isolate = 1 ] && lcore=1 server_cpu="taskset -c 0,1 $rt_prio"
# shellcheck disable=SC2086
spawn "$workdir/pollux.log" ip netns exec $cns $server_cpu "$server" --preset tap:$tap -l $lcore -- \
  --ip 10.91.0.2/24 --gw 10.91.0.1 --mode http --port 8080 --syn-cookies "$cookies"
pollux_pid=$spawned
wait_ready "$workdir/pollux.log" || exit 1
tap_up $cns $tap 10.91.0.1/24
if [ $isolate = 1 ]; then
  rps $lns vfl$$ 2     # Linux's server-side receive (TCP, SYN cookies): CPU 1
  rps $cns vfc$$ 1     # the client's receive of nginx's replies: CPU 0
  rps $cns $tap 1      # the client's receive of pollux's replies: CPU 0
fi
tel_sock=$(awk '/^telemetry /{print $2; exit}' "$workdir/pollux.log")
wait_ping $cns 10.91.0.2 || { echo "flood.sh: pollux does not answer ping" >&2; exit 1; }

flood_args() {
  case "$1" in
    max) echo "--flood" ;;
    *) echo "-i u$((1000000 / $1))" ;;
  esac
}
on_flood_cpu="" on_client_cpu=""
[ $pin = 1 ] && on_flood_cpu="taskset -c 0" on_client_cpu="taskset -c 1"

# The decoy (see above): on pollux's link, answered by nobody.
decoy_ip=10.91.0.3
ip netns exec $cns ip neigh replace $decoy_ip lladdr 02:00:00:00:de:c0 dev $tap nud permanent

# A flood from hping3 towards $2 at rate $1 in the background ($hp); flood_stop ends it and
# sets $sent_rate to the SYNs it sent per second (its own count over the time it ran: at
# -i u100 hping3's usleep() makes fewer than the 10,000 asked for).
flood_start() {
  # shellcheck disable=SC2046,SC2086
  spawn "$workdir/hping.log" ip netns exec $cns $on_flood_cpu hping3 -q -S -p 8080 --rand-source \
    $(flood_args "$1") "$2"
  hp=$spawned
  flood_t0=$(date +%s.%N)
}
flood_stop() {
  kill -INT "$hp" 2>/dev/null; wait "$hp" 2>/dev/null
  sent_rate=$(awk -v a="$flood_t0" -v b="$(date +%s.%N)" \
    '/packets transmitted/ { printf "%d", $1 / (b - a) }' "$workdir/hping.log")
  hp=""
}

# CPU ticks (utime + stime, all threads) of each process.
ticks() {
  local p t s=0
  for p in "$@"; do
    for t in /proc/"$p"/task/*/stat; do s=$((s + $(awk '{print $14 + $15}' "$t" 2>/dev/null || echo 0))); done
  done
  echo $s
}

if [ $profile = 1 ]; then
  prate=max
  [ $rates_given = 1 ] && prate=${rates%% *}
  flood_start "$prate" 10.91.0.2
  fhp=$hp
  sleep 1
  if [ -n "$rate" ]; then  # the flooded row of --rate: the legitimate load beside the flood
    # shellcheck disable=SC2086
    spawn "$workdir/fixed.log" ip netns exec $cns $on_client_cpu "$connrate" --to 10.91.0.2:8080 \
      --rate "$rate" --seconds "$secs" --in-flight $((rate > 1000 ? rate : 1000)) --timeout 3000
    cp=$spawned
  fi
  t0p=$(ticks "$pollux_pid") t0h=$(ticks "$fhp") t0=$(awk '/^cpu /{print $2+$3+$4+$6+$7+$8, $5}' /proc/stat)
  perf record -q -e cpu-clock --call-graph dwarf,16384 -p "$pollux_pid" -o "$workdir/perf.data" \
    -- sleep "$secs" >/dev/null 2>&1
  t1p=$(ticks "$pollux_pid") t1h=$(ticks "$fhp") t1=$(awk '/^cpu /{print $2+$3+$4+$6+$7+$8, $5}' /proc/stat)
  flood_stop
  if [ -n "$rate" ]; then
    wait "$cp"
    echo "legitimate load beside it (bench_connrate at $rate conn/s): $(tail -1 "$workdir/fixed.log")"
  fi
  echo "flood: $prate SYN/s asked, $sent_rate sent; ${secs} s profiled; CPU ticks (10 ms) in that time: pollux-server $((t1p - t0p)),"
  echo "  hping3 $((t1h - t0h)), the whole machine busy $(( ${t1% *} - ${t0% *} )) idle $(( ${t1#* } - ${t0#* } ))"
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
  grep -E 'syn_cookies_sent|tcp_segs_out|rx_packets|drop_ip_bad_source|arp_requests_sent' "$workdir/pollux.log" | sed 's/^/  /'
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
# shellcheck disable=SC2086
nginx_cpu=$on_flood_cpu
[ $isolate = 1 ] && nginx_cpu="taskset -c 1 $rt_prio"
# shellcheck disable=SC2086
spawn "$workdir/nginx.log" ip netns exec $lns $nginx_cpu nginx -c "$workdir/nginx.conf"
for _ in $(seq 50); do ip netns exec $cns curl -s -m 1 http://10.92.0.2:8080/ >/dev/null && break; sleep 0.1; done

in_c() { ip netns exec $cns "$@"; }

# What the server's core has spent so far, in ns, and the TCP segments it has sent: "NS SEGS"
# (while only the flood runs, every segment sent is a SYN-ACK: a cookie, or for a half-open
# queued while the backlog has room, the first or a retransmission; pollux's tcp_segs_out,
# Linux's Tcp OutSegs). pollux ($1): the poller's busy cycles (telemetry). Linux, under
# --isolate: CPU 1's busy time (/proc/stat, 10 ms ticks), where nginx and, RPS-steered, its
# kernel receive run; anything else that runs there counts too, so on a busy machine it is an
# upper bound (nginx's own ticks would count its softirq time twice: a tick in softirq is
# charged to the task it interrupted as well). Without --isolate the kernel's share is
# nowhere to read: "-".
server_spent() {
  if [ "$1" = pollux ]; then
    /usr/bin/python3 "$root/tests/interop/telemetry_query.py" "$tel_sock" /pollux/lcores \
      /pollux/counters 2>/dev/null | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
l = d["/pollux/lcores"]
print(int(sum(l["busy_cycles"]) * 1e9 / l["tsc_hz"]), d["/pollux/counters"].get("tcp_segs_out", 0))' ||
      echo "- -"
  elif [ $isolate = 1 ]; then
    local t; t=$(awk '/^cpu1 /{print $2 + $3 + $4 + $7 + $8}' /proc/stat)
    echo "$((t * 10000000)) $(ip netns exec $lns awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++)
      if ($i == "OutSegs") c = i; h = 1 } else print $c }' /proc/net/snmp)"
  else
    echo "- -"
  fi
}
# The ns between two server_spent readings $1 and $2 divided by $3 (connections, SYN-ACKs,
# or 10^7 times the seconds between them for a busy %), or "-".
per() {
  awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { split(a, x, " "); split(b, y, " ")
    if (x[1] == "-" || y[1] == "-" || n <= 0) print "-"; else printf "%d", (y[1] - x[1]) / n }'
}
syns_between() {
  awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); print (x[2] == "-" ? 0 : y[2] - x[2]) }'
}

# Legitimate connections per second: wrk, one connection per request. Also leaves in
# $workdir/cpu the CPU the run took, in % of one core: wrk, hping3 ($hp, if flooding), the
# server ($2), and what the whole machine left idle (of all its cores); and in $workdir/cost
# the server's ns per connection served and the share of its core it was busy, in %
# ($3: its name, for server_spent).
legit_rate() {
  local p0 h0=0 c0 p1 h1=0 c1 w s0 s1 rate
  local pids
  pids="$2 $(pgrep -P "$2" | tr "\n" " ")"
  s0=$(server_spent "$3")
  # shellcheck disable=SC2086
  p0=$(ticks $pids) c0=$(awk '/^cpu /{print $5}' /proc/stat)
  [ -n "$hp" ] && h0=$(ticks "$hp")
  # shellcheck disable=SC2086
  in_c $on_client_cpu /usr/bin/time -f '%U %S' -o "$workdir/wrk.time" \
    wrk -t1 -c8 -d"${secs}s" -H 'Connection: close' "http://$1:8080/" 2>/dev/null |
    awk '/Requests\/sec/ {printf "%d", $2}' >"$workdir/rate"
  # shellcheck disable=SC2086
  p1=$(ticks $pids) c1=$(awk '/^cpu /{print $5}' /proc/stat)
  s1=$(server_spent "$3")
  rate=$(cat "$workdir/rate")
  echo "$(per "$s0" "$s1" "$((${rate:-0} * secs))") / $(per "$s0" "$s1" "$((secs * 10000000))")" \
    >"$workdir/cost"
  echo "$rate"
  [ -n "$hp" ] && h1=$(ticks "$hp")
  w=$(awk '{printf "%d", ($1 + $2) * 100}' "$workdir/wrk.time" 2>/dev/null)
  echo "$((${w:-0} / secs)) / $(((h1 - h0) / secs)) / $(((p1 - p0) / secs)) / $(((c1 - c0) / secs))" \
    >"$workdir/cpu"
}
# --rate: bench_connrate at $rate conn/s to $1 for $secs + 2 s. A flood running ($hp) is
# stopped at $secs s and the instant marked (SIGUSR1) right after; without one the mark is
# sent then too, so that every row measures the same window. Leaves the summary line in
# $workdir/fixed (and, after $4, the row's name, in $workdir/summaries), and in $workdir/cpu
# and $workdir/cost what legit_rate leaves, over the first $secs s (the client's CPU in place
# of wrk's).
legit_fixed() {
  local pids s0 s1 p0 p1 c0 c1 h0=0 h1=0 w1 cp served d0=0 d1=0
  [ "$3" = pollux ] && d0=$(tap_dropped)
  pids="$2 $(pgrep -P "$2" | tr "\n" " ")"
  s0=$(server_spent "$3")
  # shellcheck disable=SC2086
  p0=$(ticks $pids) c0=$(awk '/^cpu /{print $5}' /proc/stat)
  [ -n "$hp" ] && h0=$(ticks "$hp")
  # shellcheck disable=SC2086
  spawn "$workdir/fixed.log" ip netns exec $cns $on_client_cpu "$connrate" --to "$1:8080" \
    --rate "$rate" --seconds $((secs + 2)) --in-flight $((rate > 1000 ? rate : 1000)) --timeout 3000
  cp=$spawned
  sleep "$secs"
  # shellcheck disable=SC2086
  p1=$(ticks $pids) c1=$(awk '/^cpu /{print $5}' /proc/stat) w1=$(ticks "$cp")
  [ -n "$hp" ] && h1=$(ticks "$hp")
  s1=$(server_spent "$3")
  [ "$3" = pollux ] && d1=$(tap_dropped)
  # The mark goes with the flood's stop, before waiting for hping3 to exit: at its fastest
  # rate hping3 took long enough to exit that the mark came after the client had ended.
  [ -n "$hp" ] && kill -INT "$hp" 2>/dev/null
  kill -USR1 "$cp"
  [ -n "$hp" ] && flood_stop
  wait "$cp"
  tail -1 "$workdir/fixed.log" >"$workdir/fixed"
  echo "  $3 $4: $(cat "$workdir/fixed")" >>"$workdir/summaries"
  [ "$3" = pollux ] && echo "    frames the tap's kernel side dropped (queue to pollux full) in the first $secs s: $((d1 - d0))" >>"$workdir/summaries"
  echo "    $(grep '^completions per' "$workdir/fixed.log")" >>"$workdir/summaries"
  served=$(fixed_field rate_before_mark)
  case $served in ''|*[!0-9]*) served=0 ;; esac  # bench_connrate failed: its log says why
  echo "$(per "$s0" "$s1" "$((${served:-0} * secs))") / $(per "$s0" "$s1" "$((secs * 10000000))")" \
    >"$workdir/cost"
  echo "$((w1 / secs)) / $(((h1 - h0) / secs)) / $(((p1 - p0) / secs)) / $(((c1 - c0) / secs))" \
    >"$workdir/cpu"
}
# Frames the kernel side of pollux's tap dropped so far: its queue to pollux was full (a flood
# faster than the poller reads drops legitimate SYNs there too, before pollux sees them).
tap_dropped() { ip netns exec $cns cat "/sys/class/net/$tap/statistics/tx_dropped" 2>/dev/null || echo 0; }
# A field of the last bench_connrate summary (legit_fixed), or "-".
fixed_field() {
  awk -v k="$1" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) v = substr($i, length(k) + 2) }
    END { print (v == "" ? "-" : v) }' "$workdir/fixed"
}
# "P50 / P99" connect latency in us, completions failed (timed out) of the last summary.
fixed_cols() {
  printf '%s / %s | %s (%s)' "$(fixed_field connect_p50_us)" "$(fixed_field connect_p99_us)" \
    "$(fixed_field failed)" "$(fixed_field timed_out)"
}
# 100 x $1 / $2 as "N%", or "-".
pct() { [ "${2:-0}" -gt 0 ] 2>/dev/null && echo "$((100 * ${1:-0} / $2))%" || echo "-"; }

# Seconds from the flood's end until a fresh connection completes (curl, 0.5 s timeout each).
recovery() {
  local t0=$(date +%s.%N)
  for _ in $(seq 100); do
    in_c curl -s -m 0.5 "http://$1:8080/" >/dev/null && break
  done
  awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }'
}

# The flood alone, for a second before wrk starts: the server's ns per SYN-ACK it sent, and
# SYN-ACKs sent per second, into $syn_cost ("NS_PER_SYN_ACK / SENT_PER_S").
flood_alone() {
  local a b n
  sleep 0.3
  a=$(server_spent "$1")
  sleep 1
  b=$(server_spent "$1")
  n=$(syns_between "$a" "$b")
  syn_cost="$(per "$a" "$b" "$n") / $n"
}

# Where each process of the run is allowed to run (and last ran), and its scheduling policy
# (0 normal, 1 FIFO): the check of --isolate and --rt.
placement() {
  local p t
  for p in "$@"; do
    for t in /proc/"$p"/task/*; do
      printf '  %s (%s): CPUs %s, last on %s, policy %s\n' "$(cat "$t/comm" 2>/dev/null)" \
        "${t##*/}" "$(awk '/^Cpus_allowed_list/ {print $2}' "$t/status" 2>/dev/null)" \
        "$(awk '{print $39}' "$t/stat" 2>/dev/null)" "$(awk '{print $41}' "$t/stat" 2>/dev/null)"
    done
  done
}

nginx_pid=$(cat "$workdir/nginx.pid" 2>/dev/null || echo $$)
# --rate: one row per server and flood rate (and decoy), the legitimate load at a fixed rate.
# $1 server, $2 flood column, $3 share of unflooded, $4 share of decoy: a row of the last
# legit_fixed.
fixed_row() {
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$2" \
    "$(fixed_field rate_before_mark)" "$3" "$(fixed_cols)" "$(fixed_field recovery_s)" "$4" \
    "$(cat "$workdir/cpu")" "$(cat "$workdir/cost")" "$5"
}
if [ -n "$rate" ]; then
  echo "| server | flood SYN/s (sent) | legit conn/s ($rate offered) | share of unflooded | connect us p50 / p99 | failed (timed out) | recovery s | share of decoy | CPU % client / hping3 / server / idle | server ns per conn / busy % | flood alone: server ns per SYN-ACK / SYN-ACKs per s |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |"
  for target in pollux:10.91.0.2:$pollux_pid linux:10.92.0.2:$nginx_pid; do
    IFS=: read -r name ip spid <<<"$target"
    # pollux's poller spins on CPU 1 while it runs: stopped before nginx's rows, which share
    # that CPU (under --isolate) or the machine.
    [ "$name" = linux ] && stop_pid "$pollux_pid"
    hp=""
    legit_fixed "$ip" "$spid" "$name" unflooded
    base=$(fixed_field rate_before_mark)
    fixed_row "$name" 0 100% - -
    for r in $rates; do
      flood_start "$r" "$ip"
      flood_alone "$name"
      [ $isolate = 1 ] && [ "$r" = "${rates##* }" ] &&
        placement "$spid" $(pgrep -P "$spid") "$hp" $(pgrep -P "$hp") $$ >>"$workdir/placement"
      legit_fixed "$ip" "$spid" "$name" "flood $r"
      got=$(fixed_field rate_before_mark)
      cp "$workdir/fixed" "$workdir/fixed.flooded"
      cp "$workdir/cpu" "$workdir/cpu.flooded"
      cp "$workdir/cost" "$workdir/cost.flooded"
      rsent=$sent_rate dshare=- drow=""
      if [ $decoy = 1 ] && [ "$name" = pollux ]; then
        flood_start "$r" $decoy_ip
        sleep 1.3
        legit_fixed "$ip" "$spid" "$name" "flood $r to decoy"
        dgot=$(fixed_field rate_before_mark)
        dshare=$(pct "$got" "$dgot")
        drow=$(fixed_row "$name" "$r ($sent_rate) to decoy" "$(pct "$dgot" "$base")" - -)
      fi
      cp "$workdir/fixed.flooded" "$workdir/fixed"
      cp "$workdir/cpu.flooded" "$workdir/cpu"
      cp "$workdir/cost.flooded" "$workdir/cost"
      fixed_row "$name" "$r (${rsent:--})" "$(pct "$got" "$base")" "$dshare" "$syn_cost"
      [ -n "$drow" ] && echo "$drow"
    done
  done
else  # wrk's closed loop
echo "| server | flood SYN/s (sent) | legit conn/s | share of unflooded | recovery s | share of decoy | CPU % wrk / hping3 / server / idle | server ns per conn / busy % | flood alone: server ns per SYN-ACK / SYN-ACKs per s |"
echo "| --- | --- | ---: | ---: | ---: | ---: | --- | --- | --- |"
for target in pollux:10.91.0.2:$pollux_pid linux:10.92.0.2:$nginx_pid; do
  IFS=: read -r name ip spid <<<"$target"
  hp=""
  base=$(legit_rate "$ip" "$spid" "$name")
  echo "| $name | 0 | $base | 100% | - | - | $(cat "$workdir/cpu") | $(cat "$workdir/cost") | - |"
  for r in $rates; do
    flood_start "$r" "$ip"
    flood_alone "$name"
    [ $isolate = 1 ] && [ "$r" = "${rates##* }" ] &&
      placement "$spid" $(pgrep -P "$spid") "$hp" $(pgrep -P "$hp") $$ >>"$workdir/placement"
    got=$(legit_rate "$ip" "$spid" "$name")
    cpu=$(cat "$workdir/cpu") cost=$(cat "$workdir/cost")
    flood_stop
    rsent=$sent_rate
    rec=$(recovery "$ip")
    share=$([ "${base:-0}" -gt 0 ] && echo "$((100 * ${got:-0} / base))%" || echo "-")
    if [ $decoy = 1 ] && [ "$name" = pollux ]; then
      flood_start "$r" $decoy_ip
      sleep 1.3
      dgot=$(legit_rate "$ip" "$spid" "$name")
      dcpu=$(cat "$workdir/cpu") dcost=$(cat "$workdir/cost")
      flood_stop
      dsent=$sent_rate
      dshare=$([ "${dgot:-0}" -gt 0 ] && echo "$((100 * ${got:-0} / dgot))%" || echo "-")
      dbase=$([ "${base:-0}" -gt 0 ] && echo "$((100 * ${dgot:-0} / base))%" || echo "-")
    else
      dshare=-
    fi
    printf '| %s | %s (%s) | %s | %s | %.2f | %s | %s | %s | %s |\n' "$name" "$r" "${rsent:--}" \
      "${got:-0}" "$share" "$rec" "$dshare" "$cpu" "$cost" "$syn_cost"
    [ "$dshare" != - ] &&
      printf '| %s | %s (%s) to decoy | %s | %s | - | - | %s | %s | - |\n' "$name" "$r" \
        "${dsent:--}" "${dgot:-0}" "$dbase" "$dcpu" "$dcost"
  done
done
fi
stop_pid $pollux_pid
if [ $isolate = 1 ]; then
  echo
  echo "placement during the last flooded rows (thread: allowed CPUs, CPU it last ran on, policy):"
  cat "$workdir/placement"
  echo "  this script and so wrk and curl: CPUs $(awk '/^Cpus_allowed_list/ {print $2}' /proc/$$/status)"
fi
if [ -n "$rate" ]; then
  echo
  echo "bench_connrate's summary of each row:"
  cat "$workdir/summaries"
fi
echo
echo "pollux counters (syn cookies, backlog, the decoy SYNs dropped, ARP):"
grep -E 'syn_cookies|backlog_full|drop_ip_bad_source|passive_opens|drop_not_our_mac|arp_' "$workdir/pollux.log" | sed 's/^/  /'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
