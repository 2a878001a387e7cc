#!/usr/bin/env bash
# Interop, TSO and GRO on net_tap (issue 13 item 3): pollux-server (echo) on a tap, whose own
# TSO cannot carry full-sized segments (drivers-glue/NICS.md), so the TCP layer's TSO frames
# are cut by the engine (engine/tso_cut.cpp), and which has no LRO, so the engine's GRO runs;
# the Linux kernel is the peer, in a namespace the test creates.
#   wire    dumpcap on the tap's kernel side records a 4 MB echo: every segment pollux sent is
#           at most one MTU frame, its IPv4 and TCP checksums verify (tshark), no two of
#           pollux's datagrams share an IP ID (a TSO frame's segments take consecutive IDs,
#           as the segments built one by one do), and each is, headers and checksums alike,
#           one of the frames in pollux's own --pcap
#   bulk    socat sends 100 MB of random bytes and must get the same 100 MB back (sha256):
#           100 MB each way, pollux sending TSO frames (tcp_tso_frames > 0) and coalescing
#           received runs (gro_frames > 0), no checksum error on the kernel's side
#           (TcpInCsumErrors), no retransmission on this lossless link
#   v6      the same over IPv6 (issue 16): an 8 MB echo to the server's IPv6 address, pollux
#           sending TSO frames the engine cuts; on the wire every segment fits the MTU and its
#           TCP checksum (IPv6 pseudo-header, RFC 8200 8.1) verifies (tshark), no checksum
#           error on the kernel's side, and pollux coalescing the kernel's IPv6 runs
#           (gro_frames > 0: the only TCP this server sees is IPv6)
#   off     --no-tso --no-gro: the port line says 'tso off (capable)', a 10 MB echo intact,
#           no TSO or GRO frame
# tests/fixture/tso_test.cpp compares whole segments, byte for byte, with the ones the stack
# builds without TSO: the engine's cut (as here) and librte_gso's (as a device that does TSO
# in software would); tests/fixture/gro_test.cpp checks the coalescing and its ACKs.
# usage: tso_tap_test.sh PATH/TO/pollux-server [MB]
. "$(dirname "$0")/lib.sh"  # also: set -uo pipefail, $here
server=${1:?usage: $0 PATH/TO/pollux-server [MB]}
mb=${2:-100}
interop_init socat sha256sum dumpcap tshark

ns=pxtso$$
netns_add "$ns"
in_ns() { ip netns exec "$ns" "$@"; }
ip=10.206.0.2
# The kernel's TCP MIB in the namespace, by nstat's name (TcpInCsumErrors, TcpRetransSegs).
mib() {
  in_ns cat /proc/net/snmp | awk -v want="$1" '
    ($1 in hdr) { for (i = 2; i <= NF; i++) v[substr($1, 1, length($1) - 1) hdr[$1, i]] = $i; next }
    { for (i = 2; i <= NF; i++) hdr[$1, i] = $i; hdr[$1] = 1 }
    END { print v[want] + 0 }'
}

# start NAME IFACE [args]: pollux-server echo on port 7 over its own tap, kernel side .1
start() {
  local name=$1 ifname=$2; shift 2
  spawn "$workdir/$name.log" ip netns exec "$ns" timeout 600 "$server" --preset "tap:$ifname" -l 0 \
    --log-level=4 -- --ip "$ip/24" --mode echo --port 7 --conn-info "$@"
  wait_ready "$workdir/$name.log" || return 1
  tap_up "$ns" "$ifname" "${ip%.*}.1/24"
  wait_ping "$ns" "$ip"
}

# echo_mb LABEL MB [ADDRESS]: one socat connection (to socat's ADDRESS, default TCP:$ip:7)
# echoing MB megabytes, sha256-checked.
echo_mb() {
  local label=$1 n=$2 to=${3:-TCP:$ip:7}
  head -c $((n * 1000 * 1000)) /dev/urandom >"$workdir/in"
  local t0=$SECONDS
  in_ns timeout 300 socat -b 65536 -t 30 -T 60 - "$to" <"$workdir/in" >"$workdir/out"
  local rc=$? secs=$((SECONDS - t0))
  check "[$label] $n MB echoed back intact (sha256, rc=$rc, ${secs}s, got $(stat -c %s "$workdir/out") bytes)" \
    test "$(sha256sum <"$workdir/in" | cut -c1-64)" = "$(sha256sum <"$workdir/out" | cut -c1-64)" -a "$rc" -eq 0
}

