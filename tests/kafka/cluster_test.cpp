/// The clustered Kafka backend (kafka_options::cluster, shard_control.hpp) on the real broker: two
/// nodes A and B on one fresh topic per test. Following, handing a partition over, fencing by a
/// node that acquires without a release, `moved` answers, the read barrier over transaction
/// markers, and bad inputs.

#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include <catch2/catch.hpp>

#include "hibiki/core/shard.hpp"
#include "kafka/kafka_record.hpp"
#include "kafka/rdkafka_client.hpp"
#include "kafka_env.hpp"

namespace hibiki::testkit {

namespace {

using persistence::kafka_backend;
using persistence::max_seq;
using persistence::shard_change;
using std::chrono::milliseconds;
using std::chrono::seconds;
constexpr std::uint64_t no_limit = std::numeric_limits<std::uint64_t>::max();
/// Generous bound for things that take a broker round trip or a fencing; a test waiting longer
/// has failed (the bound is not a speed assertion).
constexpr auto patience = seconds(60);

/// What a node's listener heard, in order.
class shard_log {
 public:
  void operator()(std::int32_t p, shard_change c) {
    {
      std::lock_guard lock(mutex_);
      heard_.emplace_back(p, c);
    }
    cv_.notify_all();
  }
  /// Waits (bounded) until `p` heard `c` at least `times` times.
  bool wait_for(std::int32_t p, shard_change c, std::size_t times = 1) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, patience, [&] { return count_locked(p, c) >= times; });
  }
  std::size_t count(std::int32_t p, shard_change c) {
    std::lock_guard lock(mutex_);
    return count_locked(p, c);
  }
  std::size_t size() {
    std::lock_guard lock(mutex_);
    return heard_.size();
  }

 private:
  std::size_t count_locked(std::int32_t p, shard_change c) const {
    std::size_t n = 0;
    for (const auto& [hp, hc] : heard_) n += hp == p && hc == c;
    return n;
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::pair<std::int32_t, shard_change>> heard_;
};

/// One clustered node: its backend, its shard control and what its listener heard.
struct node {
  node(const persistence::kafka_options& base, const temp_dir& dir, const std::string& name) {
    auto o = base;
    o.local.path = dir.sub(name);
    o.cluster = true;
    o.writer_id = name;
    backend = open_kafka(o);
    shards = backend->shards();
    REQUIRE(shards != nullptr);
    shards->set_listener([this](std::int32_t p, shard_change c) { (*log)(p, c); });
  }
  ~node() {
    if (backend) backend->close();
  }
  persistence::journal& journal() { return backend->journal(); }
  void acquire_all() {
    for (std::int32_t p = 0; p < shards->partition_count(); ++p) shards->acquire(p);
    for (std::int32_t p = 0; p < shards->partition_count(); ++p)
      REQUIRE(log->wait_for(p, shard_change::serving));
  }
  std::string state_of(std::int32_t p) {
    return backend->status().partitions.at(static_cast<std::size_t>(p)).state;
  }

