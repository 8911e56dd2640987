/// The people rules of the user aggregate: profiles, the `my` room, and contact requests decided
/// by the owner of each pair (the lower account id); their events through the codec (old
/// snapshots and events upcast), the rows they project, and the protocol ops.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "hibiki/core/codec.hpp"
#include "hibiki/core/command_codec.hpp"
#include "hibiki/core/protocol.hpp"
#include "hibiki/core/read_model.hpp"
#include "hibiki/core/user.hpp"

using namespace hibiki;
using nlohmann::json;

namespace {

const std::string hash(64, 'a');
const account_id alice{3};
const account_id bob{7};
const account_id carol{9};

user::state registered(account_id id, std::string name) {
  return user::apply(user::state{}, user::account_registered{id, std::move(name), hash, 1});
}

errc code(const user::state& s, const user::command& c) {
  auto r = user::decide(s, c);
  return r ? errc::ok : r.error().code;
}

/// Decides `c` on `s`, applies its events, and returns the state after (REQUIREs success).
user::state run(user::state s, const user::command& c, std::size_t expected_events) {
  auto r = user::decide(s, c);
  REQUIRE(r.ok());
  REQUIRE(r->size() == expected_events);
  for (const auto& e : *r) s = user::apply(std::move(s), e);
  return s;
}

}  // namespace

TEST_CASE("update_profile changes the given fields only, a new name is a rename",
          "[user][people]") {
  const auto s = registered(alice, "alice");
  user::update_profile u{alice};
  u.organization = "Hibiki Inc.";
  u.title = "engineer";
  auto r = user::decide(s, u);
  REQUIRE(r.ok());
  REQUIRE(r->size() == 1);
  REQUIRE(std::holds_alternative<user::profile_updated>(r->at(0)));
  auto after = user::apply(s, r->at(0));
  CHECK(after.profile.organization == "Hibiki Inc.");
  CHECK(after.profile.title == "engineer");
  CHECK(after.profile.department.empty());

  user::update_profile both{alice};
  both.name = "Alice";
  both.department = "R&D";
  auto r2 = user::decide(after, both);
  REQUIRE(r2.ok());
  REQUIRE(r2->size() == 2);
  CHECK(std::get<user::account_renamed>(r2->at(0)).name == "Alice");
  const auto& p = std::get<user::profile_updated>(r2->at(1)).value;
  CHECK(p.organization == "Hibiki Inc.");  // unchanged fields are carried over
  CHECK(p.department == "R&D");

  // Nothing changes: no events. An empty string clears a field.
  user::update_profile same{alice};
  same.title = "engineer";
  CHECK(run(after, same, 0) == after);
  user::update_profile clear{alice};
  clear.title = "";
  CHECK(run(after, clear, 1).profile.title.empty());
}

TEST_CASE("update_profile refuses others and bad fields", "[user][people]") {
  const auto s = registered(alice, "alice");
  user::update_profile other{bob};
  other.title = "x";
  CHECK(code(s, other) == errc::forbidden);
  CHECK(code(user::state{}, user::update_profile{alice, "a"}) == errc::not_found);

  auto bad = [&](auto set) {
    user::update_profile u{alice};
    set(u);
    auto r = user::decide(s, u);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errc::bad_request);
    return r.error().message;
  };
  CHECK(bad([](auto& u) { u.name = ""; }).find("name") != std::string::npos);
  CHECK(bad([](auto& u) { u.name = std::string(65, 'x'); }).find("name") != std::string::npos);
  CHECK(bad([](auto& u) { u.chatwork_id = "has space"; }).find("chatwork_id") != std::string::npos);
  CHECK(bad([](auto& u) { u.chatwork_id = std::string(51, 'a'); }).find("chatwork_id") !=
        std::string::npos);
  CHECK(bad([](auto& u) { u.organization = std::string(256, 'o'); }).find("organization_name") !=
        std::string::npos);
  CHECK(bad([](auto& u) { u.department = "a\nb"; }).find("department") != std::string::npos);
  CHECK(bad([](auto& u) { u.title = "\xFF"; }).find("title") != std::string::npos);
  CHECK(bad([](auto& u) { u.introduction = std::string(2001, 'i'); }).find("introduction") !=
        std::string::npos);
  CHECK(bad([](auto& u) { u.introduction = "bell\x07"; }).find("introduction") !=
        std::string::npos);

  // At the limits, and multi-line introductions, are fine.
  user::update_profile ok{alice};
  ok.chatwork_id = std::string(50, 'a');
  ok.organization = std::string(255, 'o');
  ok.introduction = std::string(1998, 'i') + "\n\t";
  CHECK(code(s, ok) == errc::ok);
  ok.chatwork_id = "alice_1.x-y";
  CHECK(code(s, ok) == errc::ok);
}

