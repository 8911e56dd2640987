// People through the actor layer: `me` makes the account's `my` room once; contact requests are
// decided by the pair's owner entity (the lower account id), so several accepts at once (one
// offered room id each) still give the pair one direct room; message objects name their author,
// and history shows a rename; a rename is pushed (`account_updated`) to everyone who shares a
// room, a contact or a request with the account, and its sessions send the new name; get_accounts
// names known accounts only. Everything survives a restart.

#include <map>

#include <catch2/catch.hpp>

#include "entity_traits.hpp"
#include "hibiki/core/protocol.hpp"
#include "hibiki/testkit/actor_fixture.hpp"
#include "hibiki/testkit/entity_kit.hpp"
#include "hibiki/testkit/probe.hpp"
#include "hibiki/testkit/recording_link.hpp"
#include "token.hpp"

using namespace hibiki;
using hibiki::testkit::actor_fixture;
using hibiki::testkit::recording_link;
using json = nlohmann::json;

namespace {

struct conn {
  std::shared_ptr<recording_link> link = std::make_shared<recording_link>();
  caf::actor session;
  std::int64_t next_id = 1;
};

conn connect(actor_fixture& fx, const std::string& token) {
  conn c;
  c.session = fx.open_session(c.link);
  fx.send_text(c.session, json{{"id", c.next_id++}, {"op", "auth"}, {"token", token}}.dump());
  fx.run();
  return c;
}

/// Sends a request without running the actors; returns its id.
std::int64_t send(actor_fixture& fx, conn& c, json req) {
  const auto id = c.next_id++;
  req["id"] = id;
  fx.send_text(c.session, req.dump());
  return id;
}

json reply(conn& c, std::int64_t id) {
  for (const auto& f : c.link->frames())
    if (f.contains("re") && f["re"] == id) return f;
  FAIL("no reply to " << id);
  return {};
}

json call(actor_fixture& fx, conn& c, json req) {
  auto id = send(fx, c, std::move(req));
  fx.run();
  return reply(c, id);
}

std::vector<json> events(conn& c, std::string_view ev) {
  std::vector<json> out;
  for (const auto& f : c.link->frames())
    if (f.value("ev", "") == ev) out.push_back(f);
  return out;
}

/// alice and bob signed up, each connected, in a group room alice made.
struct two_in_a_room {
  std::uint64_t alice = 0;
  std::uint64_t bob = 0;
  conn a;
  conn b;
  std::uint64_t room = 0;
};

two_in_a_room alice_and_bob_in_a_room(actor_fixture& fx) {
  auto alice = fx.signup("alice");
  auto bob = fx.signup("bob");
  REQUIRE(alice.ok());
  REQUIRE(bob.ok());
  two_in_a_room t;
  t.alice = alice->account.value;
  t.bob = bob->account.value;
  t.a = connect(fx, alice->token);
  t.b = connect(fx, bob->token);
  t.room = call(fx, t.a, {{"op", "create_room"}, {"name", "t"}, {"members", {t.bob}}})["room_id"]
               .get<std::uint64_t>();
  return t;
}

}  // namespace

TEST_CASE("me makes the my room once and keeps it", "[people]") {
  actor_fixture fx;
  auto alice = fx.signup("alice");
  REQUIRE(alice.ok());
  auto a = connect(fx, alice->token);
  auto me = call(fx, a, {{"op", "me"}});
  REQUIRE(me["ok"] == true);
  const auto room = me["room_id"].get<std::uint64_t>();
  REQUIRE(room > 0);
  CHECK(me["name"] == "alice");
  CHECK(call(fx, a, {{"op", "me"}})["room_id"] == room);

  testkit::room_kit my(fx, entity_of(room_id{room}));
  auto s = my.state();
  CHECK(s.created);
  CHECK(s.type == room::room_type::my);
  CHECK(s.members.size() == 1);
  CHECK(s.member(alice->account) != nullptr);

  fx.restart();
  auto a2 = connect(fx, alice->token);
  CHECK(call(fx, a2, {{"op", "me"}})["room_id"] == room);
  testkit::user_kit user(fx, entity_of(alice->account));
  CHECK(user.state().my_room == room_id{room});
}