# wire: a capture on the kernel side of the tap while 4 MB cross each way, and pollux's own.
if start wire pxw$$ --pcap "$workdir/pollux.pcapng"; then ok "echo server up on the tap"; else bad "echo server up on the tap"; fi
check "the port line says tso on (software) and gro on" \
  bash -c "grep -q 'tso on (software)' '$workdir/wire.log' && grep -q 'gro on' '$workdir/wire.log'"
grep -m1 '^port ' "$workdir/wire.log" | sed 's/^/# /'
csum0=$(mib TcpInCsumErrors)
# A capture that holds none of the echo's data (dumpcap slow to start or to stop on a loaded
# machine: CI try 1 of session 15 saw 0 frames once) is the instrument failing, not pollux:
# the echo runs again under a new capture, once; the checks below read the last capture.
for attempt in 1 2; do
  rm -f "$workdir/wire.pcapng" "$workdir/dumpcap.log"
  spawn "$workdir/dumpcap.log" ip netns exec "$ns" dumpcap -q -i pxw$$ -f "tcp and host $ip" -w "$workdir/wire.pcapng"
  capture_pid=$spawned
  wait_for "$workdir/dumpcap.log" 'Capturing on' 10 || sleep 1
  echo_mb wire 4
  sleep 0.5
  stop_pid "$capture_pid"
  captured=$(tshark -r "$workdir/wire.pcapng" -Y "ip.src == $ip && tcp.len > 0" -T fields -e frame.len 2>/dev/null | wc -l)
  [ "$captured" -gt 1000 ] && break
  echo "# [wire] capture $attempt holds $captured of pollux's data segments$([ "$attempt" = 1 ] && echo ': again')"
done
for p in "${netns_pids[@]}"; do stop_pid "$p"; done
netns_pids=()
grep '^capture ' "$workdir/wire.log" | sed 's/^/# /'
check "[wire] pollux sent TSO frames ($(counter "$workdir/wire.log" tcp_tso_frames))" \
  test "$(counter "$workdir/wire.log" tcp_tso_frames)" -gt 0
# fields FILE: pollux's TCP frames in a capture, one line each, checksums verified by tshark.
fields() {
  tshark -r "$1" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE \
    -Y "ip.src == $ip && tcp" -T fields -e frame.len -e ip.id -e tcp.seq_raw -e tcp.ack_raw \
    -e tcp.len -e tcp.flags -e tcp.window_size_value -e ip.checksum -e tcp.checksum \
    -e tcp.options -e ip.checksum.status -e tcp.checksum.status -e tcp.checksum_calculated 2>/dev/null
}
# A TCP checksum whose sum comes to zero may be sent as 0xffff, ones' complement's other zero
# (RFC 1071: the receiver's sum over the segment is the same; the kernel accepts it). DPDK's
# net_tap and rte_ipv4_udptcp_cksum write it so, as UDP needs; tshark calls it bad, so 0xffff
# where tshark computes 0x0000 counts as verified (1 frame in ~65,536; session 15's CI saw one).
fields "$workdir/wire.pcapng" >"$workdir/kernel.txt"
fields "$workdir/pollux.pcapng" | sort >"$workdir/pollux.txt"
read -r frames data maxlen ids bad unverified <<<"$(awk '
  { n++; if ($5 > 0) d++; if ($1 > m) m = $1; if (!($2 in id)) u++; id[$2] = 1
    if ($12 == 0 && $9 == "0xffff" && $13 == "0x0000") $12 = 1
    if ($11 == 0 || $12 == 0) b++; else if ($11 != 1 || $12 != 1) v++ }
  END { print n + 0, d + 0, m + 0, u + 0, b + 0, v + 0 }' "$workdir/kernel.txt")"
