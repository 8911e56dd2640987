#include <catch2/catch.hpp>

#include "room_fixture.hpp"

using namespace hibiki;
using namespace hibiki::test;

TEST_CASE("commands on a room that does not exist are not_found", "[room][decide]") {
  const room::state none;
  CHECK(refusal(none, room::add_members{alice, {bob}}) == errc::not_found);
  CHECK(refusal(none, room::remove_member{alice, bob}) == errc::not_found);
  CHECK(refusal(none, room::leave_room{alice}) == errc::not_found);
  CHECK(refusal(none, room::send_message{alice, "hi", "c1", 1}) == errc::not_found);
  CHECK(refusal(none, room::edit_message{alice, message_id{1}, "x", 1}) == errc::not_found);
  CHECK(refusal(none, room::delete_message{alice, message_id{1}, 1}) == errc::not_found);
  CHECK(refusal(none, room::mark_read{alice, message_id{1}}) == errc::not_found);
}

TEST_CASE("create_room makes the creator admin and dedupes members", "[room][decide]") {
  auto d = room::decide(
      room::state{}, room::create_room{alice, room1, "general", "", {bob, alice, bob, carol}, 5});
  REQUIRE(d.ok());
  REQUIRE(d->events.size() == 1);
  const auto& e = std::get<room::room_created>(d->events[0]);
  CHECK(e.creator == alice);
  CHECK(e.members == std::vector<account_id>{bob, carol});
  CHECK(e.room == room1);
  CHECK(e.time == 5);

  const auto s = room::apply(room::state{}, d->events[0]);
  CHECK(s.created);
  CHECK(s.id == room1);
  CHECK(s.seq == 1);
  CHECK(s.member(alice)->role == role::admin);
  CHECK(s.member(bob)->role == role::member);
  CHECK(s.member(carol)->role == role::member);
  CHECK(s.member(dave) == nullptr);
  CHECK(s.members.size() == 3);
}

TEST_CASE("create_room validates its fields", "[room][decide]") {
  const room::state none;
  auto create = [&](std::string name, std::string desc, std::vector<account_id> members) {
    return refusal(none, room::create_room{alice, room1, std::move(name), std::move(desc),
                                           std::move(members), 1});
  };
  CHECK(create("a", "", {}) == errc::ok);
  CHECK(create("", "", {}) == errc::bad_request);
  CHECK(create("\xFF", "", {}) == errc::bad_request);
  CHECK(create(std::string(255, 'n'), "", {}) == errc::ok);
  CHECK(create(std::string(256, 'n'), "", {}) == errc::too_large);
  // 255 three-byte characters are 765 bytes but still 255 characters.
  std::string kana;
  for (int i = 0; i < 255; ++i) kana += "\xE3\x81\x82";
  CHECK(create(kana, "", {}) == errc::ok);
  CHECK(create("n", std::string(10000, 'd'), {}) == errc::ok);
  CHECK(create("n", std::string(10001, 'd'), {}) == errc::too_large);
  CHECK(create("n", "\xC3", {}) == errc::bad_request);
  CHECK(create("n", "", std::vector<account_id>(1000, bob)) == errc::ok);
  CHECK(create("n", "", std::vector<account_id>(1001, bob)) == errc::bad_request);
  CHECK(create("n", "", {account_id{0}}) == errc::bad_request);
  CHECK(refusal(none, room::create_room{alice, room_id{}, "n", "", {}, 1}) == errc::bad_request);
  CHECK(refusal(made_room(), room::create_room{alice, room1, "again", "", {}, 1}) ==
        errc::conflict);
}

TEST_CASE("non-members are forbidden everything", "[room][decide]") {
  const auto s = made_room();
  CHECK(refusal(s, room::add_members{dave, {dave}}) == errc::forbidden);
  CHECK(refusal(s, room::remove_member{dave, bob}) == errc::forbidden);
  CHECK(refusal(s, room::leave_room{dave}) == errc::forbidden);
  CHECK(refusal(s, room::send_message{dave, "hi", "c", 1}) == errc::forbidden);
  CHECK(refusal(s, room::edit_message{dave, message_id{1}, "x", 1}) == errc::forbidden);
  CHECK(refusal(s, room::delete_message{dave, message_id{1}, 1}) == errc::forbidden);
  CHECK(refusal(s, room::mark_read{dave, message_id{1}}) == errc::forbidden);
}

