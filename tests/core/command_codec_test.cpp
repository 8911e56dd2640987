#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "hibiki/core/command_codec.hpp"

using namespace hibiki;

namespace {

template <class Command, class Decode>
void round_trips(const Command& cmd, Decode decode) {
  auto text = codec::encode_command(cmd);
  auto back = decode(text);
  INFO(text);
  REQUIRE(back);
  CHECK(codec::encode_command(*back) == text);
  CHECK(back->index() == cmd.index());
}

}  // namespace

TEST_CASE("every room command round-trips through JSON", "[command_codec]") {
  auto decode = [](const std::string& t) { return codec::decode_room_command(t); };
  round_trips(room::command{room::create_room{account_id{1},
                                              room_id{9},
                                              "general",
                                              "desc",
                                              {account_id{2}, account_id{3}},
                                              1700000000}},
              decode);
  round_trips(room::command{room::add_members{account_id{1}, {account_id{4}}, role::readonly}},
              decode);
  round_trips(room::command{room::remove_member{account_id{1}, account_id{4}}}, decode);
  round_trips(room::command{room::leave_room{account_id{5}}}, decode);
  round_trips(room::command{room::send_message{account_id{1}, "héllo [To:2]", "c-1", 17}}, decode);
  round_trips(room::command{room::edit_message{account_id{1}, message_id{3}, "new", 18}}, decode);
  round_trips(room::command{room::delete_message{account_id{1}, message_id{3}, 19}}, decode);
  round_trips(room::command{room::mark_read{account_id{2}, message_id{7}}}, decode);
  round_trips(room::command{room::get_room{account_id{2}}}, decode);
  round_trips(room::command{room::get_members{account_id{2}}}, decode);
  round_trips(room::command{room::update_room{account_id{1}, "n", std::nullopt, "star", 4}},
              decode);
  round_trips(room::command{room::delete_room{account_id{1}, 5}}, decode);
  round_trips(room::command{room::set_members{
                  account_id{1}, {account_id{1}}, {account_id{2}}, {account_id{3}}}},
              decode);
  round_trips(room::command{room::add_task{account_id{1},
                                           {account_id{2}, account_id{3}},
                                           "b",
                                           1800000000,
                                           room::limit_type::date,
                                           7,
                                           "alice",
                                           {{account_id{2}, "bob"}, {account_id{3}, ""}}}},
              decode);
  round_trips(
      room::command{room::set_task_status{account_id{2}, task_id{4}, room::task_status::open, 8}},
      decode);
  round_trips(room::command{room::get_task{account_id{2}, task_id{4}}}, decode);
  round_trips(room::command{room::list_tasks{account_id{2}, account_id{3}, std::nullopt,
                                             room::task_status::done}},
              decode);
  round_trips(
      room::command{room::list_tasks{account_id{2}, std::nullopt, std::nullopt, std::nullopt}},
      decode);
  auto lt = codec::decode_room_command(codec::encode_command(room::command{
      room::list_tasks{account_id{2}, std::nullopt, account_id{5}, room::task_status::done}}));
  REQUIRE(lt);
  CHECK(std::get<room::list_tasks>(*lt).assigned_by == account_id{5});
  CHECK(std::get<room::list_tasks>(*lt).status == room::task_status::done);
  auto u = codec::decode_room_command(codec::encode_command(
      room::command{room::update_room{account_id{1}, std::nullopt, "", std::nullopt, 4}}));
  REQUIRE(u);
  CHECK_FALSE(std::get<room::update_room>(*u).name);
  CHECK(std::get<room::update_room>(*u).description == "");
}

TEST_CASE("decoded room commands keep every field", "[command_codec]") {
  auto back = codec::decode_room_command(codec::encode_command(room::command{
      room::create_room{account_id{1}, room_id{9}, "general", "desc", {account_id{2}}, -5}}));
  REQUIRE(back);
  auto& c = std::get<room::create_room>(*back);
  CHECK(c.actor == account_id{1});
  CHECK(c.room == room_id{9});
  CHECK(c.name == "general");
  CHECK(c.description == "desc");
  CHECK(c.members == std::vector<account_id>{account_id{2}});
  CHECK(c.now == -5);
  CHECK(c.type == room::room_type::group);

  room::create_room direct{account_id{1}, room_id{9}, "", "", {account_id{2}}, 3};
  direct.type = room::room_type::direct;
  auto d = codec::decode_room_command(codec::encode_command(room::command{direct}));
  REQUIRE(d);
  CHECK(std::get<room::create_room>(*d).type == room::room_type::direct);
  // A peer sending a type this build does not know is refused, not read as a group.
  auto j = nlohmann::json::parse(codec::encode_command(room::command{direct}));
  j["type"] = "channel";
  CHECK_FALSE(codec::decode_room_command(j.dump()));

  auto add = codec::decode_room_command(codec::encode_command(
      room::command{room::add_members{account_id{1}, {account_id{4}}, role::admin}}));
  REQUIRE(add);
  CHECK(std::get<room::add_members>(*add).role == role::admin);
}