echo "# wire: the kernel saw $frames frames from pollux ($data with data), longest $maxlen bytes, $ids distinct IP IDs, $bad failing a checksum, $unverified tshark could not verify"
# 4 MB are 2763 full segments; dumpcap may miss some on a busy machine.
check "[wire] the capture holds pollux's data segments ($data)" test "$data" -gt 1000
check "[wire] every frame pollux sent fits the MTU (longest $maxlen <= 1514)" test "$maxlen" -le 1514
check "[wire] every IPv4 and TCP checksum verifies ($bad bad)" test "$bad" -eq 0
check "[wire] no two of pollux's datagrams share an IP ID ($ids distinct of $frames)" test "$ids" -eq "$frames"
missing=$(sort "$workdir/kernel.txt" | comm -23 - "$workdir/pollux.txt" | wc -l)
# pollux's --pcap counts what it could not copy (its writer's ring full while the writer was
# off the CPU, or no mbuf for the copy): a frame missing from it must be one of those.
pcap_dropped=$(sed -n 's/^capture .* dropped \([0-9]*\) .*/\1/p' "$workdir/wire.log" | head -1)
check "[wire] every frame the kernel received is one of pollux's --pcap or one it counted as not captured (headers and checksums; $missing of $frames not in it, ${pcap_dropped:-?} not captured)" \
  test "$frames" -gt 0 -a "$missing" -le "${pcap_dropped:-0}"

# bulk: 100 MB each way.
if start tso pxt$$; then ok "echo server up for the bulk run"; else bad "echo server up for the bulk run"; fi
retrans0=$(mib TcpRetransSegs)
echo_mb bulk "$mb"
conn=""
for _ in $(seq 100); do
  conn=$(grep '^conn-closed ' "$workdir/tso.log" | tail -n 1)
  [ -n "$conn" ] && break
  sleep 0.1
done
echo "# [bulk] pollux conn: ${conn:-none}"
check "[bulk] the kernel counted no TCP checksum error ($(($(mib TcpInCsumErrors) - csum0)))" \
  test "$(($(mib TcpInCsumErrors) - csum0))" -eq 0
# Nothing is lost on this tap, so nothing may be resent but a tail loss probe (RFC 8985 7)
# sent because an ACK came late (a loaded machine: CI try 2 of session 15 saw one) that the
# kernel then reported as a duplicate (D-SACK): every retransmission a probe, each proven
# spurious by the receiver.
rtx=$(conn_field "$conn" retrans)
check "[bulk] pollux retransmitted nothing on the lossless tap but tail loss probes the kernel D-SACKed (retrans ${rtx:-?}, probes $(conn_field "$conn" tlp_probes), spurious $(conn_field "$conn" spurious_retrans))" \
  test -n "$rtx" -a "${rtx:-1}" -le "$(conn_field "$conn" tlp_probes)" -a "${rtx:-1}" -le "$(conn_field "$conn" spurious_retrans)"
echo "# [bulk] the kernel retransmitted $(($(mib TcpRetransSegs) - retrans0)) segments"
for p in "${netns_pids[@]}"; do kill -INT "$p" 2>/dev/null; done
for p in "${netns_pids[@]}"; do wait "$p" 2>/dev/null; done
netns_pids=()
tso=$(counter "$workdir/tso.log" tcp_tso_frames)
segs=$(counter "$workdir/tso.log" tcp_segs_out)
echo "# pollux: $tso TSO frames, $segs segments out, $(counter "$workdir/tso.log" tcp_tso_software_cuts) frames cut by the engine"
check "pollux sent TSO frames ($tso)" test "$tso" -gt 0
gro=$(counter "$workdir/tso.log" gro_frames)
echo "# pollux: $gro GRO frames of $(($(counter "$workdir/tso.log" gro_segments_merged) + gro)) segments, $(counter "$workdir/tso.log" tcp_segs_in) segments in"
check "pollux coalesced received runs ($gro GRO frames)" test "$gro" -gt 0
check "the tap sent every frame pollux handed it (no drop_tx counters)" \
  bash -c "! grep -qE '^drop_tx_(oversize|full) ' '$workdir/tso.log'"

# v6: the same server with an IPv6 address too, an echo over IPv6 captured on the tap.
ip6=fd00:206::2
if start v6 pxs$$ --ip "$ip6/64" && in_ns ip -6 addr add fd00:206::1/64 dev pxs$$ nodad &&
  for _ in $(seq 50); do in_ns ping -6 -c1 -W1 "$ip6" >/dev/null 2>&1 && break; sleep 0.1; done &&
  in_ns ping -6 -c1 -W1 "$ip6" >/dev/null 2>&1; then
  ok "[v6] echo server up on the tap with $ip6"
