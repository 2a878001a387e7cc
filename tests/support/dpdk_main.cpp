// main() for unit tests that need mbufs: starts a small EAL with no hugepages, no PCI and no
// shared files, so tests run anywhere, in parallel, and leave nothing behind.
#include <gtest/gtest.h>
#include <rte_eal.h>

#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  std::vector<std::string> eal = {argv[0], "--no-huge", "-m", "256", "--no-pci",
                                  "--no-shconf", "--log-level=3", "-l", "0"};
  std::vector<char*> args;
  for (auto& s : eal) args.push_back(s.data());
  if (rte_eal_init(static_cast<int>(args.size()), args.data()) < 0) {
    std::fprintf(stderr, "EAL init failed\n");
    return 1;
  }
  int rc = RUN_ALL_TESTS();
  rte_eal_cleanup();
  return rc;
}
