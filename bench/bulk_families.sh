#!/usr/bin/env bash
# IPv4 against IPv6 bulk in memory, back to back (issue 13): bench/run.sh runs its bulk and
# bulk-v6 rows once each, minutes apart, and their gap (57.9 against 75.9 Gb/s, 490 against
# 369 busy cycles per segment, main 5852f38) is one run of each. Callgrind finds no
# instruction IPv4 spends that IPv6 does not (bench/PROFILE.md, session 13), so this runs the
# two rows alternately N times on the release build and prints each run and the medians:
# a gap that stays is the machine's (memory, scheduling), one that moves is noise. A bench,
# not a test: it asserts nothing. Run it on a quiet machine.
#
#   bench/bulk_families.sh [--runs N] [--seconds S]     (defaults 5 and 5)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
runs=5
seconds=5
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=${2:?--runs needs a value}; shift 2 ;;
    --seconds) seconds=${2:?--seconds needs a value}; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "bulk_families.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done
for v in "$runs" "$seconds"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "bulk_families.sh: --runs and --seconds take positive whole numbers" >&2; exit 2; }
done
"$root/scripts/build.sh" release
gen=$root/build-release/apps/pollux-gen/pollux-gen
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "| run | family | load | Gb/s | cycles per segment: gen | server | end to end |"
echo "|---|---|---:|---:|---:|---:|---:|"
for i in $(seq "$runs"); do
  for family in ipv4 ipv6; do
    dst=()
    [ $family = ipv6 ] && dst=(--dst '[2001:2::1]:8080')
    load=$(cut -d' ' -f1 /proc/loadavg)
    log=$work/$family-$i.txt
    "$gen" -l 0-1 --log-level=4 -- --duration "$seconds" --quiet --mode bulk --direction up \
      --connections 1 --local-server discard "${dst[@]}" >"$log" 2>&1 ||
      { cat "$log" >&2; echo "bulk_families.sh: the $family run failed" >&2; exit 1; }
    gbps=$(sed -n 's/^  bytes: .*tx [0-9]* (\([0-9.]*\) Gb\/s).*/\1/p' "$log")
    gen_c=$(sed -n 's/^  cpu gen lcore 0: .* \([0-9]*\) cycles per TCP segment.*/\1/p' "$log")
    srv_c=$(sed -n 's/^  cpu local server lcore 1: .* \([0-9]*\) cycles per TCP segment.*/\1/p' "$log")
    echo "| $i | $family | $load | $gbps | $gen_c | $srv_c | $((gen_c + srv_c)) |"
    echo "$family $gbps $gen_c $srv_c" >>"$work/all.txt"
  done
done
echo
for family in ipv4 ipv6; do
  # The median of each column over the runs of one family.
  awk -v f=$family 'BEGIN { n = 0 } $1 == f { g[n] = $2; a[n] = $3; b[n] = $4; e[n] = $3 + $4; n++ }
    function med(x,   i, j, t) {
      for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
      return n % 2 ? x[int(n / 2)] : (x[n / 2 - 1] + x[n / 2]) / 2
    }
    END { printf "median %s over %d runs: %s Gb/s, cycles per segment gen %s, server %s, end to end %s\n",
          f, n, med(g), med(a), med(b), med(e) }' "$work/all.txt"
done
