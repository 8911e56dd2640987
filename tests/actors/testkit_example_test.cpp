// The examples of tests/testkit/README.md, compiled and run so the README cannot rot.

#include <catch2/catch.hpp>

#include "hibiki/testkit/entity_kit.hpp"
#include "hibiki/testkit/probe.hpp"

TEST_CASE("testkit example: a room survives passivation", "[testkit]") {
  hibiki::testkit::actor_fixture fx;
  hibiki::testkit::room_kit room(fx, hibiki::entity_of(hibiki::room_id{1}));
  auto created = room.run(hibiki::room::create_room{
      hibiki::account_id{1}, hibiki::room_id{1}, "general", "", {}, fx.now});
  REQUIRE_FALSE(created.reply.err);
  REQUIRE(created.events.size() == 1);
  auto before = room.state();
  fx.advance_time(std::chrono::minutes(3));  // idle → passivated
  CHECK(fx.rt().room_stats->passivations == 1);
  CHECK(room.state() == before);  // reactivated from storage
}

TEST_CASE("testkit example: replies wait for the journal", "[testkit]") {
  hibiki::testkit::actor_fixture fx;
  fx.auto_journal = false;
  hibiki::testkit::probe p(fx);
  caf::anon_send(fx.ctx().ids, hibiki::actors::entity_command<hibiki::actors::id_command>{
                                   "ids-room", hibiki::actors::allocate_id{}, p.reply()});
  p.expect_no_message();
  fx.journal().complete_next();
  CHECK(p.expect<hibiki::actors::command_reply>().fields["id"] == 1);
}

TEST_CASE("testkit: a probe reports an unexpected or missing message", "[testkit]") {
  hibiki::testkit::actor_fixture fx;
  hibiki::testkit::probe p(fx);
  CHECK_THROWS_AS(p.expect<hibiki::actors::command_reply>(), hibiki::testkit::expectation_failed);
  caf::anon_send(p.handle(), std::string("not a reply"));
  CHECK_THROWS_AS(p.expect_no_message(), hibiki::testkit::expectation_failed);
  CHECK_THROWS_AS(p.expect<hibiki::actors::command_reply>(), hibiki::testkit::expectation_failed);
  p.expect_no_message();
}

TEST_CASE("testkit: the id allocator hands out dense ids that survive a restart", "[testkit]") {
  hibiki::testkit::actor_fixture fx;
  hibiki::testkit::entity_kit<hibiki::actors::id_traits> ids(fx, "ids-room");
  CHECK(ids.run(hibiki::actors::allocate_id{}).reply.fields["id"] == 1);
  CHECK(ids.run(hibiki::actors::allocate_id{}).reply.fields["id"] == 2);
  CHECK(ids.run(hibiki::actors::peek_ids{}).reply.fields["highest"] == 2);
  ids.restart();
  CHECK(ids.state().highest == 2);
  CHECK(ids.run(hibiki::actors::allocate_id{}).reply.fields["id"] == 3);
}
