/// The Kafka backend on the real broker, beyond the conformance suites: catch-up from a fresh and
/// from an old local index, fencing by a second node, bad inputs, status and pipelined appends.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <map>
#include <thread>

#include <catch2/catch.hpp>

#include "hibiki/core/shard.hpp"
#include "kafka/kafka_record.hpp"
#include "kafka/node_transactions.hpp"
#include "kafka/rdkafka_client.hpp"
#include "kafka_env.hpp"

namespace hibiki::testkit {

namespace {

using persistence::max_seq;
constexpr std::uint64_t no_limit = std::numeric_limits<std::uint64_t>::max();

/// An append of first..last with one history row per event ("<entity>/<seq>" -> "v<seq>").
persistence::append_request append_with_rows(const entity_id& entity, seq_nr first, seq_nr last,
                                             const std::string& writer) {
  auto req = events(entity, first, last, writer);
  for (seq_nr s = first; s <= last; ++s) {
    req.rows.push_back(
        {read_model::table::history, entity + "/" + std::to_string(s), "v" + std::to_string(s)});
  }
  return req;
}

std::optional<std::string> row(persistence::backend& b, const std::string& key) {
  auto r = b.reads().get(read_model::table::history, key);
  REQUIRE(r.ok());
  return *r;
}

/// Every committed event of `topic` (read_committed), keyed by entity.
std::map<entity_id, std::vector<seq_nr>> committed_events(const persistence::kafka_options& o,
                                                          std::int32_t partitions) {
  using namespace persistence::kafka;
  std::map<entity_id, std::vector<seq_nr>> out;
  auto admin = admin_client::create({o.brokers, {}});
  REQUIRE(admin.ok());
  auto high = admin_client::create_high_watermark({o.brokers, {}});
  REQUIRE(high.ok());
  for (std::int32_t p = 0; p < partitions; ++p) {
    // A commit is acknowledged before the coordinator writes its markers, and until then the
    // last stable offset stays below its records: wait until it reaches the high watermark (no
    // transaction left open), so every acknowledged record is readable.
    auto end = (*admin)->end_offset(o.topic, p, std::chrono::seconds(10));
    REQUIRE(end.ok());
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      auto hw = (*high)->end_offset(o.topic, p, std::chrono::seconds(10));
      REQUIRE(hw.ok());
      if (*end >= *hw || std::chrono::steady_clock::now() > until) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      end = (*admin)->end_offset(o.topic, p, std::chrono::seconds(10));
      REQUIRE(end.ok());
    }
    if (*end == 0) continue;
    auto reader = partition_reader::create({o.brokers, {}}, o.topic, p, 0);
    REQUIRE(reader.ok());
    for (;;) {
      auto msg = (*reader)->poll(std::chrono::milliseconds(200));
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
  }
  return out;
}

/// A loopback port nothing listens on.
int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace

TEST_CASE("kafka backend catches up a fresh and an old local index from the topic",
          "[kafka][catch-up]") {
  temp_dir dir("hibiki-kafka");
  auto options = kafka_test_options(dir, "a");
  const std::string writer = random_id("writer");
  std::vector<entity_id> entities;
  for (int i = 0; i < 8; ++i) entities.push_back(random_id("catchup-" + std::to_string(i)));

  {
    auto a = open_kafka(options);
    for (const auto& e : entities) {
      for (seq_nr s = 1; s <= 3; ++s)
        REQUIRE(a->journal().append(append_with_rows(e, s, s, writer)).ok());
    }
    REQUIRE(a->journal().delete_to(entities[0], 1).ok());
    a->close();
  }
  std::filesystem::copy(dir.sub("a"), dir.sub("old"), std::filesystem::copy_options::recursive);
  {
    auto a = open_kafka(options);
    for (const auto& e : entities) {
      // The reopened node has its index: the entity carries on at 4.
      auto h = a->journal().highest_seq(e);
      REQUIRE(h.ok());
      REQUIRE(*h == 3);
      REQUIRE(a->journal().append(append_with_rows(e, 4, 5, writer)).ok());
    }
    a->close();
  }

  auto check = [&](persistence::kafka_backend& b) {
    for (const auto& e : entities) {
      INFO(e);
      status st;
      auto evs = replay_all(b.journal(), e, 1, max_seq, no_limit, &st);
      REQUIRE(st.ok());
      const seq_nr first = e == entities[0] ? 2 : 1;
      std::vector<seq_nr> expected;
      for (seq_nr s = first; s <= 5; ++s) expected.push_back(s);
      CHECK(seqs_of(evs) == expected);
      for (const auto& ev : evs)
        CHECK(ev == persistence::persisted_event{e, ev.seq, writer, payload_for(e, ev.seq)});
      auto h = b.journal().highest_seq(e);
      REQUIRE(h.ok());
      CHECK(*h == 5);
      for (seq_nr s = 1; s <= 5; ++s)
        CHECK(row(b, e + "/" + std::to_string(s)) == "v" + std::to_string(s));
    }
    auto status = b.status();
    CHECK(status.kind == "kafka");
    CHECK(status.partition_count == options.partitions);
    REQUIRE(status.partitions.size() == static_cast<std::size_t>(options.partitions));
    for (const auto& p : status.partitions) {
      CHECK(p.state == "ready");
      CHECK(p.end_offset >= 0);
      // Caught up to the end of the partition.
      CHECK(p.indexed_offset == p.end_offset);
      CHECK(p.lag == 0);
    }
  };

  SECTION("a fresh local dir") {
    auto b_options = options;
    b_options.local.path = dir.sub("b");
    auto b = open_kafka(b_options);
    check(*b);
    // And it carries on writing where the topic left off.
    REQUIRE(b->journal().append(events(entities[1], 6, 6, writer)).ok());
    CHECK(code_of(b->journal().append(events(entities[2], 5, 5, writer))) == errc::conflict);
  }
  SECTION("a copy of an old local dir") {
    auto c_options = options;
    c_options.local.path = dir.sub("old");
    auto c = open_kafka(c_options);
    check(*c);
  }
}

namespace {

std::vector<seq_nr> seqs_in(persistence::journal& j, const entity_id& e) {
  status st;
  auto evs = replay_all(j, e, 1, max_seq, no_limit, &st);
  REQUIRE(st.ok());
  return seqs_of(evs);
}

std::vector<seq_nr> one_to(seq_nr last) {
  std::vector<seq_nr> out;
  for (seq_nr s = 1; s <= last; ++s) out.push_back(s);
  return out;
}

/// The status once every partition's index reached its end, or the last one seen after 30 s.
persistence::journal_status settled_status(persistence::backend& b) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    auto st = b.status();
    bool settled = !st.partitions.empty();
    for (const auto& p : st.partitions)
      settled = settled && p.end_offset >= 0 && p.indexed_offset == p.end_offset;
    if (settled || std::chrono::steady_clock::now() > until) return st;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace

TEST_CASE("kafka backend: lag counts data records only (0 once idle)", "[kafka][lag]") {
  temp_dir dir("hibiki-kafka");
  auto options = kafka_test_options(dir, "a");
  const std::string writer = random_id("writer");
  // Three entities on each of the three partitions (random ids could leave one empty).
  std::vector<entity_id> entities;
  std::map<std::int32_t, int> per_partition;
  for (int i = 0; entities.size() < 9; ++i) {
    auto e = random_id("lag-" + std::to_string(i));
    if (per_partition[shard_of(e, 3)]++ < 3) entities.push_back(std::move(e));
  }
  auto a = open_kafka(options);
  for (int round = 0; round < 2; ++round) {
    // Each append is its own transaction here: its commit marker follows its records.
    for (const auto& e : entities) {
      const seq_nr s = static_cast<seq_nr>(round + 1);
      REQUIRE(a->journal().append(append_with_rows(e, s, s, writer)).ok());
    }
    auto st = settled_status(*a);
    REQUIRE(st.partitions.size() == 3);
    for (const auto& p : st.partitions) {
      INFO("round " << round << " partition " << p.partition);
      CHECK(p.state == "ready");
      CHECK(p.end_offset > 0);
      CHECK(p.indexed_offset == p.end_offset);
      CHECK(p.lag == 0);
    }
    CHECK(st.offsets_to_index == 0);
    CHECK(st.partitions_catching_up == 0);
  }
  // Moving past the markers lost nothing: every event is there once, in order, and a reopen from
  // the same local index has nothing left to read and sees the same.
  for (const auto& e : entities) CHECK(seqs_in(a->journal(), e) == one_to(2));
  a->close();
  a.reset();
  auto again = open_kafka(options);
  for (const auto& e : entities) {
    INFO(e);
    CHECK(seqs_in(again->journal(), e) == one_to(2));
    CHECK(row(*again, e + "/2") == "v2");
  }
  for (const auto& p : again->status().partitions) CHECK(p.lag == 0);
  REQUIRE(again->journal().append(append_with_rows(entities[0], 3, 3, writer)).ok());
  CHECK(seqs_in(again->journal(), entities[0]) == one_to(3));
  again->close();
}

TEST_CASE("kafka backend: a second node fences the first", "[kafka][fencing]") {
  // Every pair of producer schemes: the node's one producer and one per partition. Each scheme
  // fences the other's ids too, so an older node (or one started with the other flag) is fenced.
  const bool a_per_partition = GENERATE(false, true);
  const bool b_per_partition = GENERATE(false, true);
  INFO("A per partition: " << a_per_partition << ", B per partition: " << b_per_partition);
  temp_dir dir("hibiki-kafka");
  auto options = kafka_test_options(dir, "a");
  options.producer_per_partition = a_per_partition;
  const std::string writer = random_id("writer");
  const entity_id entity = random_id("fenced");

  auto a = open_kafka(options);
  REQUIRE(a->journal().append(events(entity, 1, 1, writer)).ok());

  auto b_options = options;
  b_options.local.path = dir.sub("b");
  b_options.producer_per_partition = b_per_partition;
  auto b = open_kafka(b_options);  // init_transactions fences A

  const auto failed = a->journal().append(events(entity, 2, 3, "zombie"));
  CHECK(code_of(failed) == errc::unavailable);
  const auto partition = hibiki::shard_of(entity, options.partitions);
  const auto a_status = a->status();
  const auto& ps = a_status.partitions.at(static_cast<std::size_t>(partition));
  INFO("A's partition: " << ps.state << " / " << ps.last_error);
  CHECK(ps.last_error.find("fenced") != std::string::npos);
  a->close();  // before it re-fences B in the background

  auto h = b->journal().highest_seq(entity);
  REQUIRE(h.ok());
  CHECK(*h == 1);
  status st;
  CHECK(seqs_of(replay_all(b->journal(), entity, 1, max_seq, no_limit, &st)) ==
        std::vector<seq_nr>{1});
  CHECK(st.ok());
  auto committed = committed_events(options, options.partitions);
  CHECK(committed[entity] == std::vector<seq_nr>{1});
}

TEST_CASE("kafka backend refuses bad options", "[kafka][bad-input]") {
  temp_dir dir("hibiki-kafka");
  auto options = kafka_test_options(dir);

  auto no_brokers = options;
  no_brokers.brokers.clear();
  auto r = persistence::kafka_backend::open(no_brokers);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == errc::bad_request);

