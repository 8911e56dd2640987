/// The mock broker goes down under a breaker_journal on the Kafka backend (real steady clock):
/// appends are answered `unavailable` (never left hanging), the breaker opens and then fails fast,
/// reads of entities on untouched partitions keep working; when the broker is back the breaker
/// closes by itself on the first successful trial append.

#include <future>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "hibiki/persistence/breaker_journal.hpp"
#include "mock_cluster.hpp"

using namespace hibiki;
using namespace hibiki::testkit;
using persistence::kafka_backend;

namespace {

bool contiguous_from_one(const std::vector<persistence::persisted_event>& evs) {
  for (std::size_t i = 0; i < evs.size(); ++i) {
    if (evs[i].seq != i + 1) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("broker down opens the breaker while reads keep working then broker up closes it",
          "[kafka]") {
  temp_dir dir("hibiki-kafka-faults");
  mock_cluster cluster;
  const auto topic = random_id("journal");
  cluster.create_topic(topic, 4);
  auto opened = open_ok(mock_options(cluster, topic, dir));
  auto& backend = *opened;
  const auto partitions = backend.status().partition_count;
  REQUIRE(partitions == 4);
  const auto writer = entity_on(0, partitions, "written");
  const auto reader = entity_on(2, partitions, "read");

  hibiki::breaker_options bo;
  bo.max_failures = 2;
  bo.call_timeout = std::chrono::milliseconds(1'500);
  bo.reset_timeout = std::chrono::milliseconds(1'000);
  persistence::breaker_journal j(backend.journal(), bo);

  REQUIRE(code_of(append_bounded(j, events(reader, 1, 2, "w"))) == errc::ok);
  REQUIRE(code_of(append_bounded(j, events(writer, 1, 1, "w"))) == errc::ok);
  CHECK(j.state() == breaker_state::closed);

  cluster.set_down();

  // Every append is answered unavailable. After max_failures of them the breaker is open and the
  // next ones fail fast without reaching Kafka. (Once reset_timeout has passed a call may be the
  // half-open trial, which fails too and opens the breaker again, so keep going until a fail-fast
  // answer was seen, bounded.)
  int answered = 0;
  bool saw_fail_fast = false;
  for (int i = 0; i < 20 && !saw_fail_fast; ++i) {
    const auto s = append_bounded(j, events(writer, 2, 2, "w"));
    ++answered;
    REQUIRE(code_of(s) == errc::unavailable);
    saw_fail_fast = s.error().message.find("circuit breaker is open") != std::string::npos;
  }
  INFO("appends answered while down: " << answered);
  CHECK(saw_fail_fast);
  CHECK(answered > static_cast<int>(bo.max_failures));
  CHECK(j.state() != breaker_state::closed);
  CHECK(j.consecutive_failures() >= bo.max_failures);

  // Reads pass straight through the breaker and the untouched partition still serves them.
  auto h = j.highest_seq(reader);
  REQUIRE(h.ok());
  CHECK(*h == 2);
  status st;
  const auto evs = replay_all(j, reader, 1, persistence::max_seq, 100, &st);
  REQUIRE(st.ok());
  CHECK(seqs_of(evs) == std::vector<seq_nr>{1, 2});
  CHECK(evs[1].payload == payload_for(reader, 2));

  // status() asks the broker but is bounded; it must come back while the broker is down.
  auto status_fut = std::async(std::launch::async, [&] { return backend.status(); });
  REQUIRE(status_fut.wait_for(answer_bound) == std::future_status::ready);
  const auto js = status_fut.get();
  CHECK(js.kind == "kafka");
  CHECK(js.failed >= 1);

  cluster.set_up();

  // The breaker lets one trial through after reset_timeout; the written partition may first have
  // to re-fence and catch up, so trials fail until it has. The first success closes the breaker.
  // An append that timed out while down may have been committed late (the breaker then dropped
  // its answer): the entity's highest seq tells where to continue.
  status last;
  seq_nr stored_seq = 0;
  const bool recovered = eventually([&] {
    auto high = j.highest_seq(writer);
    if (!high) return false;
    stored_seq = *high + 1;
    last = append_bounded(j, events(writer, stored_seq, stored_seq, "w"));
    return last.ok();
  });
  INFO("last answer: " << (last.ok() ? std::string("ok") : last.error().message));
  REQUIRE(recovered);
  CHECK(j.state() == breaker_state::closed);
  CHECK(j.consecutive_failures() == 0);

  const auto written = replay_when_readable(j, writer);
  CHECK(contiguous_from_one(written));
  REQUIRE(written.size() == stored_seq);
  CHECK(written.back().payload == payload_for(writer, stored_seq));
  CHECK(written.front().payload == payload_for(writer, 1));
  // Appends after recovery go through without waiting for another reset.
  REQUIRE(code_of(append_bounded(j, events(writer, stored_seq + 1, stored_seq + 1, "w"))) ==
          errc::ok);
  REQUIRE(code_of(append_bounded(j, events(reader, 3, 3, "w"))) == errc::ok);
  j.close();
  backend.close();
}

TEST_CASE("appends queued when the broker goes down are all answered", "[kafka]") {
  temp_dir dir("hibiki-kafka-faults");
  mock_cluster cluster;
  const auto topic = random_id("journal");
  cluster.create_topic(topic, 4);
  auto opened = open_ok(mock_options(cluster, topic, dir));
  auto& backend = *opened;
  auto& j = backend.journal();

  // Many entities on every partition, appended at once without waiting, while the broker drops:
  // each callback runs exactly once, with ok or unavailable, and what was acknowledged is there.
  constexpr int n = 64;
  std::vector<entity_id> ids;
  std::vector<std::shared_ptr<std::promise<status>>> answers;
  for (int i = 0; i < n; ++i) {
    ids.push_back(random_id("burst"));
    answers.push_back(std::make_shared<std::promise<status>>());
  }
  for (int i = 0; i < n; ++i) {
    if (i == n / 4) cluster.set_down();
    j.async_append(events(ids[i], 1, 1, "w"),
                   [p = answers[i]](status s) { p->set_value(std::move(s)); });
  }
  std::vector<errc> codes;
  for (auto& p : answers) {
    auto fut = p->get_future();
    REQUIRE(fut.wait_for(answer_bound) == std::future_status::ready);
    codes.push_back(code_of(fut.get()));
  }
  for (auto c : codes) CHECK((c == errc::ok || c == errc::unavailable));

  cluster.set_up();
  for (int i = 0; i < n; ++i) {
    const auto h = highest_when_readable(j, ids[i]);
    REQUIRE(h.has_value());
    if (codes[i] == errc::ok) CHECK(*h == 1);  // acknowledged: never lost
    CHECK(*h <= 1);                            // never stored twice
  }
  backend.close();
  // After close, appends are answered unavailable, not dropped.
  CHECK(code_of(append_bounded(j, events(ids[0], 2, 2, "w"))) == errc::unavailable);
}
