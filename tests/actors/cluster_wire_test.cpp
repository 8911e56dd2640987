// The typed messages between nodes (actors/src/cluster_wire.hpp) survive CAF's binary
// serialization with every field: each command alternative, filled with values other than the
// defaults, is compared after the round trip through core's JSON command codec, which writes
// every field of every command.
#include <algorithm>
#include <set>

#include <catch2/catch.hpp>

#include "cluster_wire.hpp"
#include "hibiki/core/command_codec.hpp"
#include "hibiki/testkit/cluster_fixture.hpp"

using namespace hibiki;
using hibiki::testkit::cluster_fixture;

namespace {

const account_id a1{1}, a2{2}, a3{3};

std::vector<room::command> room_samples() {
  room::create_room create{a1, room_id{9}, "general", "desc", {a2, a3}, 1700000000};
  create.type = room::room_type::direct;
  room::send_message send{a1, "héllo [To:2]", "c-1", 17};
  send.self_unread = true;
  send.author_name = "alice";
  room::request_upload upload{a1, "a.png", 123, "image/png", 1000, "obj/1", 5};
  upload.window = 77;
  upload.max_pending = 3;
  room::retire_file retire{};
  retire.actor = a2;
  retire.file = file_id{4};
  retire.now = 8;
  retire.grace = 9;
  room::forget_file forget{};
  forget.actor = a2;
  forget.file = file_id{5};
  return {
      create,
      room::add_members{a1, {a2, a3}, role::readonly},
      room::remove_member{a1, a2},
      room::leave_room{a3},
      send,
      room::edit_message{a1, message_id{3}, "new", 18, "alice"},
      room::delete_message{a1, message_id{3}, 19},
      room::mark_read{a2, message_id{7}},
      room::get_room{a2},
      room::get_members{a2},
      room::update_room{a1, "n", std::nullopt, "star", 4},
      room::update_room{a1, std::nullopt, "", std::nullopt, 5},
      room::delete_room{a1, 5},
      room::set_members{a1, {a1}, {a2}, {a3}},
      room::add_task{a1,
                     {a2, a3},
                     "b",
                     1800000000,
                     room::limit_type::time,
                     7,
                     "alice",
                     std::map<account_id, std::string>{{a2, "bob"}, {a3, ""}}},
      room::set_task_status{a2, task_id{4}, room::task_status::open, 8},
      room::get_task{a2, task_id{4}},
      room::list_tasks{a2, a3, std::nullopt, room::task_status::done},
      room::list_tasks{a2, std::nullopt, a1, std::nullopt},
      room::mark_unread{a2, message_id{6}},
      upload,
      room::check_upload{a1, file_id{2}, 6},
      room::complete_upload{a1, file_id{2}, 99, 7, "alice", "see this"},
      retire,
      forget,
      room::create_webhook{
          a1, "https://h.example/x", {"message_created", "task_created"}, "tok", 3},
      room::list_webhooks{a1},
      room::delete_webhook{a1, webhook_id{2}, 4},
  };
}

std::vector<user::command> user_samples() {
  return {
      user::register_account{a3, "alice", "abc123", 42},
      user::rename_account{a3, "bob"},
      user::disable_account{},
      user::enable_account{},
      user::revoke_tokens{},
      user::issue_token{std::string(64, 'c')},
      user::move_fetch_cursor{room_id{3}, message_id{8}},
      user::peek_fetch_cursor{room_id{3}},
      user::update_profile{a3, "n", "cw", "org", std::nullopt, "title", "intro"},
      user::update_profile{a3, std::nullopt, std::nullopt, std::nullopt, "dept", std::nullopt,
                           std::nullopt},
      user::get_profile{a3},
      user::assign_my_room{room_id{4}},
      user::request_contact{a1, a2, "hi", 9},
      user::accept_contact{a2, a1, room_id{5}},
      user::reject_contact{a2, a1},
  };
}

template <class Remote>
Remote cross(cluster_fixture& fx, const Remote& m) {
  caf::message back = fx.wire_round_trip(caf::make_message(m));
  REQUIRE(back.match_elements<Remote>());
  return back.get_as<Remote>(0);
}

}  // namespace

