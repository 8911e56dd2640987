#pragma once
/// What a run measured, printed twice: a summary for people and one JSON line for scripts.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "latency_histogram.hpp"
#include "options.hpp"
#include "proc_stats.hpp"

namespace hibiki::bench {

struct load_report {
  std::size_t connections = 0;
  std::size_t rooms = 0;
  std::size_t members_per_room = 0;
  double target_rate = 0;
  std::size_t window = 0;
  double duration_s = 0;  ///< the measured window, as timed
  std::uint64_t sent = 0;
  std::uint64_t acked = 0;
  std::uint64_t delivered = 0;
  std::uint64_t skipped = 0;
  std::size_t closed_early = 0;
  latency_histogram ack;
  latency_histogram delivery;
  std::map<std::string, std::uint64_t> errors;
  /// Summed over every --server-pid (the one pid's own figures when there is one).
  std::optional<proc_sample> server_start;
  std::optional<proc_sample> server_end;
  /// The load generator's own CPU over the window (it shares the machine with the server).
  std::optional<proc_sample> client_start;
  std::optional<proc_sample> client_end;

  // ---- extended report (several servers or pids, or --hops) ----------------------------------
  bool extended = false;
  std::vector<std::string> server_urls;
  /// Each server's node name from /api/cluster, parallel to server_urls; empty when not asked.
  std::vector<std::string> server_nodes;
  struct pid_sample {
    long pid = 0;
    std::optional<proc_sample> start;
    std::optional<proc_sample> end;
  };
  std::vector<pid_sample> pids;
  std::optional<pid_sample> broker;  ///< --broker-pid
  /// Hop split: asked and known.
  bool hops = false;
  std::string hop_error;  ///< why there is no hop split, when asked
  std::int32_t partition_count = 0;
  std::size_t hop_disagreements = 0;  ///< partitions the servers' views disagreed on
  bool hop_map_stable = true;         ///< the owners were the same after the window as before
  std::uint64_t pairs_local = 0;      ///< (connection, room) pairs whose shard is local
  std::uint64_t pairs_remote = 0;
  latency_histogram ack_local;
  latency_histogram ack_remote;
};

struct idle_report {
  std::size_t requested = 0;
  std::size_t connected = 0;
  std::optional<proc_sample> server_baseline;  ///< before sign-up
  std::optional<proc_sample> server_before;    ///< after sign-up, before connecting
  std::optional<proc_sample> server_after;     ///< with every connection open and idle
};

void print_load_report(const load_report& r);
void print_idle_report(const idle_report& r);

}  // namespace hibiki::bench