  std::unique_ptr<shard_log> log = std::make_unique<shard_log>();
  std::unique_ptr<kafka_backend> backend;
  persistence::shard_control* shards = nullptr;
};

persistence::kafka_options cluster_options(const temp_dir& dir) {
  auto o = kafka_test_options(dir);
  o.partitions = 3;
  o.cluster = true;
  return o;
}

/// A fresh entity id whose partition is `p`.
entity_id entity_in(std::int32_t p, std::int32_t partitions, const std::string& tag = "c") {
  for (;;) {
    auto e = random_id(tag);
    if (hibiki::shard_of(e, partitions) == p) return e;
  }
}

/// An append of `seq` with one history row "<entity>/<seq>" -> "v<seq>".
persistence::append_request append_with_row(const entity_id& entity, seq_nr seq,
                                            const std::string& writer) {
  auto req = events(entity, seq, seq, writer);
  req.rows.push_back(
      {read_model::table::history, entity + "/" + std::to_string(seq), "v" + std::to_string(seq)});
  return req;
}

/// Every committed event of one partition (read_committed), keyed by entity, in topic order.
std::map<entity_id, std::vector<seq_nr>> committed_in(const persistence::kafka_options& o,
                                                      std::int32_t p) {
  using namespace persistence::kafka;
  std::map<entity_id, std::vector<seq_nr>> out;
  auto admin = admin_client::create({o.brokers, {}});
  REQUIRE(admin.ok());
  auto end = (*admin)->end_offset(o.topic, p, seconds(10));
  REQUIRE(end.ok());
  if (*end == 0) return out;
  auto reader = partition_reader::create({o.brokers, {}}, o.topic, p, 0);
  REQUIRE(reader.ok());
  for (;;) {
    auto msg = (*reader)->poll(milliseconds(200));
    if (!msg) continue;
    if (msg->is_partition_eof()) {
      if (msg->offset() >= *end) break;
      continue;
    }
    REQUIRE(msg->error() <= 0);
    if (msg->error() != 0) continue;
    auto rec = decode_record(msg->value());
    REQUIRE(rec.ok());
    if (rec->kind == record_kind::event) out[entity_id(msg->key())].push_back(rec->seq);
  }
  return out;
}

std::int64_t end_of(const persistence::kafka_options& o, std::int32_t p) {
  auto admin = persistence::kafka::admin_client::create({o.brokers, {}});
  REQUIRE(admin.ok());
  auto end = (*admin)->end_offset(o.topic, p, seconds(10));
  REQUIRE(end.ok());
  return *end;
}

/// The partition's status once the index has reached the partition's end, or after `patience`.
/// A commit returns before its markers are written (the coordinator writes them afterwards), so
/// the end can move by one marker after a barrier passed: this waits that out.
persistence::partition_status caught_up(kafka_backend& b, std::int32_t p) {
  const auto until = std::chrono::steady_clock::now() + patience;
  for (;;) {
    auto ps = b.status().partitions.at(static_cast<std::size_t>(p));
    if (ps.end_offset >= 0 && ps.indexed_offset == ps.end_offset) return ps;
    if (std::chrono::steady_clock::now() > until) return ps;
    std::this_thread::sleep_for(milliseconds(50));
  }
}

std::optional<std::string> row_of(kafka_backend& b, const std::string& key) {
  auto r = b.reads().get(read_model::table::history, key);
  REQUIRE(r.ok());
  return *r;
}

std::vector<seq_nr> replayed(persistence::journal& j, const entity_id& e) {
  status st;
  auto evs = replay_all(j, e, 1, max_seq, no_limit, &st);
  REQUIRE(st.ok());
  return seqs_of(evs);
}

std::vector<seq_nr> range(seq_nr first, seq_nr last) {
  std::vector<seq_nr> out;
  for (seq_nr s = first; s <= last; ++s) out.push_back(s);
  return out;
}

}  // namespace

