#!/bin/sh
# Runs every micro benchmark (build/bench/bench_*) with JSON output into OUT_DIR, one file per
# binary, then prints a markdown table (bench/micro/table.py): benchmark, CPU and wall ns/op,
# and for pollux's rows the ratio to each baseline measured in the same run (pollux CPU time /
# baseline CPU time: below 1 means pollux is faster).
#
#   bench/micro/run.sh OUT_DIR [BUILD_DIR] [-- google-benchmark flags...]
#
# Names follow <what>/<impl>/<args>: rows with the same <what> and <args> compare, impl
# "pollux" is the subject and every other impl a baseline. Extra flags go to every binary,
# e.g. -- --benchmark_filter=Flow --benchmark_repetitions=3 (medians are then reported).
set -eu

usage() { echo "usage: $0 OUT_DIR [BUILD_DIR] [-- benchmark flags...]" >&2; exit 2; }
[ $# -ge 1 ] || usage
out=$1; shift
build=build
if [ $# -ge 1 ] && [ "$1" != "--" ]; then build=$1; shift; fi
[ $# -ge 1 ] && [ "$1" = "--" ] && shift

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
case $build in /*) ;; *) build=$root/$build ;; esac
[ -d "$build/bench" ] || { echo "no $build/bench: build with -Dbench=true first" >&2; exit 1; }
mkdir -p "$out"

found=0
for bin in "$build"/bench/bench_*; do
  [ -x "$bin" ] && [ -f "$bin" ] || continue
  found=1
  name=$(basename "$bin")
  echo "running $name" >&2
  # JSON on stdout into the file; the EAL's and the library's notes stay on stderr.
  "$bin" --benchmark_format=json "$@" >"$out/$name.json"
done
[ $found = 1 ] || { echo "no bench_* binaries in $build/bench" >&2; exit 1; }

exec python3 "$here/table.py" "$out"/bench_*.json
