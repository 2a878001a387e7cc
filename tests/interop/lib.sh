# Shared helpers for interop tests: TAP-style checks and reading pollux's summaries.
# Namespaces, veth pairs, taps, processes, waits and the cleanup that always runs come from
# scripts/lib/netns.sh, shared with the benchmarks and run scripts. Sourced, not executed.
# Sourcing it also sets -u and pipefail (every interop script runs so) and $here (this
# folder: the Python helpers and the schema live beside the scripts).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../../scripts/lib/netns.sh"

# Exit code meson reads as "skipped". Used only when the machine cannot host the test at
# all (not root, no netns); CI runs as root, where a skip is reported as such, never as a pass.
SKIP=77
fails=0
checks=0

require_root_netns() {
  if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
    echo "SKIP: needs root and iproute2 (ip netns)"; exit $SKIP
  fi
}

# interop_init TOOL...: root and ip netns (else skip), the tools (else fail), then
# netns_init: $workdir and the cleanup.
interop_init() {
  require_root_netns
  require_tools "$@"
  netns_init
}

# require_tools TOOL...: each is installed, else a failure that says so.
require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "not ok - $tool missing (scripts/setup.sh installs it)"; exit 1; }
  done
}

ok()   { checks=$((checks + 1)); echo "ok - $*"; }
bad()  { checks=$((checks + 1)); fails=$((fails + 1)); echo "not ok - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

# counter LOG NAME: the value of NAME in a pollux summary (0 when absent, as zero counters
# are not printed).
counter() {
  local v
  v=$(awk -v n="$2" '$1 == n { print $2 }' "$1" | tail -n 1)
  echo "${v:-0}"
}

# conn_field LINE NAME: a number from a pollux --conn-info line ("... retrans 12 ...").
conn_field() { awk -v n="$2" '{ for (i = 1; i < NF; i++) if ($i == n) { print $(i + 1); exit } }' <<<"$1"; }

# jcheck NAME DESCRIPTION PYTHON-EXPR: the expression over pollux-gen's JSON report
# $workdir/NAME.json (d: the report, t: its totals, e: the errors by cause) is true.
jcheck() {
  local name=$1 what=$2 expr=$3
  check "[$name] $what" python3 -c "
import json, sys
d = json.load(open('$workdir/$name.json'))
t = d['totals']; e = t['errors']
sys.exit(0 if ($expr) else 1)"
}

finish() {
  echo "# $checks checks, $fails failed"
  [ "$fails" -eq 0 ]
}
