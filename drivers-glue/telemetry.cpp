#include "telemetry.hpp"

#include <rte_ethdev.h>
#include <rte_telemetry.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>

#include "port.hpp"
#include "runtime.hpp"

namespace pollux::dpdk {

namespace {

struct Registry {
  std::mutex mutex;  // the telemetry thread against runtimes coming and going
  std::vector<std::pair<std::string, const Runtime*>> runtimes;
  std::map<std::string, std::function<TelemetryValues()>> commands;  // the apps' own
  std::deque<std::string> helps;  // rte_telemetry_register_cmd keeps the pointer, not a copy
};
Registry& registry() {
  static Registry r;
  return r;
}

// Telemetry names take letters, digits, '_' and '/' only.
std::string key(std::string_view s) {
  std::string k(s.substr(0, RTE_TEL_MAX_STRING_LEN - 1));
  for (char& c : k)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '/') c = '_';
  return k;
}

// The runtime `params` names, else the first; with the registry locked.
const Runtime* pick(Registry& r, const char* params) {
  if (r.runtimes.empty()) return nullptr;
  if (params == nullptr || *params == '\0') return r.runtimes.front().second;
  for (const auto& [name, rt] : r.runtimes)
    if (name == params) return rt;
  return nullptr;
}

// An array of u64 for a dict; the dict frees it (keep = 0).
rte_tel_data* u64_array(const std::vector<uint64_t>& values) {
  rte_tel_data* a = rte_tel_data_alloc();
  if (a == nullptr) return nullptr;
  rte_tel_data_start_array(a, RTE_TEL_U64_VAL);
  for (uint64_t v : values) rte_tel_data_add_array_u64(a, v);
  return a;
}
void add_array(rte_tel_data* d, const std::string& name, const std::vector<uint64_t>& values) {
  if (rte_tel_data* a = u64_array(values)) {
    if (rte_tel_data_add_dict_container(d, key(name).c_str(), a, 0) != 0) rte_tel_data_free(a);
  }
}

int cmd_runtimes(const char*, const char*, rte_tel_data* d) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
  for (const auto& entry : r.runtimes) rte_tel_data_add_array_string(d, entry.first.c_str());
  return 0;
}

// Starts `d` as a dict holding the runtime's worker lcores ("lcores": the order per-lcore
// arrays follow).
void start_with_lcores(rte_tel_data* d, const Runtime& rt) {
  rte_tel_data_start_dict(d);
  std::vector<uint64_t> lcores;
  for (unsigned l : rt.worker_lcores()) lcores.push_back(l);
  add_array(d, "lcores", lcores);
}

int cmd_counters(const char*, const char* params, rte_tel_data* d) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  const Runtime* rt = pick(r, params);
  if (rt == nullptr) return -EINVAL;
  start_with_lcores(d, *rt);
  // One dict holds at most RTE_TEL_MAX_DICT_ENTRIES; the per-lcore values have their own
  // command so that either holds every counter (and hardening can add many more).
  static_assert(base::kCounterCount + 1 <= RTE_TEL_MAX_DICT_ENTRIES);
  for (size_t i = 0; i < base::kCounterCount; ++i) {
    const auto c = static_cast<base::Counter>(i);
    rte_tel_data_add_dict_u64(d, key(base::counter_name(c)).c_str(), rt->counter(c));
  }
  return 0;
}

int cmd_lcore_counters(const char*, const char* params, rte_tel_data* d) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  const Runtime* rt = pick(r, params);
  if (rt == nullptr) return -EINVAL;
  start_with_lcores(d, *rt);
  for (size_t i = 0; i < base::kCounterCount; ++i) {
    const auto c = static_cast<base::Counter>(i);
    std::vector<uint64_t> per;
    for (size_t e = 0; e < rt->engine_count(); ++e) per.push_back(rt->engine(e).counters().get(c));
    add_array(d, std::string(base::counter_name(c)), per);
  }
  return 0;
}