TEST_CASE("add_members: admins only, role changes, no-ops, last admin", "[room][decide]") {
  auto s = made_room();
  CHECK(refusal(s, room::add_members{bob, {dave}}) == errc::forbidden);
  CHECK(refusal(s, room::add_members{alice, {}}) == errc::bad_request);
  CHECK(refusal(s, room::add_members{alice, {account_id{0}}}) == errc::bad_request);
  CHECK(refusal(s, room::add_members{alice, std::vector<account_id>(1001, dave)}) ==
        errc::bad_request);

  // Same role: nothing happens.
  auto same = room::decide(s, room::add_members{alice, {bob, carol}, role::member});
  REQUIRE(same.ok());
  CHECK(same->events.empty());

  // New member plus a role change, duplicates collapsed.
  auto d = room::decide(s, room::add_members{alice, {dave, bob, dave}, role::readonly});
  REQUIRE(d.ok());
  REQUIRE(d->events.size() == 2);
  CHECK(std::get<room::member_added>(d->events[0]).account == dave);
  CHECK(std::get<room::member_added>(d->events[1]).account == bob);
  CHECK(std::get<room::member_added>(d->events[1]).role == role::readonly);
  CHECK(std::get<room::member_added>(d->events[1]).by == alice);
  for (const auto& e : d->events) s = room::apply(s, e);
  CHECK(s.member(bob)->role == role::readonly);
  CHECK(s.member(dave)->role == role::readonly);
  CHECK(s.seq == 3);

  // The only admin demoting themselves leaves the room without an admin.
  CHECK(refusal(s, room::add_members{alice, {alice}, role::member}) == errc::conflict);
  // ...but not when someone else is made admin in the same command.
  CHECK(refusal(s, room::add_members{alice, {carol, alice}, role::admin}) == errc::ok);
  s = run(s, room::add_members{alice, {carol}, role::admin});
  CHECK(refusal(s, room::add_members{alice, {alice}, role::member}) == errc::ok);
}

TEST_CASE("remove_member and leave_room", "[room][decide]") {
  auto s = made_room();
  CHECK(refusal(s, room::remove_member{bob, carol}) == errc::forbidden);
  CHECK(refusal(s, room::remove_member{alice, dave}) == errc::not_found);
  CHECK(refusal(s, room::remove_member{alice, alice}) == errc::conflict);
  CHECK(refusal(s, room::leave_room{alice}) == errc::conflict);

  auto d = room::decide(s, room::remove_member{alice, carol});
  REQUIRE(d.ok());
  REQUIRE(d->events.size() == 1);
  const auto& removed = std::get<room::member_removed>(d->events[0]);
  CHECK(removed.account == carol);
  CHECK(removed.by == alice);
  s = room::apply(s, d->events[0]);
  CHECK(s.member(carol) == nullptr);

  // A member may leave (and remove_member on oneself is leaving).
  s = run(s, room::remove_member{bob, bob});
  CHECK(s.member(bob) == nullptr);
  // The last member may leave, taking the last admin with them.
  auto last = room::decide(s, room::leave_room{alice});
  REQUIRE(last.ok());
  CHECK(std::get<room::member_removed>(last->events[0]).by == alice);
  s = room::apply(s, last->events[0]);
  CHECK(s.members.empty());
  CHECK(s.seq == 4);
}

TEST_CASE("send_message validates the body and client_msg_id", "[room][decide]") {
  auto s = made_room();
  auto send = [&](account_id who, std::string body, std::string cid) {
    return refusal(s, room::send_message{who, std::move(body), std::move(cid), 1});
  };
  CHECK(send(bob, "hi", "c") == errc::ok);
  CHECK(send(bob, "", "c") == errc::bad_request);
  CHECK(send(bob, "\xC3\x28", "c") == errc::bad_request);
  CHECK(send(bob, std::string(65535, 'x'), "c") == errc::ok);
  CHECK(send(bob, std::string(65536, 'x'), "c") == errc::too_large);
  CHECK(send(bob, "hi", "") == errc::bad_request);
  CHECK(send(bob, "hi", std::string(64, 'c')) == errc::ok);
  CHECK(send(bob, "hi", std::string(65, 'c')) == errc::bad_request);
  CHECK(send(bob, "hi", "\xFF") == errc::bad_request);
  s = run(s, room::add_members{alice, {carol}, role::readonly});
  CHECK(send(carol, "hi", "c") == errc::forbidden);
}

