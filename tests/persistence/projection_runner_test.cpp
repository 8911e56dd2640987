/// The projection runner and the node's projection registry over the embedded backend's feed,
/// with a projection that keeps its output and positions in one file (file_projection.hpp):
/// every event applied once in feed order, resuming exactly after a stop, retries after failures
/// and exceptions, rebuild with progress, the lag metric, owned partitions, bad inputs. And a
/// kill -9 mid-batch: a child process (this binary on a hidden case) runs the runner over a real
/// database and is killed while writing a batch, again and again; no event is applied twice or
/// lost.

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "file_projection.hpp"
#include "hibiki/metrics/registry.hpp"
#include "hibiki/persistence/projection_runner.hpp"
#include "hibiki/persistence/projections.hpp"
#include "hibiki/persistence/rocksdb_backend.hpp"
#include "journal_helpers.hpp"
#include "temp_dir.hpp"

extern char** environ;

using namespace hibiki;
using namespace hibiki::testkit;
using namespace std::chrono_literals;
using persistence::projection_state;

namespace {

std::unique_ptr<persistence::rocksdb_backend> open_at(const std::string& path, bool sync = false) {
  persistence::rocksdb_options options;
  options.path = path;
  options.sync = sync;
  auto b = persistence::rocksdb_backend::open(options);
  REQUIRE(b.ok());
  return std::move(*b);
}

/// Appends `n` events over 5 entities, continuing their seqs; returns the new total.
int append_events(persistence::backend& b, int already, int n) {
  for (int i = already; i < already + n; ++i) {
    const entity_id e = "room-" + std::to_string(i % 5);
    const seq_nr seq = static_cast<seq_nr>(i / 5 + 1);
    REQUIRE(b.journal().append(events(e, seq, seq, "w")).ok());
  }
  return already + n;
}

/// Waits (up to a minute: a safety net, not a measured time) until `done` holds.
void eventually(const std::function<bool()>& done, const char* what) {
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) FAIL("never happened: " << what);
    std::this_thread::sleep_for(5ms);
  }
}

persistence::projection_runner_options fast_options() {
  persistence::projection_runner_options o;
  o.batch_size = 7;
  o.wait = 50ms;
  o.retry_initial = 5ms;
  o.retry_max = 20ms;
  o.end_refresh = 10ms;
  return o;
}

std::int64_t position_of(const persistence::projection_status& s) {
  auto it = s.positions.find(0);
  return it == s.positions.end() ? -1 : it->second;
}

/// The file's events are exactly offsets 0..n-1 once each, in order.
void check_exactly_once(const std::string& file, int n) {
  auto st = load_projection_file(file);
  REQUIRE(st.events.size() == static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) CHECK(st.events[static_cast<std::size_t>(i)].offset == i);
  std::set<std::pair<entity_id, seq_nr>> unique;
  for (const auto& e : st.events) unique.emplace(e.entity, e.seq);
  CHECK(unique.size() == static_cast<std::size_t>(n));
  CHECK(st.positions.at(0) == n);
}

/// A backend without a feed: the RocksDB backend's parts, open_feed() left at its default.
class feedless_backend final : public persistence::backend {
 public:
  explicit feedless_backend(persistence::backend& inner) : inner_(inner) {}
  persistence::journal& journal() override { return inner_.journal(); }
  persistence::snapshot_store& snapshots() override { return inner_.snapshots(); }
  persistence::read_store& reads() override { return inner_.reads(); }
  persistence::journal_status identity() const override { return inner_.identity(); }
  persistence::journal_status status() override { return inner_.status(); }
  void close() override {}

 private:
  persistence::backend& inner_;
};

}  // namespace

