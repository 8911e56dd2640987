// Shard regions with manual time and deterministic io: passivation after idle, the LRU cap on
// live entities, and the bound on concurrent recoveries.

#include <catch2/catch.hpp>

#include "hibiki/testkit/entity_kit.hpp"
#include "hibiki/testkit/probe.hpp"

using namespace hibiki;
using namespace std::chrono_literals;
using hibiki::testkit::actor_fixture;
using hibiki::testkit::probe;
using hibiki::testkit::room_kit;

namespace {

room::create_room create(room_id r) {
  return room::create_room{account_id{1}, r, "room", "", {}, 1'700'000'000};
}

}  // namespace

TEST_CASE("region: an idle entity is passivated and comes back with the same state",
          "[region][passivation]") {
  actor_fixture fx;  // passivate_after: the 120 s default
  auto& stats = *fx.rt().room_stats;
  room_kit room(fx, entity_of(room_id{1}));
  REQUIRE_FALSE(room.run(create(room_id{1})).reply.err);
  REQUIRE_FALSE(
      room.run(room::send_message{account_id{1}, "hello", "c1", 1'700'000'001}).reply.err);
  auto before = room.state();
  CHECK(stats.live == 1);
  CHECK(stats.activations == 1);

  fx.advance_time(119s);
  CHECK(stats.live == 1);
  CHECK(stats.passivations == 0);

  fx.advance_time(2s);
  CHECK(stats.live == 0);
  CHECK(stats.passivations == 1);

  CHECK(room.state() == before);
  CHECK(stats.activations == 2);
  CHECK(stats.live == 1);
}

TEST_CASE("region: activity postpones passivation", "[region][passivation]") {
  auto options = hibiki::testkit::test_options();
  options.passivate_after = 10s;
  actor_fixture fx(options);
  auto& stats = *fx.rt().room_stats;
  room_kit room(fx, entity_of(room_id{1}));
  REQUIRE_FALSE(room.run(create(room_id{1})).reply.err);
  fx.advance_time(8s);
  REQUIRE_FALSE(room.run(room::send_message{account_id{1}, "x", "c", 0}).reply.err);
  fx.advance_time(8s);  // 16 s since activation, 8 s idle
  CHECK(stats.live == 1);
  CHECK(stats.passivations == 0);
  fx.advance_time(3s);
  CHECK(stats.live == 0);
  CHECK(stats.passivations == 1);
}

TEST_CASE("region: the least recently used entity goes when the cap is passed", "[region][lru]") {
  auto options = hibiki::testkit::test_options();
  options.max_live_entities = 2;
  actor_fixture fx(options);
  auto& stats = *fx.rt().room_stats;
  room_kit r1(fx, entity_of(room_id{1})), r2(fx, entity_of(room_id{2})),
      r3(fx, entity_of(room_id{3}));
  REQUIRE_FALSE(r1.run(create(room_id{1})).reply.err);
  REQUIRE_FALSE(r2.run(create(room_id{2})).reply.err);
  CHECK(stats.live == 2);
  CHECK(stats.passivations == 0);

  REQUIRE_FALSE(r3.run(create(room_id{3})).reply.err);
  CHECK(stats.live == 2);
  CHECK(stats.passivations == 1);  // r1, the least recently used
  CHECK(stats.activations == 3);

  // r2 and r3 are live: using them activates nothing. r3 then r2 makes r3 the LRU one.
  CHECK(r3.state().created);
  CHECK(r2.state().created);
  CHECK(stats.activations == 3);

  // r1 comes back (recovered, still created) and pushes out r3.
  CHECK(r1.state().created);
  CHECK(stats.activations == 4);
  CHECK(stats.passivations == 2);
  CHECK(r2.state().created);
  CHECK(stats.activations == 4);
  CHECK(r3.state().created);
  CHECK(stats.activations == 5);
  CHECK(stats.live == 2);
}

TEST_CASE("region: commands for a passivating entity are not lost", "[region][passivation]") {
  auto options = hibiki::testkit::test_options();
  options.max_live_entities = 1;
  actor_fixture fx(options);
  probe p(fx);
  // Interleave two rooms without running in between: each activation passivates the other
  // while commands for it are still on their way.
  for (int round = 0; round < 3; ++round) {
    for (std::uint64_t r = 1; r <= 2; ++r) {
      room::command cmd = round == 0 ? room::command{create(room_id{r})}
                                     : room::command{room::send_message{
                                           account_id{1}, "m", "c" + std::to_string(round), 0}};
      caf::anon_send(fx.ctx().rooms,
                     actors::entity_command<room::command>{entity_of(room_id{r}), cmd, p.reply()});
    }
  }
  for (int i = 0; i < 6; ++i) {
    auto r = p.expect<actors::command_reply>();
    CHECK_FALSE(r.err);
  }
  p.expect_no_message();
  room_kit r1(fx, entity_of(room_id{1}));
  CHECK(r1.state().messages.size() == 2);
}

TEST_CASE("region: at most max_concurrent_recoveries recover at once", "[region][recovery]") {
  auto options = hibiki::testkit::test_options();
  options.max_concurrent_recoveries = 2;
  actor_fixture fx(options);
  fx.auto_io = false;
  auto& gate = *fx.rt().gate;
  probe p(fx);
  for (std::uint64_t r = 1; r <= 5; ++r)
    caf::anon_send(fx.ctx().rooms, actors::entity_command<room::command>{
                                       entity_of(room_id{r}), create(room_id{r}), p.reply()});
  fx.run();
  CHECK(fx.io().pending() == 2);  // two recoveries posted, three entities wait for a permit
  CHECK(gate.running == 2);
  CHECK(gate.waiting == 3);
  CHECK(p.size() == 0);

  std::size_t recovered = 0;
  while (fx.io().run_one()) {
    ++recovered;
    fx.run();
    CHECK(fx.io().pending() <= 2);
    CHECK(gate.running <= 2);
  }
  CHECK(recovered == 5);
  CHECK(gate.peak == 2);
  CHECK(gate.running == 0);
  for (int i = 0; i < 5; ++i) CHECK_FALSE(p.expect<actors::command_reply>().err);
}
