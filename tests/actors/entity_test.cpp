// Room and user entities through the testkit's entity kit: commands → events, replies, state;
// errors persist nothing; a restart recovers the same state (from the journal, and from a
// snapshot plus the tail).

#include <catch2/catch.hpp>

#include "hibiki/testkit/entity_kit.hpp"

using namespace hibiki;
using hibiki::testkit::actor_fixture;
using hibiki::testkit::room_kit;
using hibiki::testkit::user_kit;

namespace {

const account_id alice{1}, bob{2}, carol{3};
const std::string hash_a(64, 'a'), hash_b(64, 'b');

room::create_room create(room_id r, std::vector<account_id> members = {bob}) {
  return room::create_room{alice, r, "general", "", std::move(members), 1'700'000'000};
}

room::send_message post(account_id who, std::string body, std::string client_msg_id) {
  return room::send_message{who, std::move(body), std::move(client_msg_id), 1'700'000'001};
}

}  // namespace

TEST_CASE("room entity: create / post / edit / delete / mark_read", "[entity][room]") {
  actor_fixture fx;
  room_kit room(fx, entity_of(room_id{1}));

  auto created = room.run(create(room_id{1}));
  REQUIRE_FALSE(created.reply.err);
  CHECK(created.reply.fields["room_id"] == 1);
  REQUIRE(created.events.size() == 1);
  CHECK(std::holds_alternative<room::room_created>(created.events[0]));

  auto posted = room.run(post(bob, "hello [To:1]", "m1"));
  REQUIRE_FALSE(posted.reply.err);
  CHECK(posted.reply.fields["message_id"] == "1");
  CHECK(posted.reply.fields["seq"] == 2);
  REQUIRE(posted.events.size() == 1);
  auto& msg = std::get<room::message_posted>(posted.events[0]);
  CHECK(msg.author == bob);
  CHECK(msg.mentions == std::vector<account_id>{alice});

  auto edited = room.run(room::edit_message{bob, message_id{1}, "changed", 1'700'000'002});
  REQUIRE_FALSE(edited.reply.err);
  CHECK(edited.reply.fields["seq"] == 3);

  auto read = room.run(room::mark_read{alice, message_id{1}});
  REQUIRE_FALSE(read.reply.err);
  CHECK(read.reply.fields["unread_num"] == 0);
  CHECK(read.reply.fields["mention_num"] == 0);

  auto deleted = room.run(room::delete_message{bob, message_id{1}, 1'700'000'003});
  REQUIRE_FALSE(deleted.reply.err);
  CHECK(deleted.reply.fields["seq"] == 4);

  auto s = room.state();
  CHECK(s.created);
  CHECK(s.seq == 4);
  CHECK(s.messages.size() == 1);
  CHECK(s.messages[0].deleted);
}

TEST_CASE("room entity: rejected commands reply with the error and persist nothing",
          "[entity][room]") {
  actor_fixture fx;
  room_kit room(fx, entity_of(room_id{1}));

  // Nothing exists yet.
  auto early = room.run(post(alice, "hi", "x"));
  REQUIRE(early.reply.err);
  CHECK(early.reply.err->code == errc::not_found);
  CHECK(early.events.empty());

  REQUIRE_FALSE(room.run(create(room_id{1})).reply.err);
  auto outsider = room.run(post(carol, "hi", "x"));
  REQUIRE(outsider.reply.err);
  CHECK(outsider.reply.err->code == errc::forbidden);
  CHECK(outsider.events.empty());

  REQUIRE_FALSE(room.run(post(bob, "mine", "b1")).reply.err);
  auto not_author = room.run(room::edit_message{alice, message_id{1}, "x", 0});
  REQUIRE(not_author.reply.err);
  CHECK(not_author.reply.err->code == errc::forbidden);

  auto empty = room.run(post(bob, "", "b2"));
  REQUIRE(empty.reply.err);
  CHECK(empty.reply.err->code == errc::bad_request);

  auto twice = room.run(create(room_id{1}));
  REQUIRE(twice.reply.err);
  CHECK(twice.events.empty());
  CHECK(room.state().seq == 2);
}

TEST_CASE("room entity: a repeated client_msg_id returns the first reply", "[entity][room]") {
  actor_fixture fx;
  room_kit room(fx, entity_of(room_id{1}));
  REQUIRE_FALSE(room.run(create(room_id{1})).reply.err);
  auto first = room.run(post(bob, "once", "same"));
  auto again = room.run(post(bob, "once", "same"));
  CHECK(again.events.empty());
  CHECK(again.reply.fields == first.reply.fields);
  // The same id from another account is a different message.
  auto other = room.run(post(alice, "once", "same"));
  CHECK(other.events.size() == 1);
  CHECK(other.reply.fields["message_id"] == "2");
}

TEST_CASE("room entity: restart recovers the same state from the journal", "[entity][recovery]") {
  actor_fixture fx;
  room_kit room(fx, entity_of(room_id{1}));
  REQUIRE_FALSE(room.run(create(room_id{1})).reply.err);
  for (int i = 0; i < 5; ++i)
    REQUIRE_FALSE(room.run(post(bob, "m" + std::to_string(i), "c" + std::to_string(i))).reply.err);
  REQUIRE_FALSE(room.run(room::mark_read{alice, message_id{3}}).reply.err);
  auto before = room.state();
  room.restart();
  CHECK(room.state() == before);
  // And it keeps going where it stopped.
  auto next = room.run(post(bob, "after", "after"));
  CHECK(next.reply.fields["message_id"] == "6");
}

TEST_CASE("room entity: recovery from a snapshot plus the tail", "[entity][recovery]") {
  auto options = hibiki::testkit::test_options();
  options.snapshot_every = 3;
  actor_fixture fx(options);
  const entity_id id = entity_of(room_id{1});
  room_kit room(fx, id);
  REQUIRE_FALSE(room.run(create(room_id{1})).reply.err);
  for (int i = 0; i < 6; ++i)
    REQUIRE_FALSE(room.run(post(bob, "m" + std::to_string(i), "c" + std::to_string(i))).reply.err);
  auto before = room.state();  // 7 events: snapshots at 3 and 6, one event of tail

  auto snap = fx.storage().snapshots().load(id, {});
  REQUIRE(snap.ok());
  REQUIRE(snap->has_value());
  CHECK((*snap)->meta.seq == 6);

  // Without the events the snapshot covers, only snapshot + tail can give the same state.
  REQUIRE(fx.journal().delete_to(id, 6).ok());
  room.restart();
  CHECK(room.state() == before);
  CHECK(room.run(post(bob, "next", "n")).reply.fields["message_id"] == "7");
}

TEST_CASE("user entity: register / conflict / recovery", "[entity][user]") {
  actor_fixture fx;
  user_kit user(fx, entity_of(account_id{1}));
  auto reg = user.run(user::register_account{account_id{1}, "alice", hash_a, 1'700'000'000});
  REQUIRE_FALSE(reg.reply.err);
  REQUIRE(reg.events.size() == 1);
  CHECK(std::get<user::account_registered>(reg.events[0]).name == "alice");

  auto again = user.run(user::register_account{account_id{1}, "alice2", hash_b, 0});
  REQUIRE(again.reply.err);
  CHECK(again.reply.err->code == errc::conflict);
  CHECK(again.events.empty());

  auto bad = user.run(user::rename_account{account_id{1}, std::string("\x01", 1)});
  REQUIRE(bad.reply.err);
  CHECK(bad.reply.err->code == errc::bad_request);

  auto before = user.state();
  CHECK(before.name == "alice");
  user.restart();
  CHECK(user.state() == before);
}

TEST_CASE("signup allocates dense ids and stores only the token hash", "[entity][signup]") {
  actor_fixture fx;
  auto a = fx.signup("alice");
  auto b = fx.signup("bob");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->account.value == 1);
  CHECK(b->account.value == 2);
  CHECK(a->token.size() == 64);
  user_kit user(fx, entity_of(account_id{1}));
  auto s = user.state();
  CHECK(s.registered);
  CHECK(s.token_hash.size() == 64);
  CHECK(s.token_hash != a->token);

  auto bad = fx.signup("");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == errc::bad_request);
  // A rejected name burns no id.
  fx.restart();
  auto c = fx.signup("carol");
  REQUIRE(c.ok());
  CHECK(c->account.value == 3);
}
