#!/usr/bin/env bash
# README command 2: sets up a fresh machine, builds, runs every test, and ends with the line
# "N passed, N failed" (counting every GoogleTest case and every interop script).
#   1. every suite (unit, fixture, sim, interop) on the normal build
#   2. unit, fixture and simulation tests again under AddressSanitizer + UndefinedBehaviorSanitizer
#      (the simulator runs fewer seeds there: a quarter, and a fiftieth of the transfer mixes;
#      tests/sim/meson.build)
#   3. the libFuzzer targets (tests/fuzz) for a bounded time each, on a clang build with only
#      lib/ and the fuzz targets (build-fuzz/; about 1.5 min to build on two quiet cores, 20 s
#      per target, two at a time)
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }
scripts/build.sh --asan fuzz || { echo "0 passed, 1 failed"; exit 1; }

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

rc=0
rm -f build/*.xml build-asan/*.xml build-fuzz/*.xml  # GoogleTest reports from an earlier run must not count
# The simulation's full seed counts (1000 per fault mix for 10 MiB and request/response).
export POLLUX_SIM_FULL=1
meson test -C build --print-errorlogs --num-processes 2 || rc=1
meson test -C build-asan --suite unit --suite fixture --suite sim --print-errorlogs --num-processes 2 || rc=1
meson test -C build-fuzz --suite fuzz --print-errorlogs --num-processes 2 || rc=1
python3 scripts/test_summary.py build build-asan build-fuzz || rc=1
exit $rc