TEST_CASE("kafka cluster: B follows what A writes, up to the read barrier", "[kafka][cluster]") {
  temp_dir dir("hibiki-kafka-cluster");
  const auto options = cluster_options(dir);
  node a(options, dir, "a");
  node b(options, dir, "b");
  const auto n = a.shards->partition_count();
  REQUIRE(n == 3);
  for (std::int32_t p = 0; p < n; ++p) {
    CHECK(a.state_of(p) == "following");
    CHECK(b.state_of(p) == "following");
  }
  a.acquire_all();

  std::vector<entity_id> entities;
  for (std::int32_t p = 0; p < n; ++p) {
    for (int i = 0; i < 3; ++i) entities.push_back(entity_in(p, n));
  }
  for (const auto& e : entities) {
    for (seq_nr s = 1; s <= 3; ++s) REQUIRE(a.journal().append(append_with_row(e, s, "a")).ok());
  }
  // A serves every partition: its barrier passes at once, B's waits for its follower.
  REQUIRE(a.shards->await_indexed({}, seconds(30)).ok());
  REQUIRE(b.shards->await_indexed({}, seconds(30)).ok());
  for (const auto& e : entities) {
    INFO(e);
    CHECK(replayed(b.journal(), e) == range(1, 3));
    auto h = b.journal().highest_seq(e);
    REQUIRE(h.ok());
    CHECK(*h == 3);
    for (seq_nr s = 1; s <= 3; ++s)
      CHECK(row_of(*b.backend, e + "/" + std::to_string(s)) == "v" + std::to_string(s));
  }
  for (std::int32_t i = 0; i < n; ++i) {
    // The follower's position passes the commit markers: it ends exactly at the end offset.
    const auto p = caught_up(*b.backend, i);
    INFO("partition " << i);
    CHECK(p.state == "following");
    CHECK(p.indexed_offset == p.end_offset);
    CHECK(p.lag == 0);
  }
  for (std::int32_t i = 0; i < n; ++i) {
    // The writer's own partitions too: once idle, its index moves past its commit markers, so
    // `hibiki cluster status` shows no lag on an idle cluster.
    const auto p = caught_up(*a.backend, i);
    INFO("partition " << i);
    CHECK(p.state == "ready");
    CHECK(p.indexed_offset == p.end_offset);
    CHECK(p.lag == 0);
  }
  CHECK(a.backend->status().offsets_to_index == 0);
  CHECK(a.backend->status().partitions_catching_up == 0);

  // A node opening now has everything committed before its open, without a barrier of its own.
  {
    node c(options, dir, "c");
    for (const auto& e : entities) {
      INFO(e);
      CHECK(replayed(c.journal(), e) == range(1, 3));
      CHECK(row_of(*c.backend, e + "/3") == "v3");
    }
  }

  // Appends to a partition B only follows: moved, and nothing is written.
  const auto before = end_of(options, 0);
  const auto e0 = entity_in(0, n);
  CHECK(code_of(b.journal().append(events(e0, 1, 1, "b"))) == errc::moved);
  CHECK(code_of(b.backend->journal().delete_to(entities[0], 1)) == errc::moved);
  CHECK(end_of(options, 0) == before);
  CHECK(committed_in(options, 0).count(e0) == 0);
}

TEST_CASE("kafka cluster: a partition handed from A to B keeps every acknowledged append once",
          "[kafka][cluster]") {
  temp_dir dir("hibiki-kafka-cluster");
  const auto options = cluster_options(dir);
  node a(options, dir, "a");
  node b(options, dir, "b");
  const auto n = a.shards->partition_count();
  a.acquire_all();
  const std::int32_t p = 1;
  const auto e = entity_in(p, n);
  const auto other = entity_in(2, n);
  for (seq_nr s = 1; s <= 3; ++s) REQUIRE(a.journal().append(append_with_row(e, s, "a")).ok());
  REQUIRE(a.journal().append(events(other, 1, 1, "a")).ok());

  a.shards->release(p);
  CHECK(a.log->count(p, shard_change::released) == 1);
  CHECK(a.state_of(p) == "following");
  CHECK(code_of(a.journal().append(events(e, 4, 4, "a"))) == errc::moved);
  // The other partitions are still A's.
  REQUIRE(a.journal().append(events(other, 2, 2, "a")).ok());
  // Releasing again, or a partition only followed, changes nothing.
  a.shards->release(p);
  CHECK(a.log->count(p, shard_change::released) == 1);

  b.shards->acquire(p);
  REQUIRE(b.log->wait_for(p, shard_change::serving));
  CHECK(b.state_of(p) == "ready");
  auto h = b.journal().highest_seq(e);
  REQUIRE(h.ok());
  CHECK(*h == 3);  // caught up before serving
  CHECK(code_of(b.journal().append(events(e, 3, 3, "b"))) == errc::conflict);
  for (seq_nr s = 4; s <= 6; ++s) REQUIRE(b.journal().append(append_with_row(e, s, "b")).ok());

  // A follows again: after the barrier it has B's appends, events and rows.
  REQUIRE(a.shards->await_indexed({p}, seconds(30)).ok());
  CHECK(replayed(a.journal(), e) == range(1, 6));
  CHECK(row_of(*a.backend, e + "/5") == "v5");
  status st;
  auto evs = replay_all(a.journal(), e, 1, max_seq, no_limit, &st);
  REQUIRE(evs.size() == 6);
  CHECK(evs[2].writer == "a");
  CHECK(evs[3].writer == "b");

  // And back to A.
  b.shards->release(p);
  REQUIRE(b.log->wait_for(p, shard_change::released));
  a.shards->acquire(p);
  REQUIRE(a.log->wait_for(p, shard_change::serving, 2));
  REQUIRE(a.journal().append(events(e, 7, 7, "a")).ok());
  REQUIRE(b.shards->await_indexed({p}, seconds(30)).ok());
  CHECK(replayed(b.journal(), e) == range(1, 7));

  // The topic holds every acknowledged append exactly once, seqs continuous.
  CHECK(committed_in(options, p)[e] == range(1, 7));
}