TEST_CASE("sign-up makes the account's my room: list_rooms shows it before any me",
          "[people][signup]") {
  actor_fixture fx;
  auto alice = fx.signup("alice");
  REQUIRE(alice.ok());
  testkit::user_kit user(fx, entity_of(alice->account));
  const auto my = user.state().my_room;
  REQUIRE(my);
  testkit::room_kit room(fx, entity_of(my));
  auto s = room.state();
  CHECK(s.created);
  CHECK(s.type == room::room_type::my);
  CHECK(s.members.size() == 1);
  CHECK(s.member(alice->account) != nullptr);

  auto a = connect(fx, alice->token);
  auto rooms = call(fx, a, {{"op", "list_rooms"}, {"details", true}});
  REQUIRE(rooms["ok"] == true);
  REQUIRE(rooms["rooms"].size() == 1);
  CHECK(rooms["rooms"][0]["room_id"] == my.value);
  CHECK(rooms["rooms"][0]["type"] == "my");
  CHECK(rooms["rooms"][0]["role"] == "admin");
  // `me` names the same room and makes no other.
  CHECK(call(fx, a, {{"op", "me"}})["room_id"] == my.value);
  CHECK(call(fx, a, {{"op", "list_rooms"}})["rooms"].size() == 1);

  // Two sign-ups, two my rooms, each with its owner alone.
  auto bob = fx.signup("bob");
  REQUIRE(bob.ok());
  const auto bobs = testkit::user_kit(fx, entity_of(bob->account)).state().my_room;
  CHECK(bobs);
  CHECK(bobs != my);
  auto b = connect(fx, bob->token);
  auto bob_rooms = call(fx, b, {{"op", "list_rooms"}})["rooms"];
  REQUIRE(bob_rooms.size() == 1);
  CHECK(bob_rooms[0]["room_id"] == bobs.value);
}

TEST_CASE("a sign-up whose my room cannot be written still succeeds; me makes the room",
          "[people][signup]") {
  actor_fixture fx;
  fx.auto_journal = false;
  auto got = std::make_shared<std::optional<result<actors::signup_result>>>();
  actors::signup(fx.rt().ctx, "alice",
                 [got](result<actors::signup_result> r) { got->emplace(std::move(r)); });
  // Every append goes through but the room's: the journal refuses that one.
  std::size_t refused = 0;
  for (int step = 0; step < 100 && !*got; ++step) {
    fx.run();
    auto pending = fx.journal().pending_entities();
    if (pending.empty()) continue;
    if (pending.front().rfind("room-", 0) == 0) {
      fx.journal().fail_next(hibiki::error{errc::unavailable, "journal refused the write"});
      ++refused;
    } else {
      fx.journal().complete_next();
    }
  }
  REQUIRE(*got);
  REQUIRE(got->value().ok());
  CHECK(refused == 1);
  fx.auto_journal = true;
  const auto alice = std::move(**got).value();
  // The account has its room id, but no room yet.
  const auto my = testkit::user_kit(fx, entity_of(alice.account)).state().my_room;
  REQUIRE(my);
  CHECK_FALSE(testkit::room_kit(fx, entity_of(my)).state().created);

  auto a = connect(fx, alice.token);
  REQUIRE(reply(a, 1)["ok"] == true);
  CHECK(call(fx, a, {{"op", "list_rooms"}})["rooms"].empty());
  // Its first `me` makes it, with the id it was given.
  CHECK(call(fx, a, {{"op", "me"}})["room_id"] == my.value);
  auto rooms = call(fx, a, {{"op", "list_rooms"}, {"details", true}})["rooms"];
  REQUIRE(rooms.size() == 1);
  CHECK(rooms[0]["room_id"] == my.value);
  CHECK(rooms[0]["type"] == "my");
}

TEST_CASE("an account from before sign-up made my rooms gets it at its first me",
          "[people][signup]") {
  actor_fixture fx;
  // Registered the old way: an account id and the user entity, no my room.
  testkit::entity_kit<actors::id_traits> ids(fx, actors::account_ids_entity);
  auto allocated = ids.run(actors::allocate_id{});
  REQUIRE_FALSE(allocated.reply.err);
  const account_id old{allocated.reply.fields["id"].get<std::uint64_t>()};
  const std::string token(64, 'a');
  testkit::user_kit user(fx, entity_of(old));
  REQUIRE_FALSE(
      user.run(user::register_account{old, "olga", actors::sha256_hex(token), fx.now}).reply.err);
  CHECK_FALSE(user.state().my_room);

  auto o = connect(fx, token);
  REQUIRE(reply(o, 1)["ok"] == true);
  CHECK(call(fx, o, {{"op", "list_rooms"}})["rooms"].empty());
  auto me = call(fx, o, {{"op", "me"}});
  REQUIRE(me["ok"] == true);
  const auto room = me["room_id"].get<std::uint64_t>();
  CHECK(room > 0);
  auto rooms = call(fx, o, {{"op", "list_rooms"}, {"details", true}})["rooms"];
  REQUIRE(rooms.size() == 1);
  CHECK(rooms[0]["room_id"] == room);
  CHECK(rooms[0]["type"] == "my");
}

