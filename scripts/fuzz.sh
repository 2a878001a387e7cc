#!/usr/bin/env bash
# Runs every libFuzzer target (tests/fuzz) for longer than CI does, from the seed corpus plus
# what earlier runs found (build-fuzz/fuzz-work/TARGET/corpus), two targets at a time.
#   scripts/fuzz.sh [SECONDS] [TARGET...]     default 300 s per target, every target
# Prints one line per target (executions, frames fed to engines, crashes); a crash leaves its
# input in build-fuzz/fuzz-work/TARGET/artifacts/ (rerun: build-fuzz/tests/fuzz/TARGET FILE).
# Record runs in tests/fuzz/README.md.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "fuzz.sh: SECONDS must be a whole number" >&2; exit 2; }
shift $(( $# > 0 ? 1 : 0 ))
targets=("$@")
[ ${#targets[@]} -gt 0 ] ||
  targets=(fuzz_wire fuzz_http fuzz_models fuzz_engine_listen fuzz_engine_established)
scripts/build.sh fuzz >/dev/null || { echo "fuzz.sh: build failed" >&2; exit 1; }
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_one() {
  local t=$1 work=build-fuzz/fuzz-work/$1
  mkdir -p "$work/corpus" "$work/artifacts"
  build-fuzz/tests/fuzz/"$t" -max_total_time="$seconds" -rss_limit_mb=1536 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" \
    tests/fuzz/corpus/"$t" >"$work/log" 2>&1
  local rc=$? runs frames crashes
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
  frames=$(sed -n 's/.*: \([0-9]*\) frames fed$/\1/p' "$work/log" | tail -1)
  crashes=$(find "$work/artifacts" -type f | wc -l)
  echo "$t: ${runs:-?} executions, ${frames:--} frames, exit $rc, $crashes crash files ($work/log)"
}
rc=0
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  run_one "${targets[i]}" &
  [ $((i + 1)) -lt ${#targets[@]} ] && run_one "${targets[i + 1]}" &
  wait
done
# A crash file from this run or an earlier one that was not cleared fails the run.
if find build-fuzz/fuzz-work/*/artifacts -type f 2>/dev/null | grep -q .; then rc=1; fi
exit $rc