else
  bad "[v6] echo server up on the tap with $ip6"
fi
csum0=$(mib TcpInCsumErrors)
spawn "$workdir/dumpcap6.log" ip netns exec "$ns" dumpcap -q -i pxs$$ -f "tcp and host $ip6" -w "$workdir/wire6.pcapng"
capture_pid=$spawned
wait_for "$workdir/dumpcap6.log" 'Capturing on' 10 || sleep 1
echo_mb v6 8 "TCP6:[$ip6]:7"
sleep 0.5
stop_pid "$capture_pid"
for p in "${netns_pids[@]}"; do kill -INT "$p" 2>/dev/null; done
for p in "${netns_pids[@]}"; do wait "$p" 2>/dev/null; done
netns_pids=()
read -r frames data maxlen bad unverified <<<"$(tshark -r "$workdir/wire6.pcapng" -o tcp.check_checksum:TRUE \
  -Y "ipv6.src == $ip6 && tcp" -T fields -e frame.len -e tcp.len -e tcp.checksum.status \
  -e tcp.checksum -e tcp.checksum_calculated 2>/dev/null |
  awk '{ n++; if ($2 > 0) d++; if ($1 > m) m = $1; if ($3 == 0 && $4 == "0xffff" && $5 == "0x0000") $3 = 1
         if ($3 == 0) b++; else if ($3 != 1) v++ }
       END { print n + 0, d + 0, m + 0, b + 0, v + 0 }')"
echo "# [v6] the kernel saw $frames frames from pollux ($data with data), longest $maxlen bytes, $bad failing the TCP checksum, $unverified tshark could not verify"
check "[v6] pollux sent TSO frames ($(counter "$workdir/v6.log" tcp_tso_frames)), cut by the engine ($(counter "$workdir/v6.log" tcp_tso_software_cuts))" \
  test "$(counter "$workdir/v6.log" tcp_tso_frames)" -gt 0 -a "$(counter "$workdir/v6.log" tcp_tso_software_cuts)" -gt 0
# 8 MB are 5602 full segments of 1428; dumpcap may miss some on a busy machine.
check "[v6] the capture holds pollux's data segments ($data)" test "$data" -gt 2000
check "[v6] every frame pollux sent fits the MTU (longest $maxlen <= 1514)" test "$maxlen" -le 1514
check "[v6] every TCP checksum verifies ($bad bad)" test "$bad" -eq 0
check "[v6] the kernel counted no TCP checksum error ($(($(mib TcpInCsumErrors) - csum0)))" \
  test "$(($(mib TcpInCsumErrors) - csum0))" -eq 0
gro6=$(counter "$workdir/v6.log" gro_frames)
echo "# [v6] pollux: $gro6 GRO frames of $(($(counter "$workdir/v6.log" gro_segments_merged) + gro6)) segments, $(counter "$workdir/v6.log" tcp_segs_in) segments in"
check "[v6] pollux coalesced received IPv6 runs ($gro6 GRO frames)" test "$gro6" -gt 0
check "[v6] no IPv6 segment failed its checksum ($(counter "$workdir/v6.log" drop_tcp_bad_checksum))" \
  test "$(counter "$workdir/v6.log" drop_tcp_bad_checksum)" -eq 0

# off: --no-tso on the same device.
if start off pxo$$ --no-tso --no-gro; then ok "echo server up with --no-tso"; else bad "echo server up with --no-tso"; fi
check "[off] the port line says tso off (capable)" grep -q 'tso off (capable)' "$workdir/off.log"
echo_mb off 10
for p in "${netns_pids[@]}"; do kill -INT "$p" 2>/dev/null; done
for p in "${netns_pids[@]}"; do wait "$p" 2>/dev/null; done
netns_pids=()
check "[off] no TSO frame" test "$(counter "$workdir/off.log" tcp_tso_frames)" -eq 0
check "[off] no GRO frame" test "$(counter "$workdir/off.log" gro_frames)" -eq 0
check "[off] the port line has no gro" bash -c "! grep -q 'gro on' '$workdir/off.log'"
finish
