#!/usr/bin/env bash
# dpdk-dumpcap against a running pollux-server (issue 15.2): pollux calls rte_pdump_init, so
# DPDK's own capture tool, a secondary process, can copy a port's packets. A secondary
# process shares the primary's memory, which takes hugepages (with --no-huge and
# --no-shconf there is nothing to share, and pollux's --pcap is the way to capture). The
# test reserves 256 hugepages when none are free and gives them back at the end; pollux runs
# with a file prefix of its own so that no other DPDK process on the host is touched.
# curl fetches three pages over a tap in a namespace made here; tshark reads dumpcap's file:
# the handshakes and the HTTP exchanges are in it.
# usage: dumpcap_test.sh PATH/TO/pollux-server
. "$(dirname "$0")/lib.sh"  # also: set -uo pipefail, $here
server=${1:?usage: $0 PATH/TO/pollux-server}
interop_init tshark curl dpdk-dumpcap

free_pages=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
if [ "${free_pages:-0}" -lt 128 ]; then
  old_pages=$(cat /proc/sys/vm/nr_hugepages)
  on_cleanup "echo $old_pages > /proc/sys/vm/nr_hugepages"
  echo $((old_pages + 256)) >/proc/sys/vm/nr_hugepages
fi
if ! mount | grep -q 'type hugetlbfs'; then
  mkdir -p /dev/hugepages
  mount -t hugetlbfs nodev /dev/hugepages && on_cleanup "umount /dev/hugepages"
fi
free_pages=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
if [ "${free_pages:-0}" -lt 128 ]; then
  echo "not ok - cannot reserve hugepages (HugePages_Free $free_pages)"; exit 1
fi
echo "# HugePages_Free $free_pages"

prefix=pxdump$$
on_cleanup "rm -rf /var/run/dpdk/$prefix"  # the EAL leaves a named prefix's folder behind
ns=pxd$$
ifname=pxd$$
ours=10.205.0.2
netns_add "$ns" || { echo "not ok - cannot create namespace"; exit 1; }
log=$workdir/server.log
# Hugepages are free, so the tap preset adds neither --no-huge nor --no-shconf; -m bounds
# what pollux takes of them.
spawn "$log" ip netns exec "$ns" timeout 60 "$server" --preset "tap:$ifname" -l 0 \
  --file-prefix=$prefix -m 128 --log-level=4 -- --ip $ours/24 --mode http --quiet
pid=$spawned
wait_ready "$log" || { bad "pollux-server starts with hugepages"; finish; exit 1; }
ok "pollux-server starts with hugepages (prefix $prefix)"
tap_up "$ns" "$ifname" 10.205.0.1/24
wait_ping "$ns" $ours

dump=$workdir/dump.pcapng
# dumpcap says "Capturing on 'net_tap0'" once pdump is enabled on the port (its stdout made
# line buffered: it is a file here).
spawn "$workdir/dumpcap.log" stdbuf -oL dpdk-dumpcap --file-prefix=$prefix -i 0 -w "$dump"
dpid=$spawned
check "dpdk-dumpcap attaches to pollux-server's port" wait_for "$workdir/dumpcap.log" 'Capturing on' 20
n=0
for _ in 1 2 3; do
  ip netns exec "$ns" curl -s -m 5 -o /dev/null -w '%{http_code}\n' "http://$ours:8080/" |
    grep -q '^200$' && n=$((n + 1))
done
check "curl gets 3 HTTP responses while dumpcap captures ($n)" test $n -eq 3
sleep 0.5
stop_pid "$dpid"
sed 's/^/# dumpcap: /' "$workdir/dumpcap.log" | tail -n 3
stop_pid "$pid"
check "pollux-server stops cleanly after the capture" grep -q '^summary:' "$log"

tcount() { tshark -r "$dump" -Y "$1" 2>/dev/null | wc -l; }
check "tshark reads dumpcap's file" tshark -r "$dump" -q
check "3 SYNs to pollux-server and 3 SYN-ACKs back" test \
  "$(tcount "ip.dst == $ours && tcp.flags.syn == 1 && tcp.flags.ack == 0")/$(tcount "ip.src == $ours && tcp.flags.syn == 1 && tcp.flags.ack == 1")" = 3/3
check "3 HTTP requests and 3 responses" test \
  "$(tcount 'http.request')/$(tcount 'http.response.code == 200')" = 3/3

finish
