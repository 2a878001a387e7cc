// main() for micro benchmarks that need the EAL (mempools, mbufs, rte_hash, rte_timer): a small
// EAL without hugepages, PCI or shared files, so benches run anywhere and leave nothing behind.
// Google Benchmark's flags are taken first; the EAL gets a fixed argument list of its own.
#include <benchmark/benchmark.h>
#include <rte_eal.h>

#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  std::vector<std::string> eal = {argv[0],       "--no-huge",     "-m", "512", "--no-pci",
                                  "--no-shconf", "--log-level=4", "-l", "0"};
  std::vector<char*> args;
  for (auto& s : eal) args.push_back(s.data());
  if (rte_eal_init(static_cast<int>(args.size()), args.data()) < 0) {
    std::fprintf(stderr, "EAL init failed\n");
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  rte_eal_cleanup();
  return 0;
}