TEST_CASE("every user command round-trips through JSON", "[command_codec]") {
  auto text = codec::encode_command(
      user::command{user::register_account{account_id{3}, "alice", "abc123", 42}});
  auto back = codec::decode_user_command(text);
  REQUIRE(back);
  auto& r = std::get<user::register_account>(*back);
  CHECK(r.id == account_id{3});
  CHECK(r.name == "alice");
  CHECK(r.token_hash == "abc123");
  CHECK(r.now == 42);
  auto rename = codec::decode_user_command(
      codec::encode_command(user::command{user::rename_account{account_id{3}, "bob"}}));
  REQUIRE(rename);
  CHECK(std::get<user::rename_account>(*rename).name == "bob");
}

TEST_CASE("bad command text is bad_request", "[command_codec]") {
  auto bad_room = [](const std::string& text) {
    INFO(text);
    auto r = codec::decode_room_command(text);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::bad_request);
  };
  bad_room("");
  bad_room("not json");
  bad_room("[1,2]");
  bad_room("\"room.leave_room\"");
  bad_room(R"({"actor": 1})");                                           // no type
  bad_room(R"({"t": 5, "actor": 1})");                                   // type not a string
  bad_room(R"({"t": "room.nope", "actor": 1})");                         // unknown type
  bad_room(R"({"t": "user.rename_account", "actor": 1, "name": "x"})");  // other kind
  bad_room(R"({"t": "room.leave_room"})");                               // missing field
  bad_room(R"({"t": "room.leave_room", "actor": -1})");                  // negative id
  bad_room(R"({"t": "room.leave_room", "actor": "1"})");                 // mistyped
  bad_room(R"({"t": "room.leave_room", "actor": 1, "x": 2})");           // extra field
  bad_room(R"({"t": "room.leave_room", "actor": 1.5})");                 // not an integer
  bad_room(R"({"t": "room.add_members", "actor": 1, "accounts": [1], "role": "king"})");
  bad_room(R"({"t": "room.add_members", "actor": 1, "accounts": ["a"], "role": "member"})");
  bad_room(R"({"t": "room.add_members", "actor": 1, "accounts": 3, "role": "member"})");
  bad_room(R"({"t": "room.send_message", "actor": 1, "body": 3, "client_msg_id": "", "now": 1})");
  bad_room(R"({"t": "room.send_message", "actor": 1, "body": "x", "client_msg_id": ""})");
  bad_room(R"({"t": "room.mark_read", "actor": 1, "message": null})");
  const std::string task_head =
      R"({"t": "room.add_task", "actor": 1, "assignees": [2], "body": "b", "limit": 0, )"
      R"("limit_type": "none", "now": 1, "author_name": "a", )";
  bad_room(task_head + R"("names": {"0": "x"}})");   // not an account id
  bad_room(task_head + R"("names": {"02": "x"}})");  // not canonical decimal
  bad_room(task_head + R"("names": {"2": 7}})");     // not a string
  bad_room(task_head + R"("names": [1]})");          // not an object

  auto bad_user = [](const std::string& text) {
    INFO(text);
    auto r = codec::decode_user_command(text);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::bad_request);
  };
  bad_user("{");
  bad_user(R"({"t": "room.leave_room", "actor": 1})");
  bad_user(R"({"t": "user.rename_account", "actor": 1})");
  bad_user(R"({"t": "user.register_account", "id": 1, "name": "a", "token_hash": "h"})");
  bad_user(R"({"t": "user.rename_account", "actor": 1, "name": ["a"]})");
  bad_user(R"({"t": "user.disable_account", "actor": 1})");  // no field may be added
  bad_user(R"({"t": "user.issue_token"})");
  bad_user(R"({"t": "user.issue_token", "token_hash": 5})");
  bad_user(R"({"t": "user.revoke_all"})");
}

TEST_CASE("the operator's user commands round-trip through JSON", "[command_codec][admin]") {
  for (const user::command& c :
       {user::command{user::disable_account{}}, user::command{user::enable_account{}},
        user::command{user::revoke_tokens{}}, user::command{user::issue_token{"ff"}}}) {
    auto back = codec::decode_user_command(codec::encode_command(c));
    REQUIRE(back.ok());
    CHECK(back->index() == c.index());
  }
  auto issue = codec::decode_user_command(
      codec::encode_command(user::command{user::issue_token{std::string(64, 'a')}}));
  REQUIRE(issue.ok());
  CHECK(std::get<user::issue_token>(*issue).token_hash == std::string(64, 'a'));
}

TEST_CASE("the REST fetch position commands round-trip through JSON", "[command_codec][rest]") {
  auto move = codec::decode_user_command(
      codec::encode_command(user::command{user::move_fetch_cursor{room_id{3}, message_id{8}}}));
  REQUIRE(move.ok());
  CHECK(std::get<user::move_fetch_cursor>(*move).room == room_id{3});
  CHECK(std::get<user::move_fetch_cursor>(*move).up_to == message_id{8});
  auto peek = codec::decode_user_command(
      codec::encode_command(user::command{user::peek_fetch_cursor{room_id{3}}}));
  REQUIRE(peek.ok());
  CHECK(std::get<user::peek_fetch_cursor>(*peek).room == room_id{3});
  CHECK_FALSE(codec::decode_user_command(R"({"t": "user.move_fetch_cursor", "room": 3})").ok());
  CHECK_FALSE(
      codec::decode_user_command(R"({"t": "user.peek_fetch_cursor", "room": 3, "x": 1})").ok());
}
