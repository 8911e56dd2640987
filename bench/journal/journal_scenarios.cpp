#include "journal_scenarios.hpp"

#include <atomic>
#include <latch>
#include <mutex>
#include <thread>

#include "hibiki/persistence/rocksdb_journal.hpp"

namespace hibiki::bench {

namespace {

using clock = std::chrono::steady_clock;

constexpr const char* single_entity = "perf-single";
constexpr const char* pipelined_entity = "perf-pipelined";

persistence::append_request one_event(const entity_id& entity, seq_nr seq,
                                      std::size_t payload_bytes) {
  persistence::append_request req;
  req.entity = entity;
  req.events.push_back({entity, seq, "bench", persistence::bytes(payload_bytes, 0x5a)});
  return req;
}

/// RocksDB commits so far; 0 for a backend that does not count them (Kafka).
std::uint64_t commits_of(persistence::backend& b) {
  auto* rj = dynamic_cast<persistence::rocksdb_journal*>(&b.journal());
  return rj ? rj->stats().commits : 0;
}

/// Fills the commit/append counters from the backend's status around a scenario.
class stats_window {
 public:
  explicit stats_window(persistence::backend& b)
      : b_(b), appends_(b.status().appends), commits_(commits_of(b)) {}
  void finish(scenario_result& r) const {
    r.commits = commits_of(b_) - commits_;
    r.appends = b_.status().appends - appends_;
  }

 private:
  persistence::backend& b_;
  std::uint64_t appends_;
  std::uint64_t commits_;
};

scenario_result named(std::string name, std::uint64_t events) {
  scenario_result r;
  r.name = std::move(name);
  r.events = events;
  return r;
}

double seconds_since(clock::time_point start) {
  return std::chrono::duration<double>(clock::now() - start).count();
}

}  // namespace

scenario_result persist_one_at_a_time(persistence::backend& b, std::uint64_t events,
                                      std::size_t payload_bytes) {
  auto r = named("persist one at a time (1 entity)", events);
  r.latencies.reserve(events);
  stats_window window(b);
  auto& j = b.journal();
  const auto start = clock::now();
  for (seq_nr seq = 1; seq <= events; ++seq) {
    const auto t0 = clock::now();
    if (!j.append(one_event(single_entity, seq, payload_bytes)).ok()) ++r.failures;
    r.latencies.push_back(clock::now() - t0);
  }
  r.seconds = seconds_since(start);
  window.finish(r);
  return r;
}

scenario_result persist_pipelined(persistence::backend& b, std::uint64_t events,
                                  std::size_t payload_bytes) {
  auto r = named("persist pipelined (1 entity)", events);
  r.latencies.resize(events);
  std::atomic<std::uint64_t> failures{0};
  std::latch done(static_cast<std::ptrdiff_t>(events));
  stats_window window(b);
  auto& j = b.journal();
  const auto start = clock::now();
  for (seq_nr seq = 1; seq <= events; ++seq) {
    const auto t0 = clock::now();
    j.async_append(one_event(pipelined_entity, seq, payload_bytes), [&, seq, t0](status s) {
      // Each slot is written by exactly one callback; the latch publishes them to the reader.
      r.latencies[seq - 1] = clock::now() - t0;
      if (!s.ok()) ++failures;
      done.count_down();
    });
  }
  done.wait();
  r.seconds = seconds_since(start);
  r.failures = failures;
  window.finish(r);
  return r;
}

scenario_result recover(persistence::backend& b, std::uint64_t events) {
  auto r = named("recover (replay 1 entity)", 0);
  auto& j = b.journal();
  const auto start = clock::now();
  auto s = j.replay(single_entity, 1, persistence::max_seq, events,
                    [&](const persistence::persisted_event&) { ++r.events; });
  r.seconds = seconds_since(start);
  if (!s.ok() || r.events != events) r.failures = 1;
  return r;
}

scenario_result group_commit(persistence::backend& b, std::uint64_t events, std::uint64_t entities,
                             unsigned threads, std::size_t payload_bytes) {
  auto r = named("group commit (" + std::to_string(entities) + " entities, " +
                     std::to_string(threads) + " threads)",
                 events);
  std::mutex merge;
  std::atomic<std::uint64_t> failures{0};
  stats_window window(b);
  auto& j = b.journal();
  const auto start = clock::now();
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      // Thread t owns entities t, t+threads, ...: one writer per entity, as with actors.
      std::vector<entity_id> mine;
      for (std::uint64_t e = t; e < entities; e += threads)
        mine.push_back("perf-gc-" + std::to_string(e));
      if (mine.empty()) return;
      std::vector<seq_nr> next(mine.size(), 1);
      const std::uint64_t share = events / threads + (t < events % threads ? 1 : 0);
      std::vector<std::chrono::nanoseconds> lat;
      lat.reserve(share);
      for (std::uint64_t i = 0; i < share; ++i) {
        const std::size_t k = i % mine.size();
        const auto t0 = clock::now();
        if (!j.append(one_event(mine[k], next[k]++, payload_bytes)).ok()) ++failures;
        lat.push_back(clock::now() - t0);
      }
      std::lock_guard lock(merge);
      r.latencies.insert(r.latencies.end(), lat.begin(), lat.end());
    });
  }
  for (auto& w : workers) w.join();
  r.seconds = seconds_since(start);
  r.failures = failures;
  window.finish(r);
  return r;
}

}  // namespace hibiki::bench