TEST_CASE("accepts from several connections at once make one direct room", "[people][contacts]") {
  actor_fixture fx;
  auto alice = fx.signup("alice");
  auto bob = fx.signup("bob");
  REQUIRE(alice.ok());
  REQUIRE(bob.ok());
  auto a = connect(fx, alice->token);
  REQUIRE(call(fx, a, {{"op", "request_contact"}, {"account_id", bob->account.value}})["ok"] ==
          true);
  auto b1 = connect(fx, bob->token);
  auto b2 = connect(fx, bob->token);
  auto b3 = connect(fx, bob->token);
  // All three are in the actors' mailboxes before any of them runs.
  std::vector<std::pair<conn*, std::int64_t>> sent;
  for (auto* c : {&b1, &b2, &b3})
    sent.emplace_back(
        c, send(fx, *c, {{"op", "accept_contact"}, {"request_id", alice->account.value}}));
  fx.run();
  std::set<std::uint64_t> rooms;
  for (auto& [c, id] : sent) {
    auto r = reply(*c, id);
    REQUIRE(r["ok"] == true);
    CHECK(r["account_id"] == alice->account.value);
    CHECK(r["name"] == "alice");
    rooms.insert(r["room_id"].get<std::uint64_t>());
  }
  REQUIRE(rooms.size() == 1);
  const room_id direct{*rooms.begin()};

  // The owner of the pair (alice, the lower id) recorded that room, once.
  testkit::user_kit owner(fx, entity_of(user::pair_owner(alice->account, bob->account)));
  const auto* pair = user::find_pair(owner.state(), bob->account);
  REQUIRE(pair != nullptr);
  CHECK(pair->contacts);
  CHECK(pair->room == direct);
  std::size_t accepted = 0;
  for (const auto& append : fx.journal().log())
    for (const auto& pe : append.events)
      if (auto e = actors::user_traits::decode(pe.payload);
          e && std::holds_alternative<user::contact_accepted>(*e))
        ++accepted;
  CHECK(accepted == 1);

  // The room is direct, with the two as admins; no other direct room was created.
  testkit::room_kit room(fx, entity_of(direct));
  auto rs = room.state();
  CHECK(rs.type == room::room_type::direct);
  REQUIRE(rs.members.size() == 2);
  CHECK(rs.member(alice->account)->role == role::admin);
  CHECK(rs.member(bob->account)->role == role::admin);
  std::size_t direct_rooms = 0;
  for (const auto& append : fx.journal().log())
    for (const auto& pe : append.events)
      if (auto e = actors::room_traits::decode(pe.payload)) {
        if (auto* c = std::get_if<room::room_created>(&*e); c && c->type == room::room_type::direct)
          ++direct_rooms;
      }
  CHECK(direct_rooms == 1);
  // alice learned of the new contact.
  auto added = events(a, "contact_added");
  REQUIRE(added.size() == 1);
  CHECK(added[0]["room_id"] == direct.value);

  // Accepted again after a restart: the same room.
  fx.restart();
  auto b4 = connect(fx, bob->token);
  auto again = call(fx, b4, {{"op", "accept_contact"}, {"request_id", alice->account.value}});
  CHECK(again["room_id"] == direct.value);
  auto list = call(fx, b4, {{"op", "contacts"}});
  REQUIRE(list["contacts"].size() == 1);
  CHECK(list["contacts"][0]["room_id"] == direct.value);
}