  auto no_partitions = options;
  no_partitions.partitions = 0;
  r = persistence::kafka_backend::open(no_partitions);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == errc::bad_request);

  auto no_topic = options;
  no_topic.topic.clear();
  r = persistence::kafka_backend::open(no_topic);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == errc::bad_request);

  auto bad_property = options;
  bad_property.extra_config.push_back({"no.such.property", "1"});
  r = persistence::kafka_backend::open(bad_property);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == errc::bad_request);

  auto no_local = options;
  no_local.local.path.clear();
  r = persistence::kafka_backend::open(no_local);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == errc::bad_request);
}

TEST_CASE("kafka backend open fails with unavailable when no broker listens",
          "[kafka][bad-input]") {
  temp_dir dir("hibiki-kafka");
  persistence::kafka_options options;
  options.brokers = "127.0.0.1:" + std::to_string(closed_port());
  options.topic = random_id("hibiki-test");
  options.local.path = dir.sub("db");
  options.request_timeout = std::chrono::milliseconds(1500);
  options.open_timeout = std::chrono::milliseconds(3000);
  auto r = persistence::kafka_backend::open(options);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == errc::unavailable);
}

TEST_CASE("kafka end offset queries give up when no broker listens", "[kafka][bad-input]") {
  // librdkafka 2.0's rd_kafka_query_watermark_offsets would wait here until a broker appears
  // (the ctest TIMEOUT would catch that); the backend's queries must answer unavailable.
  using namespace persistence::kafka;
  const connection conn{"127.0.0.1:" + std::to_string(closed_port()), {}};
  auto admin = admin_client::create(conn);
  REQUIRE(admin.ok());
  auto end = (*admin)->end_offset("hibiki-nowhere", 0, std::chrono::milliseconds(1000));
  REQUIRE_FALSE(end.ok());
  CHECK(end.error().code == errc::unavailable);
  auto ends = (*admin)->end_offsets("hibiki-nowhere", 3, std::chrono::milliseconds(1000));
  CHECK_FALSE(ends.ok());
  auto reader = partition_reader::create(conn, "hibiki-nowhere", 0, 0);
  REQUIRE(reader.ok());
  CHECK_FALSE((*reader)->end_offset(std::chrono::milliseconds(1000)).ok());
}