TEST_CASE("kafka cluster: B acquiring without A's release fences A", "[kafka][cluster][fencing]") {
  temp_dir dir("hibiki-kafka-cluster");
  const auto options = cluster_options(dir);
  node a(options, dir, "a");
  node b(options, dir, "b");
  const auto n = a.shards->partition_count();
  a.acquire_all();
  const std::int32_t p = 0;
  const auto e = entity_in(p, n);
  REQUIRE(a.journal().append(events(e, 1, 2, "a")).ok());

  b.shards->acquire(p);  // A still thinks it serves p
  REQUIRE(b.log->wait_for(p, shard_change::serving));

  const auto failed = a.journal().append(events(e, 3, 4, "zombie"));
  INFO((failed.ok() ? std::string("ok") : failed.error().message));
  CHECK((code_of(failed) == errc::unavailable || code_of(failed) == errc::moved));
  REQUIRE(a.log->wait_for(p, shard_change::fenced));
  CHECK(a.state_of(p) == "following");
  CHECK(code_of(a.journal().append(events(e, 3, 3, "zombie"))) == errc::moved);
  // A never takes the partition back by itself.
  CHECK(a.log->count(p, shard_change::serving) == 1);

  REQUIRE(b.journal().append(events(e, 3, 3, "b")).ok());
  REQUIRE(a.shards->await_indexed({p}, seconds(30)).ok());
  CHECK(replayed(a.journal(), e) == range(1, 3));
  CHECK(a.log->count(p, shard_change::serving) == 1);
  CHECK(a.state_of(p) == "following");
  // Nothing of the zombie's append is readable by anyone.
  CHECK(committed_in(options, p)[e] == range(1, 3));
  status st;
  for (const auto& ev : replay_all(b.journal(), e, 1, max_seq, no_limit, &st))
    CHECK(ev.writer != "zombie");
}

TEST_CASE("kafka cluster: B takes a partition over while A is writing it",
          "[kafka][cluster][fencing]") {
  temp_dir dir("hibiki-kafka-cluster");
  const auto options = cluster_options(dir);
  node a(options, dir, "a");
  node b(options, dir, "b");
  const auto n = a.shards->partition_count();
  a.acquire_all();
  const std::int32_t p = 1;
  const auto e = entity_in(p, n);

  // A appends e's seqs one after another until an append is refused.
  std::atomic<seq_nr> acknowledged{0};
  std::promise<status> first_failure;
  std::thread writer([&] {
    for (seq_nr s = 1;; ++s) {
      auto st = a.journal().append(events(e, s, s, "a"));
      if (!st.ok()) {
        first_failure.set_value(st);
        return;
      }
      acknowledged = s;
    }
  });
  auto failure = first_failure.get_future();
  // Let A commit a few transactions first (bounded: the writer fails the test if it stops).
  for (int i = 0; i < 6000 && acknowledged.load() < 20; ++i) {
    if (failure.wait_for(milliseconds(0)) == std::future_status::ready) break;
    std::this_thread::sleep_for(milliseconds(10));
  }
  REQUIRE(acknowledged.load() >= 20);
  b.shards->acquire(p);  // fences A in the middle of its stream of transactions
  REQUIRE(b.log->wait_for(p, shard_change::serving));
  const bool a_stopped = failure.wait_for(patience) == std::future_status::ready;
  REQUIRE(a_stopped);
  writer.join();
  const auto why = failure.get();
  INFO(why.error().message);
  CHECK((code_of(why) == errc::unavailable || code_of(why) == errc::moved));
  REQUIRE(a.log->wait_for(p, shard_change::fenced));
  CHECK(a.log->count(p, shard_change::serving) == 1);

  // B caught up to exactly what A had acknowledged: nothing lost, nothing of the refused append.
  const seq_nr last = acknowledged.load();
  auto h = b.journal().highest_seq(e);
  REQUIRE(h.ok());
  CHECK(*h == last);
  REQUIRE(b.journal().append(events(e, last + 1, last + 1, "b")).ok());
  REQUIRE(a.shards->await_indexed({p}, seconds(30)).ok());
  CHECK(replayed(a.journal(), e) == range(1, last + 1));
  CHECK(committed_in(options, p)[e] == range(1, last + 1));
}

