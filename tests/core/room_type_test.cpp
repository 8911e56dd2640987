/// The rules of room types: group rooms as before, `my` chats (the owner alone) and `direct`
/// chats (two people) whose membership never changes; their events and snapshots, old and new.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "hibiki/core/codec.hpp"
#include "hibiki/core/read_model.hpp"
#include "room_fixture.hpp"

using namespace hibiki;
using namespace hibiki::test;
using nlohmann::json;

namespace {

room::create_room make(room::room_type type, std::vector<account_id> members,
                       std::string name = "") {
  room::create_room c{alice, room1, std::move(name), "", std::move(members), 10};
  c.type = type;
  return c;
}

room::state direct_room() {
  return run(room::state{}, make(room::room_type::direct, {bob}));
}

room::state my_room() {
  return run(room::state{}, make(room::room_type::my, {}));
}

}  // namespace

TEST_CASE("room types have wire names", "[room][type]") {
  for (auto t : {room::room_type::group, room::room_type::my, room::room_type::direct})
    CHECK(room::parse_room_type(room::to_string(t)) == t);
  CHECK(room::to_string(room::room_type::direct) == "direct");
  CHECK_FALSE(room::parse_room_type("Group"));
  CHECK_FALSE(room::parse_room_type(""));
}

TEST_CASE("rooms are group rooms unless made otherwise", "[room][type]") {
  const auto s = made_room();
  CHECK(s.type == room::room_type::group);
  // A group room still needs a name.
  CHECK(refusal(room::state{}, make(room::room_type::group, {bob}, "")) == errc::bad_request);
}

TEST_CASE("a my chat has its owner alone, as admin, and may be unnamed", "[room][type]") {
  const auto s = my_room();
  CHECK(s.type == room::room_type::my);
  REQUIRE(s.members.size() == 1);
  CHECK(s.member(alice)->role == role::admin);
  CHECK(refusal(room::state{}, make(room::room_type::my, {bob})) == errc::bad_request);
  // Naming the owner again is not another member.
  CHECK(run(room::state{}, make(room::room_type::my, {alice})).members.size() == 1);
}

TEST_CASE("a direct chat has exactly two people, both admins", "[room][type]") {
  const auto s = direct_room();
  CHECK(s.type == room::room_type::direct);
  REQUIRE(s.members.size() == 2);
  CHECK(s.member(alice)->role == role::admin);
  CHECK(s.member(bob)->role == role::admin);
  CHECK(refusal(room::state{}, make(room::room_type::direct, {})) == errc::bad_request);
  CHECK(refusal(room::state{}, make(room::room_type::direct, {alice})) == errc::bad_request);
  CHECK(refusal(room::state{}, make(room::room_type::direct, {bob, carol})) == errc::bad_request);
  CHECK(refusal(room::state{}, make(room::room_type::direct, {bob, bob})) == errc::ok);
}

TEST_CASE("my and direct chats keep their members", "[room][type]") {
  for (const auto& s : {direct_room(), my_room()}) {
    CHECK(refusal(s, room::add_members{alice, {carol}, role::member}) == errc::forbidden);
    CHECK(refusal(s, room::leave_room{alice}) == errc::forbidden);
    if (s.type == room::room_type::direct) {
      CHECK(refusal(s, room::add_members{alice, {bob}, role::readonly}) == errc::forbidden);
      CHECK(refusal(s, room::remove_member{alice, bob}) == errc::forbidden);
      CHECK(refusal(s, room::leave_room{bob}) == errc::forbidden);
    }
    // The reason names the rule.
    auto d = room::decide(s, room::leave_room{alice});
    REQUIRE_FALSE(d);
    CHECK(d.error().message.find("cannot change") != std::string::npos);
    // Talking works as in any room.
    CHECK(refusal(s, room::send_message{alice, "hi", "c1", 20}) == errc::ok);
  }
  // Outsiders are still outsiders.
  CHECK(refusal(direct_room(), room::send_message{carol, "hi", "c1", 20}) == errc::forbidden);
}

TEST_CASE("the room type survives the codec, snapshots and the read model", "[room][type][codec]") {
  const auto s = direct_room();
  auto back = codec::decode_room_snapshot(codec::encode_snapshot(s));
  REQUIRE(back.ok());
  CHECK(back->type == room::room_type::direct);
  CHECK(*back == s);

  auto d = room::decide(room::state{}, make(room::room_type::my, {}));
  REQUIRE(d);
  auto e = codec::decode_room_event(codec::encode(d->events[0]));
  REQUIRE(e.ok());
  CHECK(std::get<room::room_created>(*e).type == room::room_type::my);

  auto frame = read_model::push_frame(room::state{}, d->events[0], room::apply({}, d->events[0]));
  REQUIRE(frame);
  CHECK((*frame)["type"] == "my");

  // The summary row carries it; list_rooms shows it with details only (v1 entries unchanged).
  auto row = read_model::decode_room_summary(
      read_model::encode(read_model::room_summary{room1, "", 1, {}, {}, room::room_type::direct}));
  REQUIRE(row.ok());
  CHECK(row->type == room::room_type::direct);
  auto listing = read_model::listing(read_model::member_row{room1, role::admin, {}, {}}, *row);
  CHECK_FALSE(read_model::to_json(listing).contains("type"));
  CHECK(read_model::to_json(listing, true)["type"] == "direct");
}

TEST_CASE("journals and rows from before room types read as group rooms", "[room][type][upcast]") {
  // room_created version 1 had no "type".
  const auto v1 = json::to_cbor(json{{"t", "room.room_created"},
                                     {"v", 1},
                                     {"room", 100},
                                     {"name", "general"},
                                     {"description", ""},
                                     {"creator", 1},
                                     {"members", {2}},
                                     {"time", 10}});
  auto e = codec::decode_room_event(v1);
  REQUIRE(e.ok());
  const auto& c = std::get<room::room_created>(*e);
  CHECK(c.type == room::room_type::group);
  CHECK(c.members == std::vector<account_id>{bob});
  CHECK(codec::current_version("room.room_created") == 2);
  // Replaying it gives the room of today's group create.
  CHECK(room::apply({}, *e) == run(room::state{}, make(room::room_type::group, {bob}, "general")));

  // A version 2 event must say its type.
  auto v2 = json::from_cbor(codec::encode(*e));
  v2.erase("type");
  CHECK_FALSE(codec::decode_room_event(json::to_cbor(v2)).ok());
  v2["type"] = "channel";
  CHECK_FALSE(codec::decode_room_event(json::to_cbor(v2)).ok());

  // A version 1 room snapshot is of a group room.
  auto snap = json::from_cbor(codec::encode_snapshot(made_room()));
  snap["v"] = 1;
  snap.erase("type");
  auto old = codec::decode_room_snapshot(json::to_cbor(snap));
  REQUIRE(old.ok());
  CHECK(*old == made_room());

  // A summary row written before types has none: a group room.
  auto summary = json::parse(read_model::encode(read_model::room_summary{room1, "n", 0, {}, {}}));
  summary.erase("type");
  auto row = read_model::decode_room_summary(summary.dump());
  REQUIRE(row.ok());
  CHECK(row->type == room::room_type::group);
  summary["type"] = 3;
  CHECK_FALSE(read_model::decode_room_summary(summary.dump()).ok());
}
