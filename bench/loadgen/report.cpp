#include "report.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace hibiki::bench {
namespace {

double ms(double micros) {
  return micros / 1000.0;
}

nlohmann::ordered_json latency_json(const latency_histogram& h) {
  return {{"count", h.count()},
          {"p50_ms", ms(h.quantile_micros(0.50))},
          {"p99_ms", ms(h.quantile_micros(0.99))},
          {"p999_ms", ms(h.quantile_micros(0.999))},
          {"max_ms", ms(static_cast<double>(h.max()))}};
}

void print_latency(const char* name, const latency_histogram& h) {
  std::printf(
      "  %-16s p50 %8.2f ms   p99 %8.2f ms   p99.9 %8.2f ms   max %8.2f ms   (%llu samples)\n",
      name, ms(h.quantile_micros(0.50)), ms(h.quantile_micros(0.99)), ms(h.quantile_micros(0.999)),
      ms(static_cast<double>(h.max())), static_cast<unsigned long long>(h.count()));
}

nlohmann::ordered_json proc_json(const std::optional<proc_sample>& s) {
  if (!s) return nullptr;
  return {{"cpu_s", s->cpu_seconds}, {"rss_mib", s->rss_mib}, {"hwm_mib", s->hwm_mib}};
}

/// The per-node CPU and the hop split: printed, and added to the JSON line.
void add_extended(const load_report& r, double d, nlohmann::ordered_json& j) {
  auto servers = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < r.server_urls.size(); ++i) {
    servers.push_back(
        {{"url", r.server_urls[i]},
         {"node",
          i < r.server_nodes.size() ? nlohmann::ordered_json(r.server_nodes[i]) : nullptr}});
  }
  j["servers"] = servers;
  auto pids = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < r.pids.size(); ++i) {
    const auto& p = r.pids[i];
    // --server-pid in --url order: the pid's node is the server at the same place.
    std::string label = "pid " + std::to_string(p.pid);
    if (r.pids.size() == r.server_urls.size()) {
      label += " (" + r.server_urls[i];
      if (i < r.server_nodes.size()) label += ", " + r.server_nodes[i];
      label += ")";
    }
    nlohmann::ordered_json pj{{"pid", p.pid}, {"cpu_s", nullptr}, {"rss_mib", nullptr}};
    if (p.start && p.end) {
      const double cpu = p.end->cpu_seconds - p.start->cpu_seconds;
      std::printf("  node CPU         %.2f s (%.0f%% of one core), RSS %.1f MiB  %s\n", cpu,
                  100.0 * cpu / d, p.end->rss_mib, label.c_str());
      pj = {{"pid", p.pid},
            {"cpu_s", cpu},
            {"cpu_cores", cpu / d},
            {"rss_mib", p.end->rss_mib},
            {"hwm_mib", p.end->hwm_mib}};
    } else {
      std::printf("  node CPU         unknown  %s\n", label.c_str());
    }
    pids.push_back(pj);
  }
  j["server_pids"] = pids;
  nlohmann::ordered_json per_cpu = nullptr;
  if (r.server_start && r.server_end) {
    const double cpu = r.server_end->cpu_seconds - r.server_start->cpu_seconds;
    if (cpu > 0) {
      per_cpu = static_cast<double>(r.acked) / cpu;
      std::printf(
          "  acknowledged     %10.0f msgs per server CPU-second (%.2f CPU-s over %zu "
          "pid(s))\n",
          per_cpu.get<double>(), cpu, r.pids.size());
    }
  }
  j["acked_per_cpu_s"] = per_cpu;
  if (r.broker) {
    nlohmann::ordered_json broker{{"pid", r.broker->pid}, {"cpu_s", nullptr}};
    nlohmann::ordered_json with_broker = nullptr;
    if (r.broker->start && r.broker->end) {
      const double cpu = r.broker->end->cpu_seconds - r.broker->start->cpu_seconds;
      std::printf("  broker CPU       %.2f s (%.0f%% of one core), RSS %.1f MiB  pid %ld\n", cpu,
                  100.0 * cpu / d, r.broker->end->rss_mib, r.broker->pid);
      broker = {{"pid", r.broker->pid},
                {"cpu_s", cpu},
                {"cpu_cores", cpu / d},
                {"rss_mib", r.broker->end->rss_mib}};
      if (r.server_start && r.server_end) {
        const double total = r.server_end->cpu_seconds - r.server_start->cpu_seconds + cpu;
        if (total > 0) {
          with_broker = static_cast<double>(r.acked) / total;
          std::printf("  acknowledged     %10.0f msgs per CPU-second of the nodes and the broker\n",
                      with_broker.get<double>());
        }
      }
    }
    j["broker"] = broker;
    j["acked_per_cpu_s_with_broker"] = with_broker;
  }
  nlohmann::ordered_json hops = nullptr;
  if (r.hops) {
    print_latency("send->ack local", r.ack_local);
    print_latency("send->ack remote", r.ack_remote);
    std::printf(
        "  hop map          %d partitions; connection-room pairs %llu local, %llu remote%s%s\n",
        r.partition_count, static_cast<unsigned long long>(r.pairs_local),
        static_cast<unsigned long long>(r.pairs_remote),
        r.hop_disagreements > 0 ? "; servers disagreed on some owners" : "",
        r.hop_map_stable ? "" : "; OWNERS CHANGED DURING THE RUN");
    hops = {{"partition_count", r.partition_count},
            {"pairs_local", r.pairs_local},
            {"pairs_remote", r.pairs_remote},
            {"disagreements", r.hop_disagreements},
            {"stable", r.hop_map_stable},
            {"ack_latency_local", latency_json(r.ack_local)},
            {"ack_latency_remote", latency_json(r.ack_remote)}};
  } else if (!r.hop_error.empty()) {
    std::printf("  hop split        unavailable: %s\n", r.hop_error.c_str());
    hops = {{"error", r.hop_error}};
  }
  j["hops"] = hops;
}

}  // namespace

