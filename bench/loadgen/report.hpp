#pragma once
/// What a run measured, printed twice: a summary for people and one JSON line for scripts.

#include <map>
#include <optional>
#include <string>

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
  std::optional<proc_sample> server_start;
  std::optional<proc_sample> server_end;
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
