#include <catch2/catch.hpp>

#include "room_fixture.hpp"

using namespace hibiki;
using namespace hibiki::test;
using ids = std::vector<message_id>;

TEST_CASE("visible events advance seq by one; read_marked does not", "[room][apply]") {
  auto s = made_room();
  CHECK(s.seq == 1);
  s = post(s, bob, "a", "1");
  CHECK(s.seq == 2);
  s = run(s, room::mark_read{carol, message_id{1}});
  CHECK(s.seq == 2);
  s = run(s, room::edit_message{bob, message_id{1}, "b", 3});
  CHECK(s.seq == 3);
  s = run(s, room::delete_message{bob, message_id{1}, 4});
  CHECK(s.seq == 4);
  s = run(s, room::add_members{alice, {dave}});
  CHECK(s.seq == 5);
  s = run(s, room::leave_room{dave});
  CHECK(s.seq == 6);
  CHECK(room::is_visible(room::event{room::member_added{}}));
  CHECK_FALSE(room::is_visible(room::event{room::read_marked{}}));
}

TEST_CASE("message_posted records meta, the author's cursor, mentions and dedupe",
          "[room][apply]") {
  auto s = made_room();
  s = post(s, bob, "hi [To:1] [To:3]", "c1");
  REQUIRE(s.messages.size() == 1);
  CHECK(s.messages[0] == room::message_meta{bob, 20, 0, false});
  CHECK(s.member(bob)->read_up_to == message_id{1});
  CHECK(s.member(alice)->pending_mentions == ids{message_id{1}});
  CHECK(s.member(carol)->pending_mentions == ids{message_id{1}});
  CHECK(s.member(bob)->pending_mentions.empty());
  REQUIRE(s.dedupe.contains("2:c1"));
  CHECK(s.dedupe.at("2:c1") == room::sent_receipt{message_id{1}, 2});
  CHECK(s.dedupe_order == std::deque<std::string>{"2:c1"});

  CHECK(room::unread_num(s, alice) == 1);
  CHECK(room::mention_num(s, alice) == 1);
  CHECK(room::unread_num(s, bob) == 0);
  CHECK(room::mention_num(s, bob) == 0);
  CHECK(room::message_num(s) == 1);

  // Posting reads everything before: alice's mention goes when she posts herself.
  s = post(s, alice, "reply", "a1");
  CHECK(s.member(alice)->read_up_to == message_id{2});
  CHECK(s.member(alice)->pending_mentions.empty());
  CHECK(room::unread_num(s, alice) == 0);
  CHECK(room::unread_num(s, carol) == 2);
  CHECK(room::mention_num(s, carol) == 1);
}

TEST_CASE("read_marked moves the cursor and drops mentions up to it", "[room][apply]") {
  auto s = made_room();
  s = post(s, bob, "[To:3] one", "1");
  s = post(s, bob, "two", "2");
  s = post(s, bob, "[To:3] three", "3");
  CHECK(s.member(carol)->pending_mentions == ids{message_id{1}, message_id{3}});
  CHECK(room::unread_num(s, carol) == 3);
  CHECK(room::mention_num(s, carol) == 2);
  s = run(s, room::mark_read{carol, message_id{2}});
  CHECK(s.member(carol)->read_up_to == message_id{2});
  CHECK(s.member(carol)->pending_mentions == ids{message_id{3}});
  CHECK(room::unread_num(s, carol) == 1);
  CHECK(room::mention_num(s, carol) == 1);
  // A stale read_marked (e.g. replayed out of a race) never moves the cursor back.
  s = room::apply(s, room::read_marked{carol, message_id{1}});
  CHECK(s.member(carol)->read_up_to == message_id{2});
}

TEST_CASE("message_edited recomputes mentions of that message", "[room][apply]") {
  auto s = made_room();
  s = post(s, bob, "[To:1]", "1");
  s = run(s, room::mark_read{carol, message_id{1}});
  s = run(s, room::edit_message{bob, message_id{1}, "[To:3] now", 77});
  CHECK(s.messages[0].update_time == 77);
  CHECK(s.member(alice)->pending_mentions.empty());
  // carol already read message 1, so the new mention is not unread for her.
  CHECK(s.member(carol)->pending_mentions.empty());
  s = post(s, bob, "two", "2");
  s = run(s, room::edit_message{bob, message_id{2}, "[To:1][To:3]", 78});
  CHECK(s.member(alice)->pending_mentions == ids{message_id{2}});
  CHECK(s.member(carol)->pending_mentions == ids{message_id{2}});
  CHECK(room::mention_num(s, alice) == 1);
}

