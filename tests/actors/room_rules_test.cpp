/// The room entity with room types, room management and tasks: replies, persisted events, the
/// read models they write, and what survives recovery.

#include <catch2/catch.hpp>

#include "hibiki/testkit/entity_kit.hpp"
#include "reads.hpp"

using namespace hibiki;

namespace {

constexpr account_id alice{1};
constexpr account_id bob{2};
constexpr account_id carol{3};

room::create_room direct(room_id r, unix_time now) {
  room::create_room c{alice, r, "", "", {bob}, now};
  c.type = room::room_type::direct;
  return c;
}

}  // namespace

TEST_CASE("a direct room keeps its two members, across a restart", "[room_entity][type]") {
  testkit::actor_fixture fx;
  testkit::room_kit room(fx, entity_of(room_id{1}));
  REQUIRE_FALSE(room.run(direct(room_id{1}, fx.now)).reply.err);
  auto added = room.run(room::add_members{alice, {carol}, role::member});
  REQUIRE(added.reply.err);
  CHECK(added.reply.err->code == errc::forbidden);
  CHECK(added.events.empty());
  CHECK(room.run(room::leave_room{bob}).reply.err->code == errc::forbidden);
  room.restart();
  CHECK(room.state().type == room::room_type::direct);
  CHECK(room.run(room::leave_room{bob}).reply.err->code == errc::forbidden);
  auto listed = actors::read_list_rooms(fx.storage().reads(), bob, true);
  REQUIRE_FALSE(listed.err);
  CHECK(listed.fields["rooms"][0]["type"] == "direct");
  CHECK(listed.fields["rooms"][0]["role"] == "admin");
}

TEST_CASE("get_room and get_members answer from the entity and persist nothing",
          "[room_entity][manage]") {
  testkit::actor_fixture fx;
  testkit::room_kit room(fx, entity_of(room_id{1}));
  REQUIRE_FALSE(
      room.run(room::create_room{alice, room_id{1}, "team", "d", {bob}, fx.now}).reply.err);
  auto info = room.run(room::get_room{bob});
  REQUIRE_FALSE(info.reply.err);
  CHECK(info.events.empty());
  CHECK(info.reply.fields["room"]["name"] == "team");
  CHECK(info.reply.fields["room"]["member_num"] == 2);
  auto members = room.run(room::get_members{carol});
  REQUIRE(members.reply.err);
  CHECK(members.reply.err->code == errc::forbidden);
  CHECK(room.run(room::get_members{alice}).reply.fields["members"].size() == 2);
}

TEST_CASE("tasks: replies, my-tasks rows, counts, and leaving takes them", "[room_entity][task]") {
  testkit::actor_fixture fx;
  testkit::room_kit room(fx, entity_of(room_id{1}));
  REQUIRE_FALSE(
      room.run(room::create_room{alice, room_id{1}, "team", "", {bob, carol}, fx.now}).reply.err);
  auto added =
      room.run(room::add_task{alice, {bob, carol}, "write it", 0, room::limit_type::none, fx.now});
  REQUIRE_FALSE(added.reply.err);
  CHECK(added.reply.fields["task_ids"] == nlohmann::json::array({1, 2}));
  // The message that shows the tasks, then the two tasks; the reply names the message.
  CHECK(added.events.size() == 3);
  CHECK(added.reply.fields["message_id"] == "1");

  auto bobs = actors::read_my_tasks(fx.storage().reads(), bob, std::nullopt, std::nullopt);
  REQUIRE_FALSE(bobs.err);
  REQUIRE(bobs.fields["tasks"].size() == 1);
  CHECK(bobs.fields["tasks"][0]["task_id"] == 1);
  CHECK(bobs.fields["tasks"][0]["room"]["name"] == "team");
  CHECK(bobs.fields["tasks"][0]["room"]["icon_preset"] == "group");
  CHECK(bobs.fields["tasks"][0]["message_id"] == "1");
  auto status = actors::read_my_status(fx.storage().reads(), bob);
  CHECK(status.fields["mytask_num"] == 1);
  CHECK(status.fields["mytask_room_num"] == 1);
  CHECK(actors::read_list_rooms(fx.storage().reads(), alice, true).fields["rooms"][0]["task_num"] ==
        2);

  auto done = room.run(room::set_task_status{bob, task_id{1}, room::task_status::done, fx.now});
  REQUIRE_FALSE(done.reply.err);
  CHECK(actors::read_my_tasks(fx.storage().reads(), bob, std::nullopt, std::string("open"))
            .fields["tasks"]
            .empty());
  CHECK(actors::read_my_status(fx.storage().reads(), bob).fields["mytask_num"] == 0);
  CHECK(room.run(room::set_task_status{carol, task_id{1}, room::task_status::open, fx.now})
            .reply.err->code == errc::forbidden);

  // Recovery rebuilds the tasks from the journal.
  auto before = room.state();
  room.restart();
  CHECK(room.state() == before);

  REQUIRE_FALSE(room.run(room::leave_room{carol}).reply.err);
  auto& reads2 = fx.storage().reads();  // the storage was reopened
  CHECK(actors::read_my_tasks(reads2, carol, std::nullopt, std::nullopt).fields["tasks"].empty());
  auto listed = room.run(room::list_tasks{alice, std::nullopt, std::nullopt, std::nullopt});
  CHECK(listed.reply.fields["tasks"].size() == 1);

  // Deleting the room takes bob's row too.
  REQUIRE_FALSE(room.run(room::delete_room{alice, fx.now}).reply.err);
  CHECK(actors::read_my_tasks(reads2, bob, std::nullopt, std::nullopt).fields["tasks"].empty());
  CHECK(actors::read_list_rooms(reads2, bob).fields["rooms"].empty());
}