TEST_CASE("projection runner: every event once, in feed order; resumes exactly after a stop",
          "[projection]") {
  temp_dir dir;
  auto b = open_at(dir.sub("db"));
  const auto file = dir.sub("projection");
  int total = append_events(*b, 0, 50);
  {
    auto proj = std::make_unique<file_projection>(file);
    persistence::projection_runner runner(std::move(proj), b->open_feed(), fast_options());
    CHECK(runner.status().state == projection_state::stopped);
    runner.start();
    eventually([&] { return position_of(runner.status()) == total; }, "caught up");
    // Appended while it runs: followed too, the write side never waiting for it.
    total = append_events(*b, total, 20);
    eventually([&] { return position_of(runner.status()) == total; }, "caught up again");
    auto st = runner.status();
    CHECK(st.name == "test");
    CHECK(st.state == projection_state::running);
    CHECK(st.applied == 70);
    CHECK(st.lag == 0);
    CHECK(st.last_error.empty());
    runner.stop();
    runner.stop();  // idempotent
    CHECK(runner.status().state == projection_state::stopped);
    CHECK(code_of(runner.rebuild()) == errc::unavailable);
  }
  total = append_events(*b, total, 30);
  auto proj = std::make_unique<file_projection>(file);
  auto* raw = proj.get();
  persistence::projection_runner runner(std::move(proj), b->open_feed(), fast_options());
  runner.start();
  eventually([&] { return position_of(runner.status()) == total; }, "resumed and caught up");
  runner.stop();
  CHECK(runner.status().applied == 30);  // only what the first runner had not applied
  CHECK(raw->resets == 0);
  check_exactly_once(file, total);
}

TEST_CASE("projection runner: failures and exceptions are retried from the committed positions",
          "[projection]") {
  temp_dir dir;
  auto b = open_at(dir.sub("db"));
  const auto file = dir.sub("projection");
  const int total = append_events(*b, 0, 40);
  auto proj = std::make_unique<file_projection>(file);
  auto* raw = proj.get();
  raw->fail_next = 3;
  raw->throw_next = 2;
  persistence::projection_runner runner(std::move(proj), b->open_feed(), fast_options());
  runner.start();
  eventually([&] { return position_of(runner.status()) == total; }, "caught up");
  auto st = runner.status();
  runner.stop();
  CHECK(st.state == projection_state::running);
  CHECK(st.last_error == "exception: injected exception");
  CHECK(raw->committed_calls >= 6);  // once at start, once after each of the 5 failures
  check_exactly_once(file, total);
}

TEST_CASE("projection runner: a failing projection shows its lag, and the lag metric",
          "[projection][metrics]") {
  temp_dir dir;
  auto b = open_at(dir.sub("db"));
  const int total = append_events(*b, 0, 10);
  auto registry = metrics::registry::create();
  auto options = fast_options();
  options.metrics = registry;
  auto proj = std::make_unique<file_projection>(dir.sub("projection"));
  auto* raw = proj.get();
  raw->fail_next = 1'000'000;
  persistence::projection_runner runner(std::move(proj), b->open_feed(), options);
  runner.start();
  eventually([&] { return runner.status().lag == total; }, "lag 10 while failing");
  auto st = runner.status();
  CHECK(st.state == projection_state::failing);
  CHECK(st.last_error == "injected apply failure");
  CHECK(registry->exposition().find("hibiki_projection_lag_events{projection=\"test\"} 10") !=
        std::string::npos);
  raw->fail_next = 0;
  eventually([&] { return runner.status().lag == 0; }, "lag 0 once it works");
  CHECK(runner.status().state == projection_state::running);
  const auto text = registry->exposition();
  CHECK(text.find("hibiki_projection_lag_events{projection=\"test\"} 0") != std::string::npos);
  CHECK(text.find("hibiki_projection_applied_total{projection=\"test\"} 10") != std::string::npos);
  runner.stop();
}

