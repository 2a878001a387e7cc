#include "eal.hpp"

#include "log.hpp"

#include <rte_eal.h>
#include <rte_errno.h>

#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "tcp/recv_queue.hpp"

namespace pollux::dpdk {

int log_type() {
  static const int type = [] {
    const int t = rte_log_register_type_and_pick_level("pollux", RTE_LOG_NOTICE);
    return t < 0 ? static_cast<int>(RTE_LOGTYPE_USER1) : t;
  }();
  return type;
}

std::string& generated_prefix() {
  static std::string prefix;
  return prefix;
}

bool hugepages_available() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  long value = 0;
  while (in >> key >> value) {
    if (key == "HugePages_Free:") return value > 0;
    in.ignore(256, '\n');
  }
  return false;
}

PresetResult expand_preset(std::string_view preset, bool hugepages_free,
                           const PciEnvironment* pci) {
  PresetResult r;
  auto colon = preset.find(':');
  std::string_view kind = preset.substr(0, colon);
  std::string_view arg = colon == std::string_view::npos ? std::string_view{} : preset.substr(colon + 1);
  if (kind == "tap") {
    if (arg.empty()) r.error = "preset tap needs an interface name: --preset tap:IFNAME";
    else r.eal_args.push_back("--vdev=net_tap0,iface=" + std::string(arg));
  } else if (kind == "afpacket") {
    if (arg.empty()) r.error = "preset afpacket needs an interface name: --preset afpacket:IFNAME";
    else r.eal_args.push_back("--vdev=net_af_packet0,iface=" + std::string(arg) + ",qpairs=1");
  } else if (kind == "afxdp") {
    // The interface's queue 0 (a veth's only receive queue by default). The driver attaches
    // an XDP program that redirects that queue's frames to the socket, and detaches it at
    // close; the port's pool is the socket's memory (zero copy between the ring and mbufs).
    if (arg.empty()) r.error = "preset afxdp needs an interface name: --preset afxdp:IFNAME";
    else r.eal_args.push_back("--vdev=net_af_xdp0,iface=" + std::string(arg) +
                              ",start_queue=0,queue_count=1");
  } else if (kind == "ring") {
    if (!arg.empty()) r.error = "preset ring takes no argument";
    else r.eal_args.push_back("--vdev=net_ring0");
  } else if (kind == "local") {
    // No device: the application makes its own ports (an in-memory link).
    if (!arg.empty()) r.error = "preset local takes no argument";
  } else if (kind == "memif") {
    auto c2 = arg.find(':');
    std::string_view path = arg.substr(0, c2);
    std::string_view role = c2 == std::string_view::npos ? "client" : arg.substr(c2 + 1);
    if (path.empty()) r.error = "preset memif needs a socket path: --preset memif:PATH[:server|client]";
    else if (role != "server" && role != "client") r.error = "memif role must be server or client, not '" + std::string(role) + "'";
    else r.eal_args.push_back("--vdev=net_memif0,role=" + std::string(role) + ",socket=" + std::string(path));
  } else if (kind == "pci") {
    // A real NIC: on the allow-list, PCI scanning on, hugepages (no --no-huge fallback: a
    // NIC DMAs into the pool, which needs physically pinned memory).
    const std::string bdf = normalize_pci_address(arg);
    if (bdf.empty()) {
      r.error = arg.empty() ? "preset pci needs a PCI address: --preset pci:DDDD:BB:DD.F "
                              "(lspci -D lists them)"
                            : "'" + std::string(arg) + "' is not a PCI address "
                              "(DDDD:BB:DD.F or BB:DD.F, e.g. 0000:03:00.0)";
      return r;
    }
    PciEnvironment real;
    real.hugepages_free = hugepages_free;
    if (std::string problem = pci_device_problem(bdf, pci ? *pci : real); !problem.empty()) {
      r.error = problem;
      return r;
    }
    r.eal_args = {"-a", bdf};
    return r;
  } else {
    r.error = "unknown preset '" + std::string(kind) +
              "' (expected tap:IF, afpacket:IF, afxdp:IF, ring, memif:PATH, pci:BDF, local)";
  }
  if (!r.error.empty()) {
    r.eal_args.clear();
    return r;
  }
  r.eal_args.push_back("--no-pci");
  if (!hugepages_free) {
    // Heap memory instead of hugepages, and no shared config files: several instances (a
    // test's server and client) can run side by side and nothing is left behind.
    r.eal_args.push_back("--no-huge");
    r.eal_args.push_back("-m");
    r.eal_args.push_back("1024");
    r.eal_args.push_back("--no-shconf");
  }
  return r;
}

bool leave_no_realtime_signal_free() {
  bool all = true;
  for (int signo = SIGRTMIN + 1; signo < SIGRTMAX; ++signo) {
    struct sigaction sa {};
    if (sigaction(signo, nullptr, &sa) != 0) {
      all = false;
      continue;
    }
    if (sa.sa_handler != SIG_DFL) continue;  // someone's already: net_tap skips it too
    sa = {};
    sa.sa_handler = SIG_IGN;
    if (sigaction(signo, &sa, nullptr) != 0) all = false;
  }
  return all;
}

