#pragma once
/// The event feed conformance suite (event_feed.hpp): every case runs against every factory in
/// `feed_backends`, which the including .cpp defines (a tuple of factories like those of
/// backend_factories.hpp, with a `backend` member: a unique_ptr to a fresh, empty backend).
/// Include this header from exactly one .cpp per list, after defining HIBIKI_FEED_SUITE (a string
/// literal naming the backend, e.g. "rocksdb"): it starts every case's name, so the names stay
/// unique across test binaries (CTest runs tests by name).

#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "hibiki/persistence/backend.hpp"
#include "journal_helpers.hpp"

namespace hibiki::testkit {

using namespace std::chrono_literals;

/// Every partition of `feed` at offset 0.
inline persistence::feed_positions feed_start(persistence::event_feed& feed) {
  auto parts = feed.partitions();
  REQUIRE(parts.ok());
  persistence::feed_positions from;
  for (auto p : *parts) from[p] = 0;
  return from;
}

/// Reads from `from` until `expected` records came (each read waits up to 10 s; an empty read
/// ends it early), moving `from` along with the records and read_to(). Then one more short read
/// must find nothing: the feed holds no extra record.
inline std::vector<persistence::feed_record> read_exactly(persistence::event_feed& feed,
                                                          persistence::feed_positions& from,
                                                          std::size_t expected,
                                                          std::size_t max = 7) {
  std::vector<persistence::feed_record> out;
  auto advance = [&](const std::vector<persistence::feed_record>& batch) {
    for (const auto& r : batch) from[r.partition] = std::max(from[r.partition], r.offset + 1);
    for (const auto& [p, o] : feed.read_to())
      if (from.contains(p)) from[p] = std::max(from[p], o);
  };
  while (out.size() < expected) {
    auto batch = feed.read(from, max, 10s);
    REQUIRE(batch.ok());
    if (batch->empty()) break;
    CHECK(batch->size() <= max);
    out.insert(out.end(), batch->begin(), batch->end());
    advance(*batch);
  }
  REQUIRE(out.size() == expected);
  auto more = feed.read(from, max, 100ms);
  REQUIRE(more.ok());
  CHECK(more->empty());
  advance(*more);
  return out;
}

/// Appends `rounds` rounds over `entities`, one append of two events per entity and round, one
/// append at a time; returns the events in the order they were acknowledged.
inline std::vector<persistence::persisted_event> append_rounds(
    persistence::journal& j, const std::vector<entity_id>& entities, int rounds,
    const std::string& writer) {
  std::vector<persistence::persisted_event> acked;
  for (int r = 0; r < rounds; ++r) {
    for (const auto& e : entities) {
      auto req = events(e, 2 * r + 1, 2 * r + 2, writer);
      REQUIRE(j.append(req).ok());
      acked.insert(acked.end(), req.events.begin(), req.events.end());
    }
  }
  return acked;
}

TEMPLATE_LIST_TEST_CASE(HIBIKI_FEED_SUITE
                        " feed: every appended event appears exactly once, in durable order",
                        "[feed]", feed_backends) {
  TestType f;
  auto feed = f.backend->open_feed();
  REQUIRE(feed);
  const std::string writer = random_id("writer");
  std::vector<entity_id> entities;
  for (int i = 0; i < 6; ++i) entities.push_back(random_id("feed-entity"));
  const auto acked = append_rounds(f.backend->journal(), entities, 5, writer);

  auto from = feed_start(*feed);
  const auto records = read_exactly(*feed, from, acked.size());

  std::set<std::pair<entity_id, seq_nr>> seen;
  std::map<std::int32_t, std::int64_t> last_offset;
  std::map<std::int32_t, std::vector<std::pair<entity_id, seq_nr>>> order_by_partition;
  for (const auto& r : records) {
    CHECK(seen.emplace(r.event.entity, r.event.seq).second);  // never twice
    if (auto it = last_offset.find(r.partition); it != last_offset.end())
      CHECK(r.offset > it->second);  // offset order within a partition
    last_offset[r.partition] = r.offset;
    CHECK(r.event.writer == writer);
    CHECK(r.event.payload == payload_for(r.event.entity, r.event.seq));
    order_by_partition[r.partition].emplace_back(r.event.entity, r.event.seq);
  }
  for (const auto& ev : acked) CHECK(seen.contains({ev.entity, ev.seq}));
  // Appends acknowledged one after another are in that order in their partition.
  for (const auto& [p, order] : order_by_partition) {
    std::vector<std::pair<entity_id, seq_nr>> expected;
    for (const auto& ev : acked) {
      if (std::find(order.begin(), order.end(), std::pair{ev.entity, ev.seq}) != order.end())
        expected.emplace_back(ev.entity, ev.seq);
    }
    CHECK(order == expected);
  }

  // A second reader sees the same records.
  auto other = f.backend->open_feed();
  auto from2 = feed_start(*other);
  const auto again = read_exactly(*other, from2, acked.size(), 1000);
  REQUIRE(again.size() == records.size());
  for (std::size_t i = 0; i < again.size(); ++i) {
    // Across partitions the interleaving may differ; per record, where it sits may not.
    auto it = std::find_if(records.begin(), records.end(), [&](const auto& r) {
      return r.partition == again[i].partition && r.offset == again[i].offset;
    });
    REQUIRE(it != records.end());
    CHECK(it->event == again[i].event);
  }
}

TEMPLATE_LIST_TEST_CASE(HIBIKI_FEED_SUITE " feed: a read covers only the partitions it names",
                        "[feed]", feed_backends) {
  TestType f;
  auto feed = f.backend->open_feed();
  auto parts = feed->partitions();
  REQUIRE(parts.ok());
  REQUIRE_FALSE(parts->empty());
  CHECK(std::is_sorted(parts->begin(), parts->end()));
  std::vector<entity_id> entities;
  for (int i = 0; i < 12; ++i) entities.push_back(random_id("part-entity"));
  const auto acked = append_rounds(f.backend->journal(), entities, 1, random_id("w"));

  auto all = feed_start(*feed);
  const auto records = read_exactly(*feed, all, acked.size(), 100);
  std::map<std::int32_t, std::size_t> per_partition;
  for (const auto& r : records) ++per_partition[r.partition];

  const std::int32_t first = parts->front();
  auto reader = f.backend->open_feed();
  persistence::feed_positions only{{first, 0}};
  const auto mine = read_exactly(*reader, only, per_partition[first], 100);
  for (const auto& r : mine) CHECK(r.partition == first);

  // Nothing is read when no partition is named; an unknown partition is refused.
  auto none = reader->read({}, 100, 10ms);
  REQUIRE(none.ok());
  CHECK(none->empty());
  auto unknown = reader->read({{parts->back() + 1000, 0}}, 100, 10ms);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == errc::bad_request);
  auto negative = reader->read({{first, -5}}, 100, 10ms);
  REQUIRE_FALSE(negative.ok());
  CHECK(negative.error().code == errc::bad_request);
}

