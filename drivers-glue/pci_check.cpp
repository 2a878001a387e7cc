#include "pci_check.hpp"

#include <cctype>
#include <filesystem>
#include <fstream>

namespace pollux::dpdk {

namespace fs = std::filesystem;

namespace {

bool hex_run(std::string_view s, size_t n) {
  if (s.size() != n) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

std::string read_line(const fs::path& p) {
  std::ifstream in(p);
  std::string s;
  std::getline(in, s);
  return s;
}

// The name of the driver a sysfs device is bound to: the last part of its `driver` link.
std::string bound_driver(const fs::path& dev) {
  std::error_code ec;
  const fs::path target = fs::read_symlink(dev / "driver", ec);
  return ec ? std::string{} : target.filename().string();
}

// The kernel's network interface names for a device, for the message ("eth0"): in its net/
// folder, or one level down (virtio-pci puts them under virtioN/net/).
std::string interfaces(const fs::path& dev) {
  std::error_code ec;
  std::string names;
  auto add = [&](const fs::path& net) {
    std::error_code e2;
    for (const auto& e : fs::directory_iterator(net, e2)) {
      if (!names.empty()) names += ", ";
      names += e.path().filename().string();
    }
  };
  add(dev / "net");
  for (const auto& sub : fs::directory_iterator(dev, ec))
    if (sub.is_directory(ec) && !sub.is_symlink(ec)) add(sub.path() / "net");
  return names;
}

bool has_pmd(const std::string& dir, const char* lib) {
  std::error_code ec;
  return fs::exists(fs::path(dir) / lib, ec);
}

std::string default_pmd_dir() {
#ifdef POLLUX_DPDK_PMD_DIR
  return POLLUX_DPDK_PMD_DIR;
#else
  return "/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0";
#endif
}

}  // namespace

std::string normalize_pci_address(std::string_view text) {
  // [DDDD:]BB:DD.F
  std::string_view domain = "0000";
  if (text.size() == 12) {
    domain = text.substr(0, 4);
    if (text[4] != ':') return {};
    text.remove_prefix(5);
  }
  if (text.size() != 7 || text[2] != ':' || text[5] != '.') return {};
  if (!hex_run(domain, 4) || !hex_run(text.substr(0, 2), 2) || !hex_run(text.substr(3, 2), 2) ||
      text[6] < '0' || text[6] > '7')
    return {};
  std::string out = std::string(domain) + ":" + std::string(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string pci_device_problem(const std::string& bdf, const PciEnvironment& env) {
  const fs::path dev = fs::path(env.sysfs) / "bus/pci/devices" / bdf;
  std::error_code ec;
  if (!fs::exists(dev, ec))
    return "no PCI device " + bdf +
           " on this machine (lspci -D lists them; dpdk-devbind.py -s "
           "shows the network devices and their drivers)";
  const std::string driver = bound_driver(dev);
  const std::string vendor = read_line(dev / "vendor");  // "0x8086"
  const bool mellanox = vendor == "0x15b3";
  if (driver.empty())
    return bdf + " has no driver: run modprobe vfio-pci && dpdk-devbind.py -b vfio-pci " + bdf;
  const bool userspace = driver == "vfio-pci" || driver == "uio_pci_generic" || driver == "igb_uio";
  const bool bifurcated = driver == "mlx5_core" || driver == "mlx4_core";
  if (!userspace && !bifurcated) {
    const std::string ifs = interfaces(dev);
    return bdf + " is bound to the kernel driver " + driver +
           (ifs.empty() ? std::string{} : " (interface " + ifs + ")") +
           ": run dpdk-devbind.py -b vfio-pci " + bdf +
           (ifs.empty() ? std::string{} : " (the kernel loses " + ifs + ")");
  }
  if (driver == "vfio-pci") {
    bool groups = false;
    for (const auto& e : fs::directory_iterator(fs::path(env.sysfs) / "kernel/iommu_groups", ec)) {
      (void)e;
      groups = true;
      break;
    }
    const std::string noiommu =
        read_line(fs::path(env.sysfs) / "module/vfio/parameters/enable_unsafe_noiommu_mode");
    if (!groups && noiommu != "Y" && noiommu != "1")
      return bdf +
             " is bound to vfio-pci but the IOMMU is off: boot with intel_iommu=on "
             "iommu=pt (or amd_iommu=on), or, without one, echo 1 > "
             "/sys/module/vfio/parameters/enable_unsafe_noiommu_mode and bind again";
  }
  const std::string pmd_dir = env.pmd_dir.empty() ? default_pmd_dir() : env.pmd_dir;
  struct Pmd {
    bool applies;
    const char* lib;
    const char* package;
  };
  const Pmd pmds[] = {
      {mellanox && driver != "mlx4_core", "librte_net_mlx5.so.23", "librte-net-mlx5-23"},
      {mellanox && driver == "mlx4_core", "librte_net_mlx4.so.23", "librte-net-mlx4-23"},
      {vendor == "0x1af4", "librte_net_virtio.so.23", "librte-net-virtio23"},
  };
  for (const Pmd& p : pmds)
    if (p.applies && !has_pmd(pmd_dir, p.lib))
      return "the DPDK driver for " + bdf + " is not installed: apt-get install " + p.package;
  if (!env.hugepages_free)
    return "no free hugepages for " + bdf +
           " (a NIC needs them): run scripts/setup.sh --hugepages 1024";
  return {};
}

}  // namespace pollux::dpdk