TEST_CASE("message_deleted hides the message from counts and mentions", "[room][apply]") {
  auto s = made_room();
  s = post(s, bob, "[To:1] a", "1");
  s = post(s, bob, "b", "2");
  s = run(s, room::delete_message{bob, message_id{1}, 50});
  CHECK(s.messages[0].deleted);
  CHECK(s.deleted == ids{message_id{1}});
  CHECK(s.member(alice)->pending_mentions.empty());
  CHECK(room::unread_num(s, alice) == 1);
  CHECK(room::mention_num(s, alice) == 0);
  CHECK(room::message_num(s) == 1);
  CHECK(s.last_message() == message_id{2});  // ids are never reused
  s = post(s, bob, "c", "3");
  CHECK(s.last_message() == message_id{3});
}

TEST_CASE("member_added and member_removed", "[room][apply]") {
  auto s = made_room();
  s = post(s, bob, "before dave", "1");
  s = run(s, room::add_members{alice, {dave}});
  // History from before joining is not unread.
  CHECK(s.member(dave)->read_up_to == message_id{1});
  CHECK(room::unread_num(s, dave) == 0);
  s = run(s, room::mark_read{carol, message_id{1}});
  s = run(s, room::add_members{alice, {carol}, role::admin});
  // A role change keeps the cursor.
  CHECK(s.member(carol)->role == role::admin);
  CHECK(s.member(carol)->read_up_to == message_id{1});
  s = run(s, room::remove_member{alice, dave});
  CHECK(s.member(dave) == nullptr);
  CHECK(room::unread_num(s, dave) == 0);
  CHECK(room::mention_num(s, dave) == 0);
}

TEST_CASE("recipients are the members before and after", "[room][apply]") {
  auto s = made_room();
  auto with_dave = run(s, room::add_members{alice, {dave}});
  using accounts = std::vector<account_id>;
  CHECK(room::recipients(s, room::member_added{dave, role::member, alice}, with_dave) ==
        accounts{alice, bob, carol, dave});
  auto without_bob = run(with_dave, room::remove_member{alice, bob});
  CHECK(room::recipients(with_dave, room::member_removed{bob, alice}, without_bob) ==
        accounts{alice, bob, carol, dave});
  CHECK(room::recipients(without_bob, room::read_marked{carol, message_id{1}}, without_bob) ==
        accounts{carol});
  CHECK(room::recipients(room::state{}, room::room_created{room1, "n", "", alice, {bob, carol}, 1},
                         s) == accounts{alice, bob, carol});
}

TEST_CASE("apply ignores events that do not fit the state", "[room][apply]") {
  auto s = made_room();
  const auto before = s;
  s = room::apply(s, room::message_edited{message_id{5}, "x", 1, {}});
  s = room::apply(s, room::message_deleted{message_id{5}, 1});
  s = room::apply(s, room::read_marked{dave, message_id{1}});
  CHECK(s.messages == before.messages);
  CHECK(s.members == before.members);
  CHECK(s.deleted.empty());
}

TEST_CASE("unread and mention counts through a conversation", "[room][apply]") {
  // alice writes, bob and carol read at their own pace.
  auto s = made_room();
  s = post(s, alice, "[To:2] hello bob", "1");
  s = post(s, alice, "plain", "2");
  s = post(s, alice, "[To:3] and [To:2] both", "3");
  s = post(s, alice, "last", "4");
  auto counts = [&](account_id a) {
    return std::pair{room::unread_num(s, a), room::mention_num(s, a)};
  };
  using p = std::pair<std::size_t, std::size_t>;
  CHECK(counts(bob) == p{4, 2});
  CHECK(counts(carol) == p{4, 1});
  CHECK(counts(alice) == p{0, 0});
  CHECK(s.seq == 5);

  s = run(s, room::mark_read{bob, message_id{2}});
  CHECK(counts(bob) == p{2, 1});
  CHECK(counts(carol) == p{4, 1});
  s = run(s, room::mark_read{carol, message_id{4}});
  CHECK(counts(carol) == p{0, 0});

  s = post(s, alice, "[To:2] again", "5");
  s = post(s, alice, "[To:987654] stranger", "6");
  CHECK(counts(bob) == p{4, 2});
  CHECK(room::message_num(s) == 6);
  CHECK(counts(carol) == p{2, 0});

  s = run(s, room::delete_message{alice, message_id{3}, 9});
  CHECK(counts(bob) == p{3, 1});
  CHECK(room::message_num(s) == 5);
}
