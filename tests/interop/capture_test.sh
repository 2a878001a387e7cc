#!/usr/bin/env bash
# --pcap FILE[:SNAPLEN] (issue 15.2): in-process capture read back with tshark.
#   gen-local: pollux-gen and its --local-server over the in-memory link (--no-huge). The file
#              has one interface per port (0: generator, 1: server); every TCP segment in it
#              has valid checksums, the handshakes and the data are there, and each
#              interface holds exactly what its port counted (ipackets + opackets).
#   snaplen:   SNAPLEN 128 on 4000-byte requests and responses: every packet is cut to 128
#              bytes, and what was written plus what was dropped (counted) is what the
#              ports moved.
#   tap:       curl against pollux-server on a tap in a namespace made here: the kernel's
#              SYN, pollux's SYN-ACK (its offloaded checksums filled in as the device
#              would), the HTTP request and response, and the port's counts.
# usage: capture_test.sh PATH/TO/pollux-server PATH/TO/pollux-gen
. "$(dirname "$0")/lib.sh"  # also: set -uo pipefail, $here
server=${1:?usage: $0 PATH/TO/pollux-server PATH/TO/pollux-gen}
gen=${2:?usage: $0 PATH/TO/pollux-server PATH/TO/pollux-gen}
interop_init tshark curl

# tcount FILE FILTER: packets of FILE matching the display FILTER, checksums verified.
tcount() {
  tshark -r "$1" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE -Y "$2" 2>/dev/null |
    wc -l
}
# port_packets LOG PORT: ipackets + opackets of the app's "port P: ipackets X opackets Y".
port_packets() {
  awk -v p="port $2:" '$1 " " $2 == p && $3 == "ipackets" { print $4 + $6 }' "$1" | tail -n 1
}
# capture_field LOG NAME: a number from the summary's "capture FILE: N packets written,
# snaplen S, dropped D (...)" line.
capture_field() {
  sed -n "s/^capture .*: \([0-9]*\) packets written, snaplen \([0-9]*\), dropped \([0-9]*\).*/\1 \2 \3/p" "$1" |
    awk -v f="$2" '{ print (f == "written" ? $1 : f == "snaplen" ? $2 : $3) }'
}
in='frame.packet_flags_direction == 1'
out='frame.packet_flags_direction == 2'
# the_same WHAT A B: a check that two counts agree, printing both.
the_same() { check "$1 ($2 = $3)" test "${2:-x}" = "${3:-y}"; }

# --- gen-local: an open-loop rps run, 500 requests/s over 4 connections --------------------
pcap=$workdir/gen.pcapng
log=$workdir/gen.log
timeout 60 "$gen" -l 0-1 --log-level=4 -- --mode rps --connections 4 --rate 500 --duration 2 \
  --quiet --local-server echo --pcap "$pcap" >"$log" 2>&1
rc=$?
check "[gen-local] runs with --pcap and exits 0 (rc=$rc)" test $rc -eq 0
grep '^capture ' "$log" | sed 's/^/# /'
the_same "[gen-local] nothing dropped" "$(capture_field "$log" dropped)" 0
check "[gen-local] tshark reads the file" tshark -r "$pcap" -q
the_same "[gen-local] interface 0 holds what the generator's port counted" \
  "$(tcount "$pcap" 'frame.interface_id == 0')" "$(port_packets "$log" 0)"
the_same "[gen-local] interface 1 holds what the server's port counted" \
  "$(tcount "$pcap" 'frame.interface_id == 1')" "$(port_packets "$log" 1)"
the_same "[gen-local] the file holds every packet written" \
  "$(tcount "$pcap" 'frame')" "$(capture_field "$log" written)"
# Direction: the pcapng packet flags (1 inbound, 2 outbound).
the_same "[gen-local] 4 SYNs leave the generator" \
  "$(tcount "$pcap" "frame.interface_id == 0 && $out && tcp.flags.syn == 1 && tcp.flags.ack == 0")" 4
the_same "[gen-local] ... and reach the server" \
  "$(tcount "$pcap" "frame.interface_id == 1 && $in && tcp.flags.syn == 1 && tcp.flags.ack == 0")" 4
