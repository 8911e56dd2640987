/// Room management: get_room / get_members (queries), update_room, delete_room, set_members.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "hibiki/core/codec.hpp"
#include "hibiki/core/read_model.hpp"
#include "room_fixture.hpp"

using namespace hibiki;
using namespace hibiki::test;
using nlohmann::json;

namespace {

room::state direct_room() {
  room::create_room c{alice, room1, "", "", {bob}, 10};
  c.type = room::room_type::direct;
  return run(room::state{}, c);
}

room::update_room rename(account_id who, std::string name) {
  return room::update_room{who, std::move(name), std::nullopt, std::nullopt, 30};
}

std::vector<room::event> events_of(const room::state& s, const room::command& cmd) {
  auto d = room::decide(s, cmd);
  REQUIRE(d);
  return d->events;
}

}  // namespace

TEST_CASE("get_room and get_members are member-only queries that record nothing",
          "[room][manage]") {
  auto s = post(made_room(), bob, "hi [To:3]", "b1");
  for (const room::command& q :
       {room::command{room::get_room{carol}}, room::command{room::get_members{carol}}}) {
    CHECK(events_of(s, q).empty());
    CHECK(refusal(s, room::command{room::get_room{dave}}) == errc::forbidden);
    CHECK(refusal(room::state{}, q) == errc::not_found);
  }
  const auto info = read_model::room_info(s, carol);
  CHECK(info == json{{"room_id", 100},
                     {"name", "general"},
                     {"description", "desc"},
                     {"type", "group"},
                     {"icon_preset", "group"},
                     {"role", "member"},
                     {"unread_num", 1},
                     {"mention_num", 1},
                     {"message_num", 1},
                     {"member_num", 3},
                     {"task_num", 0},
                     {"mytask_num", 0},
                     {"file_num", 0},
                     {"last_update_time", 20},
                     {"last_seq", 2}});
  // Without messages the room's last update is its creation.
  CHECK(read_model::room_info(made_room(), carol)["last_update_time"] == 10);
  CHECK(read_model::member_list(s) == json::parse(R"([{"account_id":1,"role":"admin"},
      {"account_id":2,"role":"member"},{"account_id":3,"role":"member"}])"));
}

TEST_CASE("update_room: admins change name, description and icon", "[room][manage]") {
  auto s = made_room();
  CHECK(refusal(s, rename(bob, "x")) == errc::forbidden);
  CHECK(refusal(s, rename(dave, "x")) == errc::forbidden);
  CHECK(refusal(s, room::update_room{alice, std::nullopt, std::nullopt, std::nullopt, 1}) ==
        errc::bad_request);
  CHECK(refusal(s, rename(alice, "")) == errc::bad_request);
  CHECK(refusal(s, rename(alice, std::string(256, 'x'))) == errc::too_large);
  CHECK(refusal(s, rename(alice, "\xFF")) == errc::bad_request);
  CHECK(refusal(s, room::update_room{alice, std::nullopt, std::nullopt, "rocket", 1}) ==
        errc::bad_request);
  CHECK(refusal(s, room::update_room{alice, std::nullopt, std::string(10001, 'd'), std::nullopt,
                                     1}) == errc::too_large);

  s = run(s, room::update_room{alice, "renamed", std::nullopt, "beer", 30});
  CHECK(s.name == "renamed");
  CHECK(s.description == "desc");  // unset fields stay
  CHECK(s.icon_preset == "beer");
  CHECK(s.seq == 2);
  // The same values again change nothing and record nothing.
  CHECK(events_of(s, rename(alice, "renamed")).empty());
  s = run(s, room::update_room{alice, std::nullopt, "", std::nullopt, 31});
  CHECK(s.description.empty());
}

TEST_CASE("direct and my chats keep their name and icon", "[room][manage][type]") {
  auto s = direct_room();
  CHECK(refusal(s, rename(alice, "x")) == errc::forbidden);
  CHECK(refusal(s, room::update_room{bob, std::nullopt, std::nullopt, "star", 1}) ==
        errc::forbidden);
  // The description is theirs to write.
  s = run(s, room::update_room{bob, std::nullopt, "our notes", std::nullopt, 1});
  CHECK(s.description == "our notes");
  CHECK(refusal(s, room::delete_room{alice, 1}) == errc::forbidden);
  CHECK(refusal(s, room::set_members{alice, {alice, bob}, {}, {}}) == errc::forbidden);
}