TEST_CASE("kafka cluster: appends queued during a release are answered moved exactly once",
          "[kafka][cluster]") {
  temp_dir dir("hibiki-kafka-cluster");
  auto options = cluster_options(dir);
  options.max_batch_appends = 8;  // many transactions, so some appends are still queued
  node a(options, dir, "a");
  const auto n = a.shards->partition_count();
  a.acquire_all();
  const std::int32_t p = 2;
  constexpr int count = 400;
  std::vector<entity_id> entities;
  for (int i = 0; i < count; ++i) entities.push_back(entity_in(p, n, "q"));

  std::mutex m;
  std::vector<int> answers(count, 0);
  std::vector<errc> codes(count, errc::ok);
  for (int i = 0; i < count; ++i) {
    a.journal().async_append(events(entities[static_cast<std::size_t>(i)], 1, 1, "a"),
                             [&, i](status s) {
                               std::lock_guard lock(m);
                               ++answers[static_cast<std::size_t>(i)];
                               codes[static_cast<std::size_t>(i)] = code_of(s);
                             });
  }
  a.shards->release(p);
  a.backend->close();  // every callback has run once close returns

  const auto committed = committed_in(options, p);
  int ok = 0, moved = 0;
  std::lock_guard lock(m);
  for (int i = 0; i < count; ++i) {
    const auto& e = entities[static_cast<std::size_t>(i)];
    INFO(e);
    CHECK(answers[static_cast<std::size_t>(i)] == 1);
    const auto c = codes[static_cast<std::size_t>(i)];
    CHECK((c == errc::ok || c == errc::moved));
    const bool in_topic = committed.count(e) == 1;
    if (c == errc::ok) {
      ++ok;
      CHECK(in_topic);
      if (in_topic) CHECK(committed.at(e) == std::vector<seq_nr>{1});
    } else if (c == errc::moved) {
      ++moved;
      CHECK_FALSE(in_topic);
    }
  }
  INFO("ok " << ok << ", moved " << moved);
  CHECK(ok + moved == count);
  CHECK(moved > 0);
}

