// The entity kit checks every command, event, reply and state it sees against its serialization:
// with the nodes' serialization a room's life passes, and a serialization that loses a field
// fails the test with a message naming what did not survive.

#include <catch2/catch.hpp>

#include "hibiki/testkit/entity_kit.hpp"

using namespace hibiki;
using hibiki::testkit::actor_fixture;
using hibiki::testkit::expectation_failed;

namespace {

using nodes = hibiki::testkit::node_serialization<actors::room_traits>;

/// The nodes' serialization, except that the given part drops what a lossy codec would.
template <int Broken>
struct lossy : nodes {
  static result<room::command> decode_command(const std::string& text) {
    auto c = nodes::decode_command(text);
    if constexpr (Broken == 0)
      if (c)
        if (auto* m = std::get_if<room::send_message>(&*c)) m->body.clear();
    return c;
  }
  static result<room::event> decode_event(const std::vector<std::uint8_t>& b) {
    auto e = nodes::decode_event(b);
    if constexpr (Broken == 1)
      if (e)
        if (auto* m = std::get_if<room::message_posted>(&*e)) m->body = "?";
    return e;
  }
  static result<actors::command_reply> decode_reply(const hibiki::testkit::wire_reply& text) {
    auto r = nodes::decode_reply(text);
    if constexpr (Broken == 2)
      if (r) r->fields = nullptr;
    return r;
  }
  static result<room::state> decode_state(const std::vector<std::uint8_t>& b) {
    auto s = nodes::decode_state(b);
    if constexpr (Broken == 3)
      if (s) s->name += "!";
    return s;
  }
};

room::create_room create() {
  return room::create_room{account_id{1}, room_id{1}, "general", "", {}, 1'700'000'000};
}
room::send_message post() {
  return room::send_message{account_id{1}, "hello", "c1", 1'700'000'001};
}

}  // namespace

TEST_CASE(
    "entity kit: a room's commands, events, replies and states survive the nodes' "
    "serialization",
    "[testkit][serialization]") {
  actor_fixture fx;
  hibiki::testkit::room_kit room(fx, entity_of(room_id{1}));
  REQUIRE_NOTHROW(room.run(create()));
  REQUIRE_NOTHROW(room.run(post()));
  REQUIRE_NOTHROW(room.run(room::edit_message{account_id{1}, message_id{1}, "x", 1'700'000'002}));
  REQUIRE_NOTHROW(room.run(room::mark_read{account_id{1}, message_id{1}}));
  // An error reply too.
  auto refused = room.run(room::edit_message{account_id{1}, message_id{9}, "x", 1'700'000'003});
  CHECK(refused.reply.err);
  REQUIRE_NOTHROW(room.state());
}

TEST_CASE("entity kit: a lossy serialization fails the test, naming what was lost",
          "[testkit][serialization]") {
  actor_fixture fx;
  hibiki::testkit::room_kit setup(fx, entity_of(room_id{1}));
  REQUIRE_FALSE(setup.run(create()).reply.err);

  SECTION("a command") {
    hibiki::testkit::entity_kit<actors::room_traits, lossy<0>> room(fx, entity_of(room_id{1}));
    REQUIRE_THROWS_WITH(room.run(post()),
                        Catch::Contains("a command of room-1 does not survive its serialization") &&
                            Catch::Contains("hello"));
  }
  SECTION("an event") {
    hibiki::testkit::entity_kit<actors::room_traits, lossy<1>> room(fx, entity_of(room_id{1}));
    REQUIRE_THROWS_WITH(room.run(post()),
                        Catch::Contains("an event of room-1 does not survive its serialization"));
  }
  SECTION("a reply") {
    hibiki::testkit::entity_kit<actors::room_traits, lossy<2>> room(fx, entity_of(room_id{1}));
    REQUIRE_THROWS_WITH(room.run(post()),
                        Catch::Contains("a reply of room-1 does not survive its serialization"));
  }
  SECTION("a state") {
    hibiki::testkit::entity_kit<actors::room_traits, lossy<3>> room(fx, entity_of(room_id{1}));
    REQUIRE_THROWS_WITH(room.state(),
                        Catch::Contains("a state of room-1 does not survive its serialization"));
  }
  SECTION("the check can be turned off") {
    hibiki::testkit::entity_kit<actors::room_traits, lossy<0>> room(fx, entity_of(room_id{1}));
    room.check_serialization = false;
    REQUIRE_NOTHROW(room.run(post()));
  }
}