TEST_CASE("get_profile is the owner's and decides nothing", "[user][people]") {
  const auto s = registered(alice, "alice");
  CHECK(run(s, user::get_profile{alice}, 0) == s);
  CHECK(code(s, user::get_profile{bob}) == errc::forbidden);
  CHECK(code(user::state{}, user::get_profile{alice}) == errc::not_found);
}

TEST_CASE("the my room is assigned once", "[user][people]") {
  const auto s = registered(alice, "alice");
  CHECK(code(s, user::assign_my_room{room_id{}}) == errc::bad_request);
  auto with = run(s, user::assign_my_room{room_id{40}}, 1);
  CHECK(with.my_room == room_id{40});
  // A second assignment (a retry, or two sessions at once) changes nothing.
  CHECK(run(with, user::assign_my_room{room_id{41}}, 0).my_room == room_id{40});
  CHECK(code(user::state{}, user::assign_my_room{room_id{40}}) == errc::not_found);
}

TEST_CASE("contact requests are decided by the lower id of the pair", "[user][people][contacts]") {
  const auto owner = registered(alice, "alice");  // alice(3) owns {3,7} and {3,9}
  const auto b = registered(bob, "bob");
  CHECK(user::pair_owner(bob, alice) == alice);
  CHECK(user::pair_owner(alice, bob) == alice);

  // Only the owner decides, never oneself, never a zero id.
  CHECK(code(b, user::request_contact{alice, bob, "", 1}) == errc::bad_request);
  CHECK(code(owner, user::request_contact{alice, alice, "", 1}) == errc::bad_request);
  CHECK(code(owner, user::request_contact{alice, account_id{}, "", 1}) == errc::bad_request);
  CHECK(code(owner, user::request_contact{alice, bob, std::string(1001, 'm'), 1}) ==
        errc::bad_request);

  // bob asks alice (the request lives in alice's entity, the owner).
  auto asked = run(owner, user::request_contact{bob, alice, "hi, it's bob", 5}, 1);
  const auto* p = user::find_pair(asked, bob);
  REQUIRE(p != nullptr);
  CHECK_FALSE(p->contacts);
  CHECK(p->requester == bob);
  CHECK(p->message == "hi, it's bob");
  CHECK(p->requested_at == 5);

  // Asking again, or asking back, is a conflict.
  CHECK(code(asked, user::request_contact{bob, alice, "", 6}) == errc::conflict);
  CHECK(code(asked, user::request_contact{alice, bob, "", 6}) == errc::conflict);

  // Only the one asked accepts or rejects; a request that does not exist is not_found.
  CHECK(code(asked, user::accept_contact{bob, alice, room_id{50}}) == errc::not_found);
  CHECK(code(asked, user::reject_contact{bob, alice}) == errc::not_found);
  CHECK(code(owner, user::accept_contact{alice, bob, room_id{50}}) == errc::not_found);
  CHECK(code(asked, user::accept_contact{alice, bob, room_id{}}) == errc::bad_request);

  auto rejected = run(asked, user::reject_contact{alice, bob}, 1);
  CHECK(user::find_pair(rejected, bob) == nullptr);
  CHECK(code(rejected, user::reject_contact{alice, bob}) == errc::not_found);
  // After a rejection a new request may be sent.
  CHECK(code(rejected, user::request_contact{bob, alice, "", 7}) == errc::ok);

  auto accepted = run(asked, user::accept_contact{alice, bob, room_id{50}}, 1);
  p = user::find_pair(accepted, bob);
  REQUIRE(p != nullptr);
  CHECK(p->contacts);
  CHECK(p->room == room_id{50});
  // Accepting again (a retry, or another connection at the same time with its own fresh room
  // id) decides nothing: the pair keeps its one room.
  CHECK(run(accepted, user::accept_contact{alice, bob, room_id{51}}, 0) == accepted);
  CHECK(code(accepted, user::request_contact{alice, bob, "", 8}) == errc::conflict);
  CHECK(code(accepted, user::request_contact{bob, alice, "", 8}) == errc::conflict);
  CHECK(code(accepted, user::reject_contact{alice, bob}) == errc::not_found);

  // The owner asking a higher id works the same way.
  auto out = run(accepted, user::request_contact{alice, carol, "", 9}, 1);
  CHECK(user::find_pair(out, carol)->requester == alice);
  CHECK(code(out, user::accept_contact{carol, alice, room_id{60}}) == errc::ok);
  CHECK(code(out, user::accept_contact{alice, carol, room_id{60}}) == errc::not_found);
}