TEST_CASE("kafka backend rejects bad appends and counts them", "[kafka][bad-input]") {
  kafka_factory f;
  auto& j = f.journal();
  const std::string writer = random_id("writer");
  const entity_id entity = random_id("bad");

  REQUIRE(j.append(events(entity, 1, 2, writer)).ok());
  CHECK(code_of(j.append(events(entity, 2, 2, writer))) == errc::conflict);
  CHECK(code_of(j.append(events(entity, 4, 4, writer))) == errc::conflict);
  auto big = events(entity, 3, 3, writer);
  big.events[0].payload.assign(kafka_factory::max_event_bytes + 1, 1);
  CHECK(code_of(j.append(big)) == errc::too_large);
  CHECK(code_of(j.append(events("", 1, 1, writer))) == errc::bad_request);
  CHECK(code_of(j.delete_to("", 1)) == errc::bad_request);
  CHECK(code_of(j.replay("", 1, max_seq, no_limit, [](const auto&) {})) == errc::bad_request);
  CHECK_FALSE(j.highest_seq("").ok());
  auto bad_row = events(entity, 3, 3, writer);
  bad_row.rows.push_back({static_cast<read_model::table>(99), "k", std::nullopt});
  CHECK(code_of(j.append(bad_row)) == errc::bad_request);

  auto st = f.backend->status();
  CHECK(st.appends == 1);
  CHECK(st.rejected ==
        5);  // conflict x2, too_large, empty entity, unknown table (deletes are not counted)
  CHECK(st.failed == 0);

  REQUIRE(j.append(events(entity, 3, 3, writer)).ok());
  f.backend->close();
  f.backend->close();  // idempotent
  CHECK(code_of(j.append(events(entity, 4, 4, writer))) == errc::unavailable);
  CHECK(code_of(j.delete_to(entity, 1)) == errc::unavailable);
}

