#pragma once
/// The snapshot store conformance suite, after the Akka/Pekko persistence TCK's SnapshotStoreSpec
/// (the Akka/Pekko persistence TCK's SnapshotStoreSpec, cases 1–11), plus bad inputs. Each case runs against
/// every factory in `conformance_backends` (backend_factories.hpp); include from exactly one .cpp.
///
/// Fixture: a fresh entity id per test with snapshots at seq 11..15, each with its own timestamp.

#include <map>

#include <catch2/catch.hpp>

#include "backend_factories.hpp"
#include "journal_helpers.hpp"

namespace hibiki::testkit {

template <class Factory>
struct snapshot_fixture {
  Factory factory;
  persistence::snapshot_store& store = factory.snapshots();
  entity_id entity = random_id("tck-snap");
  std::map<seq_nr, persistence::snapshot> saved;

  snapshot_fixture() {
    // Timestamps one second apart so timestamp criteria can fall between two snapshots.
    const std::int64_t base_ms = 1'700'000'000'000;
    for (seq_nr s = 11; s <= 15; ++s) {
      persistence::snapshot snap{{entity, s, base_ms + static_cast<std::int64_t>(s) * 1000},
                                 payload_of("state-" + std::to_string(s))};
      REQUIRE(store.save(snap).ok());
      saved[s] = snap;
    }
  }

  std::int64_t ts(seq_nr s) const { return saved.at(s).meta.timestamp_ms; }

