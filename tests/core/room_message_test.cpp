/// The message extensions: `[toall]` and reply mentions, self_unread, mark_unread.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "hibiki/core/codec.hpp"
#include "hibiki/core/command_codec.hpp"
#include "room_fixture.hpp"

using namespace hibiki;
using namespace hibiki::test;
using nlohmann::json;

TEST_CASE("replies and [toall] mention", "[room][message]") {
  CHECK(room::parse_mentions("[rp aid=3 to=100-7] sure") == std::vector<account_id>{carol});
  CHECK(room::parse_mentions("[To:2][rp aid=3 to=1-1][To:2][rp aid=2 to=1-2]") ==
        std::vector<account_id>{bob, carol});
  CHECK(room::parse_mentions("[rp aid=3]").empty());  // not a reply tag
  CHECK(room::parse_mentions("[rp aid=0 to=1-1]").empty());
  CHECK(room::mentions_all("hello [toall] team"));
  CHECK_FALSE(room::mentions_all("[toAll]"));

  auto s = made_room();  // alice, bob, carol
  s = post(s, alice, "[toall] meeting", "a1");
  CHECK(room::mention_num(s, bob) == 1);
  CHECK(room::mention_num(s, carol) == 1);
  CHECK(room::mention_num(s, alice) == 0);  // not the author
  s = post(s, bob, "[rp aid=1 to=100-1] ok", "b1");
  CHECK(room::mention_num(s, alice) == 1);
  // Outsiders named in a reply are not mentioned.
  s = post(s, bob, "[rp aid=9 to=100-1] x", "b2");
  CHECK(s.mentions.count(message_id{3}) == 0);
}

TEST_CASE("self_unread keeps the new message unread for its author", "[room][message]") {
  auto s = made_room();
  s = post(s, bob, "one", "b1");
  auto d = room::decide(s, room::send_message{alice, "note", "a1", 30, true});
  REQUIRE(d);
  REQUIRE(d->events.size() == 2);
  CHECK(std::holds_alternative<room::unread_marked>(d->events[1]));
  CHECK_FALSE(room::is_visible(d->events[1]));
  for (const auto& e : d->events) s = room::apply(std::move(s), e);
  // alice had not read bob's message either: both are unread.
  CHECK(room::unread_num(s, alice) == 2);
  CHECK(s.seq == 3);  // the cursor move takes no seq
  // Without self_unread the author's own message marks the room read.
  s = post(s, alice, "again", "a2");
  CHECK(room::unread_num(s, alice) == 0);
}

TEST_CASE("mark_unread moves the cursor back and brings mentions back", "[room][message]") {
  auto s = made_room();
  s = post(s, alice, "one", "a1");
  s = post(s, alice, "two [To:2]", "a2");
  s = post(s, alice, "three", "a3");
  s = run(s, room::mark_read{bob, message_id{3}});
  CHECK(room::unread_num(s, bob) == 0);
  CHECK(room::mention_num(s, bob) == 0);
  s = run(s, room::mark_unread{bob, message_id{2}});
  CHECK(s.member(bob)->read_up_to == message_id{1});
  CHECK(room::unread_num(s, bob) == 2);
  CHECK(room::mention_num(s, bob) == 1);
  // Already unread from there (or later): nothing happens.
  auto again = room::decide(s, room::mark_unread{bob, message_id{3}});
  REQUIRE(again);
  CHECK(again->events.empty());
  CHECK(refusal(s, room::mark_unread{bob, message_id{9}}) == errc::not_found);
  CHECK(refusal(s, room::mark_unread{dave, message_id{1}}) == errc::forbidden);
  // A deleted message's mention does not come back.
  s = run(s, room::mark_read{bob, message_id{3}});
  s = run(s, room::delete_message{alice, message_id{2}, 40});
  s = run(s, room::mark_unread{bob, message_id{1}});
  CHECK(room::mention_num(s, bob) == 0);
  CHECK(room::unread_num(s, bob) == 2);
}

TEST_CASE("unread_marked and mentions survive the codec and snapshots", "[room][message][codec]") {
  const room::event e = room::unread_marked{bob, message_id{4}};
  auto back = codec::decode_room_event(codec::encode(e));
  REQUIRE(back.ok());
  CHECK(std::get<room::unread_marked>(*back).up_to == message_id{4});
  auto s = post(made_room(), alice, "[To:2][To:3]", "a1");
  auto snap = codec::decode_room_snapshot(codec::encode_snapshot(s));
  REQUIRE(snap.ok());
  CHECK(*snap == s);
  CHECK(snap->mentions.at(message_id{1}) == std::vector<account_id>{bob, carol});
  auto cmd = room::command{room::send_message{alice, "x", "c", 1, true}};
  auto decoded = codec::decode_room_command(codec::encode_command(cmd));
  REQUIRE(decoded);
  CHECK(std::get<room::send_message>(*decoded).self_unread);
}