TEST_CASE("kafka backend: many entities pipeline appends into shared transactions",
          "[kafka][group-commit]") {
  kafka_factory f;
  auto& j = f.journal();
  const std::string writer = random_id("writer");
  constexpr int entity_count = 24, per_entity = 20;
  std::vector<entity_id> entities;
  for (int i = 0; i < entity_count; ++i) entities.push_back(random_id("pipe"));

  std::atomic<int> ok{0}, not_ok{0};
  std::promise<void> all_done;
  std::atomic<int> left{entity_count * per_entity};
  // Each entity's appends are queued back to back without waiting: the owner must chain them.
  for (int s = 1; s <= per_entity; ++s) {
    for (const auto& e : entities) {
      j.async_append(events(e, static_cast<seq_nr>(s), static_cast<seq_nr>(s), writer),
                     [&](status st) {
                       (st.ok() ? ok : not_ok)++;
                       if (--left == 0) all_done.set_value();
                     });
    }
  }
  all_done.get_future().wait();
  CHECK(ok == entity_count * per_entity);
  CHECK(not_ok == 0);
  for (const auto& e : entities) {
    status st;
    auto evs = replay_all(j, e, 1, max_seq, no_limit, &st);
    REQUIRE(st.ok());
    CHECK(evs.size() == static_cast<std::size_t>(per_entity));
  }
  // The topic holds each event exactly once.
  auto committed = committed_events(f.options, f.options.partitions);
  std::vector<seq_nr> expected;
  for (int s = 1; s <= per_entity; ++s) expected.push_back(static_cast<seq_nr>(s));
  for (const auto& e : entities) CHECK(committed[e] == expected);
}

