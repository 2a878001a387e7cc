#!/usr/bin/env bash
# Configures (once) and builds pollux. usage: scripts/build.sh [normal] [asan] [release] [fuzz]
#   normal   build/          debugoptimized (-O2, assertions on): the tests run on it (default)
#   asan     build-asan/     ASan + UBSan (tests only)
#   release  build-release/  -O3, LTO, assertions off, -march=native: the main job and the
#                            benchmarks (issue 13: measure what a user would run)
#   fuzz     build-fuzz/     clang, libFuzzer + ASan + UBSan: lib/ and tests/fuzz only
# --asan is kept as a synonym for "normal asan".
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
flavours=()
for a in "$@"; do
  case "$a" in
    normal|asan|release|fuzz) flavours+=("$a") ;;
    --asan) flavours+=(normal asan) ;;
    *) echo "build.sh: unknown build '$a' (normal, asan, release, fuzz)" >&2; exit 2 ;;
  esac
done
[ ${#flavours[@]} -gt 0 ] || flavours=(normal)
for f in "${flavours[@]}"; do
  case "$f" in
    normal)
      [ -f build/build.ninja ] || meson setup build --buildtype=debugoptimized >/dev/null
      ninja -C build -j "$jobs" ;;
    asan)
      # DPDK from Debian is not instrumented; b_lundef=false lets the sanitizer runtime
      # resolve its symbols.
      [ -f build-asan/build.ninja ] ||
        meson setup build-asan --buildtype=debug -Db_sanitize=address,undefined \
          -Db_lundef=false -Dbench=false -Dinterop=false \
          -Dcpp_args=-fno-sanitize-recover=undefined >/dev/null
      ninja -C build-asan -j "$jobs" ;;
    release)
      # No tests here: they need assertions, and build/ has them.
      [ -f build-release/build.ninja ] ||
        meson setup build-release --buildtype=release -Db_lto=true -Db_ndebug=true \
          -Dtests=false >/dev/null
      ninja -C build-release -j "$jobs" ;;
    fuzz)
      # libFuzzer needs clang; every file gets coverage instrumentation, the targets link
      # the fuzzer's main. Only lib/, the HTTP parsers and tests/fuzz are compiled
      # (-Dfuzz=true), so CI pays for little more than the library.
      [ -f build-fuzz/build.ninja ] ||
        CC=clang-14 CXX=clang++-14 meson setup build-fuzz --buildtype=debugoptimized \
          -Dfuzz=true -Dtests=false -Dbench=false -Dinterop=false \
          -Db_sanitize=address,undefined -Db_lundef=false \
          "-Dcpp_args=-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined" >/dev/null
      ninja -C build-fuzz -j "$jobs" ;;
  esac
done