TEMPLATE_LIST_TEST_CASE(HIBIKI_FEED_SUITE
                        " feed: end positions, and a read at the end waits for the next event",
                        "[feed]", feed_backends) {
  TestType f;
  auto feed = f.backend->open_feed();
  auto& j = f.backend->journal();
  const std::string writer = random_id("w");
  const entity_id entity = random_id("end-entity");
  REQUIRE(j.append(events(entity, 1, 3, writer)).ok());

  auto ends = feed->end_positions();
  REQUIRE(ends.ok());
  auto parts = feed->partitions();
  REQUIRE(parts.ok());
  CHECK(ends->size() == parts->size());
  auto from = feed_start(*feed);
  const auto first = read_exactly(*feed, from, 3);
  // Every record read sits below its partition's end.
  for (const auto& r : first) CHECK(r.offset < ends->at(r.partition));

  // From the end: nothing within the wait.
  auto at_end = *ends;
  auto empty = feed->read(at_end, 10, 50ms);
  REQUIRE(empty.ok());
  CHECK(empty->empty());

  // A reader waiting at the end gets the next event when it is appended.
  auto waiting = std::async(std::launch::async, [&] { return feed->read(at_end, 10, 30s); });
  REQUIRE(j.append(events(entity, 4, 4, writer)).ok());
  auto got = waiting.get();
  REQUIRE(got.ok());
  REQUIRE(got->size() == 1);
  CHECK(got->front().event.seq == 4);
  CHECK(got->front().offset >= at_end.at(got->front().partition));

  auto later = feed->end_positions();
  REQUIRE(later.ok());
  std::int64_t grown = 0;
  for (const auto& [p, e] : *later) grown += e - ends->at(p);
  CHECK(grown >= 1);
}

TEMPLATE_LIST_TEST_CASE(HIBIKI_FEED_SUITE " feed: bad reads", "[feed]", feed_backends) {
  TestType f;
  auto feed = f.backend->open_feed();
  auto from = feed_start(*feed);
  REQUIRE(f.backend->journal().append(events(random_id("bad-entity"), 1, 1, "w")).ok());
  // max 0 reads nothing, and moves nothing.
  auto zero = feed->read(from, 0, 10ms);
  REQUIRE(zero.ok());
  CHECK(zero->empty());
  // A refused append leaves nothing in the feed.
  auto refused = events(random_id("bad-entity"), 5, 5, "w");  // seq 5 without 1..4: conflict
  CHECK(code_of(f.backend->journal().append(refused)) == errc::conflict);
  read_exactly(*feed, from, 1);
}

}  // namespace hibiki::testkit
