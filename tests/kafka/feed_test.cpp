/// The Kafka journal's feed on the real broker: the feed conformance suite
/// (tests/persistence/feed_conformance.hpp) on a fresh 3-partition topic per case, a reader of a
/// clustered backend seeing every partition (written by another node), and the projection runner
/// over the topic: it reaches lag 0 past the transaction markers, resumes exactly after a stop,
/// and rebuilds.

#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "../persistence/backend_factories.hpp"
#include "../persistence/file_projection.hpp"
#include "hibiki/core/shard.hpp"
#include "hibiki/persistence/projection_runner.hpp"
#include "kafka_env.hpp"

namespace hibiki::testkit {
using feed_backends = std::tuple<kafka_factory>;
}
#define HIBIKI_FEED_SUITE "kafka"
#include "../persistence/feed_conformance.hpp"

using namespace hibiki;
using namespace hibiki::testkit;
using namespace std::chrono_literals;

namespace {

void eventually(const std::function<bool()>& done, const char* what) {
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) FAIL("never happened: " << what);
    std::this_thread::sleep_for(10ms);
  }
}

/// Partitions that heard `serving`.
struct serving_log {
  std::mutex mutex;
  std::condition_variable cv;
  std::set<std::int32_t> serving;
};

persistence::projection_runner_options runner_options() {
  persistence::projection_runner_options o;
  o.batch_size = 10;
  o.wait = 100ms;
  o.retry_initial = 10ms;
  o.retry_max = 100ms;
  o.end_refresh = 50ms;
  return o;
}

/// Every partition's position equals the end, and that end covers `events` records.
bool caught_up(const persistence::projection_status& s) {
  if (s.lag != 0 || s.positions.size() != 3) return false;
  for (const auto& [p, o] : s.positions)
    if (!s.end_positions.contains(p) || s.end_positions.at(p) != o) return false;
  return true;
}

}  // namespace

TEST_CASE("kafka feed: a clustered node's reader sees every partition, written by another node",
          "[kafka][feed][cluster]") {
  temp_dir dir("hibiki-kafka-feed");
  auto base = kafka_test_options(dir);
  base.cluster = true;
  auto a_options = base;
  a_options.local.path = dir.sub("a");
  a_options.writer_id = "a";
  auto b_options = base;
  b_options.local.path = dir.sub("b");
  b_options.writer_id = "b";
  auto a = open_kafka(a_options);
  auto b = open_kafka(b_options);
  serving_log heard;
  a->shards()->set_listener([&](std::int32_t p, persistence::shard_change c) {
    std::lock_guard lock(heard.mutex);
    if (c == persistence::shard_change::serving) heard.serving.insert(p);
    heard.cv.notify_all();
  });
  for (std::int32_t p = 0; p < 3; ++p) a->shards()->acquire(p);
  {
    std::unique_lock lock(heard.mutex);
    REQUIRE(heard.cv.wait_for(lock, 60s, [&] { return heard.serving.size() == 3; }));
  }
  std::vector<entity_id> entities;
  for (int i = 0; i < 9; ++i) entities.push_back(random_id("cluster-feed"));
  const auto acked = append_rounds(a->journal(), entities, 2, "a");
  std::set<std::int32_t> written;
  for (const auto& e : entities) written.insert(hibiki::shard_of(e, 3));

  // B writes nothing and owns nothing; its reader still reads every partition.
  auto feed = b->open_feed();
  REQUIRE(feed);
  auto from = feed_start(*feed);
  CHECK(from.size() == 3);
  const auto records = read_exactly(*feed, from, acked.size(), 100);
  std::set<std::pair<entity_id, seq_nr>> seen;
  std::set<std::int32_t> partitions;
  for (const auto& r : records) {
    CHECK(seen.emplace(r.event.entity, r.event.seq).second);
    CHECK(r.partition == hibiki::shard_of(r.event.entity, 3));
    partitions.insert(r.partition);
  }
  CHECK(partitions == written);
  feed.reset();
  b->close();
  a->close();
}

TEST_CASE("kafka feed: the projection runner reaches lag 0, resumes after a stop, and rebuilds",
          "[kafka][feed][projection]") {
  kafka_factory f;
  const auto file = f.dir.sub("projection");
  std::vector<entity_id> entities;
  for (int i = 0; i < 6; ++i) entities.push_back(random_id("runner"));
  auto acked = append_rounds(f.backend->journal(), entities, 3, "w");
  {
    persistence::projection_runner runner(std::make_unique<file_projection>(file),
                                          f.backend->open_feed(), runner_options());
    runner.start();
    // The ends sit past the transaction markers: lag 0 needs the runner to move past them too.
    eventually(
        [&] { return runner.status().applied == acked.size() && caught_up(runner.status()); },
        "caught up");
    runner.stop();
  }
  // More events while it is stopped; a new runner resumes from the file's positions.
  for (const auto& e : entities) {
    auto req = events(e, 7, 7, "w");
    REQUIRE(f.backend->journal().append(req).ok());
    acked.push_back(req.events.front());
  }
  auto proj = std::make_unique<file_projection>(file);
  auto* raw = proj.get();
  persistence::projection_runner runner(std::move(proj), f.backend->open_feed(), runner_options());
  runner.start();
  eventually(
      [&] { return runner.status().applied == entities.size() && caught_up(runner.status()); },
      "resumed");
  REQUIRE(runner.rebuild().ok());
  eventually([&] { return runner.status().rebuild.done; }, "rebuilt");
  eventually([&] { return caught_up(runner.status()); }, "caught up after the rebuild");
  const auto st = runner.status();
  runner.stop();
  CHECK(raw->resets == 1);
  CHECK(st.rebuild.applied == acked.size());
  CHECK(st.last_error.empty());

  auto state = load_projection_file(file);
  REQUIRE(state.events.size() == acked.size());
  std::set<std::pair<entity_id, seq_nr>> seen;
  for (const auto& e : state.events) CHECK(seen.emplace(e.entity, e.seq).second);
  for (const auto& ev : acked) CHECK(seen.contains({ev.entity, ev.seq}));
}
