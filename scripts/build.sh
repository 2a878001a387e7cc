#!/usr/bin/env bash
# Configures (once) and builds the release-ish build in build/ and, with --asan, the
# ASan+UBSan build in build-asan/.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
if [ ! -f build/build.ninja ]; then
  meson setup build --buildtype=debugoptimized >/dev/null
fi
ninja -C build -j "$jobs"
if [ "${1:-}" = "--asan" ]; then
  if [ ! -f build-asan/build.ninja ]; then
    # DPDK from Debian is not instrumented; b_lundef=false lets the sanitizer runtime
    # resolve its symbols. -Dnative=false keeps the two builds independent of each other.
    meson setup build-asan --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false \
      -Dbench=false -Dinterop=false -Dcpp_args=-fno-sanitize-recover=undefined >/dev/null
  fi
  ninja -C build-asan -j "$jobs"
fi
