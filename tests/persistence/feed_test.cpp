/// The embedded backend's feed: the conformance suite (feed_conformance.hpp), and what only the
/// RocksDB feed does: offsets kept across a reopen, a failed commit giving none away, events
/// deleted by delete_to skipped, close() waking a waiting reader, and the back-fill of a
/// database written before the feed existed (also one cut short by a crash).

#include <future>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "backend_factories.hpp"
#include "hibiki/persistence/rocksdb_journal.hpp"

namespace hibiki::testkit {
using feed_backends = std::tuple<rocksdb_factory>;
}
#define HIBIKI_FEED_SUITE "rocksdb"
#include "feed_conformance.hpp"

using namespace hibiki;
using namespace hibiki::testkit;

namespace {

std::unique_ptr<persistence::rocksdb_backend> open_at(const std::string& path) {
  persistence::rocksdb_options options;
  options.path = path;
  options.sync = false;
  auto b = persistence::rocksdb_backend::open(options);
  REQUIRE(b.ok());
  return std::move(*b);
}

/// Makes the database at `path` look like one written before the feed existed: no `feed`
/// column family and no back-fill mark. With `keep_first` > 0, a back-fill cut short instead:
/// the first `keep_first` feed entries stay, the mark goes.
void forget_feed(const std::string& path, std::size_t keep_first = 0) {
  rocksdb::DBOptions db_options;
  std::vector<std::string> names;
  REQUIRE(rocksdb::DB::ListColumnFamilies(db_options, path, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& n : names) descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  REQUIRE(rocksdb::DB::Open(db_options, path, descriptors, &handles, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::ColumnFamilyHandle* feed = nullptr;
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == "feed") feed = handles[i];
  REQUIRE(feed != nullptr);
  REQUIRE(db->Delete(rocksdb::WriteOptions(), handles[0], "feed_backfilled").ok());
  if (keep_first == 0) {
    REQUIRE(db->DropColumnFamily(feed).ok());
  } else {
    std::string from(8, '\0');
    for (int i = 7, v = static_cast<int>(keep_first); i >= 0; --i, v >>= 8)
      from[i] = static_cast<char>(v & 0xff);
    REQUIRE(db->DeleteRange(rocksdb::WriteOptions(), feed, from, std::string(9, '\xff')).ok());
  }
  for (auto* h : handles) REQUIRE(db->DestroyColumnFamilyHandle(h).ok());
  REQUIRE(db->Close().ok());
}

std::vector<std::pair<entity_id, seq_nr>> keys_of(const std::vector<persistence::feed_record>& rs) {
  std::vector<std::pair<entity_id, seq_nr>> out;
  for (const auto& r : rs) out.emplace_back(r.event.entity, r.event.seq);
  return out;
}

}  // namespace

TEST_CASE("rocksdb feed: offsets are 0, 1, 2... and continue after a reopen", "[feed]") {
  temp_dir dir;
  const auto path = dir.sub("db");
  {
    auto b = open_at(path);
    REQUIRE(b->journal().append(events("room-a", 1, 3, "w")).ok());
    auto feed = b->open_feed();
    auto from = feed_start(*feed);
    auto rs = read_exactly(*feed, from, 3);
    CHECK(rs[0].offset == 0);
    CHECK(rs[2].offset == 2);
    CHECK(feed->end_positions()->at(0) == 3);
  }
  auto b = open_at(path);
  auto feed = b->open_feed();
  CHECK(feed->end_positions()->at(0) == 3);
  REQUIRE(b->journal().append(events("room-b", 1, 1, "w")).ok());
  persistence::feed_positions from{{0, 3}};
  auto rs = read_exactly(*feed, from, 1);
  CHECK(rs[0].offset == 3);
  CHECK(rs[0].event.entity == "room-b");
}

TEST_CASE("rocksdb feed: a failed commit gives away no offset", "[feed]") {
  temp_dir dir;
  auto b = open_at(dir.sub("db"));
  auto& j = dynamic_cast<persistence::rocksdb_journal&>(b->journal());
  REQUIRE(j.append(events("room-a", 1, 1, "w")).ok());
  j.fail_next_commits(1);
  CHECK(code_of(j.append(events("room-a", 2, 2, "w"))) == errc::unavailable);
  REQUIRE(j.append(events("room-a", 2, 2, "w")).ok());
  auto feed = b->open_feed();
  auto from = feed_start(*feed);
  auto rs = read_exactly(*feed, from, 2);
  CHECK(rs[0].offset == 0);
  CHECK(rs[1].offset == 1);  // not 2: the failed commit's offset was given again
  CHECK(rs[1].event.seq == 2);
}

TEST_CASE("rocksdb feed: events deleted by delete_to are skipped, and read_to moves past them",
          "[feed]") {
  temp_dir dir;
  auto b = open_at(dir.sub("db"));
  auto& j = b->journal();
  REQUIRE(j.append(events("room-a", 1, 5, "w")).ok());  // offsets 0..4
  REQUIRE(j.append(events("room-b", 1, 1, "w")).ok());  // offset 5
  REQUIRE(j.append(events("room-a", 6, 8, "w")).ok());  // offsets 6..8
  REQUIRE(j.delete_to("room-a", 8).ok());               // every room-a event gone

  auto feed = b->open_feed();
  persistence::feed_positions from{{0, 0}};
  auto rs = feed->read(from, 10, 10ms);
  REQUIRE(rs.ok());
  REQUIRE(rs->size() == 1);
  CHECK(rs->front().event.entity == "room-b");
  CHECK(rs->front().offset == 5);
  // Everything up to the end was looked at: the reader continues from there, past the gaps.
  CHECK(feed->read_to().at(0) == 9);

  // A read from inside a deleted run finds nothing and still moves past it.
  auto tail = feed->read({{0, 6}}, 10, 10ms);
  REQUIRE(tail.ok());
  CHECK(tail->empty());
  CHECK(feed->read_to().at(0) == 9);

  // A small max: read_to stops after the entries looked at.
  auto first = feed->read({{0, 0}}, 1, 10ms);
  REQUIRE(first.ok());
  REQUIRE(first->size() == 1);
  CHECK(feed->read_to().at(0) == 6);
}

TEST_CASE("rocksdb feed: close() wakes a reader waiting at the end", "[feed]") {
  temp_dir dir;
  auto b = open_at(dir.sub("db"));
  auto feed = b->open_feed();
  auto waiting = std::async(std::launch::async, [&] { return feed->read({{0, 0}}, 10, 600s); });
  b->close();
  auto got = waiting.get();  // would take 10 minutes if close() did not wake it
  REQUIRE(got.ok());
  CHECK(got->empty());
}

TEST_CASE("rocksdb feed: a database written before the feed is back-filled once on open",
          "[feed][migration]") {
  temp_dir dir;
  const auto path = dir.sub("db");
  {
    auto b = open_at(path);
    REQUIRE(b->journal().append(events("room-b", 1, 2, "w")).ok());
    REQUIRE(b->journal().append(events("room-a", 1, 3, "w")).ok());
    REQUIRE(b->journal().append(events("room-b", 3, 3, "w")).ok());
    REQUIRE(b->journal().delete_to("room-b", 1).ok());
  }
  forget_feed(path);
  {
    auto b = open_at(path);
    auto feed = b->open_feed();
    CHECK(feed->end_positions()->at(0) == 5);  // every event still in the journal, once
    auto from = feed_start(*feed);
    auto rs = read_exactly(*feed, from, 5);
    // Key order: entity by entity, each entity's events in seq order.
    using key = std::pair<entity_id, seq_nr>;
    CHECK(keys_of(rs) ==
          std::vector<key>{
              {"room-a", 1}, {"room-a", 2}, {"room-a", 3}, {"room-b", 2}, {"room-b", 3}});
    CHECK(rs.front().event.payload == payload_for("room-a", 1));
    // New events follow the back-filled ones.
    REQUIRE(b->journal().append(events("room-c", 1, 1, "w")).ok());
    auto more = read_exactly(*feed, from, 1);
    CHECK(more[0].offset == 5);
  }
  // Only once: a second open keeps the feed as it is.
  auto b = open_at(path);
  auto feed = b->open_feed();
  CHECK(feed->end_positions()->at(0) == 6);
  auto from = feed_start(*feed);
  read_exactly(*feed, from, 6, 100);
}

TEST_CASE("rocksdb feed: a back-fill cut short is done again from the start", "[feed][migration]") {
  temp_dir dir;
  const auto path = dir.sub("db");
  {
    auto b = open_at(path);
    for (int i = 0; i < 5; ++i)
      REQUIRE(b->journal().append(events("room-" + std::to_string(i), 1, 2, "w")).ok());
  }
  forget_feed(path, 4);  // 4 of the 10 entries written, no mark: as if killed mid back-fill
  auto b = open_at(path);
  auto feed = b->open_feed();
  CHECK(feed->end_positions()->at(0) == 10);
  auto from = feed_start(*feed);
  auto rs = read_exactly(*feed, from, 10, 100);
  std::set<std::pair<entity_id, seq_nr>> unique;
  for (const auto& k : keys_of(rs)) unique.insert(k);
  CHECK(unique.size() == 10);
}
