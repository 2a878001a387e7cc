#!/usr/bin/env bash
# Both goodput benches and the plot: the simulated link (run.sh) and the tap against Linux
# (tap.sh), their tables saved under bench/goodput/results/, then GOODPUT.png. Prints what
# GOODPUT.md records about the run (machine, date, load average before and after).
#
#   bench/goodput/all.sh [BUILD_DIR] [SECONDS_PER_TAP_RUN]   (root, for the tap part)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
secs=${2:-5}
mkdir -p "$here/results"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), kernel $(uname -r)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
t0=$SECONDS
"$here/run.sh" "$build" >"$here/results/sim.md"
echo "sim part: $((SECONDS - t0)) s"
t0=$SECONDS
"$here/tap.sh" "$build" "$secs" >"$here/results/tap.md"
echo "tap part: $((SECONDS - t0)) s"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 "$here/plot.py" "$here/results/sim.md" "$here/results/tap.md" "$here/GOODPUT.png"
cat "$here/results/sim.md" "$here/results/tap.md"