TEST_CASE("people events and snapshots round-trip through the codec", "[codec][people]") {
  const std::vector<user::event> events = {
      user::profile_updated{user::profile{"alice_1", "Org", "Dept", "Title", "Hello\nthere"}},
      user::my_room_assigned{room_id{12}}, user::contact_requested{bob, alice, "hi", 77},
      user::contact_request_rejected{bob, alice}, user::contact_accepted{bob, alice, room_id{13}}};
  user::state s = registered(alice, "alice");
  for (const auto& e : events) {
    auto back = codec::decode_user_event(codec::encode(e));
    REQUIRE(back.ok());
    CHECK(back->index() == e.index());
    CHECK(user::apply(s, *back) == user::apply(s, e));
    s = user::apply(std::move(s), e);
  }
  s = user::apply(std::move(s), user::contact_requested{alice, carol, "x", 80});
  REQUIRE(s.pairs.size() == 2);
  auto snap = codec::decode_user_snapshot(codec::encode_snapshot(s));
  REQUIRE(snap.ok());
  CHECK(*snap == s);
}

TEST_CASE("a version 2 user snapshot reads with an empty profile, no my room, no pairs",
          "[codec][snapshot][people]") {
  const auto v2 = json::to_cbor(json{{"t", "user.snapshot"},
                                     {"v", 2},
                                     {"id", 3},
                                     {"registered", true},
                                     {"name", "carol"},
                                     {"token_hash", std::string(64, 'c')},
                                     {"created_at", 123},
                                     {"disabled", true}});
  auto back = codec::decode_user_snapshot(v2);
  REQUIRE(back.ok());
  user::state expected{account_id{3}, true, "carol", std::string(64, 'c'), 123, true};
  CHECK(*back == expected);
  CHECK(back->profile == user::profile{});
  CHECK_FALSE(back->my_room);
  CHECK(back->pairs.empty());
  // A version 3 snapshot with a malformed profile or pair is corrupt.
  auto v3 = json::from_cbor(codec::encode_snapshot(expected));
  auto bad = v3;
  bad["profile"] = json::array({"a"});
  CHECK_FALSE(codec::decode_user_snapshot(json::to_cbor(bad)).ok());
  bad = v3;
  bad["pairs"] = json::array({json::array({7, "yes", 7, "", 0, 0})});
  CHECK_FALSE(codec::decode_user_snapshot(json::to_cbor(bad)).ok());
}

TEST_CASE("version 1 message events (before names) read with an empty author name",
          "[codec][people]") {
  const auto posted_v1 = json::to_cbor(json{{"t", "room.message_posted"},
                                            {"v", 1},
                                            {"id", 4},
                                            {"author", 7},
                                            {"body", "old"},
                                            {"client_msg_id", "c"},
                                            {"time", 10},
                                            {"mentions", json::array()}});
  auto p = codec::decode_room_event(posted_v1);
  REQUIRE(p.ok());
  CHECK(std::get<room::message_posted>(*p).author_name.empty());
  CHECK(std::get<room::message_posted>(*p).body == "old");
  const auto edited_v1 = json::to_cbor(json{{"t", "room.message_edited"},
                                            {"v", 1},
                                            {"id", 4},
                                            {"body", "older"},
                                            {"time", 11},
                                            {"mentions", json::array()}});
  auto ed = codec::decode_room_event(edited_v1);
  REQUIRE(ed.ok());
  CHECK(std::get<room::message_edited>(*ed).author_name.empty());
  CHECK(codec::current_version("room.message_posted") == 2);
  CHECK(codec::current_version("room.message_edited") == 2);
  // Version 2 carries the name.
  room::message_posted now{message_id{5}, bob, "new", "d", 12, {}, "bob"};
  auto back = codec::decode_room_event(codec::encode(room::event{now}));
  REQUIRE(back.ok());
  CHECK(std::get<room::message_posted>(*back).author_name == "bob");
}