TEST_CASE("the pair's owner decides accepts in order while appends are in flight",
          "[people][contacts]") {
  actor_fixture fx;
  auto alice = fx.signup("alice");
  auto bob = fx.signup("bob");
  REQUIRE(alice.ok());
  REQUIRE(bob.ok());
  testkit::user_kit owner(fx, entity_of(alice->account));
  REQUIRE_FALSE(owner.run(user::request_contact{bob->account, alice->account, "", 1}).reply.err);

  // Two accepts, each with its own offered room, reach the owner before the first is durable.
  fx.auto_journal = false;
  testkit::probe p1(fx), p2(fx);
  for (auto [p, offered] : {std::pair{&p1, std::uint64_t{50}}, std::pair{&p2, std::uint64_t{51}}}) {
    caf::anon_send(
        fx.ctx().users,
        actors::entity_command<user::command>{
            entity_of(alice->account),
            user::accept_contact{alice->account, bob->account, room_id{offered}}, p->reply()});
  }
  fx.run();
  p1.expect_no_message();  // nothing answered before the append is durable
  p2.expect_no_message();
  fx.journal().complete_all();
  fx.auto_journal = true;
  fx.run();
  CHECK(p1.expect<actors::command_reply>().fields["room_id"] == 50);
  CHECK(p2.expect<actors::command_reply>().fields["room_id"] == 50);
  CHECK(user::find_pair(owner.state(), bob->account)->room == room_id{50});
}

TEST_CASE("message objects carry the author's name; history shows a rename", "[people]") {
  actor_fixture fx;
  auto [alice, bob, a, b, room] = alice_and_bob_in_a_room(fx);
  call(fx, a, {{"op", "send_message"}, {"room_id", room}, {"body", "hi"}, {"client_msg_id", "1"}});
  auto pushed = events(b, "message_created");
  REQUIRE(pushed.size() == 1);
  CHECK(pushed[0]["message"]["account"] == json{{"account_id", alice}, {"name", "alice"}});

  REQUIRE(call(fx, a, {{"op", "update_profile"}, {"name", "Alice L."}})["ok"] == true);
  auto hist = call(fx, b, {{"op", "history"}, {"room_id", room}});
  CHECK(hist["messages"][0]["account"]["name"] == "Alice L.");
  call(fx, a, {{"op", "send_message"}, {"room_id", room}, {"body", "2"}, {"client_msg_id", "2"}});
  pushed = events(b, "message_created");
  REQUIRE(pushed.size() == 2);
  CHECK(pushed[1]["message"]["account"]["name"] == "Alice L.");
}

TEST_CASE("task replies name the assignee and the creator; a rename shows", "[people][task]") {
  actor_fixture fx;
  auto [alice, bob, a, b, room] = alice_and_bob_in_a_room(fx);
  REQUIRE(
      call(fx, a,
           {{"op", "add_task"}, {"room_id", room}, {"body", "do it"}, {"to_ids", {bob}}})["ok"] ==
      true);
  const json assignee{{"account_id", bob}, {"name", "bob"}};
  const json creator{{"account_id", alice}, {"name", "alice"}};
  auto got = call(fx, b, {{"op", "get_task"}, {"room_id", room}, {"task_id", 1}});
  CHECK(got["task"]["account"] == assignee);
  CHECK(got["task"]["assigned_by_account"] == creator);
  auto listed = call(fx, b, {{"op", "list_tasks"}, {"room_id", room}});
  REQUIRE(listed["tasks"].size() == 1);
  CHECK(listed["tasks"][0]["account"] == assignee);
  CHECK(listed["tasks"][0]["assigned_by_account"] == creator);
  auto mine = call(fx, b, {{"op", "my_tasks"}});
  REQUIRE(mine["tasks"].size() == 1);
  CHECK(mine["tasks"][0]["assigned_by_account"] == creator);
  // The push carries the task with both names, read by the session when the task was added.
  auto pushed = events(b, "task_added");
  REQUIRE(pushed.size() == 1);
  CHECK(pushed[0]["task"]["account"] == assignee);
  CHECK(pushed[0]["task"]["assigned_by_account"] == creator);
  CHECK(pushed[0]["task"]["body"] == "do it");
  CHECK(pushed[0]["task"]["message_id"] == "1");
  // ... after the message that shows it, in bob's pushes too.
  auto shown = events(b, "message_created");
  REQUIRE_FALSE(shown.empty());
  CHECK(shown.back()["message"]["message_id"] == "1");
  CHECK(shown.back()["message"]["account"] == creator);

  REQUIRE(call(fx, a, {{"op", "update_profile"}, {"name", "Alice L."}})["ok"] == true);
  got = call(fx, b, {{"op", "get_task"}, {"room_id", room}, {"task_id", 1}});
  CHECK(got["task"]["assigned_by_account"]["name"] == "Alice L.");
  // Errors pass through unchanged.
  auto missing = call(fx, b, {{"op", "get_task"}, {"room_id", room}, {"task_id", 9}});
  CHECK(missing["ok"] == false);
  CHECK(missing["error"]["code"] == "not_found");
}

