// Whether a PCI device can be handed to DPDK, and if not, the one line that says what to run
// (issue 15 item 5). DPDK's own failure for a NIC still bound to its kernel driver, with no
// IOMMU or no hugepages, is a probe that finds nothing, or a line deep in EAL's log; a user
// needs the fix. Everything is read from sysfs (and the PMD folder), so that tests can point
// it at a tree of their own.
#pragma once

#include <string>
#include <string_view>

namespace pollux::dpdk {

struct PciEnvironment {
  std::string sysfs = "/sys";
  std::string pmd_dir;         // DPDK's PMD folder (empty: the one this build was made for)
  bool hugepages_free = true;  // hugepages_available() for the real machine
};

// "0000:03:00.0" from "03:00.0" or "0000:03:00.0" (hex digits, either case); empty when
// `text` is not a PCI address.
[[nodiscard]] std::string normalize_pci_address(std::string_view text);

// Empty when DPDK can use the device `bdf` (normalised), else what is wrong and the fix, e.g.
// "0000:00:03.0 is bound to the kernel driver virtio-pci (interface eth0): run
// dpdk-devbind.py -b vfio-pci 0000:00:03.0 (the kernel loses eth0)".
// Checks, in order: the device exists; a driver DPDK can use is bound (vfio-pci,
// uio_pci_generic, igb_uio; or mlx5_core/mlx4_core, which DPDK shares with the kernel);
// vfio-pci has an IOMMU or no-IOMMU mode; the PMD for the vendor is installed (mlx5, mlx4,
// virtio: separate Debian packages); hugepages are free.
[[nodiscard]] std::string pci_device_problem(const std::string& bdf, const PciEnvironment& env);

}  // namespace pollux::dpdk
