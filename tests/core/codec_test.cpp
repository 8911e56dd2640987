#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "codec_upcast.hpp"
#include "hibiki/core/codec.hpp"
#include "room_fixture.hpp"

using namespace hibiki;
using namespace hibiki::test;
using nlohmann::json;

namespace {

/// Events compare field by field through their encoding's JSON (the structs have no operator==).
json as_json(const codec::bytes& b) {
  return json::from_cbor(b);
}

}  // namespace

TEST_CASE("every room event round-trips through the codec", "[codec]") {
  const std::vector<room::event> events = {
      room::room_created{room1, "general \xE3\x81\x82", "about", alice, {bob, carol}, 1700000000},
      room::member_added{dave, role::readonly, alice},
      room::member_removed{bob, bob},
      room::message_posted{message_id{42}, bob, "hi [To:1]", "cid-1", 1700000001, {alice}},
      room::message_edited{message_id{42}, "edited", 1700000002, {carol, alice}},
      room::message_deleted{message_id{42}, 1700000003},
      room::read_marked{carol, message_id{41}},
  };
  for (const auto& e : events) {
    const auto bytes = codec::encode(e);
    auto back = codec::decode_room_event(bytes);
    REQUIRE(back.ok());
    CHECK(back->index() == e.index());
    CHECK(codec::encode(*back) == bytes);
    auto type = codec::event_type(bytes);
    REQUIRE(type.ok());
    CHECK(type->rfind("room.", 0) == 0);
    CHECK(as_json(bytes)["v"] == codec::current_version(*type));
  }
  CHECK(*codec::event_type(codec::encode(events[3])) == "room.message_posted");

  // Spot-check decoded fields, so a codec that dropped them could not pass by symmetry.
  auto posted = codec::decode_room_event(codec::encode(events[3]));
  const auto& p = std::get<room::message_posted>(*posted);
  CHECK(p.id == message_id{42});
  CHECK(p.author == bob);
  CHECK(p.body == "hi [To:1]");
  CHECK(p.client_msg_id == "cid-1");
  CHECK(p.time == 1700000001);
  CHECK(p.mentions == std::vector<account_id>{alice});
  auto created = codec::decode_room_event(codec::encode(events[0]));
  const auto& c = std::get<room::room_created>(*created);
  CHECK(c.name == "general \xE3\x81\x82");
  CHECK(c.members == std::vector<account_id>{bob, carol});
  CHECK(std::get<room::member_added>(*codec::decode_room_event(codec::encode(events[1]))).role ==
        role::readonly);
}

TEST_CASE("user events round-trip through the codec", "[codec]") {
  const user::event reg = user::account_registered{account_id{9}, "alice", std::string(64, 'b'), 5};
  auto back = codec::decode_user_event(codec::encode(reg));
  REQUIRE(back.ok());
  const auto& r = std::get<user::account_registered>(*back);
  CHECK(r.id == account_id{9});
  CHECK(r.name == "alice");
  CHECK(r.token_hash == std::string(64, 'b'));
  CHECK(r.time == 5);
  auto renamed = codec::decode_user_event(codec::encode(user::event{user::account_renamed{"bob"}}));
  REQUIRE(renamed.ok());
  CHECK(std::get<user::account_renamed>(*renamed).name == "bob");
  // A room event is not a user event, and the other way round.
  CHECK_FALSE(codec::decode_user_event(codec::encode(room::event{room::read_marked{}})).ok());
  CHECK_FALSE(codec::decode_room_event(codec::encode(reg)).ok());
}

TEST_CASE("decoding garbage is bad_request, never an exception", "[codec]") {
  const std::vector<codec::bytes> garbage = {
      {},
      {0xFF},
      {0x00},                          // the integer 0, not a map
      {0xA1, 0x61},                    // truncated map
      {0x9F, 0x01},                    // unterminated indefinite array
      {0xBF, 0x61, 0x74, 0x61, 0x78},  // indefinite map, truncated
      json::to_cbor(json{{"v", 1}}),
      json::to_cbor(json{{"t", "room.message_posted"}}),
      json::to_cbor(json{{"t", 5}, {"v", 1}}),
      json::to_cbor(json{{"t", "room.nope"}, {"v", 1}}),
      json::to_cbor(json{{"t", "room.message_deleted"}, {"v", 1}, {"id", "7"}, {"time", 1}}),
      json::to_cbor(json{{"t", "room.message_deleted"}, {"v", 1}, {"id", -1}, {"time", 1}}),
      json::to_cbor(json{{"t", "room.message_deleted"}, {"v", 99}, {"id", 1}, {"time", 1}}),
      json::to_cbor(
          json{{"t", "room.member_added"}, {"v", 1}, {"account", 1}, {"role", "king"}, {"by", 1}}),
      json::to_cbor(json{{"t", "room.message_posted"},
                         {"v", 1},
                         {"id", 1},
                         {"author", 1},
                         {"body", "x"},
                         {"client_msg_id", "c"},
                         {"time", 1},
                         {"mentions", json::array({"a"})}}),
  };
  for (const auto& g : garbage) {
    auto r = codec::decode_room_event(g);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errc::bad_request);
    CHECK_FALSE(codec::decode_user_event(g).ok());
    CHECK_FALSE(codec::decode_room_snapshot(g).ok());
    CHECK_FALSE(codec::decode_user_snapshot(g).ok());
  }
  CHECK_FALSE(codec::event_type(codec::bytes{0xFF}).ok());
}

