#!/usr/bin/env bash
# Where the cycles go (issue 13): perf over pollux-gen with --local-server (the in-memory
# link, release build, generator on lcore 0 and server on lcore 1), for a connections-per-
# second run, a keep-alive requests-per-second run and a bulk run. This VM has no hardware
# PMU: the samples come from the cpu-clock software event, with DWARF call graphs. Writes
# its section of bench/PROFILE.md: per run and per side (the lcore's thread), the functions
# with the most samples of their own and the most samples below them. Only what lies between
# the two markers below is replaced; the sections written by hand around them stay as they
# are (a file without the markers gets the section at its top). A bench, not a test: it
# asserts nothing.
#
#   bench/profile.sh [--seconds N] [--output FILE] [--dry-run]
#     --output FILE  the file to write the section into (default bench/PROFILE.md)
#     --dry-run      no build and no runs: print the file as it would be with a placeholder
#                    section on stdout and change nothing (`| diff bench/PROFILE.md -` shows
#                    what a run replaces)
#   (root; installs linux-perf if it is missing)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"
seconds=5
output=$here/PROFILE.md
dry_run=0
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=${2:?--seconds needs a value}; shift 2 ;;
    --output) output=${2:?--output needs a file}; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "profile.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "profile.sh: --seconds takes a positive whole number" >&2; exit 2; }
begin_marker='<!-- bench/profile.sh writes from here to its end marker; edit outside them -->'
end_marker='<!-- end of bench/profile.sh'"'"'s section -->'
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# splice SECTION FILE [DEST]: FILE with what lies between the markers (the marker lines
# included) replaced by the markers around SECTION, written to DEST (default FILE itself,
# replaced whole at once; -: stdout); without the markers, SECTION first and the file's text
# after it. Two begin markers, or a begin without an end, are refused: which part is
# generated cannot be told.
splice() {
  /usr/bin/python3 - "$1" "$2" "${3:-$2}" "$begin_marker" "$end_marker" <<'PY'
import os, sys
section_path, path, dest, begin, end = sys.argv[1:]
section = open(section_path).read().rstrip("\n") + "\n"
old = open(path).read() if os.path.exists(path) else ""
lines = old.splitlines(keepends=True)
starts = [i for i, l in enumerate(lines) if l.rstrip("\n") == begin]
ends = [i for i, l in enumerate(lines) if l.rstrip("\n") == end]
block = [begin + "\n", section, end + "\n"]
if not starts and not ends:
    out = block + (["\n"] if lines else []) + lines
elif len(starts) == 1 and len(ends) == 1 and starts[0] < ends[0]:
    out = lines[:starts[0]] + block + lines[ends[0] + 1:]
else:
    sys.exit(f"profile.sh: {path}: expected one begin marker before one end marker, found "
             f"{len(starts)} and {len(ends)}; fix the file by hand")
if dest == "-":
    sys.stdout.writelines(out)
else:
    with open(dest + ".tmp", "w") as f:
        f.writelines(out)
    os.replace(dest + ".tmp", dest)
PY
}

if [ "$dry_run" = 1 ]; then
  printf '# Where the cycles go\n\n(bench/profile.sh --dry-run: no runs.)\n' >"$work/section.md"
  splice "$work/section.md" "$output" -
  echo "profile.sh: dry run: $output as a run would leave it, on stdout; nothing written" >&2
  exit 0
fi
command -v perf >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q linux-perf
scripts/build.sh release
gen=$root/build-release/apps/pollux-gen/pollux-gen
comms=pollux-gen,rte-worker-1  # the generator's lcore (the main one) and the server's

# profile NAME GEN-ARGS...: one run; perf attaches once the run is under way (after start-up
# and --delay) for $seconds and leaves before the teardown, so that neither is in the
# samples. Its data in $work/NAME.data, the run's summary in $work/NAME.log.
profile() {
  local name=$1; shift
  echo "profile.sh: $name: pollux-gen $*" >&2
  "$gen" -l 0-1 --log-level=4 -- --delay 1 --duration $((seconds + 2)) --quiet "$@" \
    >"$work/$name.log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do grep -q '^ready' "$work/$name.log" && break; sleep 0.2; done
  sleep 1.5
  perf record -q -e cpu-clock -F 499 --call-graph dwarf,16384 -p $pid -o "$work/$name.data" \
    -- sleep "$seconds" 2>/dev/null
  wait $pid || { cat "$work/$name.log" >&2; echo "profile.sh: the $name run failed" >&2; exit 1; }
}
# top NAME MODE: the perf report of one run as markdown rows "| share | thread | function |".
# MODE self: samples in the function itself; children: in it or in what it called.
top() {
  local flags=(--no-children)
  [ "$2" = children ] && flags=(--children)
  perf report -i "$work/$1.data" "${flags[@]}" --comms "$comms" --sort comm,sym --stdio -g none \
      --percent-limit 1.5 2>/dev/null | python3 -c '
import re, sys
rows = 0
for line in sys.stdin:
    m = re.match(r"\s+([\d.]+)%\s+(?:[\d.]+%\s+)?(\S+)\s+\[(.)\]\s+(.*\S)", line)
    if not m or m.group(4).startswith("0x") or rows >= 25:
        continue  # unresolved addresses say nothing
    share, thread, space, sym = m.groups()
    where = "kernel " if space == "k" else ""
    print(f"| {share}% | {thread} | {where}`{sym[:110]}` |")
    rows += 1'
}

profile cps --mode cps --http --concurrency 32 --local-server http --time-wait 400
profile rps --mode rps --http --connections 32 --local-server http
profile bulk --mode bulk --direction down --connections 4 --local-server source

load=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo "# Where the cycles go"
  echo
  echo "\`bench/profile.sh --seconds $seconds\` on $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC'),"
  echo "load average after the runs $load; release build (-O3, LTO). perf samples cpu-clock at"
  echo "499 Hz with DWARF call graphs, for $seconds s of each run (start-up and teardown left"
  echo "out). lcore 0 (thread \`pollux-gen\`, the main lcore) is the generator, lcore 1"
  echo "(\`rte-worker-1\`) the local server. Both spin when idle: the poll loop's own functions"
  echo "(rx/tx burst on an empty ring, sched_yield) take what work leaves."
  for run in cps rps bulk; do
    echo
    echo "## $run"
    echo
    grep -E '^  (connections|requests|bytes|cpu)' "$work/$run.log" | sed 's/^  /    /'
    echo
    samples=$(perf report -i "$work/$run.data" --comms "$comms" --stdio -g none --sort comm 2>/dev/null |
      sed -n "s/^# Samples: \([0-9kKmM.]*\) *of event.*/\1/p" | head -n 1)
    echo "$samples samples (a share is at best 1/$samples: fewer samples when the lcores' CPUs"
    echo "were taken by other work)."
    echo
    echo "Samples in the function itself (at least 1.5%):"
    echo
    echo "| share | thread | function |"
    echo "|---:|---|---|"
    top $run self
    echo
    echo "Samples in the function or below it:"
    echo
    echo "| share | thread | function |"
    echo "|---:|---|---|"
    top $run children
  done
} >"$work/section.md"
splice "$work/section.md" "$output"
echo "profile.sh: wrote its section of $output" >&2