TEST_CASE("projection runner: rebuild resets and applies the feed again, with progress",
          "[projection]") {
  temp_dir dir;
  auto b = open_at(dir.sub("db"));
  const auto file = dir.sub("projection");
  const int total = append_events(*b, 0, 60);
  auto proj = std::make_unique<file_projection>(file);
  auto* raw = proj.get();
  persistence::projection_runner runner(std::move(proj), b->open_feed(), fast_options());
  runner.start();
  eventually([&] { return position_of(runner.status()) == total; }, "caught up");
  REQUIRE(runner.rebuild().ok());
  CHECK(runner.status().state == projection_state::rebuilding);  // at once
  eventually([&] { return runner.status().rebuild.done; }, "rebuild done");
  auto st = runner.status();
  runner.stop();
  CHECK(raw->resets == 1);
  CHECK(st.state == projection_state::running);
  CHECK_FALSE(st.rebuild.active);
  CHECK(st.rebuild.applied == 60);
  CHECK(st.rebuild.total == 60);
  CHECK(st.rebuild.position == 60);
  CHECK(st.rebuild.events_per_second > 0);
  CHECK(st.applied == 120);
  check_exactly_once(file, total);  // the reset dropped the first pass's output
}

TEST_CASE("projection runner: follows only the partitions it is given", "[projection]") {
  temp_dir dir;
  auto b = open_at(dir.sub("db"));
  const int total = append_events(*b, 0, 5);
  std::atomic<bool> owned{false};
  auto options = fast_options();
  options.partitions = [&] {
    return owned ? std::vector<std::int32_t>{0} : std::vector<std::int32_t>{};
  };
  auto proj = std::make_unique<file_projection>(dir.sub("projection"));
  auto* raw = proj.get();
  persistence::projection_runner runner(std::move(proj), b->open_feed(), options);
  runner.start();
  eventually([&] { return raw->committed_calls > 0; }, "started");
  std::this_thread::sleep_for(100ms);  // time enough to apply, were it following anything
  CHECK(runner.status().applied == 0);
  owned = true;
  eventually([&] { return position_of(runner.status()) == total; }, "caught up once owned");
  runner.stop();
}

TEST_CASE("projections registry: add, status, rebuild, and bad inputs", "[projection]") {
  temp_dir dir;
  auto b = open_at(dir.sub("db"));
  append_events(*b, 0, 5);
  persistence::projections ps(*b, fast_options());
  CHECK(code_of(ps.add(nullptr)) == errc::bad_request);
  CHECK(code_of(ps.add(std::make_unique<file_projection>(dir.sub("e"), ""))) == errc::bad_request);
  REQUIRE(ps.add(std::make_unique<file_projection>(dir.sub("a"), "alpha")).ok());
  REQUIRE(ps.add(std::make_unique<file_projection>(dir.sub("b"), "beta"),
                 persistence::follow::owned_partitions)
              .ok());
  CHECK(code_of(ps.add(std::make_unique<file_projection>(dir.sub("c"), "alpha"))) ==
        errc::bad_request);
  CHECK(ps.names() == std::vector<std::string>{"alpha", "beta"});
  eventually(
      [&] {
        auto all = ps.status();
        return all.size() == 2 && position_of(all[0]) == 5 && position_of(all[1]) == 5;
      },
      "both caught up");

  auto unknown = ps.rebuild("search");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == errc::not_found);
  CHECK(unknown.error().message == "no projection named search (this node runs: alpha, beta)");
  CHECK(ps.status("search").error().code == errc::not_found);
  REQUIRE(ps.rebuild("alpha").ok());
  eventually([&] { return ps.status("alpha")->rebuild.done; }, "alpha rebuilt");

  // A backend without a feed: a clear error, nothing started.
  feedless_backend feedless(*b);
  persistence::projections none(feedless, fast_options());
  auto refused = none.add(std::make_unique<file_projection>(dir.sub("d"), "delta"));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == errc::unavailable);
  CHECK(none.rebuild("delta").error().message == "no projection named delta (this node runs none)");

  ps.stop();
  CHECK(code_of(ps.add(std::make_unique<file_projection>(dir.sub("f"), "gamma"))) ==
        errc::unavailable);
}

