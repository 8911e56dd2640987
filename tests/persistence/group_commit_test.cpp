/// Group commit in the RocksDB journal: queued appends share one write, appends of one entity
/// pipeline within a batch, refusals and storage failures stay confined to their own appends, and
/// close() drains. Determinism comes from the hold_writer test hook, never from timing.

#include <latch>
#include <mutex>
#include <thread>

#include <catch2/catch.hpp>

#include "hibiki/persistence/rocksdb_backend.hpp"
#include "hibiki/persistence/rocksdb_journal.hpp"
#include "journal_helpers.hpp"
#include "temp_dir.hpp"

using namespace hibiki;
using namespace hibiki::testkit;
using persistence::max_seq;

namespace {

constexpr std::uint64_t no_limit = std::numeric_limits<std::uint64_t>::max();

std::unique_ptr<persistence::rocksdb_backend> open_backend(const temp_dir& dir,
                                                           std::size_t max_batch = 4096) {
  persistence::rocksdb_options options;
  options.path = dir.sub("db");
  options.sync = false;
  options.max_event_bytes = 1024;
  options.max_batch_appends = max_batch;
  auto b = persistence::rocksdb_backend::open(options);
  REQUIRE(b.ok());
  return std::move(*b);
}

persistence::rocksdb_journal& journal_of(persistence::rocksdb_backend& b) {
  return dynamic_cast<persistence::rocksdb_journal&>(b.journal());
}

/// Collects the statuses of async appends, by the order they were issued.
class outcomes {
 public:
  explicit outcomes(std::size_t n)
      : statuses_(n), thread_ids_(n), done_(static_cast<std::ptrdiff_t>(n)) {}

  persistence::append_callback slot(std::size_t i) {
    return [this, i](status s) {
      {
        std::lock_guard lock(mutex_);
        statuses_[i] = std::move(s);
        thread_ids_[i] = std::this_thread::get_id();
        ++completed_;
      }
      done_.count_down();
    };
  }
  void wait() { done_.wait(); }
  std::size_t completed() {
    std::lock_guard lock(mutex_);
    return completed_;
  }
  errc code(std::size_t i) { return code_of(statuses_[i]); }
  std::thread::id thread_of(std::size_t i) { return thread_ids_[i]; }

 private:
  std::mutex mutex_;
  std::vector<status> statuses_;
  std::vector<std::thread::id> thread_ids_;
  std::size_t completed_ = 0;
  std::latch done_;
};

}  // namespace

TEST_CASE("group commit: appends queued behind a busy writer share one commit",
          "[journal][group_commit]") {
  temp_dir dir;
  auto backend = open_backend(dir);
  auto& j = journal_of(*backend);
  const auto before = j.stats();

  constexpr std::size_t n = 50;
  outcomes out(n);
  std::vector<entity_id> entities;
  j.hold_writer();
  for (std::size_t i = 0; i < n; ++i) {
    entities.push_back(random_id("gc"));
    j.async_append(events(entities.back(), 1, 1, "w"), out.slot(i));
  }
  // Held: nothing has been written or acknowledged yet.
  CHECK(out.completed() == 0);
  CHECK(j.stats().commits == before.commits);
  j.release_writer();
  out.wait();

  for (std::size_t i = 0; i < n; ++i) CHECK(out.code(i) == errc::ok);
  const auto after = j.stats();
  CHECK(after.commits - before.commits == 1);
  CHECK(after.appends - before.appends == n);
  CHECK(after.largest_batch == n);
  for (const auto& e : entities)
    CHECK(seqs_of(replay_all(j, e, 1, max_seq, no_limit)) == std::vector<seq_nr>{1});
}

TEST_CASE("group commit: a batch never exceeds max_batch_appends", "[journal][group_commit]") {
  temp_dir dir;
  auto backend = open_backend(dir, 8);
  auto& j = journal_of(*backend);
  constexpr std::size_t n = 50;
  outcomes out(n);
  j.hold_writer();
  for (std::size_t i = 0; i < n; ++i)
    j.async_append(events(random_id("gc"), 1, 1, "w"), out.slot(i));
  j.release_writer();
  out.wait();
  const auto s = j.stats();
  CHECK(s.appends == n);
  CHECK(s.commits == (n + 7) / 8);
  CHECK(s.largest_batch == 8);
}

