#!/usr/bin/env bash
# pollux-server as a user meets it: bad arguments are refused with a reason and exit code 2
# before any device is touched; --help works anywhere; on the in-memory net_ring preset it
# starts without root or hugepages, announces itself, stops after --duration and prints its
# summary; two instances talk over net_memif.
#
# usage: server_cli_test.sh PATH/TO/pollux-server
. "$(dirname "$0")/lib.sh"  # also: set -uo pipefail, $here
server=${1:?usage: $0 PATH/TO/pollux-server}
out=$(mktemp)
sock=$(mktemp -u /tmp/pollux-memif-XXXXXX.sock)
out2=$(mktemp)
trap 'rm -f "$out" "$out2" "$sock"' EXIT

refused() {  # refused "what it must say" args...
  local must=$1; shift
  timeout 10 "$server" "$@" >"$out" 2>&1
  local rc=$?
  check "refuses '$*' with exit 2 (got $rc)" test "$rc" -eq 2
  check "... and says: $must" grep -qF -- "$must" "$out"
}

refused "--ip is required" -- --port 80
refused "--mode: 'gopher' is not one of echo, discard, source, http" -- --ip 10.0.0.2/24 --mode gopher
refused "--port: '99999'" -- --ip 10.0.0.2/24 --port 99999
refused "unknown preset 'nic'" --preset nic:x -- --ip 10.0.0.2/24
refused "--cc: 'bbr' is not one of newreno, cubic" -- --ip 10.0.0.2/24 --cc bbr
refused "--no-sack takes no value" -- --ip 10.0.0.2/24 --no-sack=yes
# --pcap FILE[:SNAPLEN] (issue 15.2): a bad snaplen or a file that cannot be written is an
# argument error, found before the EAL starts.
refused "--pcap: snaplen '0' is not a whole number in [1, 262144]" -- --ip 10.0.0.2/24 \
  --pcap "$out.pcapng:0"
refused "--pcap: snaplen 'all' is not a whole number" -- --ip 10.0.0.2/24 --pcap "$out.pcapng:all"
refused "--pcap: cannot write /nonexistent-dir/x.pcapng: No such file or directory" \
  --preset ring -- --ip 10.0.0.2/24 --pcap /nonexistent-dir/x.pcapng
