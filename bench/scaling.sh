#!/usr/bin/env bash
# Multi-core scaling (issue 6): CPS, RPS and bulk goodput for 1, 2, 4, 8 lcores per side,
# as far as the machine has cores, with the efficiency of each added lcore.
#
#   bench/scaling.sh [--seconds N] [--max-lcores N] [--out DIR]
#
# Setup: pollux-gen and its local pollux-server in one process over the in-memory link
# (net_ring pair, queue i <-> queue i). N lcores per side: every generator lcore opens its
# own share of the connections, choosing ports whose replies the shard function maps back
# to it, and the server lcore of the same index owns them, so no segment crosses lcores
# (the steering counters in the JSON reports show it).
#   cps   HTTP, Connection: close, 32 in flight per lcore
#   rps   HTTP keep-alive, 32 connections per lcore
#   bulk  one 'up' stream per lcore into a discard server (goodput)
# Efficiency of N lcores = rate(N) / (N * rate(1)): 1.0 is linear scaling.
#
# 2N pollers need 2N cores. The default (--max-lcores 0) runs N = 1, 2, 4, 8 while 2N <= the
# CPUs online; on a 2-core machine that is N = 1 only, so N = 2 also runs, *oversubscribed*
# (four pollers on two cores, --lcores '(0-3)@(0-1)'; then every row floats over all CPUs),
# and the table says so: such a row measures the cost of sharing cores, not scaling. Numbers
# also move with whatever else runs (the load average is recorded).
# cps opens 32 connections per lcore at a time toward one address and port through 28k
# ephemeral ports; at tens of thousands of connections per second a few hundred connect()
# calls fail locally, with one lcore a side as with two (the "errors" column; see the .txt
# reports for the causes).
# This is a benchmark, not a test: nothing here passes or fails on a number.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seconds=5
max=0
out=$root/bench/results-scaling
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=${2:?}; shift 2 ;;
    --max-lcores) max=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "bench/scaling.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "bench/scaling.sh: --seconds takes a whole number" >&2; exit 2; }
[[ "$max" =~ ^[0-9]+$ ]] || { echo "bench/scaling.sh: --max-lcores takes a number" >&2; exit 2; }
scripts/build.sh release  # benchmarks measure the release build (issue 13)
gen=$root/build-release/apps/pollux-gen/pollux-gen
mkdir -p "$out"
rm -f "$out"/*.json "$out"/*.txt
cpus=$(nproc)

# The lcore counts per side to run.
counts=()
for n in 1 2 4 8; do
  if [ "$max" -gt 0 ]; then
    [ "$n" -le "$max" ] && counts+=($n)
  elif [ $((2 * n)) -le "$cpus" ] || [ "$n" -le 2 ]; then
    counts+=($n)
  fi
done

# lcore_args N: 2N lcores (N per side), one per CPU when every row fits the machine; else
# every row (the baseline too, for a fair comparison) lets its lcores float over all CPUs.
biggest=${counts[$((${#counts[@]} - 1))]}
lcore_args() {
  local n=$1 last=$((2 * $1 - 1))
  if [ $((2 * biggest)) -le "$cpus" ]; then echo "-l 0-$last"
  else echo "--lcores (0-$last)@(0-$((cpus - 1)))"; fi
}

# run NAME N GEN-ARGS...: one run, its report NAME-N.json.
run() {
  local name=$1 n=$2; shift 2
  # shellcheck disable=SC2046
  "$gen" $(lcore_args "$n") --log-level=4 -- --duration "$seconds" --quiet \
    --json "$out/$name-$n.json" "$@" >"$out/$name-$n.txt" 2>&1 ||
    echo "bench/scaling.sh: $name with $n lcore(s) per side failed, see $out/$name-$n.txt" >&2
}

for n in "${counts[@]}"; do
  echo "== $n lcore(s) per side ($(lcore_args "$n"), $cpus CPUs online)"
  run cps "$n" --mode cps --http --concurrency $((32 * n)) --local-server http
  run rps "$n" --mode rps --http --connections $((32 * n)) --local-server http
  run bulk "$n" --mode bulk --direction up --connections "$n" --local-server discard
done

load=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$out" "$cpus" "$load" "${counts[@]}" <<'PY' | tee "$out/results.md"
import json, os, sys
out, cpus, loadavg = sys.argv[1], int(sys.argv[2]), sys.argv[3]
counts = [int(c) for c in sys.argv[4:]]
metrics = [("cps", "conn_per_s", "connections/s"), ("rps", "req_per_s", "requests/s"),
           ("bulk", "tx_gbps", "Gb/s")]

def load(name, n):
    try:
        with open(os.path.join(out, f"{name}-{n}.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None

print(f"# pollux multi-core scaling ({cpus} CPUs online, load average {loadavg} at the end)\n")
print("In-memory link, pollux-gen -> pollux-server in one process, N lcores per side.")
print("Efficiency = rate(N) / (N x rate(1)).\n")
print("| scenario | lcores/side | pollers/CPUs | rate | efficiency | errors | steered (generator) |")
print("|---|---|---|---|---|---|---|")
for name, key, unit in metrics:
    base = None
    for n in counts:
        d = load(name, n)
        if d is None:
            print(f"| {name} | {n} | {2*n}/{cpus} | failed | | | |")
            continue
        t = d["totals"]
        rate = t[key]
        if n == 1:
            base = rate
        eff = f"{rate / (n * base):.2f}" if base else "n/a"
        steered = d.get("stack_counters", {}).get("steered_out", 0)
        over = " (oversubscribed)" if 2 * n > cpus else ""
        print(f"| {name} | {n} | {2*n}/{cpus}{over} | {rate:,.2f} {unit} | {eff} | "
              f"{t['errors']['total']} | {steered} |")
print()
if any(2 * n > cpus for n in counts):
    print(f"Rows marked oversubscribed run more pollers than CPUs: they show what sharing "
          f"{cpus} CPUs costs, not how pollux scales.")
PY