TEST_CASE("send_message numbers messages and filters mentions", "[room][decide]") {
  auto s = made_room();
  auto d = room::decide(s, room::send_message{bob, "[To:1][To:2][To:4][To:3][To:1]", "c1", 30});
  REQUIRE(d.ok());
  REQUIRE(d->events.size() == 1);
  const auto& p = std::get<room::message_posted>(d->events[0]);
  CHECK(p.id == message_id{1});
  CHECK(p.author == bob);
  CHECK(p.time == 30);
  CHECK(p.client_msg_id == "c1");
  // The author (2) and the non-member (4) are dropped.
  CHECK(p.mentions == std::vector<account_id>{alice, carol});
  s = room::apply(s, d->events[0]);
  s = post(s, alice, "two", "c1");  // another account may reuse the client id
  CHECK(s.last_message() == message_id{2});
}

TEST_CASE("send_message is idempotent per account and client_msg_id", "[room][decide]") {
  auto s = made_room();
  s = post(s, bob, "first", "same");
  auto again = room::decide(s, room::send_message{bob, "other body", "same", 50});
  REQUIRE(again.ok());
  CHECK(again->events.empty());
  REQUIRE(again->duplicate_of);
  CHECK(again->duplicate_of->id == message_id{1});
  CHECK(again->duplicate_of->seq == 2);
  auto fresh = room::decide(s, room::send_message{bob, "x", "new", 50});
  REQUIRE(fresh.ok());
  CHECK_FALSE(fresh->duplicate_of);
  CHECK(fresh->events.size() == 1);
}

TEST_CASE("the dedupe window evicts the oldest entries", "[room][decide]") {
  auto s = made_room();
  for (std::size_t i = 0; i < room::dedupe_window + 2; ++i) {
    s = post(std::move(s), bob, "m", "c" + std::to_string(i));
  }
  CHECK(s.dedupe.size() == room::dedupe_window);
  CHECK(s.dedupe_order.size() == room::dedupe_window);
  CHECK(s.dedupe_order.front() == "2:c2");
  CHECK_FALSE(s.dedupe.contains("2:c0"));
  CHECK_FALSE(s.dedupe.contains("2:c1"));
  // An evicted id is accepted again as a new message.
  auto d = room::decide(s, room::send_message{bob, "m", "c0", 1});
  REQUIRE(d.ok());
  CHECK(d->events.size() == 1);
  auto dup = room::decide(s, room::send_message{bob, "m", "c2", 1});
  REQUIRE(dup.ok());
  REQUIRE(dup->duplicate_of);
  CHECK(dup->duplicate_of->id == message_id{3});
}