TEST_CASE("the upcaster chain runs from an old version to the current one", "[codec]") {
  // A test-only type, so the global registry's other entries do not matter.
  const std::string type = "test.widget";
  CHECK(codec::current_version(type) == 1);
  codec::register_upcaster(type, 1, [](json& j) { j["size"] = j["width"].get<int>() * 2; });
  codec::register_upcaster(type, 2, [](json& j) {
    j["area"] = j["size"].get<int>() * j["size"].get<int>();
    j.erase("width");
  });
  CHECK(codec::current_version(type) == 3);

  auto up = codec::detail::upcast(json{{"t", type}, {"v", 1}, {"width", 3}});
  REQUIRE(up.ok());
  CHECK((*up)["v"] == 3);
  CHECK((*up)["size"] == 6);
  CHECK((*up)["area"] == 36);
  CHECK_FALSE(up->contains("width"));

  auto mid = codec::detail::upcast(json{{"t", type}, {"v", 2}, {"size", 4}});
  REQUIRE(mid.ok());
  CHECK((*mid)["area"] == 16);

  auto current = codec::detail::upcast(json{{"t", type}, {"v", 3}, {"area", 1}});
  REQUIRE(current.ok());
  CHECK((*current)["area"] == 1);

  // Too new, and a hole in the chain (no 0 → 1), are errors.
  CHECK_FALSE(codec::detail::upcast(json{{"t", type}, {"v", 4}}).ok());
  CHECK_FALSE(codec::detail::upcast(json{{"t", type}, {"v", 0}}).ok());
  // An upcaster that throws (here: "width" missing) is an error, not an exception.
  auto broken = codec::detail::upcast(json{{"t", type}, {"v", 1}});
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.error().code == errc::bad_request);
}

TEST_CASE("decode upcasts an old real event before reading it", "[codec]") {
  // A v0 member_removed did not record who removed the member: it was always a leave.
  codec::register_upcaster("room.member_removed", 0, [](json& j) { j["by"] = j["account"]; });
  CHECK(codec::current_version("room.member_removed") == 1);
  const auto v0 = json::to_cbor(json{{"t", "room.member_removed"}, {"v", 0}, {"account", 5}});
  auto e = codec::decode_room_event(v0);
  REQUIRE(e.ok());
  const auto& removed = std::get<room::member_removed>(*e);
  CHECK(removed.account == account_id{5});
  CHECK(removed.by == account_id{5});
}

TEST_CASE("room snapshots round-trip the whole state", "[codec][snapshot]") {
  auto s = made_room();
  s = post(s, bob, "[To:3] hi", "b1");
  s = post(s, alice, "[To:2]", "a1");
  s = post(s, bob, "three", "b2");
  s = run(s, room::edit_message{bob, message_id{1}, "[To:3] edited", 60});
  s = run(s, room::delete_message{alice, message_id{2}, 61});
  s = run(s, room::add_members{alice, {dave}, role::readonly});
  s = run(s, room::mark_read{dave, message_id{3}});
  REQUIRE(s.dedupe_order.size() == 3);

  auto back = codec::decode_room_snapshot(codec::encode_snapshot(s));
  REQUIRE(back.ok());
  CHECK(*back == s);
  CHECK(back->dedupe_order == s.dedupe_order);
  // Continuing from the snapshot gives the same state as continuing from the original.
  CHECK(post(*back, carol, "x", "c") == post(s, carol, "x", "c"));

  const room::state empty;
  auto e = codec::decode_room_snapshot(codec::encode_snapshot(empty));
  REQUIRE(e.ok());
  CHECK(*e == empty);
  // A user snapshot is not a room snapshot.
  CHECK_FALSE(codec::decode_room_snapshot(codec::encode_snapshot(user::state{})).ok());
}