refused "--challenge-ack-limit: 'lots' is not a number per second" -- --ip 10.0.0.2/24 --challenge-ack-limit lots
refused "--rst-limit: '-5' is not a number per second" -- --ip 10.0.0.2/24 --rst-limit -5
refused "--allow: '10.0.0.1/8' has host bits set (did you mean 10.0.0.0/8?)" -- --ip 10.0.0.2/24 --allow 10.0.0.1/8
refused "--deny: port '70000' is not a number in [1, 65535]" -- --ip 10.0.0.2/24 --deny 10.0.0.0/8:70000
refused "--gw: 10.0.0.2 is one of our own addresses" -- --ip 10.0.0.2/24 --gw 10.0.0.2
refused "--gw: 10.0.0.255 is the broadcast address of --ip 10.0.0.2/24, not a host" -- --ip 10.0.0.2/24 --gw 10.0.0.255
refused "--gw: 10.0.0.0 is the network address of --ip 10.0.0.2/24, not a host" -- --ip 10.0.0.2/24 --gw 10.0.0.0
# Rings, pool and real NICs (issue 15 item 5): sizes in range; a PCI device DPDK cannot use
# is refused before the EAL starts, with what to run.
refused "--rxd: '10' is not a whole number in [64, 16384]" -- --ip 10.0.0.2/24 --rxd 10
refused "--txd: '99999' is not a whole number in [64, 16384]" -- --ip 10.0.0.2/24 --txd 99999
refused "--mbufs: 'many' is not a whole number" -- --ip 10.0.0.2/24 --mbufs many
refused "--time-wait-records: '0' is not a whole number in [1, 16777216]" -- --ip 10.0.0.2/24 --time-wait-records 0
refused "--neigh-max: '100' is not a whole number in [256, 1048576]" -- --ip 10.0.0.2/24 --neigh-max 100
refused "--arp: 'zz:00:00:00:00:01' is not a MAC address" -- --ip 10.0.0.2/24 --arp 10.0.0.1=zz:00:00:00:00:01
refused "'zz' is not a PCI address (DDDD:BB:DD.F or BB:DD.F" --preset pci:zz -- --ip 10.0.0.2/24
refused "preset pci needs a PCI address" --preset pci: -- --ip 10.0.0.2/24
refused "no PCI device ffff:ff:1f.7 on this machine (lspci -D" --preset pci:FFFF:ff:1f.7 -- --ip 10.0.0.2/24
# A device the kernel drives (this VM's virtio NICs, disks, balloon): never touched, refused.
kdev=""
for d in /sys/bus/pci/devices/*; do
  drv=$(basename "$(readlink "$d/driver" 2>/dev/null)" 2>/dev/null)
  case "$drv" in ""|vfio-pci|uio_pci_generic|igb_uio|mlx5_core|mlx4_core) ;; *) kdev=$(basename "$d"); kdrv=$drv; break ;; esac
done
check "this machine has a PCI device bound to a kernel driver ($kdev)" test -n "$kdev"
[ -n "$kdev" ] && refused "$kdev is bound to the kernel driver $kdrv" --preset "pci:$kdev" -- --ip 10.0.0.2/24
[ -n "$kdev" ] && check "... and says how to rebind it" grep -qF "run dpdk-devbind.py -b vfio-pci $kdev" "$out"

timeout 10 "$server" -- --help >"$out" 2>&1
check "--help exits 0 and shows usage" bash -c "[ $? -eq 0 ] && grep -q '^usage: pollux-server' '$out'"
check "... grouped, with examples" bash -c "grep -q '^TCP:' '$out' && grep -q '^Limits:' '$out' && grep -q '^Examples:' '$out'"

# --config FILE and --print-config (issue 15 item 3): a file's bad key or value is refused
# naming it; the printed configuration reads back to the same one, and a run takes its
# options from the file with the command line on top.
cfg=$(mktemp --suffix=.toml)
printf 'ip = "10.9.0.2/24"\nprot = 80\n' >"$cfg"
refused "--config $cfg: unknown key 'prot'" -- --config "$cfg"
printf 'ip = "10.9.0.2/24"\nrxd = 10\n' >"$cfg"
refused "--config $cfg: rxd: '10' is not a whole number in [64, 16384]" -- --config "$cfg"
refused "--config: cannot read /nonexistent-dir/p.toml" -- --ip 10.9.0.2/24 --config /nonexistent-dir/p.toml
refused "--duration: '5d' has an unknown suffix 'd' (ms, s, m, h)" -- --ip 10.9.0.2/24 --duration 5d
timeout 10 "$server" -- --ip 10.9.0.2/24 --cc newreno --no-sack --duration 1s --quiet \
  --print-config >"$cfg" 2>"$out"
check "--print-config exits 0 (rc=$?)" grep -q '^cc = "newreno"$' "$cfg"
timeout 10 "$server" -- --config "$cfg" --print-config >"$out2" 2>&1
check "... and what it prints reads back to the same configuration" cmp -s "$cfg" "$out2"
timeout 30 "$server" --preset ring -l 0 --log-level=4 -- --config "$cfg" --no-timestamps >"$out" 2>&1
rc=$?
check "runs from the file, with the command line's options added (rc=$rc)" \
  grep -q '^tcp: echo server on port 8080, .*, cc newreno, sack off, timestamps off$' "$out"
rm -f "$cfg"

timeout 30 "$server" --preset ring -l 0 --log-level=4 -- --ip 10.9.0.2/24 --duration 1 --quiet \
  --cc newreno --no-sack >"$out" 2>&1
rc=$?
check "runs on the ring preset and stops after --duration (rc=$rc)" test "$rc" -eq 0
check "the banner names the chosen congestion control and options" \
  grep -q '^tcp: echo server on port 8080, .*, cc newreno, sack off, timestamps on$' "$out"
# net_ring opens its queues at probe (16 by default) and every queue a device has is polled
# (issue 12.2), so the count is the device's, not the number of lcores.
check "prints the port line with its rings and offloads" \
  grep -Eq '^port 0 \(net_ring\) [0-9a-f:]*: [0-9]+ queues? \(rxd 1024, txd 1024\), mtu 1500, .*tx offloads: .*rx offloads: ' "$out"
check "a zero MAC (net_ring) is replaced by a locally administered one" \
  bash -c "! grep -q '^port 0 (net_ring) 00:00:00:00:00:00' '$out'"
check "announces its address (gratuitous ARP)" test "$(counter "$out" arp_gratuitous_sent)" -eq 1
# net_ring loops TX back to RX: the stack hears its own announcement and must refuse it.
check "its own looped-back announcement is dropped as a bad sender" \
  test "$(counter "$out" drop_arp_bad_sender)" -eq 1

# --log-level=pollux:debug: pollux's own log type shows the start-up diagnostics.
# (not with --log-level=4 too: that sets the global level, which caps every type's)
timeout 30 "$server" --preset ring -l 0 --log-level=pollux:debug -- \
  --ip 10.9.0.2/24 --duration 1 --quiet --rxd 512 --txd 256 --mbufs 70000 >"$out" 2>&1
rc=$?
check "runs with --rxd 512 --txd 256 --mbufs 70000 (rc=$rc)" test "$rc" -eq 0
check "the port line says the rings asked for" grep -Eq '^port 0 .*queues? \(rxd 512, txd 256\)' "$out"
check "debug: the EAL arguments, the device's limits and the pool" bash -c \
  "grep -q '^pollux: EAL started: ' '$out' && grep -q '^pollux: port 0: driver net_ring, .* asked rxd 512 txd 256' '$out' && grep -Eq '^pollux: pool pollux_p0: 70000 mbufs' '$out'"
timeout 30 "$server" --preset ring -l 0 -- --ip 10.9.0.2/24 --duration 1 --quiet \
  --mbufs 2000 >"$out" 2>&1
rc=$?
check "--mbufs below the rings' share fails at start (rc=$rc)" test "$rc" -ne 0
check "... saying how many it needs" grep -q 'pollux-server: --mbufs 2000 is too few for .* at least [0-9]* (or smaller --rxd/--txd)' "$out"
check "without --log-level=pollux:debug, no pollux diagnostics" bash -c "! grep -q '^pollux: ' '$out'"

# Two pollux processes joined by net_memif (server and client roles on one unix socket):
# each hears the other's gratuitous ARP, which proves frames cross the shared-memory link.
timeout 30 "$server" --preset "memif:$sock:server" -l 0 --log-level=4 -- \
  --ip 10.5.0.1/24 --duration 4 --quiet >"$out2" 2>&1 &
mpid=$!
wait_for "$out2" '^ready' 20
timeout 30 "$server" --preset "memif:$sock:client" -l 1 --log-level=4 -- \
  --ip 10.5.0.2/24 --duration 2 --quiet >"$out" 2>&1
rc=$?
wait "$mpid"
rc2=$?
check "memif server and client both run and stop cleanly (rc $rc2 and $rc)" \
  test "$rc" -eq 0 -a "$rc2" -eq 0
check "memif client heard the server's announcement" test "$(counter "$out" arp_requests_received)" -ge 1
check "memif server heard the client's announcement" test "$(counter "$out2" arp_requests_received)" -ge 1
finish