TEST_CASE("projections registry: owned_partitions follows what the node owns, all the rest",
          "[projection]") {
  temp_dir dir;
  auto b = open_at(dir.sub("db"));
  append_events(*b, 0, 5);
  std::atomic<bool> owns{false};
  persistence::projections ps(*b, fast_options(), [&] {
    return owns ? std::vector<std::int32_t>{0} : std::vector<std::int32_t>{};
  });
  auto owned = std::make_unique<file_projection>(dir.sub("o"), "owned");
  auto* owned_raw = owned.get();
  REQUIRE(ps.add(std::move(owned), persistence::follow::owned_partitions).ok());
  REQUIRE(ps.add(std::make_unique<file_projection>(dir.sub("a"), "all")).ok());
  eventually([&] { return position_of(*ps.status("all")) == 5; }, "all caught up");
  eventually([&] { return owned_raw->committed_calls > 0; }, "owned started");
  CHECK(ps.status("owned")->applied == 0);  // owns nothing yet
  owns = true;
  eventually([&] { return position_of(*ps.status("owned")) == 5; }, "owned caught up");
  ps.stop();
  check_exactly_once(dir.sub("o"), 5);
}

// ---- kill -9 -------------------------------------------------------------------------------

namespace {
constexpr const char* runner_child_name = "projection crash child: run the runner to the end";
constexpr int crash_events = 3000;
}  // namespace

// Hidden ("[.]"): only the kill test below runs it, in a child process. Runs the runner over
// the database until it has applied the whole feed, then exits.
TEST_CASE("projection crash child: run the runner to the end", "[.][projection_crash_child]") {
  const char* dir = std::getenv("HIBIKI_PROJECTION_CRASH_DIR");
  REQUIRE(dir != nullptr);
  const std::string base = dir;
  auto b = open_at(base + "/db", true);
  auto proj = std::make_unique<file_projection>(base + "/projection");
  proj->event_delay_us = 100;  // slow enough that a kill lands inside a batch
  auto options = fast_options();
  options.batch_size = 50;
  persistence::projection_runner runner(std::move(proj), b->open_feed(), options);
  runner.start();
  eventually([&] { return position_of(runner.status()) == crash_events; }, "child caught up");
  runner.stop();
}

TEST_CASE("projection runner: kill -9 mid-batch loses and repeats nothing", "[projection][crash]") {
  temp_dir dir;
  {
    auto b = open_at(dir.sub("db"), true);
    append_events(*b, 0, crash_events);
  }
  const auto file = dir.sub("projection");
  char self[4096];
  const auto len = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  REQUIRE(len > 0);
  self[len] = '\0';
  auto spawn = [&] {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::setenv("HIBIKI_PROJECTION_CRASH_DIR", dir.path().c_str(), 1);
      char* args[] = {self, const_cast<char*>(runner_child_name), nullptr};
      ::execve(self, args, environ);
      ::_exit(127);
    }
    return pid;
  };
  auto file_size = [&] {
    struct stat st {};
    return ::stat(file.c_str(), &st) == 0 ? static_cast<std::size_t>(st.st_size) : 0;
  };

  std::mt19937 rng{std::random_device{}()};
  int kills = 0, mid_batch_kills = 0;
  while (mid_batch_kills < 3 && kills < 30) {
    const auto before = load_projection_file(file).events.size();
    if (before >= static_cast<std::size_t>(crash_events) - 200) break;  // too close to the end
    const pid_t pid = spawn();
    // Wait for it to write something new, then a little more, then kill it.
    const auto start_size = file_size();
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (file_size() <= start_size && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 20));
    ::kill(pid, SIGKILL);
    int wstatus = 0;
    ::waitpid(pid, &wstatus, 0);
    REQUIRE(WIFSIGNALED(wstatus));
    ++kills;
    // Bytes after the last commit line: the kill landed inside a batch.
    if (file_size() > load_projection_file(file).committed_bytes) ++mid_batch_kills;
  }
  CHECK(mid_batch_kills >= 1);
  WARN("kills: " << kills << ", of them mid-batch: " << mid_batch_kills);

  // Run to the end; nothing twice, nothing missing.
  const pid_t pid = spawn();
  int wstatus = 0;
  ::waitpid(pid, &wstatus, 0);
  REQUIRE(WIFEXITED(wstatus));
  REQUIRE(WEXITSTATUS(wstatus) == 0);
  check_exactly_once(file, crash_events);
}