  std::optional<persistence::snapshot> load(const persistence::snapshot_criteria& c) {
    auto r = store.load(entity, c);
    REQUIRE(r.ok());
    return *r;
  }
  static persistence::snapshot_criteria upto(
      seq_nr max_seq, std::int64_t max_ts = std::numeric_limits<std::int64_t>::max()) {
    persistence::snapshot_criteria c;
    c.max_seq = max_seq;
    c.max_timestamp_ms = max_ts;
    return c;
  }
};

TEMPLATE_LIST_TEST_CASE("snapshot 1: not load a snapshot given an invalid entity id",
                        "[snapshot][conformance]", conformance_backends) {
  snapshot_fixture<TestType> f;
  auto r = f.store.load(random_id("tck-none"), {});
  REQUIRE(r.ok());
  CHECK_FALSE(r->has_value());
}

TEMPLATE_LIST_TEST_CASE("snapshot 2: not load given non-matching timestamp criteria",
                        "[snapshot][conformance]", conformance_backends) {
  snapshot_fixture<TestType> f;
  CHECK_FALSE(f.load(f.upto(persistence::max_seq, f.ts(11) - 1)).has_value());
  persistence::snapshot_criteria after;
  after.min_timestamp_ms = f.ts(15) + 1;
  CHECK_FALSE(f.load(after).has_value());
}

TEMPLATE_LIST_TEST_CASE("snapshot 3: not load given non-matching sequence number criteria",
                        "[snapshot][conformance]", conformance_backends) {
  snapshot_fixture<TestType> f;
  CHECK_FALSE(f.load(f.upto(10)).has_value());
  persistence::snapshot_criteria after;
  after.min_seq = 16;
  CHECK_FALSE(f.load(after).has_value());
}

TEMPLATE_LIST_TEST_CASE("snapshot 4: load the most recent snapshot", "[snapshot][conformance]",
                        conformance_backends) {
  snapshot_fixture<TestType> f;
  auto s = f.load({});
  REQUIRE(s.has_value());
  CHECK(*s == f.saved.at(15));
}

TEMPLATE_LIST_TEST_CASE("snapshot 5: load the most recent snapshot matching an upper seq bound",
                        "[snapshot][conformance]", conformance_backends) {
  snapshot_fixture<TestType> f;
  auto s = f.load(f.upto(13));
  REQUIRE(s.has_value());
  CHECK(*s == f.saved.at(13));
}

TEMPLATE_LIST_TEST_CASE("snapshot 6: load the most recent matching upper seq and timestamp bounds",
                        "[snapshot][conformance]", conformance_backends) {
  snapshot_fixture<TestType> f;
  auto s = f.load(f.upto(13, f.ts(12)));
  REQUIRE(s.has_value());
  CHECK(*s == f.saved.at(12));
}

TEMPLATE_LIST_TEST_CASE("snapshot 7: delete a single snapshot identified by seq",
                        "[snapshot][conformance]", conformance_backends) {
  snapshot_fixture<TestType> f;
  REQUIRE(f.store.remove(f.entity, 13).ok());
  auto s = f.load(f.upto(13));
  REQUIRE(s.has_value());
  CHECK(*s == f.saved.at(12));
  CHECK(*f.load({}) == f.saved.at(15));
  // Removing what is not there is not an error.
  CHECK(f.store.remove(f.entity, 13).ok());
  CHECK(f.store.remove(random_id("tck-none"), 1).ok());
}

TEMPLATE_LIST_TEST_CASE("snapshot 8: delete all snapshots matching upper seq and timestamp bounds",
                        "[snapshot][conformance]", conformance_backends) {
  snapshot_fixture<TestType> f;
  REQUIRE(f.store.remove_matching(f.entity, f.upto(13, f.ts(13))).ok());
  CHECK_FALSE(f.load(f.upto(13)).has_value());
  auto s = f.load({});
  REQUIRE(s.has_value());
  CHECK(*s == f.saved.at(15));
  CHECK(*f.load(f.upto(14)) == f.saved.at(14));
}

TEMPLATE_LIST_TEST_CASE("snapshot 9: not delete snapshots with non-matching upper timestamp bounds",
                        "[snapshot][conformance]", conformance_backends) {
  snapshot_fixture<TestType> f;
  // Seq bound takes 11..13 but the timestamp bound stops before 13's timestamp.
  REQUIRE(f.store.remove_matching(f.entity, f.upto(13, f.ts(13) - 1)).ok());
  auto s = f.load(f.upto(13, f.ts(13)));
  REQUIRE(s.has_value());
  CHECK(*s == f.saved.at(13));
  CHECK_FALSE(f.load(f.upto(12)).has_value());
}

TEMPLATE_LIST_TEST_CASE("snapshot 10: save and overwrite a snapshot with the same seq",
                        "[snapshot][conformance]", conformance_backends) {
  snapshot_fixture<TestType> f;
  persistence::snapshot again{{f.entity, 15, f.ts(15) + 500}, payload_of("state-15-again")};
  REQUIRE(f.store.save(again).ok());
  auto s = f.load({});
  REQUIRE(s.has_value());
  CHECK(*s == again);
}

TEMPLATE_LIST_TEST_CASE("snapshot 11: save a bigger snapshot", "[snapshot][conformance]",
                        conformance_backends) {
  snapshot_fixture<TestType> f;
  persistence::snapshot big{{f.entity, 100, f.ts(15) + 1000}, {}};
  for (std::size_t i = 0; i < 20'000; ++i) big.data.push_back(static_cast<std::uint8_t>(i * 31));
  REQUIRE(f.store.save(big).ok());
  auto s = f.load({});
  REQUIRE(s.has_value());
  CHECK(*s == big);
}

TEMPLATE_LIST_TEST_CASE("snapshot: bad entity ids are refused", "[snapshot][conformance]",
                        conformance_backends) {
  snapshot_fixture<TestType> f;
  const entity_id with_nul("bad\0id", 6);
  CHECK(code_of(f.store.save({{"", 1, 1}, payload_of("x")})) == errc::bad_request);
  CHECK(code_of(f.store.save({{with_nul, 1, 1}, payload_of("x")})) == errc::bad_request);
  auto r = f.store.load(with_nul, {});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == errc::bad_request);
  CHECK(code_of(f.store.remove("", 1)) == errc::bad_request);
  CHECK(code_of(f.store.remove_matching(with_nul, {})) == errc::bad_request);
  // The fixture's snapshots are untouched by the refusals.
  CHECK(*f.load({}) == f.saved.at(15));
}

}  // namespace hibiki::testkit