TEST_CASE("group commit: pipelined appends of one entity chain within one batch",
          "[journal][group_commit]") {
  temp_dir dir;
  auto backend = open_backend(dir);
  auto& j = journal_of(*backend);
  const auto entity = random_id("pipe");
  outcomes out(4);
  j.hold_writer();
  j.async_append(events(entity, 1, 1, "w"), out.slot(0));
  j.async_append(events(entity, 2, 3, "w"), out.slot(1));
  j.async_append(events(entity, 4, 4, "w"), out.slot(2));
  j.async_append(events(entity, 5, 5, "w"), out.slot(3));
  j.release_writer();
  out.wait();
  for (std::size_t i = 0; i < 4; ++i) CHECK(out.code(i) == errc::ok);
  CHECK(j.stats().commits == 1);
  CHECK(seqs_of(replay_all(j, entity, 1, max_seq, no_limit)) == std::vector<seq_nr>{1, 2, 3, 4, 5});
  auto h = j.highest_seq(entity);
  REQUIRE(h.ok());
  CHECK(*h == 5);
}

TEST_CASE("group commit: a refused pipelined append makes the next one conflict",
          "[journal][group_commit]") {
  temp_dir dir;
  auto backend = open_backend(dir);
  auto& j = journal_of(*backend);
  const auto entity = random_id("pipe");
  const auto other = random_id("other");
  outcomes out(5);
  j.hold_writer();
  j.async_append(events(entity, 1, 1, "w"), out.slot(0));
  auto too_big = events(entity, 2, 2, "w");
  too_big.events[0].payload.assign(2048, 1);
  j.async_append(too_big, out.slot(1));                     // refused: too large
  j.async_append(events(entity, 3, 3, "w"), out.slot(2));   // 2 never happened: conflict
  j.async_append(events(other, 1, 1, "w"), out.slot(3));    // another entity is unaffected
  j.async_append(events(entity, 2, 2, "w2"), out.slot(4));  // the retry of 2 goes through
  j.release_writer();
  out.wait();
  CHECK(out.code(0) == errc::ok);
  CHECK(out.code(1) == errc::too_large);
  CHECK(out.code(2) == errc::conflict);
  CHECK(out.code(3) == errc::ok);
  CHECK(out.code(4) == errc::ok);
  auto evs = replay_all(j, entity, 1, max_seq, no_limit);
  REQUIRE(seqs_of(evs) == std::vector<seq_nr>{1, 2});
  CHECK(evs[1].writer == "w2");
  CHECK(j.stats().rejected == 2);
  CHECK(j.stats().commits == 1);
}

TEST_CASE("group commit: a failed write fails every append of the batch, and only them",
          "[journal][group_commit]") {
  temp_dir dir;
  auto backend = open_backend(dir);
  auto& j = journal_of(*backend);
  const auto a = random_id("fail");
  const auto b = random_id("fail");
  REQUIRE(j.append(events(a, 1, 2, "w")).ok());

  j.fail_next_commits(1);
  outcomes out(4);
  j.hold_writer();
  j.async_append(events(a, 3, 3, "w"), out.slot(0));
  j.async_append(events(a, 4, 4, "w"), out.slot(1));
  j.async_append(events(b, 1, 1, "w"), out.slot(2));
  j.async_append(events(b, 5, 5, "w"), out.slot(3));  // refused before the write: conflict
  j.release_writer();
  out.wait();
  CHECK(out.code(0) == errc::unavailable);
  CHECK(out.code(1) == errc::unavailable);
  CHECK(out.code(2) == errc::unavailable);
  CHECK(out.code(3) == errc::conflict);
  CHECK(j.stats().failed == 3);

  // Nothing of the failed batch is visible, and the writer's cache forgot its optimism: the same
  // seqs are accepted again.
  CHECK(seqs_of(replay_all(j, a, 1, max_seq, no_limit)) == std::vector<seq_nr>{1, 2});
  CHECK(*j.highest_seq(a) == 2);
  CHECK(*j.highest_seq(b) == 0);
  REQUIRE(j.append(events(a, 3, 4, "w")).ok());
  REQUIRE(j.append(events(b, 1, 1, "w")).ok());
  CHECK(seqs_of(replay_all(j, a, 1, max_seq, no_limit)) == std::vector<seq_nr>{1, 2, 3, 4});
}

TEST_CASE("group commit: callbacks run on the writer thread, never the caller's",
          "[journal][group_commit]") {
  temp_dir dir;
  auto backend = open_backend(dir);
  auto& j = journal_of(*backend);
  outcomes out(3);
  const auto entity = random_id("cb");
  j.async_append(events(entity, 1, 1, "w"), out.slot(0));
  j.async_append(events(entity, 9, 9, "w"), out.slot(1));  // refused, still asynchronously
  j.async_append(events("", 1, 1, "w"), out.slot(2));
  out.wait();
  CHECK(out.code(0) == errc::ok);
  CHECK(out.code(1) == errc::conflict);
  CHECK(out.code(2) == errc::bad_request);
  for (std::size_t i = 0; i < 3; ++i) CHECK(out.thread_of(i) != std::this_thread::get_id());
}