TEST_CASE("corrupt room snapshots are rejected", "[codec][snapshot]") {
  auto j = json::from_cbor(codec::encode_snapshot(made_room()));
  auto bad_member = j;
  bad_member["members"][0][1] = "king";
  CHECK_FALSE(codec::decode_room_snapshot(json::to_cbor(bad_member)).ok());
  auto short_member = j;
  short_member["members"][0].erase(3);
  CHECK_FALSE(codec::decode_room_snapshot(json::to_cbor(short_member)).ok());
  auto no_seq = j;
  no_seq.erase("seq");
  CHECK_FALSE(codec::decode_room_snapshot(json::to_cbor(no_seq)).ok());
  auto dup = json::from_cbor(codec::encode_snapshot(post(made_room(), bob, "x", "c")));
  dup["dedupe"].push_back(dup["dedupe"][0]);
  CHECK_FALSE(codec::decode_room_snapshot(json::to_cbor(dup)).ok());
}

TEST_CASE("user snapshots round-trip", "[codec][snapshot]") {
  const user::state s{account_id{3}, true, "carol", std::string(64, 'c'), 123, false, {}};
  auto back = codec::decode_user_snapshot(codec::encode_snapshot(s));
  REQUIRE(back.ok());
  CHECK(*back == s);
  CHECK(*codec::decode_user_snapshot(codec::encode_snapshot(user::state{})) == user::state{});
  user::state disabled = s;
  disabled.disabled = true;
  disabled.token_hash.clear();
  auto back2 = codec::decode_user_snapshot(codec::encode_snapshot(disabled));
  REQUIRE(back2.ok());
  CHECK(*back2 == disabled);
}

TEST_CASE("a version 1 user snapshot (before disabling existed) reads as enabled",
          "[codec][snapshot]") {
  const auto v1 = json::to_cbor(json{{"t", "user.snapshot"},
                                     {"v", 1},
                                     {"id", 3},
                                     {"registered", true},
                                     {"name", "carol"},
                                     {"token_hash", std::string(64, 'c')},
                                     {"created_at", 123}});
  auto back = codec::decode_user_snapshot(v1);
  REQUIRE(back.ok());
  CHECK(*back == user::state{account_id{3}, true, "carol", std::string(64, 'c'), 123, false});
  CHECK(codec::current_version("user.snapshot") == 3);
  // Version 2 without "disabled" is corrupt, not silently enabled.
  json bad{{"t", "user.snapshot"}, {"v", 2},           {"id", 3},        {"registered", true},
           {"name", "carol"},      {"token_hash", ""}, {"created_at", 1}};
  CHECK_FALSE(codec::decode_user_snapshot(json::to_cbor(bad)).ok());
  bad["disabled"] = "yes";
  CHECK_FALSE(codec::decode_user_snapshot(json::to_cbor(bad)).ok());
}

TEST_CASE("the operator's user events round-trip through the codec", "[codec][admin]") {
  for (const user::event& e :
       {user::event{user::account_disabled{}}, user::event{user::account_enabled{}},
        user::event{user::tokens_revoked{}},
        user::event{user::token_issued{std::string(64, 'd')}}}) {
    auto back = codec::decode_user_event(codec::encode(e));
    REQUIRE(back.ok());
    CHECK(back->index() == e.index());
  }
  auto issued = codec::decode_user_event(codec::encode(user::event{user::token_issued{"ab"}}));
  REQUIRE(issued.ok());
  CHECK(std::get<user::token_issued>(*issued).token_hash == "ab");
  // A token_issued without its hash, or with a number for it, is refused.
  CHECK_FALSE(
      codec::decode_user_event(json::to_cbor(json{{"t", "user.token_issued"}, {"v", 1}})).ok());
  CHECK_FALSE(codec::decode_user_event(
                  json::to_cbor(json{{"t", "user.token_issued"}, {"v", 1}, {"token_hash", 5}}))
                  .ok());
  // A version newer than this build is refused, not guessed at.
  CHECK_FALSE(
      codec::decode_user_event(json::to_cbor(json{{"t", "user.account_disabled"}, {"v", 2}})).ok());
  CHECK(codec::event_type(codec::encode(user::event{user::tokens_revoked{}})).value() ==
        "user.tokens_revoked");
}

