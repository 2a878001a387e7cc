#!/bin/sh
# Goodput vs random loss (0, 0.1, 1, 3%) for pollux <-> pollux on the simulated link
# (tests/sim, virtual time): NewReno vs CUBIC, SACK on vs off. A bench, not a test: it prints
# a markdown table (mean over POLLUX_SIM_SEEDS seeds, default 3) and asserts nothing but
# that every transfer completed intact. The path: 100 Mbit/s, 10 ms RTT, 512 KiB drop-tail
# queue, the loss rate in both directions, 8 MiB per transfer (tcp_loss_test.cpp,
# SimTcpLoss.DISABLED_GoodputTable).
#
#   bench/goodput/run.sh [BUILD_DIR]      (default: build; needs the sim tests built)
# pollux <-> Linux over net_tap: tap.sh; both, the plot and the run's details: all.sh;
# the latest results and how to read them: GOODPUT.md.
set -eu
build=${1:-build}
bin="$build/tests/sim/test_sim_tcp_loss"
[ -x "$bin" ] || { echo "no $bin: build first (ninja -C $build)" >&2; exit 2; }
"$bin" --gtest_also_run_disabled_tests --gtest_filter='SimTcpLoss.DISABLED_GoodputTable' |
  grep '^|'