TEST_CASE("group commit: close drains the queue, later appends are unavailable",
          "[journal][group_commit]") {
  temp_dir dir;
  auto backend = open_backend(dir);
  auto& j = journal_of(*backend);
  const auto entity = random_id("close");
  constexpr std::size_t n = 10;
  outcomes out(n);
  j.hold_writer();
  for (std::size_t i = 0; i < n; ++i)
    j.async_append(events(entity, i + 1, i + 1, "w"), out.slot(i));
  backend->close();  // releases the held writer and finishes all ten
  CHECK(out.completed() == n);
  for (std::size_t i = 0; i < n; ++i) CHECK(out.code(i) == errc::ok);

  outcomes late(1);
  j.async_append(events(entity, n + 1, n + 1, "w"), late.slot(0));
  late.wait();
  CHECK(late.code(0) == errc::unavailable);
  CHECK(late.thread_of(0) != std::this_thread::get_id());
  CHECK(code_of(j.append(events(entity, n + 1, n + 1, "w"))) == errc::unavailable);
  CHECK(code_of(j.delete_to(entity, 1)) == errc::unavailable);
  backend->close();  // idempotent
  // Reads still work after close.
  CHECK(replay_all(j, entity, 1, max_seq, no_limit).size() == n);
}

TEST_CASE("group commit: many threads and entities, every acked event survives reopen",
          "[journal][group_commit]") {
  temp_dir dir;
  constexpr int threads = 8, entities_per_thread = 12, events_per_entity = 15;
  std::vector<std::vector<entity_id>> entities(threads);
  for (auto& list : entities) {
    for (int e = 0; e < entities_per_thread; ++e) list.push_back(random_id("many"));
  }
  std::atomic<int> failures{0};
  {
    auto backend = open_backend(dir);
    auto& j = journal_of(*backend);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        // Half the threads block on each append, half pipeline a whole entity and then wait.
        for (const auto& entity : entities[t]) {
          if (t % 2 == 0) {
            for (seq_nr s = 1; s <= events_per_entity; ++s) {
              if (!j.append(events(entity, s, s, "w" + std::to_string(t))).ok()) ++failures;
            }
          } else {
            std::latch done(events_per_entity);
            for (seq_nr s = 1; s <= events_per_entity; ++s) {
              j.async_append(events(entity, s, s, "w" + std::to_string(t)), [&](status st) {
                if (!st.ok()) ++failures;
                done.count_down();
              });
            }
            done.wait();
          }
        }
      });
    }
    for (auto& w : workers) w.join();
    const auto s = j.stats();
    CHECK(s.appends == threads * entities_per_thread * events_per_entity);
    CHECK(s.commits <= s.appends);
  }
  REQUIRE(failures == 0);

  auto reopened = open_backend(dir);
  auto& j = reopened->journal();
  std::vector<seq_nr> expected;
  for (seq_nr s = 1; s <= events_per_entity; ++s) expected.push_back(s);
  for (int t = 0; t < threads; ++t) {
    for (const auto& entity : entities[t]) {
      auto evs = replay_all(j, entity, 1, max_seq, no_limit);
      REQUIRE(seqs_of(evs) == expected);
      for (const auto& e : evs) {
        CHECK(e.payload == payload_for(entity, e.seq));
        CHECK(e.writer == "w" + std::to_string(t));
      }
      CHECK(*j.highest_seq(entity) == events_per_entity);
    }
  }
}

TEST_CASE("backend: open refuses a path it cannot use", "[journal]") {
  persistence::rocksdb_options options;
  options.path = "";
  auto r = persistence::rocksdb_backend::open(options);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == errc::bad_request);

  temp_dir dir;
  const auto file = dir.sub("not-a-dir");
  {
    std::FILE* f = std::fopen(file.c_str(), "w");
    REQUIRE(f);
    std::fclose(f);
  }
  options.path = file;
  auto r2 = persistence::rocksdb_backend::open(options);
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.error().code == errc::unavailable);

  // The same database cannot be opened twice at once (RocksDB's LOCK file).
  options.path = dir.sub("db");
  auto first = persistence::rocksdb_backend::open(options);
  REQUIRE(first.ok());
  auto second = persistence::rocksdb_backend::open(options);
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().code == errc::unavailable);
}
