// --preset pci:BDF refuses a device DPDK cannot use, with the fix (drivers-glue/pci_check.hpp).
// Each case builds the part of sysfs the check reads in a temporary folder.
#include "eal.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace pollux::dpdk {
namespace {

namespace fs = std::filesystem;

class FakeSysfs : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("pollux-sysfs-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "bus/pci/devices");
    fs::create_directories(root_ / "bus/pci/drivers");
    fs::create_directories(root_ / "kernel/iommu_groups");
    fs::create_directories(pmds());
    env_.sysfs = root_.string();
    env_.pmd_dir = pmds().string();
    env_.hugepages_free = true;
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path pmds() const { return root_ / "pmds"; }
  // A device at `bdf` from `vendor`, bound to `driver` (none when empty), with kernel
  // interfaces `ifs` under `net_parent`/net.
  void device(const std::string& bdf, const std::string& vendor, const std::string& driver,
              const std::string& ifname = "", const std::string& net_parent = "") {
    const fs::path d = root_ / "bus/pci/devices" / bdf;
    fs::create_directories(d);
    std::ofstream(d / "vendor") << vendor << "\n";
    if (!driver.empty()) {
      fs::create_directories(root_ / "bus/pci/drivers" / driver);
      fs::create_directory_symlink(root_ / "bus/pci/drivers" / driver, d / "driver");
    }
    if (!ifname.empty()) fs::create_directories(d / net_parent / "net" / ifname);
  }
  void iommu_group() { fs::create_directories(root_ / "kernel/iommu_groups/7"); }
  void pmd(const std::string& lib) { std::ofstream(pmds() / lib) << ""; }

  fs::path root_;
  PciEnvironment env_;
};

TEST(PciAddress, AcceptsBusDeviceFunctionWithOrWithoutDomain) {
  EXPECT_EQ(normalize_pci_address("03:00.0"), "0000:03:00.0");
  EXPECT_EQ(normalize_pci_address("0000:AF:1e.7"), "0000:af:1e.7");
  EXPECT_EQ(normalize_pci_address("ffff:ff:1f.7"), "ffff:ff:1f.7");
  for (const char* bad : {"", "zz", "03:00", "03:00.8", "3:00.0", "0000:03:00.0.1", "g3:00.0",
                          "0000-03:00.0", "00000:03:00.0", "03.00:0"})
    EXPECT_EQ(normalize_pci_address(bad), "") << bad;
}

TEST_F(FakeSysfs, AMissingDeviceIsNamedWithHowToListThem) {
  EXPECT_EQ(pci_device_problem("0000:03:00.0", env_),
            "no PCI device 0000:03:00.0 on this machine (lspci -D lists them; dpdk-devbind.py "
            "-s shows the network devices and their drivers)");
}

TEST_F(FakeSysfs, ADeviceWithNoDriverIsToBeBoundToVfio) {
  device("0000:03:00.0", "0x8086", "");
  EXPECT_EQ(pci_device_problem("0000:03:00.0", env_),
            "0000:03:00.0 has no driver: run modprobe vfio-pci && dpdk-devbind.py -b vfio-pci "
            "0000:03:00.0");
}

TEST_F(FakeSysfs, AKernelDriverIsNamedWithTheInterfaceTheKernelWouldLose) {
  device("0000:03:00.0", "0x8086", "ixgbe", "enp3s0f0");
  EXPECT_EQ(pci_device_problem("0000:03:00.0", env_),
            "0000:03:00.0 is bound to the kernel driver ixgbe (interface enp3s0f0): run "
            "dpdk-devbind.py -b vfio-pci 0000:03:00.0 (the kernel loses enp3s0f0)");
  // virtio-pci keeps its interface one level down (virtio0/net/eth0).
  device("0000:00:03.0", "0x1af4", "virtio-pci", "eth0", "virtio0");
  EXPECT_NE(pci_device_problem("0000:00:03.0", env_).find("virtio-pci (interface eth0)"),
            std::string::npos);
}

TEST_F(FakeSysfs, VfioWithoutAnIommuSaysHowToTurnOneOnOrUseNoIommuMode) {
  device("0000:03:00.0", "0x8086", "vfio-pci");
  EXPECT_NE(
      pci_device_problem("0000:03:00.0", env_).find("the IOMMU is off: boot with intel_iommu=on"),
      std::string::npos);
  fs::create_directories(root_ / "module/vfio/parameters");
  std::ofstream(root_ / "module/vfio/parameters/enable_unsafe_noiommu_mode") << "Y\n";
  EXPECT_EQ(pci_device_problem("0000:03:00.0", env_), "");
}

TEST_F(FakeSysfs, AVfioDeviceWithAnIommuAndHugepagesIsUsable) {
  iommu_group();
  device("0000:03:00.0", "0x8086", "vfio-pci");
  EXPECT_EQ(pci_device_problem("0000:03:00.0", env_), "");
  device("0000:04:00.0", "0x8086", "uio_pci_generic");
  EXPECT_EQ(pci_device_problem("0000:04:00.0", env_), "");
}

TEST_F(FakeSysfs, NoFreeHugepagesIsRefusedWithTheSetupCommand) {
  iommu_group();
  device("0000:03:00.0", "0x8086", "vfio-pci");
  env_.hugepages_free = false;
  EXPECT_EQ(pci_device_problem("0000:03:00.0", env_),
            "no free hugepages for 0000:03:00.0 (a NIC needs them): run scripts/setup.sh "
            "--hugepages 1024");
}

TEST_F(FakeSysfs, AMellanoxNicStaysOnItsKernelDriverButNeedsItsPmdPackage) {
  device("0000:5e:00.0", "0x15b3", "mlx5_core", "enp94s0f0");
  EXPECT_EQ(pci_device_problem("0000:5e:00.0", env_),
            "the DPDK driver for 0000:5e:00.0 is not installed: apt-get install "
            "librte-net-mlx5-23");
  pmd("librte_net_mlx5.so.23");
  EXPECT_EQ(pci_device_problem("0000:5e:00.0", env_), "");
}

TEST_F(FakeSysfs, AVirtioNicBoundToVfioNeedsTheVirtioPmd) {
  iommu_group();
  device("0000:00:04.0", "0x1af4", "vfio-pci");
  EXPECT_NE(pci_device_problem("0000:00:04.0", env_).find("apt-get install librte-net-virtio23"),
            std::string::npos);
  pmd("librte_net_virtio.so.23");
  EXPECT_EQ(pci_device_problem("0000:00:04.0", env_), "");
}

TEST_F(FakeSysfs, ThePresetExpandsToTheAllowListOrTheProblem) {
  iommu_group();
  device("0000:03:00.0", "0x8086", "vfio-pci");
  PresetResult ok = expand_preset("pci:03:00.0", true, &env_);
  EXPECT_EQ(ok.error, "");
  EXPECT_EQ(ok.eal_args, (std::vector<std::string>{"-a", "0000:03:00.0"}));
  env_.hugepages_free = false;
  PresetResult no_huge = expand_preset("pci:03:00.0", true, &env_);
  EXPECT_NE(no_huge.error.find("no free hugepages"), std::string::npos);
  EXPECT_TRUE(no_huge.eal_args.empty());
  EXPECT_NE(expand_preset("pci:", true, &env_).error.find("needs a PCI address"),
            std::string::npos);
}

}  // namespace
}  // namespace pollux::dpdk
