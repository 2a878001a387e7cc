// EAL start-up the DPDK way: `app [EAL args] -- [app args]`, plus presets that expand into
// EAL arguments for the virtual devices pollux runs on without a NIC.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pci_check.hpp"

namespace pollux::dpdk {

// Expands a preset into EAL arguments, or returns an error message.
//   tap:IFNAME        net_tap: the kernel sees interface IFNAME
//   afpacket:IFNAME   net_af_packet bound to an existing kernel interface (e.g. a veth end)
//   afxdp:IFNAME      net_af_xdp on queue 0 of an existing kernel interface (e.g. a veth end,
//                     which runs the driver's XDP program natively): bench/VETH.md
//   ring              net_ring: an in-memory port (tests, loopback benchmarks)
//   memif:PATH[:server|client]  net_memif over a unix socket (memif role, default client)
//   local             no device at all (the application builds its own in-memory ports)
//   pci:BDF           a NIC ([DDDD:]BB:DD.F) on the allow-list (-a BDF), with hugepages; when
//                     DPDK could not use it (kernel driver bound, no IOMMU, PMD package
//                     missing, no free hugepages) the error says what to run (pci_check.hpp)
// Every other preset adds --no-pci; when no hugepages are free it adds `--no-huge -m 1024 --no-shconf` so the
// preset works on a fresh machine (pass your own -m/--socket-mem to override).
struct PresetResult {
  std::vector<std::string> eal_args;
  std::string error;  // empty on success
};
// `pci` describes the machine for pci:BDF (null: the real one, with `hugepages_free`).
[[nodiscard]] PresetResult expand_preset(std::string_view preset, bool hugepages_free,
                                         const PciEnvironment* pci = nullptr);

// Free 2 MB (or default size) hugepages according to /proc/meminfo.
[[nodiscard]] bool hugepages_available();

// Initialises the EAL from argv. A leading `--preset NAME` (before any EAL argument) is
// expanded first. On success returns the index of the first application argument (the one
// after `--`, or argc if there is none) and fills `app_args`; on failure returns -1 after
// printing why. Without a --preset, `default_preset` (if any) is applied.
// The --file-prefix init_eal gave the EAL because argv had none ("pollux-PID"), else empty.
[[nodiscard]] std::string& generated_prefix();

// Sets every realtime signal above SIGRTMIN that is still at SIG_DFL to SIG_IGN, so that
// net_tap finds none for its Rx trigger and polls (init_eal does this when a net_tap device
// is among the EAL arguments). False when some signal could not be read or set.
bool leave_no_realtime_signal_free();

int init_eal(int argc, char** argv, std::vector<std::string>& app_args,
             std::string_view default_preset = {});

}  // namespace pollux::dpdk