void print_load_report(const load_report& r) {
  const double d = r.duration_s > 0 ? r.duration_s : 1;
  std::printf("hibiki_loadgen: %zu connections, %zu rooms x %zu members, ", r.connections, r.rooms,
              r.members_per_room);
  if (r.target_rate > 0) {
    std::printf("target %.0f msgs/s\n", r.target_rate);
  } else {
    std::printf("window %zu sends in flight per connection\n", r.window);
  }
  std::printf("  measured %.2f s\n", r.duration_s);
  std::printf("  sent             %10.0f msgs/s\n", static_cast<double>(r.sent) / d);
  std::printf("  acknowledged     %10.0f msgs/s\n", static_cast<double>(r.acked) / d);
  std::printf("  delivered pushes %10.0f pushes/s\n", static_cast<double>(r.delivered) / d);
  print_latency("send->ack", r.ack);
  print_latency("send->delivery", r.delivery);
  if (r.skipped > 0) {
    std::printf("  skipped sends    %llu (over 1000 in flight on a connection)\n",
                static_cast<unsigned long long>(r.skipped));
  }
  if (r.closed_early > 0) std::printf("  connections closed by the server: %zu\n", r.closed_early);
  if (r.errors.empty()) {
    std::printf("  errors           none\n");
  } else {
    for (const auto& [code, n] : r.errors) {
      std::printf("  error %-10s %llu\n", code.c_str(), static_cast<unsigned long long>(n));
    }
  }
  nlohmann::ordered_json server = nullptr;
  if (r.server_start && r.server_end) {
    const double cpu = r.server_end->cpu_seconds - r.server_start->cpu_seconds;
    std::printf(
        "  server CPU       %.2f s in %.2f s (%.0f%% of one core), RSS %.1f MiB (peak %.1f)\n", cpu,
        d, 100.0 * cpu / d, r.server_end->rss_mib, r.server_end->hwm_mib);
    server = {{"cpu_s", cpu},
              {"cpu_cores", cpu / d},
              {"rss_mib", r.server_end->rss_mib},
              {"hwm_mib", r.server_end->hwm_mib}};
  }
  nlohmann::ordered_json client = nullptr;
  if (r.client_start && r.client_end) {
    const double cpu = r.client_end->cpu_seconds - r.client_start->cpu_seconds;
    std::printf("  loadgen CPU      %.2f s (%.0f%% of one core)\n", cpu, 100.0 * cpu / d);
    client = {{"cpu_s", cpu}, {"cpu_cores", cpu / d}};
  }
  nlohmann::ordered_json j{{"mode", "load"},
                           {"connections", r.connections},
                           {"rooms", r.rooms},
                           {"members_per_room", r.members_per_room},
                           {"target_rate", r.target_rate},
                           {"window", r.window},
                           {"duration_s", r.duration_s},
                           {"sent_per_s", static_cast<double>(r.sent) / d},
                           {"acked_per_s", static_cast<double>(r.acked) / d},
                           {"delivered_per_s", static_cast<double>(r.delivered) / d},
                           {"ack_latency", latency_json(r.ack)},
                           {"delivery_latency", latency_json(r.delivery)},
                           {"skipped", r.skipped},
                           {"closed_early", r.closed_early},
                           {"errors", r.errors},
                           {"server", server},
                           {"client", client}};
  if (r.extended) add_extended(r, d, j);
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
}

void print_idle_report(const idle_report& r) {
  std::printf("hibiki_loadgen: %zu of %zu idle connections open and authenticated\n", r.connected,
              r.requested);
  nlohmann::ordered_json per = nullptr;
  if (r.server_baseline)
    std::printf("  server RSS at start          %8.1f MiB\n", r.server_baseline->rss_mib);
  if (r.server_before)
    std::printf("  server RSS after sign-ups    %8.1f MiB\n", r.server_before->rss_mib);
  if (r.server_after)
    std::printf("  server RSS with connections  %8.1f MiB\n", r.server_after->rss_mib);
  if (r.server_before && r.server_after && r.connected > 0) {
    const double kib = (r.server_after->rss_mib - r.server_before->rss_mib) * 1024.0 /
                       static_cast<double>(r.connected);
    std::printf("  per idle connection          %8.1f KiB\n", kib);
    per = kib;
  }
  nlohmann::ordered_json j{{"mode", "idle"},
                           {"requested", r.requested},
                           {"connected", r.connected},
                           {"server_baseline", proc_json(r.server_baseline)},
                           {"server_before", proc_json(r.server_before)},
                           {"server_after", proc_json(r.server_after)},
                           {"kib_per_connection", per}};
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
}

}  // namespace hibiki::bench