int cmd_lcores(const char*, const char* params, rte_tel_data* d) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  const Runtime* rt = pick(r, params);
  if (rt == nullptr) return -EINVAL;
  rte_tel_data_start_dict(d);
  std::vector<uint64_t> lcore, queue, busy_turns, idle_turns, busy_cycles, empty_turn, busy_ppm,
      segments, connections, steered_in, steered_out;
  const auto loads = rt->load();
  for (size_t i = 0; i < loads.size(); ++i) {
    const LcoreLoad& l = loads[i];
    lcore.push_back(l.lcore);
    queue.push_back(i);
    busy_turns.push_back(l.busy_turns);
    idle_turns.push_back(l.idle_turns);
    busy_cycles.push_back(l.busy_cycles);
    empty_turn.push_back(l.empty_turn_cycles);
    busy_ppm.push_back(static_cast<uint64_t>(l.busy_fraction() * 1e6));
    segments.push_back(l.segments);
    connections.push_back(l.connections);
    steered_in.push_back(rt->engine(i).counters().get(base::Counter::steered_in));
    steered_out.push_back(rt->engine(i).counters().get(base::Counter::steered_out));
  }
  add_array(d, "lcore", lcore);
  add_array(d, "queue", queue);
  add_array(d, "busy_turns", busy_turns);
  add_array(d, "idle_turns", idle_turns);
  add_array(d, "busy_cycles", busy_cycles);
  add_array(d, "empty_turn_cycles", empty_turn);
  add_array(d, "busy_ppm", busy_ppm);  // busy share in parts per million
  add_array(d, "segments", segments);
  add_array(d, "connections", connections);
  add_array(d, "steered_in", steered_in);
  add_array(d, "steered_out", steered_out);
  rte_tel_data_add_dict_u64(d, "tsc_hz", rte_get_tsc_hz());
  return 0;
}

int cmd_ports(const char*, const char* params, rte_tel_data* d) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  const Runtime* rt = pick(r, params);
  if (rt == nullptr) return -EINVAL;
  const PortInfo& p = rt->port();
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_u64(d, "port_id", p.port_id);
  rte_tel_data_add_dict_string(d, "driver", p.driver.c_str());
  rte_tel_data_add_dict_string(d, "description", describe_port(p).substr(0, 127).c_str());
  rte_eth_link link{};
  if (rte_eth_link_get_nowait(p.port_id, &link) == 0) {
    rte_tel_data_add_dict_u64(d, "link_up", link.link_status);
    rte_tel_data_add_dict_u64(d, "link_speed_mbps", link.link_speed);
  }
  rte_eth_stats st{};
  if (rte_eth_stats_get(p.port_id, &st) == 0) {
    rte_tel_data_add_dict_u64(d, "ipackets", st.ipackets);
    rte_tel_data_add_dict_u64(d, "opackets", st.opackets);
    rte_tel_data_add_dict_u64(d, "ibytes", st.ibytes);
    rte_tel_data_add_dict_u64(d, "obytes", st.obytes);
    rte_tel_data_add_dict_u64(d, "imissed", st.imissed);
    rte_tel_data_add_dict_u64(d, "ierrors", st.ierrors);
    rte_tel_data_add_dict_u64(d, "oerrors", st.oerrors);
    rte_tel_data_add_dict_u64(d, "rx_nombuf", st.rx_nombuf);
  }
  // The device's extended counters, as many as the dict has room for.
  const int n = rte_eth_xstats_get_names(p.port_id, nullptr, 0);
  if (n > 0) {
    std::vector<rte_eth_xstat_name> names(n);
    std::vector<rte_eth_xstat> values(n);
    if (rte_eth_xstats_get_names(p.port_id, names.data(), n) == n &&
        rte_eth_xstats_get(p.port_id, values.data(), n) == n) {
      const int room = RTE_TEL_MAX_DICT_ENTRIES - 16;
      for (int i = 0; i < std::min(n, room); ++i)
        rte_tel_data_add_dict_u64(d, key("xstats/" + std::string(names[values[i].id].name)).c_str(),
                                  values[i].value);
    }
  }
  return 0;
}

