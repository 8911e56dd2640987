#pragma once
/// The journal benchmark's scenarios: JournalPerfSpec (persist one at a time, persist pipelined,
/// recover) and group commit under concurrent appenders. Each returns what it measured; main.cpp
/// prints it. They run on any backend (embedded RocksDB or Kafka).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "hibiki/persistence/backend.hpp"

namespace hibiki::bench {

struct scenario_result {
  std::string name;
  std::uint64_t events = 0;
  double seconds = 0;
  std::uint64_t commits = 0;  ///< RocksDB writes during the scenario (0 for reads and for Kafka)
  std::uint64_t appends = 0;  ///< appends acknowledged during the scenario
  std::vector<std::chrono::nanoseconds> latencies;  ///< one per append (empty for reads)
  std::uint64_t failures = 0;
};

/// Blocking append of `events` events to one entity, one event per append.
scenario_result persist_one_at_a_time(persistence::backend& b, std::uint64_t events,
                                      std::size_t payload_bytes);
/// async_append of `events` events to one entity without waiting in between, then waits for all.
scenario_result persist_pipelined(persistence::backend& b, std::uint64_t events,
                                  std::size_t payload_bytes);
/// Replays the entity written by persist_one_at_a_time.
scenario_result recover(persistence::backend& b, std::uint64_t events);
/// `threads` appenders, each blocking-appending round-robin over its share of `entities`,
/// `events` events in total.
scenario_result group_commit(persistence::backend& b, std::uint64_t events, std::uint64_t entities,
                             unsigned threads, std::size_t payload_bytes);

}  // namespace hibiki::bench