TEST_CASE(
    "kafka cluster: the read barrier passes aborted transactions, markers and open transactions",
    "[kafka][cluster][barrier]") {
  temp_dir dir("hibiki-kafka-cluster");
  const auto options = cluster_options(dir);
  node b(options, dir, "b");
  const std::int32_t p = 1;
  const auto e = entity_in(p, b.shards->partition_count());
  using namespace persistence::kafka;
  auto producer = txn_producer::create({options.brokers, {}}, random_id("raw"), 1 << 20, millis{1});
  REQUIRE(producer.ok());
  REQUIRE((*producer)->init_transactions(seconds(30)).ok());
  auto record = [&](seq_nr s) {
    return encode_record({record_kind::event, "raw", s, payload_for(e, s), {}});
  };
  // committed (record + marker), aborted (record + marker), committed again.
  for (int round = 0; round < 3; ++round) {
    REQUIRE((*producer)->begin_transaction().ok());
    const seq_nr s = round == 2 ? 2 : 1 + static_cast<seq_nr>(round);
    REQUIRE((*producer)->produce(options.topic, p, e, record(round == 1 ? 99 : s)).ok());
    if (round == 1) {
      // On the broker before the abort, so the partition holds the record and an abort marker.
      REQUIRE((*producer)->flush(seconds(30)));
      REQUIRE((*producer)->abort_transaction(seconds(30)).ok());
    } else {
      REQUIRE((*producer)->commit_transaction(seconds(30)).ok());
    }
  }
  REQUIRE(b.shards->await_indexed({p}, seconds(30)).ok());
  CHECK(replayed(b.journal(), e) == range(1, 2));
  const auto ps = caught_up(*b.backend, p);
  CHECK(ps.end_offset == 6);  // three records, three markers
  CHECK(ps.indexed_offset == 6);
  CHECK(ps.lag == 0);

  // An aborted transaction LAST: the follower must still reach the end.
  REQUIRE((*producer)->begin_transaction().ok());
  REQUIRE((*producer)->produce(options.topic, p, e, record(3)).ok());
  REQUIRE((*producer)->flush(seconds(30)));
  REQUIRE((*producer)->abort_transaction(seconds(30)).ok());
  REQUIRE(b.shards->await_indexed({p}, seconds(30)).ok());
  const auto last = caught_up(*b.backend, p);
  CHECK(last.end_offset == 8);
  CHECK(last.indexed_offset == 8);
  CHECK(replayed(b.journal(), e) == range(1, 2));

  // A transaction left open (its writer stalled): the barrier does not wait for it to end (it
  // cannot be read by anyone before it does), but still has everything committed before it.
  REQUIRE((*producer)->begin_transaction().ok());
  REQUIRE((*producer)->produce(options.topic, p, e, record(3)).ok());
  REQUIRE((*producer)->flush(seconds(30)));
  const auto other = entity_in(p, b.shards->partition_count());
  {
    // Another writer commits after the open transaction began.
    auto second = txn_producer::create({options.brokers, {}}, random_id("raw"), 1 << 20, millis{1});
    REQUIRE(second.ok());
    REQUIRE((*second)->init_transactions(seconds(30)).ok());
    REQUIRE((*second)->begin_transaction().ok());
    REQUIRE((*second)
                ->produce(options.topic, p, other,
                          encode_record({record_kind::event, "raw", 1, payload_for(other, 1), {}}))
                .ok());
    REQUIRE((*second)->commit_transaction(seconds(30)).ok());
  }
  REQUIRE(b.shards->await_indexed({p}, seconds(30)).ok());
  CHECK(replayed(b.journal(), e) == range(1, 2));
  // Its records are behind the open transaction: not readable yet, by anyone.
  CHECK(replayed(b.journal(), other).empty());
  REQUIRE((*producer)->commit_transaction(seconds(30)).ok());
  REQUIRE(b.shards->await_indexed({p}, seconds(30)).ok());
  CHECK(replayed(b.journal(), e) == range(1, 3));
  CHECK(replayed(b.journal(), other) == range(1, 1));
}

TEST_CASE("kafka cluster: bad inputs", "[kafka][cluster][bad-input]") {
  temp_dir dir("hibiki-kafka-cluster");
  const auto options = cluster_options(dir);
  node a(options, dir, "a");
  const auto n = a.shards->partition_count();

  // Out-of-range partitions are ignored.
  a.shards->acquire(-1);
  a.shards->acquire(n);
  a.shards->release(-1);
  a.shards->release(n);
  // Releasing a partition this node does not own changes nothing.
  a.shards->release(0);
  CHECK(a.log->size() == 0);
  for (std::int32_t p = 0; p < n; ++p) CHECK(a.state_of(p) == "following");

  CHECK(code_of(a.shards->await_indexed({-1}, seconds(1))) == errc::bad_request);
  CHECK(code_of(a.shards->await_indexed({0, n}, seconds(1))) == errc::bad_request);
  CHECK(code_of(a.shards->await_indexed({0}, milliseconds(0))) == errc::bad_request);
  CHECK(code_of(a.shards->await_indexed({0}, milliseconds(-5))) == errc::bad_request);
  CHECK(a.shards->await_indexed({0, 0, 1}, seconds(30)).ok());

  // Acquiring twice is one acquisition.
  a.shards->acquire(0);
  a.shards->acquire(0);
  REQUIRE(a.log->wait_for(0, shard_change::serving));
  CHECK(a.log->count(0, shard_change::serving) == 1);

  // A non-clustered backend has no shard control.
  auto single = options;
  single.cluster = false;
  single.topic = random_id("hibiki-test");
  single.local.path = dir.sub("single");
  auto s = open_kafka(single);
  CHECK(s->shards() == nullptr);
  s->close();

  a.backend->close();
  CHECK(code_of(a.shards->await_indexed({0}, seconds(1))) == errc::unavailable);
  a.shards->acquire(1);  // after close: ignored
  CHECK(a.log->count(1, shard_change::serving) == 0);
}

}  // namespace hibiki::testkit