// "[NAME][,LIMIT]": a runtime name, a limit, or both.
void conns_params(const char* params, std::string& name, uint32_t& limit) {
  std::string p = params ? params : "";
  const auto comma = p.find(',');
  std::string tail = comma == std::string::npos ? p : p.substr(comma + 1);
  name = comma == std::string::npos ? "" : p.substr(0, comma);
  if (!tail.empty() && std::all_of(tail.begin(), tail.end(), ::isdigit) && tail.size() < 7) {
    limit = static_cast<uint32_t>(std::stoul(tail));
  } else if (comma == std::string::npos) {
    name = tail;
  }
}

void add_strings(rte_tel_data* d, const char* name, const std::vector<std::string>& values) {
  rte_tel_data* a = rte_tel_data_alloc();
  if (a == nullptr) return;
  rte_tel_data_start_array(a, RTE_TEL_STRING_VAL);
  for (const auto& v : values) rte_tel_data_add_array_string(a, v.c_str());
  if (rte_tel_data_add_dict_container(d, name, a, 0) != 0) rte_tel_data_free(a);
}

// The open connections (ConnInfo), one column per field, at most LIMIT (default 64) in all;
// each lcore fills its part in its own loop (Runtime::connections), so nothing is read under
// its feet.
int cmd_conns(const char*, const char* params, rte_tel_data* d) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::string name;
  uint32_t limit = 64;
  conns_params(params, name, limit);
  limit = std::min(limit, ConnSnapshot::kMaxRows);
  const Runtime* rt = pick(r, name.c_str());
  if (rt == nullptr) return -EINVAL;
  const auto lcores = rt->connections(limit, 200);
  rte_tel_data_start_dict(d);
  uint64_t total = 0, answered = 0, time_wait = 0;
  std::vector<std::string> local, remote, state, cc, ca_state;
  std::vector<uint64_t> lcore, srtt, rto, mss, cwnd, ssthresh, flight, snd_wnd, rcv_wnd, sent,
      received, retrans, timeouts, recoveries, sndq, rcvq;
  for (const auto& l : lcores) {
    total += l.total;
    answered += l.answered;
    time_wait += l.time_wait;
    for (const ConnRow& row : l.rows) {
      if (local.size() == limit) break;
      const ConnInfo& i = row.info;
      // RFC 5952 6: an IPv6 address with a port is written in brackets.
      auto endpoint = [](const net::IpAddr& a, uint16_t port) {
        return a.is_v4() ? a.to_string() + ":" + std::to_string(port)
                         : "[" + a.to_string() + "]:" + std::to_string(port);
      };
      local.push_back(endpoint(row.tuple.local_ip, row.tuple.local_port));
      remote.push_back(endpoint(row.tuple.remote_ip, row.tuple.remote_port));
      state.push_back(i.state);
      cc.push_back(i.cc);
      ca_state.push_back(i.ca_state);
      lcore.push_back(l.lcore);
      srtt.push_back(i.srtt_us);
      rto.push_back(i.rto_us);
      mss.push_back(i.snd_mss);
      cwnd.push_back(i.cwnd);
      ssthresh.push_back(i.ssthresh);
      flight.push_back(i.bytes_in_flight);
      snd_wnd.push_back(i.snd_wnd);
      rcv_wnd.push_back(i.rcv_wnd);
      sent.push_back(i.bytes_sent);
      received.push_back(i.bytes_received);
      retrans.push_back(i.retransmits);
      timeouts.push_back(i.timeouts);
      recoveries.push_back(i.fast_recoveries);
      sndq.push_back(i.sndq_bytes);
      rcvq.push_back(i.rcvq_bytes);
    }
  }
  rte_tel_data_add_dict_u64(d, "open", total);  // on the lcores that answered
  // TIME-WAIT records, outside `open` (they hold no TCB): a count, not rows (poller.hpp).
  rte_tel_data_add_dict_u64(d, "time_wait", time_wait);
  rte_tel_data_add_dict_u64(d, "shown", local.size());
  rte_tel_data_add_dict_u64(d, "lcores_answered", answered);
  rte_tel_data_add_dict_u64(d, "lcores_asked", lcores.size());
  add_strings(d, "local", local);
  add_strings(d, "remote", remote);
  add_strings(d, "state", state);
  add_strings(d, "cc", cc);
  add_strings(d, "ca_state", ca_state);
  add_array(d, "lcore", lcore);
  add_array(d, "srtt_us", srtt);
  add_array(d, "rto_us", rto);
  add_array(d, "snd_mss", mss);
  add_array(d, "cwnd", cwnd);
  add_array(d, "ssthresh", ssthresh);
  add_array(d, "bytes_in_flight", flight);
  add_array(d, "snd_wnd", snd_wnd);
  add_array(d, "rcv_wnd", rcv_wnd);
  add_array(d, "bytes_sent", sent);
  add_array(d, "bytes_received", received);
  add_array(d, "retransmits", retrans);
  add_array(d, "timeouts", timeouts);
  add_array(d, "fast_recoveries", recoveries);
  add_array(d, "sndq_bytes", sndq);
  add_array(d, "rcvq_bytes", rcvq);
  return 0;
}