TEST_CASE("replaying decoded events rebuilds the same state", "[codec][replay]") {
  // Event sourcing's promise: the journal's bytes alone give back the state, dedupe included.
  room::state live;
  std::vector<codec::bytes> journal;
  const std::vector<room::command> script = {
      room::create_room{alice, room1, "general", "d", {bob, carol}, 1},
      room::send_message{bob, "[To:1] one", "b1", 2},
      room::send_message{carol, "[To:2] two", "c1", 3},
      room::mark_read{alice, message_id{2}},
      room::add_members{alice, {dave}, role::readonly},
      room::edit_message{bob, message_id{1}, "[To:3] one'", 4},
      room::delete_message{carol, message_id{2}, 5},
      room::add_members{alice, {bob}, role::admin},
      room::remove_member{bob, alice},
      room::send_message{carol, "three", "c2", 6},
  };
  for (const auto& cmd : script) {
    auto d = room::decide(live, cmd);
    REQUIRE(d.ok());
    for (const auto& e : d->events) {
      journal.push_back(codec::encode(e));
      live = room::apply(std::move(live), e);
    }
  }
  room::state replayed;
  for (const auto& bytes : journal) {
    auto e = codec::decode_room_event(bytes);
    REQUIRE(e.ok());
    replayed = room::apply(std::move(replayed), *e);
  }
  CHECK(replayed == live);
  CHECK(replayed.member(alice) == nullptr);
  CHECK(replayed.member(bob)->role == role::admin);
  CHECK(replayed.seq == 9);  // ten commands, one of them a mark_read (no seq)
  CHECK(replayed.dedupe.size() == 3);
}

TEST_CASE("the REST fetch position round-trips through events and snapshots", "[codec][rest]") {
  const user::event e{user::fetch_cursor_moved{room_id{4}, message_id{99}}};
  auto back = codec::decode_user_event(codec::encode(e));
  REQUIRE(back.ok());
  const auto& f = std::get<user::fetch_cursor_moved>(*back);
  CHECK(f.room == room_id{4});
  CHECK(f.up_to == message_id{99});
  CHECK_FALSE(codec::decode_user_event(
                  json::to_cbor(json{{"t", "user.fetch_cursor_moved"}, {"v", 1}, {"room", 4}}))
                  .ok());
  user::state s{account_id{3}, true, "carol", std::string(64, 'c'), 123, false, {}};
  s.fetch_cursors = {{room_id{4}, message_id{99}}, {room_id{7}, message_id{1}}};
  auto snap = codec::decode_user_snapshot(codec::encode_snapshot(s));
  REQUIRE(snap.ok());
  CHECK(*snap == s);
  // Since version 3 every snapshot has the field: one without it is corrupt, and so is a
  // malformed entry.
  auto j = json::from_cbor(codec::encode_snapshot(s));
  CHECK(j["v"] == 3);
  j.erase("fetch_cursors");
  CHECK_FALSE(codec::decode_user_snapshot(json::to_cbor(j)).ok());
  for (const auto& entry : {json::array({"x", 1}), json::array({4}), json::array({4, -1})}) {
    j["fetch_cursors"] = json::array({entry});
    CHECK_FALSE(codec::decode_user_snapshot(json::to_cbor(j)).ok());
  }
}

TEST_CASE("version 2 user snapshots keep their fetch positions, if any, in version 3",
          "[codec][snapshot][rest]") {
  // A version 2 writer added "fetch_cursors" only when there were some.
  json v2{{"t", "user.snapshot"}, {"v", 2},           {"id", 3},         {"registered", true},
          {"name", "carol"},      {"token_hash", ""}, {"created_at", 1}, {"disabled", false}};
  auto none = codec::decode_user_snapshot(json::to_cbor(v2));
  REQUIRE(none.ok());
  CHECK(none->fetch_cursors.empty());
  v2["fetch_cursors"] = json::array({json::array({4, 99}), json::array({7, 1})});
  auto some = codec::decode_user_snapshot(json::to_cbor(v2));
  REQUIRE(some.ok());
  CHECK(some->fetch_cursors ==
        std::map<room_id, message_id>{{room_id{4}, message_id{99}}, {room_id{7}, message_id{1}}});
  CHECK(some->profile == user::profile{});
  CHECK_FALSE(some->my_room);
  CHECK(some->pairs.empty());
  // A version 1 snapshot goes through both upcasts.
  json v1{{"t", "user.snapshot"}, {"v", 1},           {"id", 3},        {"registered", true},
          {"name", "carol"},      {"token_hash", ""}, {"created_at", 1}};
  auto from_v1 = codec::decode_user_snapshot(json::to_cbor(v1));
  REQUIRE(from_v1.ok());
  CHECK_FALSE(from_v1->disabled);
  CHECK(from_v1->fetch_cursors.empty());
  CHECK(from_v1->pairs.empty());
  // A malformed position of version 2 is corrupt after the upcast too.
  v2["fetch_cursors"] = json::array({json::array({"x", 1})});
  CHECK_FALSE(codec::decode_user_snapshot(json::to_cbor(v2)).ok());
}