// ---- positions shared between nodes ---------------------------------------------------------

namespace {

/// A position_store in memory (what a Kafka consumer group's offsets are to a cluster), with a
/// switch to make it fail.
class memory_position_store final : public persistence::position_store {
 public:
  result<persistence::feed_positions> load(const std::vector<std::int32_t>& partitions) override {
    std::lock_guard lock(mutex_);
    ++loads_;
    if (failing_) return error{errc::unavailable, "the group coordinator is away"};
    persistence::feed_positions out;
    for (auto p : partitions)
      if (auto it = stored_.find(p); it != stored_.end()) out[p] = it->second;
    return out;
  }
  status store(const persistence::feed_positions& positions) override {
    std::lock_guard lock(mutex_);
    if (failing_) return {errc::unavailable, "the group coordinator is away"};
    for (const auto& [p, at] : positions) {
      if (auto it = stored_.find(p); it != stored_.end() && at < it->second) moved_back_ = true;
      stored_[p] = at;
    }
    return {};
  }
  void set(std::int32_t p, std::int64_t at) {
    std::lock_guard lock(mutex_);
    stored_[p] = at;
  }
  std::int64_t at(std::int32_t p) {
    std::lock_guard lock(mutex_);
    auto it = stored_.find(p);
    return it == stored_.end() ? -1 : it->second;
  }
  void fail(bool f) {
    std::lock_guard lock(mutex_);
    failing_ = f;
  }
  int loads() {
    std::lock_guard lock(mutex_);
    return loads_;
  }
  /// A store() ever gave a partition a position below the one stored.
  bool moved_back() {
    std::lock_guard lock(mutex_);
    return moved_back_;
  }

 private:
  std::mutex mutex_;
  persistence::feed_positions stored_;
  bool failing_ = false;
  bool moved_back_ = false;
  int loads_ = 0;
};

/// The offsets the projection file holds, in order.
std::vector<std::int64_t> offsets_in(const std::string& file) {
  std::vector<std::int64_t> out;
  for (const auto& e : load_projection_file(file).events) out.push_back(e.offset);
  return out;
}

std::vector<std::int64_t> range_of(std::int64_t from, std::int64_t to) {
  std::vector<std::int64_t> out;
  for (auto i = from; i < to; ++i) out.push_back(i);
  return out;
}

}  // namespace

TEST_CASE("resume_position: the later of the own and the shared position", "[projection]") {
  const persistence::feed_positions shared{{0, 10}, {1, 3}};
  CHECK(persistence::resume_position(4, shared, 0) == 10);  // another node got further
  CHECK(persistence::resume_position(7, shared, 1) == 7);   // never moves back
  CHECK(persistence::resume_position(5, shared, 2) == 5);   // none stored
  CHECK(persistence::resume_position(0, {}, 0) == 0);
}

