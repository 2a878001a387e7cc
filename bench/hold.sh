#!/usr/bin/env bash
# Memory per held connection at scale (issue 13 item 5): pollux-gen holds N idle connections
# to its --local-server in one process over the in-memory link (both ends live there, each
# with a table sized for N), from as many source addresses as their ephemeral ports need.
#
#   bench/hold.sh [--conns N] [--build DIR] [--out FILE]
#
# Reports (and writes as JSON to FILE, default bench/results/hold.json):
#   - bytes per endpoint: (resident memory holding N) - (the same process holding 16 with
#     1024-entry tables), over 2N -- each connection's TCB, its table slot and its share of
#     the pools, as touched memory, plus what the connection's peer costs in the same process;
#   - bytes per TIME-WAIT record: resident memory with a store of 2^20 records minus one of 1,
#     over 2 x 2^20 (each end's lcore has its own store) -- the record and its share of the
#     index.
# N defaults to 1,000,000; the machine needs about 3 KB per connection (both ends) free.
# DIR defaults to build-release (scripts/build.sh release; the memory does not depend on the
# optimisation level, so build/ measures the same). A benchmark, not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
conns=1000000
build=$root/build-release
out=$root/bench/results/hold.json
while [ $# -gt 0 ]; do
  case "$1" in
    --conns) conns=${2:?}; shift 2 ;;
    --build) build=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "bench/hold.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done
[[ "$conns" =~ ^[1-9][0-9]*$ ]] && [ "$conns" -le 4000000 ] ||
  { echo "bench/hold.sh: --conns takes 1..4000000" >&2; exit 2; }
gen=$build/apps/pollux-gen/pollux-gen
[ -x "$gen" ] || { echo "bench/hold.sh: no $gen (scripts/build.sh release)" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One source address per 50,000 connections (55,536 ephemeral ports each), at most 250.
addrs=$(( (conns + 49999) / 50000 ))
[ "$addrs" -le 250 ] || { echo "bench/hold.sh: too many connections for one /24" >&2; exit 2; }

# hold N TABLE TW-RECORDS: VmRSS in kB once N connections are established (0: never).
hold() {
  local n=$1 table=$2 tw=$3 log=$work/hold-$1-$3.txt
  local secs=$(( n / 20000 + 10 ))
  "$gen" -l 0-1 --log-level=4 -- --mode hold --connections "$n" --rate 50000 \
    --ip "198.18.0.2-$((1 + addrs))/24" --max-conns "$table" --time-wait-records "$tw" \
    --local-server discard --duration "$secs" >"$log" 2>&1 &
  local p=$! rss=0 t0=$SECONDS
  while kill -0 $p 2>/dev/null; do
    sleep 0.5
    if grep -q "active $n " "$log" 2>/dev/null; then
      rss=$(awk '/VmRSS/ {print $2}' /proc/$p/status)
      break
    fi
  done
  local took=$(( SECONDS - t0 ))
  kill -INT $p 2>/dev/null || true
  wait $p || true
  echo "$rss $took"
}

read -r rss_small _ < <(hold 16 1024 1)
read -r rss_held took < <(hold "$conns" $((conns + 1024)) 1)
read -r rss_tw _ < <(hold 16 1024 1048576)
if [ "$rss_held" = 0 ] || [ "$rss_small" = 0 ] || [ "$rss_tw" = 0 ]; then
  echo "bench/hold.sh: the connections were not all established (logs in $work)" >&2
  tail -5 "$work"/hold-*.txt >&2
  trap - EXIT
  exit 1
fi
per_endpoint=$(( (rss_held - rss_small) * 1024 / (2 * conns) ))
per_tw=$(( (rss_tw - rss_small) * 1024 / (2 * 1048576) ))  # a store on each end's lcore
printf 'held %d connections (both ends in one process) in %d s: %d B per endpoint\n' \
  "$conns" "$took" "$per_endpoint"
printf 'TIME-WAIT: %d B per record (a store of 2^20 against one of 1)\n' "$per_tw"
printf '{"conns": %d, "rss_kb_16": %d, "rss_kb_held": %d, "bytes_per_endpoint": %d, "rss_kb_tw_1m": %d, "bytes_per_time_wait": %d, "load": "%s"}\n' \
  "$conns" "$rss_small" "$rss_held" "$per_endpoint" "$rss_tw" "$per_tw" \
  "$(cut -d' ' -f1-3 /proc/loadavg)" >"$out"
