#pragma once
/// The journal conformance suite, after the Akka/Pekko persistence TCK's JournalSpec (cases 1–16)
/// plus hibiki's single-writer, atomic-batch and bad-event cases (17–19). Each case runs against every factory in
/// `conformance_backends` (backend_factories.hpp); include this header from exactly one .cpp.
///
/// Fixture: a fresh entity id per test and a random writer id; events 1..5 are written first, 1–3
/// one append each and 4–5 in one atomic append.

#include <catch2/catch.hpp>

#include "backend_factories.hpp"
#include "journal_helpers.hpp"

namespace hibiki::testkit {

template <class Factory>
struct journal_fixture {
  Factory factory;
  persistence::journal& journal = factory.journal();
  entity_id entity = random_id("tck-entity");
  std::string writer = random_id("writer");

  journal_fixture() {
    for (seq_nr s = 1; s <= 3; ++s) REQUIRE(journal.append(events(entity, s, s, writer)).ok());
    REQUIRE(journal.append(events(entity, 4, 5, writer)).ok());
  }

  std::vector<seq_nr> replay(seq_nr from, seq_nr to, std::uint64_t max) {
    status st;
    auto evs = replay_all(journal, entity, from, to, max, &st);
    REQUIRE(st.ok());
    return seqs_of(evs);
  }
  seq_nr highest() {
    auto h = journal.highest_seq(entity);
    REQUIRE(h.ok());
    return *h;
  }
};

using seqs = std::vector<seq_nr>;
using persistence::max_seq;
inline constexpr std::uint64_t no_limit = std::numeric_limits<std::uint64_t>::max();

TEMPLATE_LIST_TEST_CASE("journal 1: replay all messages", "[journal][conformance]",
                        conformance_backends) {
  journal_fixture<TestType> f;
  status st;
  auto evs = replay_all(f.journal, f.entity, 1, max_seq, no_limit, &st);
  REQUIRE(st.ok());
  REQUIRE(seqs_of(evs) == seqs{1, 2, 3, 4, 5});
  for (const auto& e : evs) {
    CHECK(e ==
          persistence::persisted_event{f.entity, e.seq, f.writer, payload_for(f.entity, e.seq)});
  }
  CHECK(f.highest() == 5);
}

TEMPLATE_LIST_TEST_CASE("journal 2: replay using a lower sequence number bound",
                        "[journal][conformance]", conformance_backends) {
  journal_fixture<TestType> f;
  CHECK(f.replay(3, max_seq, no_limit) == seqs{3, 4, 5});
}

TEMPLATE_LIST_TEST_CASE("journal 3: replay using an upper sequence number bound",
                        "[journal][conformance]", conformance_backends) {
  journal_fixture<TestType> f;
  CHECK(f.replay(1, 3, no_limit) == seqs{1, 2, 3});
}

TEMPLATE_LIST_TEST_CASE("journal 4: replay using a count limit", "[journal][conformance]",
                        conformance_backends) {
  journal_fixture<TestType> f;
  CHECK(f.replay(1, max_seq, 3) == seqs{1, 2, 3});
}

TEMPLATE_LIST_TEST_CASE("journal 5: replay using a lower and upper bound", "[journal][conformance]",
                        conformance_backends) {
  journal_fixture<TestType> f;
  CHECK(f.replay(2, 3, no_limit) == seqs{2, 3});
}

TEMPLATE_LIST_TEST_CASE("journal 6: replay using lower and upper bounds and a count limit",
                        "[journal][conformance]", conformance_backends) {
  journal_fixture<TestType> f;
  CHECK(f.replay(2, 5, 3) == seqs{2, 3, 4});
}

TEMPLATE_LIST_TEST_CASE("journal 7: replay a single message if lower bound equals upper bound",
                        "[journal][conformance]", conformance_backends) {
  journal_fixture<TestType> f;
  CHECK(f.replay(2, 2, no_limit) == seqs{2});
}

TEMPLATE_LIST_TEST_CASE("journal 8: replay a single message if count limit equals 1",
                        "[journal][conformance]", conformance_backends) {
  journal_fixture<TestType> f;
  CHECK(f.replay(2, max_seq, 1) == seqs{2});
}

TEMPLATE_LIST_TEST_CASE("journal 9: not replay messages if count limit equals 0",
                        "[journal][conformance]", conformance_backends) {
  journal_fixture<TestType> f;
  CHECK(f.replay(2, max_seq, 0).empty());
}

TEMPLATE_LIST_TEST_CASE("journal 10: not replay messages if lower bound is greater than upper",
                        "[journal][conformance]", conformance_backends) {
  journal_fixture<TestType> f;
  CHECK(f.replay(3, 2, no_limit).empty());
}

TEMPLATE_LIST_TEST_CASE("journal 11: not replay messages of an entity that wrote none",
                        "[journal][conformance]", conformance_backends) {
  journal_fixture<TestType> f;
  const auto other = random_id("tck-unknown");
  status st;
  CHECK(replay_all(f.journal, other, 1, max_seq, no_limit, &st).empty());
  CHECK(st.ok());
  auto h = f.journal.highest_seq(other);
  REQUIRE(h.ok());
  CHECK(*h == 0);
}

TEMPLATE_LIST_TEST_CASE("journal 12: not replay permanently deleted messages",
                        "[journal][conformance]", conformance_backends) {
  journal_fixture<TestType> f;
  REQUIRE(f.journal.delete_to(f.entity, 3).ok());
  CHECK(f.replay(1, max_seq, no_limit) == seqs{4, 5});
  // A second, smaller delete changes nothing.
  REQUIRE(f.journal.delete_to(f.entity, 2).ok());
  CHECK(f.replay(1, max_seq, no_limit) == seqs{4, 5});
}

TEMPLATE_LIST_TEST_CASE("journal 13: not reset highest sequence number after deletion",
                        "[journal][conformance]", conformance_backends) {
  journal_fixture<TestType> f;
  REQUIRE(f.journal.delete_to(f.entity, 3).ok());
  CHECK(f.highest() == 5);
}

TEMPLATE_LIST_TEST_CASE("journal 14: not reset highest sequence number after journal cleanup",
                        "[journal][conformance]", conformance_backends) {
  journal_fixture<TestType> f;
  REQUIRE(f.journal.delete_to(f.entity, max_seq).ok());
  CHECK(f.replay(1, max_seq, no_limit).empty());
  CHECK(f.highest() == 5);
  // The entity carries on from where it was, not from 1.
  CHECK(code_of(f.journal.append(events(f.entity, 1, 1, f.writer))) == errc::conflict);
  REQUIRE(f.journal.append(events(f.entity, 6, 6, f.writer)).ok());
  CHECK(f.replay(1, max_seq, no_limit) == seqs{6});
}

TEMPLATE_LIST_TEST_CASE("journal 15: replay surviving messages when from equals last deleted seq",
                        "[journal][conformance]", conformance_backends) {
  journal_fixture<TestType> f;
  REQUIRE(f.journal.delete_to(f.entity, 3).ok());
  CHECK(f.replay(3, max_seq, no_limit) == seqs{4, 5});
}

TEMPLATE_LIST_TEST_CASE("journal 16: only recovery success when the upper bound is deleted",
                        "[journal][conformance]", conformance_backends) {
  journal_fixture<TestType> f;
  REQUIRE(f.journal.delete_to(f.entity, 3).ok());
  CHECK(f.replay(1, 2, no_limit).empty());
  CHECK(f.highest() == 5);
}

TEMPLATE_LIST_TEST_CASE("journal 17: reject an append whose seq is not highest+1",
                        "[journal][conformance]", conformance_backends) {
  journal_fixture<TestType> f;
  CHECK(code_of(f.journal.append(events(f.entity, 5, 5, f.writer))) == errc::conflict);
  CHECK(code_of(f.journal.append(events(f.entity, 7, 7, f.writer))) == errc::conflict);
  CHECK(code_of(f.journal.append(events(f.entity, 1, 3, f.writer))) == errc::conflict);
  auto gap = events(f.entity, 6, 7, f.writer);
  gap.events[1].seq = 8;  // 6, 8: not consecutive
  CHECK(code_of(f.journal.append(gap)) == errc::conflict);
  CHECK(f.highest() == 5);
  CHECK(f.replay(1, max_seq, no_limit) == seqs{1, 2, 3, 4, 5});
  // The right seq still goes through after the refusals.
  REQUIRE(f.journal.append(events(f.entity, 6, 7, f.writer)).ok());
  CHECK(f.highest() == 7);
}

TEMPLATE_LIST_TEST_CASE("journal 18: an atomic batch is all-or-nothing", "[journal][conformance]",
                        conformance_backends) {
  journal_fixture<TestType> f;
  auto batch = events(f.entity, 6, 8, f.writer);
  batch.events[1].payload.assign(TestType::max_event_bytes + 1, 0x42);  // the middle one fails
  CHECK(code_of(f.journal.append(batch)) == errc::too_large);
  CHECK(f.replay(1, max_seq, no_limit) == seqs{1, 2, 3, 4, 5});
  CHECK(f.replay(6, max_seq, no_limit).empty());
  CHECK(f.highest() == 5);
  // The same seqs are still free.
  REQUIRE(f.journal.append(events(f.entity, 6, 8, f.writer)).ok());
  CHECK(f.replay(6, max_seq, no_limit) == seqs{6, 7, 8});
}

TEMPLATE_LIST_TEST_CASE("journal 19: reject oversized or empty events, journal still usable",
                        "[journal][conformance]", conformance_backends) {
  journal_fixture<TestType> f;
  auto big = events(f.entity, 6, 6, f.writer);
  big.events[0].payload.assign(TestType::max_event_bytes + 1, 0x42);
  CHECK(code_of(f.journal.append(big)) == errc::too_large);

  auto empty = events(f.entity, 6, 6, f.writer);
  empty.events[0].payload.clear();
  CHECK(code_of(f.journal.append(empty)) == errc::bad_request);

  persistence::append_request nothing{f.entity, {}, {}};
  CHECK(code_of(f.journal.append(nothing)) == errc::bad_request);

  CHECK(code_of(f.journal.append(events("", 1, 1, f.writer))) == errc::bad_request);
  const entity_id with_nul("bad\0id", 6);
  CHECK(code_of(f.journal.append(events(with_nul, 1, 1, f.writer))) == errc::bad_request);
  CHECK(code_of(f.journal.replay(with_nul, 1, max_seq, no_limit, [](const auto&) {})) ==
        errc::bad_request);
  CHECK_FALSE(f.journal.highest_seq("").ok());
  CHECK(code_of(f.journal.delete_to("", 1)) == errc::bad_request);

  auto wrong_entity = events(f.entity, 6, 6, f.writer);
  wrong_entity.events[0].entity = f.entity + "-other";
  CHECK(code_of(f.journal.append(wrong_entity)) == errc::bad_request);

  // An event exactly at the limit is fine, and the journal goes on as if nothing happened.
  auto at_limit = events(f.entity, 6, 6, f.writer);
  at_limit.events[0].payload.assign(TestType::max_event_bytes, 0x42);
  REQUIRE(f.journal.append(at_limit).ok());
  REQUIRE(f.journal.append(events(f.entity, 7, 7, f.writer)).ok());
  CHECK(f.replay(1, max_seq, no_limit) == seqs{1, 2, 3, 4, 5, 6, 7});
}

}  // namespace hibiki::testkit