int init_eal(int argc, char** argv, std::vector<std::string>& app_args,
             std::string_view default_preset) {
  // Static: the EAL may keep pointers into its argv for the life of the process.
  static std::vector<std::string> args;
  args.assign(1, argv[0]);
  int i = 1;
  bool user_memory = false;
  for (int k = 1; k < argc && std::strcmp(argv[k], "--") != 0; ++k) {
    if (!std::strcmp(argv[k], "-m") || !std::strncmp(argv[k], "--socket-mem", 12) ||
        !std::strcmp(argv[k], "--no-huge"))
      user_memory = true;
  }
  if (argc > 2 && std::strcmp(argv[1], "--preset") == 0) {
    PresetResult p = expand_preset(argv[2], user_memory || hugepages_available());
    if (!p.error.empty()) {
      std::fprintf(stderr, "error: %s\n", p.error.c_str());
      return -1;
    }
    args.insert(args.end(), p.eal_args.begin(), p.eal_args.end());
    i = 3;
  } else if (argc == 2 && std::strcmp(argv[1], "--preset") == 0) {
    std::fprintf(stderr,
                 "error: --preset needs a value (tap:IF, afpacket:IF, afxdp:IF, ring, "
                 "memif:PATH, pci:BDF)\n");
    return -1;
  } else if (!default_preset.empty()) {
    PresetResult p = expand_preset(default_preset, user_memory || hugepages_available());
    if (!p.error.empty()) {
      std::fprintf(stderr, "error: %s\n", p.error.c_str());
      return -1;
    }
    args.insert(args.end(), p.eal_args.begin(), p.eal_args.end());
  }
  int sep = i;
  while (sep < argc && std::strcmp(argv[sep], "--") != 0) ++sep;
  for (int k = i; k < sep; ++k) args.emplace_back(argv[k]);
  app_args.clear();
  for (int k = sep + 1; k < argc; ++k) app_args.emplace_back(argv[k]);
  // Every process its own runtime folder and so its own telemetry socket (issue 15.1): two
  // pollux processes on one host (a test's server and client) would otherwise share DPDK's
  // default prefix "rte" and the second one's telemetry would not start.
  const bool own_prefix = std::any_of(args.begin(), args.end(), [](const std::string& a) {
    return a.rfind("--file-prefix", 0) == 0;
  });
  generated_prefix().clear();
  if (!own_prefix) {
    generated_prefix() = "pollux-" + std::to_string(::getpid());
    args.push_back("--file-prefix=" + generated_prefix());
  }

  // A net_tap port reads its queue only after the kernel raised a realtime signal for a frame
  // (DPDK 22.11's Rx trigger: O_ASYNC and F_SETSIG on every queue's fd, one queued signal per
  // frame). Our pollers read every turn anyway, and each signal woke an idle EAL thread
  // (interrupt, telemetry) that did not block it, on the core the tap's kernel side and the
  // peers need: half of the CPU under a SYN flood (bench/FLOOD.md). The driver takes the
  // first realtime signal above SIGRTMIN still at SIG_DFL and, finding none, reads every
  // burst; so none is left at SIG_DFL (they are ignored: pollux uses none). The driver says
  // so at WARNING on every queue it opens, which is what we want, so its level goes to ERR
  // (appended: for a driver loaded as a plugin the first --log-level naming it wins, so the
  // user's own still does).
  const bool net_tap = std::any_of(args.begin(), args.end(), [](const std::string& a) {
    return a.find("net_tap") != std::string::npos;
  });
  if (net_tap) {
    if (!leave_no_realtime_signal_free())
      POLLUX_LOG(WARNING, "could not claim every realtime signal: net_tap may use its Rx signal");
    args.emplace_back("--log-level=pmd.net.tap:error");
  }

  static std::vector<char*> cargs;
  cargs.clear();
  for (auto& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  // rte_eal_init may permute its argv; it gets a private copy.
  int ret = rte_eal_init(static_cast<int>(args.size()), cargs.data());
  if (ret < 0) {
    std::fprintf(stderr, "error: DPDK EAL initialisation failed: %s\n", rte_strerror(rte_errno));
    return -1;
  }
  // Before any lcore receives: the receive queues link their chains through this field.
  if (!tcp::RecvQueue::register_link_field()) {
    std::fprintf(stderr, "error: cannot register the receive queue's mbuf field: %s\n",
                 rte_strerror(rte_errno));
    return -1;
  }
  std::string line;
  for (const auto& a : args) line += (line.empty() ? "" : " ") + a;
  POLLUX_LOG(DEBUG, "EAL started: %s", line.c_str());
  return sep < argc ? sep + 1 : argc;
}

}  // namespace pollux::dpdk
