// Snapshots of a room entity: taken under non-stop load (an append always in flight) without
// holding up its messages, never holding an event the journal refused, and the entity's
// behaviour when the snapshot store fails (testkit's snapshot_faults): a failed save loses no
// event, a failed or undecodable load recovers from the events, or fails clearly when the events
// alone cannot give the state.

#include <catch2/catch.hpp>

#include "hibiki/testkit/entity_kit.hpp"

using namespace hibiki;
using hibiki::testkit::actor_fixture;
using hibiki::testkit::room_kit;

namespace {

const account_id alice{1};
const room_id the_room{1};

room::create_room create() {
  return room::create_room{alice, the_room, "general", "", {}, 1'700'000'000};
}

room::send_message post(int i) {
  return room::send_message{alice, "m" + std::to_string(i), "c" + std::to_string(i), 1'700'000'001};
}

actors::node_options every(std::uint32_t n) {
  auto options = hibiki::testkit::test_options();
  options.snapshot_every = n;
  return options;
}

/// Replies of commands sent straight to the room's region, in the order they came.
struct replies {
  std::shared_ptr<std::vector<actors::command_reply>> got =
      std::make_shared<std::vector<actors::command_reply>>();

  void send(actor_fixture& fx, room::command cmd) {
    auto sink = got;
    caf::anon_send(fx.ctx().rooms,
                   actors::entity_command<room::command>{
                       entity_of(the_room), std::move(cmd),
                       [sink](actors::command_reply r) { sink->push_back(std::move(r)); }});
  }
};

std::optional<persistence::snapshot> stored_snapshot(actor_fixture& fx) {
  auto snap = fx.storage().snapshots().load(entity_of(the_room), {});
  REQUIRE(snap.ok());
  return *snap;
}

}  // namespace

TEST_CASE("snapshots: a room that never stops receiving messages still snapshots",
          "[entity][snapshot]") {
  actor_fixture fx(every(10));
  room_kit room(fx, entity_of(the_room));
  REQUIRE_FALSE(room.run(create()).reply.err);

  // From here on one append is always held by the journal while the next is decided: the
  // entity never sees a moment with nothing in flight.
  fx.auto_journal = false;
  replies r;
  r.send(fx, post(0));
  fx.run();
  const int messages = 60;
  for (int i = 1; i < messages; ++i) {
    r.send(fx, post(i));
    fx.run();
    REQUIRE(fx.journal().pending() == 2);
    REQUIRE(fx.journal().complete_next());
    fx.run();
  }
  REQUIRE(fx.journal().pending() == 1);
  // Every message but the one held has its reply, in order.
  REQUIRE(r.got->size() == messages - 1);
  for (int i = 0; i < messages - 1; ++i) {
    REQUIRE_FALSE((*r.got)[i].err);
    CHECK((*r.got)[i].fields["message_id"] == std::to_string(i + 1));
  }
  auto snap = stored_snapshot(fx);
  REQUIRE(snap.has_value());
  // Seq 1 is room_created; the held append is seq 61: a snapshot covers at most seq 60. The
  // interval grows with the room (a quarter of its entries: messages and their client_msg_ids),
  // so snapshots come at seq 10, 20, 38.
  CHECK(snap->meta.seq >= 30);
  CHECK(snap->meta.seq <= 60);
  CHECK(fx.snapshots().saves() >= 3);

  fx.journal().complete_all();
  fx.run();
  auto before = room.state();
  // Recovery from that snapshot without the events it covers gives the same state.
  REQUIRE(fx.journal().delete_to(entity_of(the_room), snap->meta.seq).ok());
  room.restart();
  CHECK(room.state() == before);
}

TEST_CASE("snapshots: saving one does not hold up the room's messages", "[entity][snapshot]") {
  actor_fixture fx(every(5));
  room_kit room(fx, entity_of(the_room));
  REQUIRE_FALSE(room.run(create()).reply.err);
  fx.auto_io = false;  // snapshot saves wait in the io queue
  for (int i = 0; i < 12; ++i) {
    auto out = room.run(post(i));
    REQUIRE_FALSE(out.reply.err);
    CHECK(out.reply.fields["message_id"] == std::to_string(i + 1));
  }
  CHECK(fx.io().pending() >= 1);
  CHECK_FALSE(stored_snapshot(fx).has_value());
  fx.io().run_all();
  auto snap = stored_snapshot(fx);
  REQUIRE(snap.has_value());
  CHECK(snap->meta.seq == 10);
}

TEST_CASE("snapshots: one whose append failed is never saved", "[entity][snapshot]") {
  actor_fixture fx(every(5));
  room_kit room(fx, entity_of(the_room));
  REQUIRE_FALSE(room.run(create()).reply.err);
  for (int i = 0; i < 3; ++i) REQUIRE_FALSE(room.run(post(i)).reply.err);
  // seq 5 is the one a snapshot is taken at; its append fails.
  fx.auto_journal = false;
  replies r;
  r.send(fx, post(3));
  fx.run();
  REQUIRE(fx.journal().fail_next(hibiki::error{errc::unavailable, "disk gone"}));
  fx.run();
  REQUIRE(r.got->size() == 1);
  REQUIRE((*r.got)[0].err);
  CHECK((*r.got)[0].err->code == errc::unavailable);
  fx.run();
  CHECK_FALSE(stored_snapshot(fx).has_value());
  // The room goes on from what the journal holds, and snapshots at its next chance.
  fx.auto_journal = true;
  auto again = room.run(post(3));
  REQUIRE_FALSE(again.reply.err);
  CHECK(again.reply.fields["message_id"] == "4");
  auto snap = stored_snapshot(fx);
  REQUIRE(snap.has_value());
  CHECK(snap->meta.seq == 5);
  auto before = room.state();
  room.restart();
  CHECK(room.state() == before);
}

TEST_CASE("snapshots: a failed save loses no event", "[entity][snapshot][faults]") {
  actor_fixture fx(every(5));
  room_kit room(fx, entity_of(the_room));
  fx.snapshots().fail_saves(hibiki::error{errc::unavailable, "snapshot store down"});
  REQUIRE_FALSE(room.run(create()).reply.err);
  for (int i = 0; i < 20; ++i) REQUIRE_FALSE(room.run(post(i)).reply.err);
  CHECK(fx.snapshots().failed_saves() >= 3);
  CHECK_FALSE(stored_snapshot(fx).has_value());
  auto before = room.state();
  CHECK(before.messages.size() == 20);
  room.restart();
  CHECK(room.state() == before);
  // The store back, snapshots resume.
  fx.snapshots().fail_saves(std::nullopt);
  for (int i = 20; i < 30; ++i) REQUIRE_FALSE(room.run(post(i)).reply.err);
  CHECK(stored_snapshot(fx).has_value());
}

TEST_CASE("snapshots: an unreadable snapshot is recovered from the events",
          "[entity][snapshot][faults]") {
  actor_fixture fx(every(5));
  room_kit room(fx, entity_of(the_room));
  REQUIRE_FALSE(room.run(create()).reply.err);
  for (int i = 0; i < 12; ++i) REQUIRE_FALSE(room.run(post(i)).reply.err);
  REQUIRE(stored_snapshot(fx).has_value());
  auto before = room.state();

  SECTION("the store fails the load") {
    fx.snapshots().fail_loads(hibiki::error{errc::unavailable, "snapshot store down"});
  }
  SECTION("the bytes do not decode") {
    fx.snapshots().corrupt_loads(true);
  }
  auto loads = fx.snapshots().loads();
  room.restart();
  CHECK(room.state() == before);
  CHECK(fx.snapshots().loads() > loads);
  auto next = room.run(post(12));
  REQUIRE_FALSE(next.reply.err);
  CHECK(next.reply.fields["message_id"] == "13");
}

TEST_CASE("snapshots: unreadable, and its events deleted: recovery fails clearly",
          "[entity][snapshot][faults]") {
  actor_fixture fx(every(5));
  room_kit room(fx, entity_of(the_room));
  REQUIRE_FALSE(room.run(create()).reply.err);
  for (int i = 0; i < 7; ++i) REQUIRE_FALSE(room.run(post(i)).reply.err);
  auto snap = stored_snapshot(fx);
  REQUIRE(snap.has_value());
  auto before = room.state();
  REQUIRE(fx.journal().delete_to(entity_of(the_room), snap->meta.seq).ok());
  fx.snapshots().fail_loads(hibiki::error{errc::unavailable, "snapshot store down"});
  room.restart();
  auto refused = room.run(post(7));
  REQUIRE(refused.reply.err);
  CHECK(refused.reply.err->code == errc::unavailable);
  CHECK_THAT(refused.reply.err->message, Catch::Contains("cannot recover"));
  CHECK(refused.events.empty());
  // The store back, the next command recovers and is served.
  fx.snapshots().fail_loads(std::nullopt);
  auto served = room.run(post(7));
  REQUIRE_FALSE(served.reply.err);
  CHECK(served.reply.fields["message_id"] == "8");
  CHECK(room.state().messages.size() == before.messages.size() + 1);
}
