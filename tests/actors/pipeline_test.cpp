// The entity's write pipeline with a deferred journal: several appends in flight at once,
// replies strictly in order after each ack, a failed append failing everything after it and
// forcing a recovery, and a duplicate send answered only after the appends before it.

#include <catch2/catch.hpp>

#include "hibiki/testkit/entity_kit.hpp"
#include "hibiki/testkit/probe.hpp"

using namespace hibiki;
using hibiki::actors::command_reply;
using hibiki::testkit::actor_fixture;
using hibiki::testkit::probe;
using hibiki::testkit::room_kit;

namespace {

const account_id alice{1};

void post(actor_fixture& fx, probe& p, std::string client_msg_id) {
  caf::anon_send(
      fx.ctx().rooms,
      actors::entity_command<room::command>{
          entity_of(room_id{1}),
          room::send_message{alice, "body " + client_msg_id, client_msg_id, 0}, p.reply()});
}

void create_room(room_kit& room) {
  REQUIRE_FALSE(
      room.run(room::create_room{alice, room_id{1}, "r", "", {}, 1'700'000'000}).reply.err);
}

}  // namespace

TEST_CASE("pipeline: appends overlap and replies follow the acks in order", "[pipeline]") {
  actor_fixture fx;
  room_kit room(fx, entity_of(room_id{1}));
  create_room(room);
  fx.auto_journal = false;
  probe p(fx);
  post(fx, p, "a");
  post(fx, p, "b");
  post(fx, p, "c");
  fx.run();
  CHECK(fx.journal().pending() == 3);  // all three decided and appended before any ack
  p.expect_no_message();               // nothing is answered before it is durable

  fx.journal().complete_next();
  auto r1 = p.expect<command_reply>();
  CHECK(r1.fields["message_id"] == "1");
  p.expect_no_message();
  fx.journal().complete_next();
  fx.journal().complete_next();
  CHECK(p.expect<command_reply>().fields["message_id"] == "2");
  CHECK(p.expect<command_reply>().fields["message_id"] == "3");
}

TEST_CASE("pipeline: a failed append fails every later one / then the entity recovers",
          "[pipeline][failure]") {
  actor_fixture fx;
  room_kit room(fx, entity_of(room_id{1}));
  create_room(room);
  fx.auto_journal = false;
  probe p(fx);
  post(fx, p, "a");
  post(fx, p, "b");
  post(fx, p, "c");
  fx.run();
  REQUIRE(fx.journal().pending() == 3);

  fx.journal().complete_next();
  CHECK(p.expect<command_reply>().fields["message_id"] == "1");
  fx.journal().fail_next(hibiki::error{errc::unavailable, "disk full"});
  auto r2 = p.expect<command_reply>();
  auto r3 = p.expect<command_reply>();
  REQUIRE(r2.err);
  REQUIRE(r3.err);
  CHECK(r2.err->code == errc::unavailable);
  CHECK(r3.err->code == errc::unavailable);

  // A command arriving now waits until the last append's outcome is in and the state is rebuilt.
  post(fx, p, "d");
  p.expect_no_message();
  fx.journal().complete_next();  // c's append: the journal rejects it (b is missing)
  fx.auto_journal = true;
  auto r4 = p.expect<command_reply>();
  REQUIRE_FALSE(r4.err);
  CHECK(r4.fields["message_id"] == "2");  // b and c never happened

  auto s = room.state();
  CHECK(s.messages.size() == 2);
  room.restart();
  CHECK(room.state() == s);
}

TEST_CASE("pipeline: a duplicate send waits for the appends before it", "[pipeline][dedupe]") {
  actor_fixture fx;
  room_kit room(fx, entity_of(room_id{1}));
  create_room(room);
  fx.auto_journal = false;
  probe p(fx);
  post(fx, p, "same");
  post(fx, p, "same");
  fx.run();
  CHECK(fx.journal().pending() == 1);  // the retry persists nothing
  p.expect_no_message();               // and is not answered before the first is durable
  fx.journal().complete_next();
  auto first = p.expect<command_reply>();
  auto second = p.expect<command_reply>();
  REQUIRE_FALSE(first.err);
  REQUIRE_FALSE(second.err);
  CHECK(first.fields == second.fields);
}

TEST_CASE("pipeline: each event records the node's writer id", "[pipeline]") {
  actor_fixture fx;
  room_kit room(fx, entity_of(room_id{1}));
  create_room(room);
  auto log = fx.journal().log();
  REQUIRE_FALSE(log.empty());
  REQUIRE_FALSE(fx.ctx().deps.writer_id.empty());
  for (const auto& req : log)
    for (const auto& e : req.events) CHECK(e.writer == fx.ctx().deps.writer_id);
}

TEST_CASE("pipeline: a failed recovery answers every command, and the next command retries it",
          "[pipeline][failure]") {
  actor_fixture fx;
  room_kit room(fx, entity_of(room_id{1}));
  create_room(room);
  fx.auto_journal = false;
  probe p(fx);

  // An append fails while the storage cannot be read either (a broker that went away).
  post(fx, p, "a");
  fx.run();
  fx.journal().fail_reads(hibiki::error{errc::unavailable, "partition recovering"});
  fx.journal().fail_next(hibiki::error{errc::unavailable, "commit failed"});
  auto ra = p.expect<command_reply>();
  REQUIRE(ra.err);
  CHECK(ra.err->code == errc::unavailable);

  // Commands sent during and right after the failed recovery all get an answer. "c" reaches the
  // region after the entity has learnt its recovery failed but before the region could have seen
  // the entity go: an entity that quit here would have it dropped unanswered.
  fx.auto_io = false;
  post(fx, p, "b");
  fx.run();  // the entity stashes b and queues its recovery on the io executor
  REQUIRE(fx.io().run_all() >= 1);  // the recovery fails; its outcome waits in the mailbox
  post(fx, p, "c");
  fx.run_actors();
  fx.auto_io = true;  // c's own recovery attempt (which fails too) may now run
  for (int i = 0; i < 2; ++i) {
    auto r = p.expect<command_reply>();
    REQUIRE(r.err);
    CHECK(r.err->code == errc::unavailable);
  }
  post(fx, p, "d");
  auto rd = p.expect<command_reply>();
  REQUIRE(rd.err);
  CHECK(rd.err->code == errc::unavailable);
  p.expect_no_message();

  // Storage is back: the next command recovers the entity and succeeds.
  fx.journal().fail_reads(std::nullopt);
  fx.auto_journal = true;
  post(fx, p, "e");
  auto re = p.expect<command_reply>();
  REQUIRE_FALSE(re.err);
  CHECK(re.fields["message_id"] == "1");  // a to d never happened
  room.restart();
  CHECK(room.state().messages.size() == 1);
}