namespace {

/// Makes `a` and `b` contacts (a asks, b accepts); they then share their direct room.
void make_contacts(actor_fixture& fx, conn& a, std::uint64_t a_id, conn& b, std::uint64_t b_id) {
  REQUIRE(call(fx, a, {{"op", "request_contact"}, {"account_id", b_id}})["ok"] == true);
  REQUIRE(call(fx, b, {{"op", "accept_contact"}, {"request_id", a_id}})["ok"] == true);
}

}  // namespace

TEST_CASE(
    "a rename is pushed once to every connection of everyone who shares a room, a contact "
    "or a request with the account; its other sessions send the new name",
    "[people][rename]") {
  actor_fixture fx;
  std::map<std::string, actors::signup_result> acct;
  for (const char* name : {"alice", "bob", "carol", "dave", "erin", "frank"}) {
    auto s = fx.signup(name);
    REQUIRE(s.ok());
    acct.emplace(name, *s);
  }
  auto id = [&](const char* name) { return acct.at(name).account.value; };
  auto a1 = connect(fx, acct.at("alice").token);
  auto a2 = connect(fx, acct.at("alice").token);  // her second connection
  auto b1 = connect(fx, acct.at("bob").token);
  auto b2 = connect(fx, acct.at("bob").token);
  auto c = connect(fx, acct.at("carol").token);  // a contact: their direct room, no group room
  auto d = connect(fx, acct.at("dave").token);   // alice asked him; a request waiting
  auto e = connect(fx, acct.at("erin").token);   // she asked alice
  auto f = connect(fx, acct.at("frank").token);  // shares nothing with alice
  // bob shares two group rooms and a contact with alice: still one push per connection.
  const auto room =
      call(fx, a1, {{"op", "create_room"}, {"name", "t"}, {"members", {id("bob")}}})["room_id"]
          .get<std::uint64_t>();
  REQUIRE(call(fx, a1, {{"op", "create_room"}, {"name", "u"}, {"members", {id("bob")}}})["ok"] ==
          true);
  make_contacts(fx, a1, id("alice"), b1, id("bob"));
  make_contacts(fx, a1, id("alice"), c, id("carol"));
  REQUIRE(call(fx, a1, {{"op", "request_contact"}, {"account_id", id("dave")}})["ok"] == true);
  REQUIRE(call(fx, e, {{"op", "request_contact"}, {"account_id", id("alice")}})["ok"] == true);
  // frank shares a room with bob only: bob's circle is not alice's.
  REQUIRE(call(fx, f, {{"op", "create_room"}, {"name", "v"}, {"members", {id("bob")}}})["ok"] ==
          true);

  auto renamed = call(fx, a1, {{"op", "update_profile"}, {"name", "Alice L."}});
  REQUIRE(renamed["ok"] == true);
  CHECK(renamed["name"] == "Alice L.");
  const json expected{{"ev", "account_updated"},
                      {"account", {{"account_id", id("alice")}, {"name", "Alice L."}}}};
  for (auto* conn_ : {&a1, &a2, &b1, &b2, &c, &d, &e}) {
    auto got = events(*conn_, "account_updated");
    REQUIRE(got.size() == 1);
    CHECK(got[0] == expected);
  }
  CHECK(events(f, "account_updated").empty());

  // alice's other connection sends under the new name (it never renamed itself).
  call(fx, a2,
       {{"op", "send_message"}, {"room_id", room}, {"body", "hi"}, {"client_msg_id", "m1"}});
  auto pushed = events(b1, "message_created");
  REQUIRE(pushed.size() == 1);
  CHECK(pushed[0]["message"]["account"] == expected["account"]);

  // Renaming to the same name is no news: nothing pushed.
  REQUIRE(call(fx, a2, {{"op", "update_profile"}, {"name", "Alice L."}})["ok"] == true);
  CHECK(events(b2, "account_updated").size() == 1);

  // The operator's rename (the same event) reaches them all the same, and the sessions take it.
  testkit::user_kit user(fx, entity_of(account_id{id("alice")}));
  REQUIRE_FALSE(user.run(user::rename_account{account_id{id("alice")}, "Al"}).reply.err);
  fx.run();
  for (auto* conn_ : {&a1, &a2, &b1, &b2, &c, &d, &e}) {
    auto got = events(*conn_, "account_updated");
    REQUIRE(got.size() == 2);
    CHECK(got[1]["account"]["name"] == "Al");
  }
  CHECK(events(f, "account_updated").empty());
  call(fx, a1, {{"op", "send_message"}, {"room_id", room}, {"body", "2"}, {"client_msg_id", "m2"}});
  pushed = events(b2, "message_created");
  REQUIRE(pushed.size() == 2);
  CHECK(pushed[1]["message"]["account"]["name"] == "Al");
}

