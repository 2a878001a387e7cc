#!/usr/bin/env bash
# One bounded libFuzzer run, as a meson test: run_fuzz.sh TARGET CORPUS WORKDIR SECONDS
# Reads the seed corpus (CORPUS, in the source tree) and writes new inputs and any crash to
# WORKDIR (the build tree). Ends with libFuzzer's "Done N runs" line; fails on a crash, a
# leak, a timeout of one input or an out-of-memory.
set -euo pipefail
target=$1 corpus=$2 work=$3 seconds=$4
mkdir -p "$work/corpus" "$work/artifacts"
# -error_exitcode: libFuzzer reports a crash with 77 by default, which meson takes for "skipped".
exec "$target" -error_exitcode=1 -max_total_time="$seconds" -rss_limit_mb=1536 -timeout=10 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" "$work/corpus" "$corpus"
