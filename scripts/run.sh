#!/usr/bin/env bash
# README command 1: sets up a fresh machine, builds, and runs the main job: pollux-gen
# against a pollux-server in the same process, joined by an in-memory link (no NIC, tap or
# hugepages needed), one lcore each. Three short runs (connections per second, keep-alive
# requests per second, bulk goodput) and a result table from their JSON reports.
#
#   scripts/run.sh [--seconds N] [--tap]
#     --seconds N   length of each run (default 5)
#     --tap         afterwards, the Linux kernel against pollux-server over a tap
#                   (ping, curl, wrk; scripts/run_tap.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=5
tap=0
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=${2:?--seconds needs a value}; shift 2 ;;
    --tap) tap=1; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --seconds takes a positive whole number" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (package installation)" >&2; exit 1; }

scripts/setup.sh
# A release build (-O3, LTO, no assertions): what a user would run and benchmark.
scripts/build.sh release

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
gen=build-release/apps/pollux-gen/pollux-gen

# run NAME GEN-ARGS...: one run of $seconds, its report in $out/NAME.json.
run() {
  local name=$1; shift
  echo "== $name: pollux-gen $*"
  if ! "$gen" -l 0-1 --log-level=4 -- --duration "$seconds" --json "$out/$name.json" "$@" \
      >"$out/$name.log" 2>&1; then
    cat "$out/$name.log"
    echo "run.sh: the $name run failed" >&2
    exit 1
  fi
  grep -E '^(local server:|gen:|\[)' "$out/$name.log" | head -n $((seconds + 3))
}
# TIME-WAIT (held by the generator, which closes first) shortened to 200 ms so that the
# TCB table (64k per lcore) holds it: the release build opens 150k+ connections/s, and 400 ms
# of TIME-WAIT at that rate (60k TCBs) filled the table ("local" errors). --local-server opens
# from four source addresses, each with 55k ephemeral ports, moving on when one runs short.
run cps-http --mode cps --http --concurrency 32 --local-server http --time-wait 200
run rps-http --mode rps --http --connections 32 --local-server http
run bulk-down --mode bulk --direction down --connections 4 --local-server source

echo
echo "== results (pollux-gen -> pollux-server over the in-memory link, 1 lcore each, $(nproc) cores)"
python3 - "$out" <<'PY'
import json, sys, os
# Which columns mean something for each run: a keep-alive run opens its connections once (its
# conn/s would be them divided by the run's length), a bulk run has no requests. '-' there.
runs = {"cps-http": {"conn/s", "req/s", "Gb/s", "p50 us", "p99 us"},
        "rps-http": {"req/s", "Gb/s", "p50 us", "p99 us"},
        "bulk-down": {"Gb/s"}}
causes = {"refused": "RST answering the SYN", "reset": "RST on an open connection",
          "timeout": "retransmissions exhausted", "bad_response": "malformed or non-2xx",
          "closed_early": "FIN before the response",
          "local": "connect() found no free port or TCB here"}
head = ("run", "conn/s", "req/s", "Gb/s", "p50 us", "p99 us", "errors", "retrans",
        "cycles/seg")
rows, notes = [], []
for name, meaningful in runs.items():
    d = json.load(open(os.path.join(sys.argv[1], name + ".json")))
    t, lat, e = d["totals"], d["latency"]["response"], d["totals"]["errors"]
    us = lambda v: f"{v / 1000:.1f}" if lat["count"] else "-"
    cells = {"conn/s": f"{t['conn_per_s']:.0f}", "req/s": f"{t['req_per_s']:.0f}",
             "Gb/s": f"{t['rx_gbps'] + t['tx_gbps']:.2f}", "p50 us": us(lat["p50"]),
             "p99 us": us(lat["p99"])}
    # Busy cycles per TCP segment (drivers-glue/poller.cpp), both ends added: what one
    # segment costs sent by one stack and received by the other.
    cpu = d["cpu"]
    seg = sum(cpu[s]["total"]["cycles_per_segment"] for s in ("generator", "local_server"))
    rows.append((name,) + tuple(cells[h] if h in meaningful else "-" for h in head[1:6]) +
                (str(e["total"]), str(t["retrans"]), f"{seg:.0f}"))
    if e["total"]:
        notes.append(f"{name}: {e['total']} errors: " + ", ".join(
            f"{k.replace('_', ' ')} {e[k]} ({v})" for k, v in causes.items() if e.get(k)))
w = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
line = lambda r: "| " + " | ".join(c.rjust(w[i]) for i, c in enumerate(r)) + " |"
print(line(head))
print("|" + "|".join("-" * (x + 2) for x in w) + "|")
for r in rows:
    print(line(r))
print("cycles/seg: busy cycles per TCP segment, generator and server added (the pollers' "
      "spinning between bursts is not counted)")
for n in notes:
    print(n)
PY
if [ $tap = 1 ]; then
  echo
  scripts/run_tap.sh --seconds "$seconds"
fi