the_same "[gen-local] 4 SYN-ACKs leave the server" \
  "$(tcount "$pcap" "frame.interface_id == 1 && $out && tcp.flags.syn == 1 && tcp.flags.ack == 1")" 4
check "[gen-local] requests and responses carry data (> 1000 segments with payload)" \
  test "$(tcount "$pcap" 'tcp.len > 0')" -gt 1000
the_same "[gen-local] every TCP segment has a good TCP and IP checksum" \
  "$(tcount "$pcap" 'tcp.checksum.status == 1 && ip.checksum.status == 1')" \
  "$(tcount "$pcap" 'tcp')"

# --- snaplen: every packet cut to 128 bytes ------------------------------------------------
pcap=$workdir/big.pcapng
log=$workdir/big.log
timeout 60 "$gen" -l 0-1 --log-level=4 -- --mode rps --connections 2 --rate 400 --req-size 4000 \
  --duration 1 --quiet --local-server echo --pcap "$pcap:128" >"$log" 2>&1
rc=$?
check "[snaplen] 4000-byte echoes with --pcap FILE:128 exit 0 (rc=$rc)" test $rc -eq 0
grep '^capture ' "$log" | sed 's/^/# /'
the_same "[snaplen] the summary names the snaplen" "$(capture_field "$log" snaplen)" 128
the_same "[snaplen] no packet is longer than 128 bytes in the file" \
  "$(tcount "$pcap" 'frame.cap_len > 128')" 0
check "[snaplen] full-size segments were cut (frame.len > frame.cap_len)" \
  test "$(tcount "$pcap" 'frame.len > frame.cap_len')" -gt 0
the_same "[snaplen] written + dropped is what both ports counted" \
  "$(($(capture_field "$log" written) + $(capture_field "$log" dropped)))" \
  "$(($(port_packets "$log" 0) + $(port_packets "$log" 1)))"

# --- tap: curl against pollux-server in a namespace -----------------------------------------
ns=pxc$$
ifname=pxc$$
ours=10.204.0.2
netns_add "$ns" || { echo "not ok - cannot create namespace"; exit 1; }
pcap=$workdir/server.pcapng
log=$workdir/server.log
spawn "$log" ip netns exec "$ns" timeout 60 "$server" --preset "tap:$ifname" -l 0 \
  --log-level=4 -- --ip $ours/24 --mode http --quiet --pcap "$pcap"
pid=$spawned
if wait_ready "$log"; then
  tap_up "$ns" "$ifname" 10.204.0.1/24
  wait_ping "$ns" $ours
  ok=0
  for _ in 1 2 3; do
    ip netns exec "$ns" curl -s -m 5 -o /dev/null -w '%{http_code}\n' "http://$ours:8080/" |
      grep -q '^200$' && ok=$((ok + 1))
  done
  the_same "[tap] curl gets 3 HTTP responses" $ok 3
  stop_pid "$pid"
  grep -E '^port 0|^capture ' "$log" | sed 's/^/# /'
  the_same "[tap] nothing dropped" "$(capture_field "$log" dropped)" 0
  the_same "[tap] the file holds what the port counted" \
    "$(tcount "$pcap" 'frame')" "$(port_packets "$log" 0)"
  the_same "[tap] 3 SYNs from the kernel, received" \
    "$(tcount "$pcap" "$in && ip.dst == $ours && tcp.flags.syn == 1 && tcp.flags.ack == 0")" 3
  the_same "[tap] 3 SYN-ACKs sent" \
    "$(tcount "$pcap" "$out && ip.src == $ours && tcp.flags.syn == 1 && tcp.flags.ack == 1")" 3
  the_same "[tap] 3 HTTP requests and 3 responses" \
    "$(tcount "$pcap" 'http.request')/$(tcount "$pcap" 'http.response.code == 200')" 3/3
  the_same "[tap] every TCP segment has a good TCP and IP checksum (offloads filled in)" \
    "$(tcount "$pcap" 'tcp.checksum.status == 1 && ip.checksum.status == 1')" \
    "$(tcount "$pcap" 'tcp')"
else
  bad "[tap] pollux-server starts with --pcap"
fi

finish