TEST_CASE(
    "a rename skips a room that no longer answers with its members (deleted); the rest get it",
    "[people][rename]") {
  actor_fixture fx;
  auto [alice, bob, a, b, room] = alice_and_bob_in_a_room(fx);
  // The room is deleted: its member list is no longer served, but bob is a contact too.
  auto carol = fx.signup("carol");
  REQUIRE(carol.ok());
  auto c = connect(fx, carol->token);
  REQUIRE(call(fx, a, {{"op", "request_contact"}, {"account_id", carol->account.value}})["ok"] ==
          true);
  REQUIRE(call(fx, a, {{"op", "delete_room"}, {"room_id", room}})["ok"] == true);
  REQUIRE(call(fx, a, {{"op", "update_profile"}, {"name", "A."}})["ok"] == true);
  CHECK(events(c, "account_updated").size() == 1);  // the request she has waiting
  CHECK(events(a, "account_updated").size() == 1);  // her own connection
  CHECK(events(b, "account_updated").empty());      // the room they shared is gone
}

TEST_CASE("get_accounts names only the accounts the caller shares something with",
          "[people][get_accounts]") {
  actor_fixture fx;
  auto [alice, bob, a, b, room] = alice_and_bob_in_a_room(fx);
  auto carol = fx.signup("carol");
  REQUIRE(carol.ok());
  const auto carol_id = carol->account.value;
  auto got = call(fx, b, {{"op", "get_accounts"}, {"account_ids", {alice, carol_id, 999, bob}}});
  REQUIRE(got["ok"] == true);
  CHECK(got["accounts"] == json::array({json{{"account_id", alice}, {"name", "alice"}},
                                        json{{"account_id", bob}, {"name", "bob"}}}));
  // A waiting request makes them known to each other; until then carol is a stranger.
  REQUIRE(call(fx, a, {{"op", "request_contact"}, {"account_id", carol_id}})["ok"] == true);
  auto c = connect(fx, carol->token);
  got = call(fx, c, {{"op", "get_accounts"}, {"account_ids", {alice, bob}}});
  CHECK(got["accounts"] == json::array({json{{"account_id", alice}, {"name", "alice"}}}));
  // Bad ids are refused and the connection stays.
  for (const auto& bad : {json::array(), json::array({0}), json::array({"1"}), json(5)}) {
    auto r = call(fx, c, {{"op", "get_accounts"}, {"account_ids", bad}});
    CHECK(r["ok"] == false);
    CHECK(r["error"]["code"] == "bad_request");
  }
  CHECK(call(fx, c, {{"op", "ping"}})["ok"] == true);
}

TEST_CASE("a rename reaches a contact who shares no room with the account", "[people][rename]") {
  actor_fixture fx;
  auto alice = fx.signup("alice");
  auto bob = fx.signup("bob");
  REQUIRE(alice.ok());
  REQUIRE(bob.ok());
  // The pair's owner records them as contacts with a direct room that was never created (a flow
  // cut short before the room): the contacts rows alone connect them.
  testkit::user_kit owner(fx, entity_of(alice->account));
  REQUIRE_FALSE(owner.run(user::request_contact{bob->account, alice->account, "", 1}).reply.err);
  REQUIRE_FALSE(
      owner.run(user::accept_contact{alice->account, bob->account, room_id{77}}).reply.err);
  auto b = connect(fx, bob->token);
  auto listed = call(fx, b, {{"op", "contacts"}});
  REQUIRE(listed["contacts"].size() == 1);
  auto shared = call(fx, b, {{"op", "list_rooms"}});
  REQUIRE(shared["rooms"].size() == 1);  // his my room only

  auto a = connect(fx, alice->token);
  REQUIRE(call(fx, a, {{"op", "update_profile"}, {"name", "Alice L."}})["ok"] == true);
  auto got = events(b, "account_updated");
  REQUIRE(got.size() == 1);
  CHECK(got[0]["account"] == json{{"account_id", alice->account.value}, {"name", "Alice L."}});
  CHECK(call(fx, b, {{"op", "get_accounts"}, {"account_ids", {alice->account.value}}})["accounts"]
            .size() == 1);
}
