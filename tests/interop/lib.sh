# Shared helpers for interop tests: a namespace of our own, a pollux process inside it,
# bounded waits, and cleanup that always runs. Sourced, not executed.

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

ok()   { checks=$((checks + 1)); echo "ok - $*"; }
bad()  { checks=$((checks + 1)); fails=$((fails + 1)); echo "not ok - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

# wait_for FILE PATTERN SECONDS: true once PATTERN appears in FILE.
wait_for() {
  local file=$1 pattern=$2 deadline=$((SECONDS + $3))
  while [ $SECONDS -lt $deadline ]; do
    grep -q -- "$pattern" "$file" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# counter LOG NAME: the value of NAME in a pollux summary (0 when absent, as zero counters
# are not printed).
counter() {
  local v
  v=$(awk -v n="$2" '$1 == n { print $2 }' "$1" | tail -n 1)
  echo "${v:-0}"
}

finish() {
  echo "# $checks checks, $fails failed"
  [ "$fails" -eq 0 ]
}
