# Shell helpers for everything that runs pollux beside the Linux kernel: network namespaces,
# veth pairs, taps, background processes, bounded waits, and a cleanup that always runs.
# Sourced (bash), not executed, by tests/interop/*.sh (through tests/interop/lib.sh),
# bench/run.sh, bench/goodput/tap.sh and scripts/run_tap.sh.
#
#   netns_init                 $workdir (a fresh temporary folder) and an EXIT trap that
#                              stops every process and removes every namespace and file
#                              made through these helpers
#   on_cleanup CMD...          one more step for that cleanup (run before the rest)
#   netns_add NAME             a namespace with lo up
#   veth_add NS_A IF_A NS_B IF_B [ADDR_A/N ADDR_B/N]
#                              a veth pair, one end in each namespace, addressed, both up
#   no_offloads NS IF...       segments cross one at a time: no TSO/GSO on send, no GRO
#   spawn LOG CMD...           CMD in the background, output to LOG; $spawned is its pid. Give
#                              the command itself (ip netns exec ...), not a shell function,
#                              so that the signals of stop_pid reach it
#   stop_pid PID               SIGINT (pollux prints its summary), up to 5 s, then SIGKILL
#   wait_for FILE PATTERN SECONDS   true once PATTERN appears in FILE
#   wait_ready LOG [SECONDS]   until pollux prints "ready" (default 30 s); shows LOG if not
#   tap_up NS IF ADDR/N        address and link up on the kernel side of a pollux tap
#   wait_ping NS IP            until IP answers a ping (ARP settled), at most 5 s
#
# Names of namespaces and interfaces should carry $$ so that parallel runs never collide.

netns_pids=()
netns_names=()
netns_hooks=()
# The signal the cleanup sends first (INT: pollux prints its summary; TERM for others).
netns_stop_signal=${netns_stop_signal:-INT}

netns_cleanup() {
  local h p n
  for h in "${netns_hooks[@]}"; do eval "$h" 2>/dev/null || true; done
  if [ ${#netns_pids[@]} -gt 0 ]; then
    for p in "${netns_pids[@]}"; do kill -"$netns_stop_signal" "$p" 2>/dev/null || true; done
    sleep 0.5
    for p in "${netns_pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  fi
  for n in "${netns_names[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  [ -n "${workdir:-}" ] && rm -rf "$workdir"
  return 0
}

netns_init() {
  workdir=$(mktemp -d)
  trap netns_cleanup EXIT
}

on_cleanup() { netns_hooks+=("$*"); }

netns_add() {
  ip netns add "$1" || return 1
  netns_names+=("$1")
  ip netns exec "$1" ip link set lo up
}

veth_add() {
  ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" || return 1
  [ $# -ge 6 ] && ip netns exec "$1" ip addr add "$5" dev "$2" && ip netns exec "$3" ip addr add "$6" dev "$4"
  ip netns exec "$1" ip link set "$2" up && ip netns exec "$3" ip link set "$4" up
}

no_offloads() {
  local ns=$1 i; shift
  for i in "$@"; do ip netns exec "$ns" ethtool -K "$i" gro off tso off gso off >/dev/null 2>&1; done
  return 0
}

spawn() {
  local log=$1; shift
  "$@" >"$log" 2>&1 &
  spawned=$!
  netns_pids+=("$spawned")
}

stop_pid() {
  kill -INT "$1" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return 0; }; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null
  return 0
}

wait_for() {
  local file=$1 pattern=$2 deadline=$((SECONDS + $3))
  while [ $SECONDS -lt $deadline ]; do
    grep -q -- "$pattern" "$file" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

wait_ready() {
  wait_for "$1" '^ready' "${2:-30}" && return 0
  cat "$1" >&2
  return 1
}

tap_up() {
  ip netns exec "$1" ip addr add "$3" dev "$2" && ip netns exec "$1" ip link set "$2" up
}

wait_ping() {
  for _ in $(seq 50); do ip netns exec "$1" ping -c1 -W1 "$2" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}