TEST_CASE("people commands round-trip through the command codec", "[codec][people]") {
  user::update_profile u{alice};
  u.name = "A";
  u.introduction = "";
  const std::vector<user::command> commands = {u,
                                               user::get_profile{alice},
                                               user::assign_my_room{room_id{4}},
                                               user::request_contact{bob, alice, "m", 3},
                                               user::accept_contact{alice, bob, room_id{5}},
                                               user::reject_contact{alice, bob}};
  for (const auto& c : commands) {
    auto back = codec::decode_user_command(codec::encode_command(c));
    REQUIRE(back.ok());
    CHECK(codec::encode_command(*back) == codec::encode_command(c));
  }
  auto back = codec::decode_user_command(codec::encode_command(user::command{u}));
  const auto& bu = std::get<user::update_profile>(*back);
  CHECK(bu.name == std::optional<std::string>("A"));
  CHECK(bu.introduction == std::optional<std::string>(""));
  CHECK_FALSE(bu.title);
  CHECK_FALSE(
      codec::decode_user_command(R"({"t":"user.update_profile","actor":3,"fields":{"nick":"x"}})")
          .ok());
  CHECK_FALSE(
      codec::decode_user_command(R"({"t":"user.update_profile","actor":3,"fields":{"name":1}})")
          .ok());
}

TEST_CASE("contact events project the request and contact rows of both sides",
          "[read_model][people][contacts]") {
  using read_model::table;
  const auto before = registered(alice, "alice");
  const user::event req = user::contact_requested{bob, alice, "hi", 5};
  const auto after = user::apply(before, req);
  auto ops = read_model::project(before, req, after);
  REQUIRE(ops.size() == 1);
  CHECK(ops[0].tbl == table::contact_requests);
  CHECK(ops[0].key == read_model::contact_request_key(alice, bob));
  CHECK(json::parse(*ops[0].value) == json{{"account_id", 7}, {"message", "hi"}, {"time", 5}});

  const user::event acc = user::contact_accepted{bob, alice, room_id{20}};
  const auto done = user::apply(after, acc);
  ops = read_model::project(after, acc, done);
  REQUIRE(ops.size() == 3);
  CHECK(ops[0] == read_model::row_op{table::contact_requests,
                                     read_model::contact_request_key(alice, bob), std::nullopt});
  CHECK(ops[1].key == read_model::contact_key(bob, alice));
  CHECK(json::parse(*ops[1].value) == json{{"account_id", 3}, {"room_id", 20}});
  CHECK(ops[2].key == read_model::contact_key(alice, bob));
  CHECK(json::parse(*ops[2].value) == json{{"account_id", 7}, {"room_id", 20}});

  const user::event rej = user::contact_request_rejected{bob, alice};
  ops = read_model::project(after, rej, user::apply(after, rej));
  REQUIRE(ops.size() == 1);
  CHECK_FALSE(ops[0].value);

  // A profile change rewrites the accounts row with every field.
  const user::event prof = user::profile_updated{user::profile{"al", "O", "D", "T", "I"}};
  ops = read_model::project(before, prof, user::apply(before, prof));
  REQUIRE(ops.size() == 1);
  CHECK(ops[0].tbl == table::accounts);
  CHECK(json::parse(*ops[0].value) == json{{"account_id", 3},
                                           {"name", "alice"},
                                           {"chatwork_id", "al"},
                                           {"organization_name", "O"},
                                           {"department", "D"},
                                           {"title", "T"},
                                           {"introduction", "I"}});
}