TEST_CASE("kafka backend: after another writer, every partition catches up before it writes",
          "[kafka][fencing]") {
  // A single node's partitions share one producer. When it has to be initialised again (here:
  // B fenced it and wrote), a partition that was idle meanwhile must not write on its old
  // index: its next batch is refused, it catches up, and only then accepts writes.
  temp_dir dir("hibiki-kafka");
  auto options = kafka_test_options(dir, "a");
  const std::string writer = random_id("writer");
  const entity_id first = random_id("first");
  entity_id idle = random_id("idle");
  while (hibiki::shard_of(idle, options.partitions) == hibiki::shard_of(first, options.partitions))
    idle = random_id("idle");

  auto a = open_kafka(options);
  REQUIRE(a->journal().append(events(first, 1, 1, writer)).ok());

  auto b_options = options;
  b_options.local.path = dir.sub("b");
  {
    auto b = open_kafka(b_options);  // fences A's producer
    REQUIRE(b->journal().append(events(idle, 1, 2, "b")).ok());
    b->close();
  }
  // A finds out on its next commit, of another partition, and initialises its producer again.
  CHECK(code_of(a->journal().append(events(first, 2, 2, writer))) == errc::unavailable);

  // The idle partition's index does not have B's events: its first batch after the new
  // initialisation is refused unwritten, then it catches up.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  status appended;
  for (;;) {
    appended = a->journal().append(events(idle, 1, 1, writer));
    if (code_of(appended) != errc::unavailable || std::chrono::steady_clock::now() > until) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  INFO((appended.ok() ? std::string("ok") : appended.error().message));
  CHECK(code_of(appended) == errc::conflict);  // seq 1 is B's
  REQUIRE(a->journal().append(events(idle, 3, 3, writer)).ok());
  auto h = a->journal().highest_seq(idle);
  REQUIRE(h.ok());
  CHECK(*h == 3);
  a->close();

  auto committed = committed_events(options, options.partitions);
  CHECK(committed[idle] == std::vector<seq_nr>{1, 2, 3});
  CHECK(committed[first] == std::vector<seq_nr>{1});
}

TEST_CASE("kafka node producer: generations, stale owners, fencing of the older writers",
          "[kafka][fencing]") {
  using namespace persistence::kafka;
  temp_dir dir("hibiki-kafka");
  auto options = kafka_test_options(dir);
  const connection conn{options.brokers, {}};
  auto admin = admin_client::create(conn);
  REQUIRE(admin.ok());
  REQUIRE((*admin)->create_topic(options.topic, 2, 1, {}, std::chrono::seconds(10)).ok());
  const auto node_id = node_transactional_id(options.transactional_id_prefix, options.topic);
  const auto p1_id = partition_transactional_id(options.transactional_id_prefix, options.topic, 1);

  // Older writers, each with a transaction open: one of the node id, one of a partition id.
  std::vector<std::unique_ptr<txn_producer>> zombies;
  for (const auto& id : {node_id, p1_id}) {
    auto z = txn_producer::create(conn, id, 1 << 20, millis{0});
    REQUIRE(z.ok());
    REQUIRE((*z)->init_transactions(std::chrono::seconds(10)).ok());
    REQUIRE((*z)->begin_transaction().ok());
    const auto value =
        encode_record({record_kind::event, "zombie", 1, persistence::bytes{'z'}, {}});
    REQUIRE((*z)->produce(options.topic, 1, "zombie-" + id, value).ok());
    REQUIRE((*z)->flush(std::chrono::seconds(10)));
    zombies.push_back(std::move(*z));
  }

  node_transactions_options no;
  no.conn = conn;
  no.topic = options.topic;
  no.transactional_id = node_id;
  no.fence_also = {partition_transactional_id(options.transactional_id_prefix, options.topic, 0),
                   p1_id};
  no.message_max_bytes = 1 << 20;
  node_transactions txn(no);
  auto g = txn.ensure_generation(0);
  REQUIRE(g.ok());
  CHECK(*g == 1);
  auto again = txn.ensure_generation(0);  // already past 0: no new initialisation
  REQUIRE(again.ok());
  CHECK(*again == 1);

  // The older writers were fenced: their transactions can no longer commit.
  for (auto& z : zombies) {
    auto r = z->commit_transaction(std::chrono::seconds(10));
    CHECK_FALSE(r.ok());
  }
  zombies.clear();

  const auto value = encode_record({record_kind::event, "w", 1, persistence::bytes{'p'}, {}});
  const std::vector<outgoing_record> one{{"entity-a", value}};
  const std::vector<outgoing_record> two{{"entity-b", value}, {"entity-c", value}};
  // An owner that caught up after an older generation is left out, unwritten.
  auto stale = txn.commit(0, one, 1, 0);
  CHECK(stale.how == txn_result::ending::stale);
  auto ok0 = txn.commit(0, one, 1, 1);
  auto ok1 = txn.commit(1, two, 1, 1);
  REQUIRE(ok0.how == txn_result::ending::committed);
  REQUIRE(ok1.how == txn_result::ending::committed);
  CHECK(ok0.last_offset >= 0);
  CHECK(ok1.last_offset >= 1);  // two records

  auto g2 = txn.ensure_generation(1);  // an owner that failed at generation 1 wants a new one
  REQUIRE(g2.ok());
  CHECK(*g2 == 2);
  CHECK(txn.commit(0, one, 1, 1).how == txn_result::ending::stale);
  CHECK(txn.commit(0, one, 1, 2).how == txn_result::ending::committed);
  txn.stop();
  CHECK(txn.commit(0, one, 1, 2).how == txn_result::ending::aborted);  // closed

  // Only what the node committed is in the topic, none of the fenced writers' records.
  options.partitions = 2;
  auto committed = committed_events(options, 2);
  CHECK(committed.count("zombie-" + node_id) == 0);
  CHECK(committed.count("zombie-" + p1_id) == 0);
  CHECK(committed["entity-a"].size() == 2);
  CHECK(committed["entity-b"].size() == 1);
  CHECK(committed["entity-c"].size() == 1);
}

}  // namespace hibiki::testkit