TEST_CASE("cluster wire: every room command crosses with every field", "[cluster][unit]") {
  cluster_fixture fx({"a"}, 1);
  std::set<std::size_t> seen;
  for (const auto& cmd : room_samples()) {
    const auto text = codec::encode_command(cmd);
    INFO(text);
    auto back = cross(fx, actors::remote_room_command{"room-9", cmd, "node-a", 77});
    CHECK(back.entity == "room-9");
    CHECK(back.origin_node == "node-a");
    CHECK(back.origin_session == 77);
    CHECK(back.cmd.index() == cmd.index());
    CHECK(codec::encode_command(back.cmd) == text);
    seen.insert(cmd.index());
  }
  CHECK(seen.size() == std::variant_size_v<room::command>);  // a sample for every command
}

TEST_CASE("cluster wire: every user and id command crosses with every field", "[cluster][unit]") {
  cluster_fixture fx({"a"}, 1);
  std::set<std::size_t> seen;
  for (const auto& cmd : user_samples()) {
    const auto text = codec::encode_command(cmd);
    INFO(text);
    auto back = cross(fx, actors::remote_user_command{"user-3", cmd, "node-b", 5});
    CHECK(back.cmd.index() == cmd.index());
    CHECK(codec::encode_command(back.cmd) == text);
    seen.insert(cmd.index());
  }
  CHECK(seen.size() == std::variant_size_v<user::command>);
  for (const actors::id_command& cmd :
       {actors::id_command{actors::allocate_id{}}, actors::id_command{actors::peek_ids{}}}) {
    auto back = cross(fx, actors::remote_ids_command{"ids-account", cmd, "n", 0});
    CHECK(back.cmd.index() == cmd.index());
    CHECK(back.entity == "ids-account");
  }
}

TEST_CASE("cluster wire: pushes and presence cross intact", "[cluster][unit]") {
  cluster_fixture fx({"a"}, 1);
  auto push = cross(fx, actors::remote_push{R"({"ev":"x"})", {1, 2, 3}, "node-a", 9});
  CHECK(push.frame == R"({"ev":"x"})");
  CHECK(push.recipients == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(push.exclude_node == "node-a");
  CHECK(push.exclude_session == 9);
  auto rename = cross(fx, actors::remote_rename{"f", {4}, 4, "Zoë"});
  CHECK(rename.frame == "f");
  CHECK(rename.recipients == std::vector<std::uint64_t>{4});
  CHECK(rename.account == 4);
  CHECK(rename.name == "Zoë");
  auto close = cross(fx, actors::remote_close{{5, 6}, 4001, "revoked"});
  CHECK(close.recipients == std::vector<std::uint64_t>{5, 6});
  CHECK(close.code == 4001);
  CHECK(close.reason == "revoked");
  auto full = cross(fx, actors::presence_full{"node-b", {7, 8}});
  CHECK(full.node == "node-b");
  CHECK(full.accounts == std::vector<std::uint64_t>{7, 8});
  CHECK(fx.wire_messages() == 4);
}

TEST_CASE("cluster wire: a command index this build does not know fails to deserialize",
          "[cluster][unit]") {
  cluster_fixture fx({"a"}, 1);
  caf::actor_system& sys = fx.sys();
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto m = caf::make_message(actors::remote_room_command{"room-1", room::leave_room{a1}, "n", 0});
  REQUIRE_FALSE(inspect(sink, m));
  // The variant index is the byte right after the entity id's length and text: make it unknown.
  const std::string entity = "room-1";
  auto at = std::search(buf.begin(), buf.end(), entity.begin(), entity.end());
  REQUIRE(at != buf.end());
  auto index = at + static_cast<std::ptrdiff_t>(entity.size());
  REQUIRE(static_cast<std::uint8_t>(*index) ==
          room::command{room::leave_room{}}.index());  // found the index byte
  *index = static_cast<char>(200);
  caf::binary_deserializer source{sys, buf};
  caf::message back;
  CHECK(inspect(source, back));  // an error, not a default command
}