TEST_CASE("edit_message and delete_message rules", "[room][decide]") {
  auto s = made_room();
  s = post(s, bob, "hello", "c1");
  s = post(s, carol, "hey", "c2");
  const message_id m1{1};
  CHECK(refusal(s, room::edit_message{bob, message_id{0}, "x", 1}) == errc::not_found);
  CHECK(refusal(s, room::edit_message{bob, message_id{3}, "x", 1}) == errc::not_found);
  CHECK(refusal(s, room::edit_message{carol, m1, "x", 1}) == errc::forbidden);
  CHECK(refusal(s, room::edit_message{alice, m1, "x", 1}) == errc::forbidden);  // admins too
  CHECK(refusal(s, room::edit_message{bob, m1, "", 1}) == errc::bad_request);
  CHECK(refusal(s, room::edit_message{bob, m1, "\xFF", 1}) == errc::bad_request);
  CHECK(refusal(s, room::edit_message{bob, m1, std::string(65536, 'x'), 1}) == errc::too_large);
  CHECK(refusal(s, room::delete_message{alice, m1, 1}) == errc::forbidden);
  CHECK(refusal(s, room::delete_message{bob, message_id{9}, 1}) == errc::not_found);

  auto e = room::decide(s, room::edit_message{bob, m1, "new [To:3] [To:2] [To:9]", 40});
  REQUIRE(e.ok());
  const auto& ed = std::get<room::message_edited>(e->events.at(0));
  CHECK(ed.id == m1);
  CHECK(ed.time == 40);
  CHECK(ed.mentions == std::vector<account_id>{carol});

  s = run(s, room::delete_message{bob, m1, 41});
  CHECK(refusal(s, room::edit_message{bob, m1, "x", 1}) == errc::not_found);
  CHECK(refusal(s, room::delete_message{bob, m1, 1}) == errc::not_found);

  // A member demoted to read-only can no longer change their messages.
  s = run(s, room::add_members{alice, {carol}, role::readonly});
  CHECK(refusal(s, room::edit_message{carol, message_id{2}, "x", 1}) == errc::forbidden);
  CHECK(refusal(s, room::delete_message{carol, message_id{2}, 1}) == errc::forbidden);
}

TEST_CASE("mark_read rules", "[room][decide]") {
  auto s = made_room();
  CHECK(refusal(s, room::mark_read{bob, message_id{1}}) == errc::not_found);
  s = post(s, alice, "one", "a");
  s = post(s, alice, "two", "b");
  CHECK(refusal(s, room::mark_read{bob, message_id{0}}) == errc::not_found);
  CHECK(refusal(s, room::mark_read{bob, message_id{3}}) == errc::not_found);
  auto d = room::decide(s, room::mark_read{bob, message_id{1}});
  REQUIRE(d.ok());
  REQUIRE(d->events.size() == 1);
  CHECK(std::get<room::read_marked>(d->events[0]).account == bob);
  CHECK(std::get<room::read_marked>(d->events[0]).up_to == message_id{1});
  s = room::apply(s, d->events[0]);
  auto back = room::decide(s, room::mark_read{bob, message_id{1}});
  REQUIRE(back.ok());
  CHECK(back->events.empty());
  CHECK_FALSE(back->duplicate_of);
  // Read-only members may still read, and their own messages are read already.
  s = run(s, room::add_members{alice, {carol}, role::readonly});
  CHECK(refusal(s, room::mark_read{carol, message_id{2}}) == errc::ok);
  auto own = room::decide(s, room::mark_read{alice, message_id{2}});
  REQUIRE(own.ok());
  CHECK(own->events.empty());
}

TEST_CASE("admins hand over before leaving", "[room][decide]") {
  auto s = made_room();
  s = run(s, room::add_members{alice, {bob}, role::admin});
  // With two admins either may go, and one admin may remove the other.
  CHECK(refusal(s, room::leave_room{alice}) == errc::ok);
  CHECK(refusal(s, room::remove_member{bob, alice}) == errc::ok);
  s = run(s, room::remove_member{bob, alice});
  CHECK(refusal(s, room::leave_room{bob}) == errc::conflict);
  // Demoting the last admin through a role change is refused too.
  CHECK(refusal(s, room::add_members{bob, {bob}, role::readonly}) == errc::conflict);
  // A read-only member may always leave.
  s = run(s, room::add_members{bob, {carol}, role::readonly});
  CHECK(refusal(s, room::leave_room{carol}) == errc::ok);
  // Removing a member who already left is not_found.
  s = run(s, room::leave_room{carol});
  CHECK(refusal(s, room::remove_member{bob, carol}) == errc::not_found);
}

TEST_CASE("refusals carry a message for the client", "[room][decide]") {
  const auto s = made_room();
  auto r = room::decide(s, room::send_message{bob, "", "c", 1});
  REQUIRE_FALSE(r.ok());
  CHECK_FALSE(r.error().message.empty());
  auto f = room::decide(s, room::add_members{bob, {dave}});
  REQUIRE_FALSE(f.ok());
  CHECK(f.error().code == errc::forbidden);
  CHECK(f.error().message.find("admin") != std::string::npos);
}