TEST_CASE("message objects carry the author's account and name; readers refresh it",
          "[read_model][people]") {
  auto m = read_model::message_object(message_id{1}, bob, "hi", 10, 0, false, "bob");
  CHECK(m["account_id"] == 7);
  CHECK(m["account"] == json{{"account_id", 7}, {"name", "bob"}});

  int lookups = 0;
  read_model::name_refresher names([&](account_id a) -> std::optional<std::string> {
    ++lookups;
    if (a == bob) return std::string("Robert");
    return std::nullopt;
  });
  names.refresh(m);
  CHECK(m["account"]["name"] == "Robert");
  auto m2 = read_model::message_object(message_id{2}, bob, "again", 11, 0, false, "");
  names.refresh(m2);
  CHECK(m2["account"]["name"] == "Robert");
  CHECK(lookups == 1);  // once per author per reader

  // A push frame: refreshed when the name changed, untouched otherwise and for other frames.
  json frame{{"ev", "message_created"},
             {"room_id", 1},
             {"seq", 2},
             {"message", read_model::message_object(message_id{3}, bob, "x", 1, 0, false, "b")}};
  auto fresh = names.refresh_frame(frame.dump());
  REQUIRE(fresh);
  CHECK(json::parse(*fresh)["message"]["account"]["name"] == "Robert");
  CHECK_FALSE(names.refresh_frame(*fresh));
  CHECK_FALSE(
      names.refresh_frame(R"({"ev":"message_deleted","room_id":1,"seq":3,"message_id":"3"})"));
  // An author with no account row keeps the name the frame has.
  json other{{"ev", "message_created"},
             {"message", read_model::message_object(message_id{4}, carol, "y", 1, 0, false, "c")}};
  CHECK_FALSE(names.refresh_frame(other.dump()));
}

TEST_CASE("the people ops parse strictly", "[protocol][people]") {
  auto ok = [](std::string_view text) {
    auto r = protocol::parse_request(text);
    REQUIRE(std::holds_alternative<protocol::request>(r));
    return std::get<protocol::request>(r).body;
  };
  auto fails = [](std::string_view text) {
    auto r = protocol::parse_request(text);
    REQUIRE(std::holds_alternative<protocol::parse_failure>(r));
    CHECK(std::get<protocol::parse_failure>(r).error.code == errc::bad_request);
    return std::get<protocol::parse_failure>(r).error.message;
  };
  CHECK(std::holds_alternative<protocol::me_req>(ok(R"({"id":1,"op":"me"})")));
  auto u = std::get<protocol::update_profile_req>(
      ok(R"({"id":1,"op":"update_profile","title":"t","organization_name":""})"));
  CHECK(u.title == std::optional<std::string>("t"));
  CHECK(u.organization_name == std::optional<std::string>(""));
  CHECK_FALSE(u.name);
  CHECK(fails(R"({"id":1,"op":"update_profile"})").find("at least one") != std::string::npos);
  CHECK(fails(R"({"id":1,"op":"update_profile","title":3})").find("title") != std::string::npos);
  auto g = std::get<protocol::get_profiles_req>(
      ok(R"({"id":1,"op":"get_profiles","account_ids":[1,2]})"));
  CHECK(g.accounts.size() == 2);
  fails(R"({"id":1,"op":"get_profiles","account_ids":[]})");
  fails(R"({"id":1,"op":"get_profiles","account_ids":[0]})");
  auto rq = std::get<protocol::request_contact_req>(
      ok(R"({"id":1,"op":"request_contact","account_id":7,"message":"hi"})"));
  CHECK(rq.account == bob);
  CHECK(rq.message == "hi");
  CHECK(std::get<protocol::request_contact_req>(
            ok(R"({"id":1,"op":"request_contact","account_id":7})"))
            .message.empty());
  fails(R"({"id":1,"op":"request_contact"})");
  fails(R"({"id":1,"op":"request_contact","account_id":"7"})");
  fails(R"({"id":1,"op":"request_contact","account_id":7,"message":1})");
  CHECK(
      std::get<protocol::accept_contact_req>(ok(R"({"id":1,"op":"accept_contact","request_id":7})"))
          .requester == bob);
  fails(R"({"id":1,"op":"accept_contact","request_id":-1})");
  fails(R"({"id":1,"op":"reject_contact"})");
  CHECK(std::holds_alternative<protocol::incoming_requests_req>(
      ok(R"({"id":1,"op":"incoming_requests"})")));
  CHECK(std::holds_alternative<protocol::list_contacts_req>(ok(R"({"id":1,"op":"contacts"})")));
  CHECK(protocol::op_name(protocol::list_contacts_req{}) == "contacts");
}