TEST_CASE("projection runner: a partition taken over resumes where the previous owner stored it",
          "[projection]") {
  temp_dir dir;
  auto b = open_at(dir.sub("db"));
  auto shared = std::make_shared<memory_position_store>();
  int total = append_events(*b, 0, 10);

  // Node A owns the partition and applies what is there; its positions reach the store.
  {
    auto options = fast_options();
    options.partitions = [] { return std::vector<std::int32_t>{0}; };
    options.shared_positions = shared;
    persistence::projection_runner a(std::make_unique<file_projection>(dir.sub("a")),
                                     b->open_feed(), options);
    a.start();
    eventually([&] { return shared->at(0) == total; }, "A stored its position");
    a.stop();
  }
  CHECK(offsets_in(dir.sub("a")) == range_of(0, 10));

  // Node B never owned it: it starts at the stored position, not at 0.
  total = append_events(*b, total, 5);
  std::atomic<bool> b_owns{false};
  auto options = fast_options();
  options.partitions = [&] {
    return b_owns ? std::vector<std::int32_t>{0} : std::vector<std::int32_t>{};
  };
  options.shared_positions = shared;
  auto proj = std::make_unique<file_projection>(dir.sub("b"));
  auto* raw = proj.get();
  persistence::projection_runner runner(std::move(proj), b->open_feed(), options);
  runner.start();
  eventually([&] { return raw->committed_calls > 0; }, "B started");
  b_owns = true;
  eventually([&] { return position_of(runner.status()) == total; }, "B caught up");
  // 0..9 replayed (state only, no output), 10..14 applied.
  CHECK(offsets_in(dir.sub("b")) == range_of(10, 15));
  CHECK(raw->replayed == 10);
  eventually([&] { return shared->at(0) == total; }, "B stored its position");

  // B loses the partition; a third node moves it on to 18 meanwhile; B gets it back, replays
  // 15..17 (the other node's output) and applies from 18.
  b_owns = false;
  eventually([&] { return runner.status().positions.empty(); }, "B follows nothing");
  total = append_events(*b, total, 5);
  shared->set(0, 18);
  b_owns = true;
  eventually([&] { return position_of(runner.status()) == total; }, "B caught up again");
  std::vector<std::int64_t> expected = range_of(10, 15);
  for (auto o : range_of(18, 20)) expected.push_back(o);
  CHECK(offsets_in(dir.sub("b")) == expected);
  CHECK(raw->replayed == 13);
  runner.stop();
  // The replays (in batches of 7) never stored a position behind the shared one.
  CHECK_FALSE(shared->moved_back());
}

TEST_CASE(
    "projection runner: shared positions never move a partition back, and a store that "
    "cannot be read holds the partition instead of starting it at 0",
    "[projection]") {
  temp_dir dir;
  auto b = open_at(dir.sub("db"));
  const int total = append_events(*b, 0, 8);
  auto shared = std::make_shared<memory_position_store>();
  shared->set(0, 3);  // behind what this node applied itself
  auto options = fast_options();
  options.partitions = [] { return std::vector<std::int32_t>{0}; };
  options.shared_positions = shared;

  {  // applies everything once, without the store
    persistence::projection_runner first(std::make_unique<file_projection>(dir.sub("p")),
                                         b->open_feed(), fast_options());
    first.start();
    eventually([&] { return position_of(first.status()) == total; }, "applied once");
    first.stop();
  }
  const int more = append_events(*b, total, 2);
  shared->fail(true);
  persistence::projection_runner runner(std::make_unique<file_projection>(dir.sub("p")),
                                        b->open_feed(), options);
  runner.start();
  eventually(
      [&] {
        auto st = runner.status();
        return st.state == projection_state::failing &&
               st.last_error.find("shared feed positions") != std::string::npos &&
               shared->loads() >= 2;
      },
      "failing while the store cannot be read");
  CHECK(offsets_in(dir.sub("p")) == range_of(0, 8));  // nothing applied meanwhile
  shared->fail(false);
  eventually([&] { return position_of(runner.status()) == more; }, "caught up");
  runner.stop();
  CHECK(offsets_in(dir.sub("p")) == range_of(0, 10));  // resumed at its own 8, not the store's 3
  CHECK(shared->at(0) == more);
}