int cmd_app(const char* cmd, const char*, rte_tel_data* d) {
  Registry& r = registry();
  // Locked while `fill` runs: telemetry_remove_command waits for it, so the application may
  // destroy what `fill` reads right after removing it.
  std::lock_guard lock(r.mutex);
  const auto it = r.commands.find(cmd);
  if (it == r.commands.end()) return -EINVAL;
  rte_tel_data_start_dict(d);
  for (const auto& [name, value] : it->second())
    rte_tel_data_add_dict_u64(d, key(name).c_str(), value);
  return 0;
}

void register_once() {
  static const bool done = [] {
    rte_telemetry_register_cmd("/pollux/runtimes", cmd_runtimes,
                               "The names of this process's pollux runtimes (for the others)");
    rte_telemetry_register_cmd(
        "/pollux/counters", cmd_counters,
        "Every pollux counter, summed over the lcores. Parameter: runtime name (default first)");
    rte_telemetry_register_cmd(
        "/pollux/lcore_counters", cmd_lcore_counters,
        "Every pollux counter per lcore, in 'lcores' order. Parameter: runtime name");
    rte_telemetry_register_cmd(
        "/pollux/lcores", cmd_lcores,
        "Per lcore: busy/idle turns and cycles, segments, steering. Parameter: runtime name");
    rte_telemetry_register_cmd(
        "/pollux/conns", cmd_conns,
        "Open connections (TCP_INFO-like columns), at most LIMIT. Parameters: [NAME][,LIMIT]");
    rte_telemetry_register_cmd(
        "/pollux/ports", cmd_ports,
        "The runtime's port: offloads, link, stats and xstats. Parameter: runtime name");
    return true;
  }();
  (void)done;
}

}  // namespace

void telemetry_add(const std::string& name, const Runtime* rt) {
  register_once();
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  for (auto& entry : r.runtimes)
    if (entry.second == rt) return;
  r.runtimes.emplace_back(key(name), rt);
}

void telemetry_remove(const Runtime* rt) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::erase_if(r.runtimes, [rt](const auto& entry) { return entry.second == rt; });
}

void telemetry_add_command(const std::string& cmd, const std::string& help,
                           std::function<TelemetryValues()> fill) {
  Registry& r = registry();
  const char* kept = nullptr;
  {
    std::lock_guard lock(r.mutex);
    r.commands[cmd] = std::move(fill);
    kept = r.helps.emplace_back(help).c_str();
  }
  rte_telemetry_register_cmd(cmd.c_str(), cmd_app, kept);
}

void telemetry_remove_command(const std::string& cmd) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.commands.erase(cmd);  // the command stays registered with DPDK and answers EINVAL
}

}  // namespace pollux::dpdk
