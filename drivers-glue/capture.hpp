// In-process packet capture (--pcap FILE[:snaplen], issue 15.2) with DPDK's pcapng library.
//
// Design: each polling lcore copies what it receives (after rx_burst) and what it is about
// to send (before tx_burst) with rte_pcapng_copy into one dedicated, fixed-size mempool and
// passes the copies over its own single-producer/single-consumer ring to one writer thread,
// which writes them to the file. The poller pays a copy per packet and never waits: an
// empty copy pool or a full ring drops the copy and counts it. Per-lcore batches written by
// the poller itself would be simpler but put write(2) on the data path, where a slow disk
// would stall the loop; a writer thread behind a ring is what dpdk-dumpcap does too.
//
// The file has one interface block per DPDK port that exists when the capture starts (the
// pcapng library writes them at open): with pollux-gen --local-server, interface 0 is the
// generator's end of the in-memory link and interface 1 the local server's, so every frame
// appears twice, outbound on one and inbound on the other. Each packet carries its
// direction and queue (EPB flags and queue options).
//
// Checksums offloaded to the device are not in the frame the stack hands to tx_burst (only
// the pseudo-header sum); the writer thread fills them in the copy, as the device would, so
// that a reader's checksum validation judges the stack and not the offload. Truncated
// copies (snaplen) are left as they are.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <string>

struct rte_ring;
struct rte_mempool;

namespace pollux::dpdk {

enum class CaptureDirection : uint8_t { in, out };

// One polling lcore's side of the capture: written by that lcore only (relaxed atomic
// stores), drained by the writer thread.
struct CaptureQueue {
  rte_ring* ring = nullptr;
  rte_mempool* pool = nullptr;
  uint32_t snaplen = 0;
  uint16_t port = 0;
  uint64_t captured = 0;      // copies handed to the writer
  uint64_t drop_no_mbuf = 0;  // the copy pool was empty (the writer falls behind)
  uint64_t drop_ring_full = 0;
};

// Copies `n` packets of `queue` into the capture (never blocks; what does not fit is counted).
void capture_burst(CaptureQueue& q, uint16_t queue, rte_mbuf* const* pkts, uint16_t n,
                   CaptureDirection dir);

// The process's capture, if one was started: the queue for (port, worker index), created on
// first use. Null when there is no capture.
[[nodiscard]] CaptureQueue* capture_queue(uint16_t port, uint16_t worker);

// Opens `path` and starts the writer thread; every port that exists now gets an interface
// block. False with `error` set when the file or the pool cannot be made.
[[nodiscard]] bool capture_start(const std::string& path, uint32_t snaplen, std::string& error);
// After the pollers stopped: drains, writes a statistics block per port, closes the file and
// returns the summary line ("capture FILE: N packets written ..."); empty without a capture.
[[nodiscard]] std::string capture_stop();

}  // namespace pollux::dpdk