TEST_CASE("delete_room: admins only; afterwards the room is gone for everyone", "[room][manage]") {
  auto s = post(made_room(), bob, "hi", "b1");
  CHECK(refusal(s, room::delete_room{bob, 1}) == errc::forbidden);
  CHECK(refusal(s, room::delete_room{dave, 1}) == errc::forbidden);
  const auto before = s;
  const auto events = events_of(s, room::delete_room{alice, 40});
  REQUIRE(events.size() == 1);
  s = room::apply(s, events[0]);
  CHECK(s.removed);
  CHECK(s.members.empty());
  for (const room::command& c :
       {room::command{room::get_room{alice}}, room::command{room::send_message{alice, "x", "c", 1}},
        room::command{room::delete_room{alice, 1}}, room::command{room::leave_room{bob}}}) {
    auto d = room::decide(s, c);
    REQUIRE_FALSE(d);
    CHECK(d.error().code == errc::not_found);
  }
  CHECK(refusal(s, room::create_room{alice, room1, "again", "", {}, 1}) == errc::conflict);
  // Every former member hears of it; the summary and every member row go.
  CHECK(room::recipients(before, events[0], s) == std::vector<account_id>{alice, bob, carol});
  const auto ops = read_model::project(before, events[0], s);
  const auto frame = read_model::push_frame(before, events[0], s);
  REQUIRE(frame);
  CHECK(*frame == json{{"ev", "room_deleted"}, {"room_id", 100}, {"seq", 3}});
  std::size_t member_deletes = 0;
  bool summary_deleted = false;
  for (const auto& op : ops) {
    if (op.tbl == read_model::table::member_rooms && !op.value) ++member_deletes;
    if (op.tbl == read_model::table::room_summary) summary_deleted = !op.value;
  }
  CHECK(member_deletes == 3);
  CHECK(summary_deleted);
}

TEST_CASE("set_members replaces the member lists at once", "[room][manage]") {
  auto s = made_room();  // alice admin, bob and carol members
  CHECK(refusal(s, room::set_members{bob, {bob}, {}, {}}) == errc::forbidden);
  CHECK(refusal(s, room::set_members{alice, {}, {bob}, {}}) == errc::bad_request);
  CHECK(refusal(s, room::set_members{alice, {alice}, {bob}, {bob}}) == errc::bad_request);
  CHECK(refusal(s, room::set_members{alice, {alice, account_id{}}, {}, {}}) == errc::bad_request);

  // bob becomes admin, dave joins read-only, carol goes; alice stays admin.
  const auto events = events_of(s, room::set_members{alice, {alice, bob}, {}, {dave}});
  CHECK(events.size() == 3);
  s = run(s, room::set_members{alice, {alice, bob}, {}, {dave}});
  CHECK(s.member(bob)->role == role::admin);
  CHECK(s.member(dave)->role == role::readonly);
  CHECK(s.member(carol) == nullptr);
  CHECK(read_model::members_by_role(s) ==
        json{{"admin", {1, 2}}, {"member", json::array()}, {"readonly", {4}}});
  // The same lists again: nothing to do. Naming an account twice in one list is fine.
  CHECK(events_of(s, room::set_members{alice, {alice, bob, bob}, {}, {dave}}).empty());
  // An admin may hand the room over and leave the lists; an admin always remains.
  s = run(s, room::set_members{alice, {bob}, {carol}, {}});
  CHECK(s.member(alice) == nullptr);
  CHECK(s.member(bob)->role == role::admin);
}

TEST_CASE("room_updated and room_deleted round-trip; snapshots keep icon and deletion",
          "[room][manage][codec]") {
  for (const room::event& e : {room::event{room::room_updated{"n", "d", "star", alice, 5}},
                               room::event{room::room_deleted{bob, 6}}}) {
    auto back = codec::decode_room_event(codec::encode(e));
    REQUIRE(back.ok());
    CHECK(codec::encode(*back) == codec::encode(e));
  }
  auto u = codec::decode_room_event(codec::encode(room::room_updated{"n", "d", "star", alice, 5}));
  CHECK(std::get<room::room_updated>(*u).icon_preset == "star");
  auto s = run(made_room(), room::update_room{alice, std::nullopt, std::nullopt, "idea", 1});
  s = run(s, room::delete_room{alice, 2});
  auto back = codec::decode_room_snapshot(codec::encode_snapshot(s));
  REQUIRE(back.ok());
  CHECK(*back == s);
  CHECK(back->removed);
  CHECK(back->icon_preset == "idea");
  // A version 1 snapshot has the default icon and was never deleted.
  auto v1 = json::from_cbor(codec::encode_snapshot(made_room()));
  v1["v"] = 1;
  for (auto key : {"type", "icon_preset", "removed"}) v1.erase(key);
  auto old = codec::decode_room_snapshot(json::to_cbor(v1));
  REQUIRE(old.ok());
  CHECK(old->icon_preset == "group");
  CHECK_FALSE(old->removed);
}
