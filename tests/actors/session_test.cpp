// Session actors and the hub on the deterministic fixture: fan-out to every connection of every
// member (and to nobody else), joins, the `read` push, auth gating with close 1008, malformed
// frames, pipelined auth, sync, and the rate limit.

#include <catch2/catch.hpp>

#include "hibiki/testkit/actor_fixture.hpp"
#include "hibiki/testkit/fixture_client.hpp"

using namespace hibiki;
using namespace std::chrono_literals;
using hibiki::testkit::actor_fixture;
using hibiki::testkit::recording_link;
using json = nlohmann::json;

namespace {

using conn = hibiki::testkit::fixture_connection;

std::vector<json> events(const conn& c, const std::string& ev) {
  std::vector<json> out;
  for (const auto& f : c.link->frames())
    if (f.value("ev", "") == ev) out.push_back(f);
  return out;
}

}  // namespace

TEST_CASE("hub: a room event reaches every connection of every member / once encoded",
          "[session][hub]") {
  actor_fixture fx;
  auto alice = fx.signup("alice");
  auto bob = fx.signup("bob");
  auto carol = fx.signup("carol");
  REQUIRE(alice.ok());
  REQUIRE(bob.ok());
  REQUIRE(carol.ok());
  auto a1 = login(fx, alice->token), a2 = login(fx, alice->token);
  auto b = login(fx, bob->token), c = login(fx, carol->token);

  send(fx, a1, {{"id", 2}, {"op", "create_room"}, {"name", "r"}, {"members", {2}}});
  REQUIRE(reply(a1, 2)["ok"] == true);
  auto room = reply(a1, 2)["room_id"].get<std::uint64_t>();
  CHECK(events(b, "room_created").size() == 1);
  CHECK(events(a2, "room_created").size() == 1);
  CHECK(events(a1, "room_created").size() == 1);  // "to every initial member", creator included
  CHECK(events(c, "room_created").empty());

  send(fx, b,
       {{"id", 2},
        {"op", "send_message"},
        {"room_id", room},
        {"body", "hi"},
        {"client_msg_id", "x"}});
  REQUIRE(reply(b, 2)["ok"] == true);
  CHECK(events(b, "message_created").empty());  // the sender's own connection: reply only
  for (auto* who : {&a1, &a2}) {
    auto got = events(*who, "message_created");
    REQUIRE(got.size() == 1);
    CHECK(got[0]["seq"] == reply(b, 2)["seq"]);
    CHECK(got[0]["message"]["body"] == "hi");
  }
  CHECK(events(c, "message_created").empty());

  // The same bytes went to every connection.
  auto shared_frame = [](const conn& k) {
    for (const auto& r : k.link->raw())
      if (r->find("message_created") != std::string::npos) return r;
    return std::shared_ptr<const std::string>{};
  };
  REQUIRE(shared_frame(a1) != nullptr);
  CHECK(shared_frame(a1) == shared_frame(a2));

  // Carol joins later and from then on receives the room's events.
  send(fx, a1, {{"id", 3}, {"op", "add_members"}, {"room_id", room}, {"account_ids", {3}}});
  REQUIRE(reply(a1, 3)["ok"] == true);
  CHECK(events(c, "member_added").size() == 1);
  send(fx, a1,
       {{"id", 4},
        {"op", "send_message"},
        {"room_id", room},
        {"body", "welcome"},
        {"client_msg_id", "y"}});
  CHECK(events(c, "message_created").size() == 1);

  // A closed connection receives nothing more.
  fx.close_session(a2.session);
  fx.run();
  auto before = a2.link->frames().size();
  send(fx, b,
       {{"id", 3},
        {"op", "send_message"},
        {"room_id", room},
        {"body", "again"},
        {"client_msg_id", "z"}});
  CHECK(a2.link->frames().size() == before);
  CHECK(events(a1, "message_created").size() == 2);  // bob's two messages, not alice's own
  CHECK(events(b, "message_created").size() == 1);   // alice's welcome
}

TEST_CASE("session: mark_read pushes `read` to the reader's other connections only",
          "[session][hub]") {
  actor_fixture fx;
  auto alice = fx.signup("alice");
  auto bob = fx.signup("bob");
  auto a = login(fx, alice->token);
  auto b1 = login(fx, bob->token), b2 = login(fx, bob->token);
  send(fx, a, {{"id", 2}, {"op", "create_room"}, {"name", "r"}, {"members", {2}}});
  auto room = reply(a, 2)["room_id"].get<std::uint64_t>();
  send(fx, a,
       {{"id", 3},
        {"op", "send_message"},
        {"room_id", room},
        {"body", "[To:2] hey"},
        {"client_msg_id", "m"}});
  send(fx, b1, {{"id", 2}, {"op", "mark_read"}, {"room_id", room}, {"message_id", "1"}});
  auto r = reply(b1, 2);
  REQUIRE(r["ok"] == true);
  CHECK(r["unread_num"] == 0);
  CHECK(r["mention_num"] == 0);
  auto pushed = events(b2, "read");
  REQUIRE(pushed.size() == 1);
  CHECK(pushed[0]["room_id"] == room);
  CHECK(pushed[0]["message_id"] == "1");
  CHECK(events(b1, "read").empty());
  CHECK(events(a, "read").empty());
}

TEST_CASE("session: an op before auth gets unauthenticated and the connection is closed 1008",
          "[session][auth]") {
  actor_fixture fx;
  auto c = connect(fx);
  send(fx, c, {{"id", 1}, {"op", "ping"}});
  CHECK(reply(c, 1)["ok"] == true);
  send(fx, c, {{"id", 2}, {"op", "auth"}, {"token", "wrong"}});
  CHECK(reply(c, 2)["error"]["code"] == "unauthenticated");
  CHECK_FALSE(c.link->close_code().has_value());  // a bad token leaves the connection open

  send(fx, c,
       {{"id", 3}, {"op", "send_message"}, {"room_id", 1}, {"body", "x"}, {"client_msg_id", "x"}});
  CHECK(reply(c, 3)["error"]["code"] == "unauthenticated");
  CHECK(c.link->close_code() == std::optional<std::uint16_t>(1008));
  auto n = c.link->frames().size();
  send(fx, c, {{"id", 4}, {"op", "ping"}});
  CHECK(c.link->frames().size() == n);  // nothing more after the close
}

TEST_CASE("session: malformed frames get bad_request and the session keeps working",
          "[session][bad-input]") {
  actor_fixture fx;
  auto c = connect(fx);
  fx.send_text(c.session, "this is not json");
  fx.send_text(c.session, R"({"id": 7, "op": "no_such_op"})");
  fx.send_text(c.session, R"({"id": 8, "op": "send_message", "room_id": "one"})");
  fx.send_text(c.session, "[1,2,3]");
  fx.run();
  auto frames = c.link->frames();
  REQUIRE(frames.size() == 4);
  CHECK(frames[0]["re"].is_null());
  CHECK(frames[0]["error"]["code"] == "bad_request");
  CHECK(frames[1]["re"] == 7);
  CHECK(frames[1]["error"]["code"] == "bad_request");
  CHECK(frames[2]["re"] == 8);
  CHECK(frames[2]["error"]["code"] == "bad_request");
  CHECK(frames[3]["error"]["code"] == "bad_request");
  CHECK_FALSE(c.link->close_code().has_value());
  send(fx, c, {{"id", 9}, {"op", "ping"}});
  CHECK(reply(c, 9)["ok"] == true);
}

TEST_CASE("session: requests pipelined behind auth wait for it", "[session][auth]") {
  actor_fixture fx;
  auto alice = fx.signup("alice");
  auto c = connect(fx);
  fx.send_text(c.session, json{{"id", 1}, {"op", "auth"}, {"token", alice->token}}.dump());
  fx.send_text(c.session, json{{"id", 2}, {"op", "list_rooms"}}.dump());
  fx.run();
  CHECK(reply(c, 1)["ok"] == true);
  CHECK(reply(c, 1)["name"] == "alice");
  CHECK(reply(c, 2)["ok"] == true);
  CHECK(reply(c, 2)["rooms"].size() == 1);  // the account's my room, made at sign-up
  CHECK_FALSE(c.link->close_code().has_value());
}

TEST_CASE("session: sync replays missed events in order / skips foreign rooms / ends with synced",
          "[session][sync]") {
  actor_fixture fx;
  auto alice = fx.signup("alice");
  auto bob = fx.signup("bob");
  auto a = login(fx, alice->token);
  send(fx, a, {{"id", 2}, {"op", "create_room"}, {"name", "r"}, {"members", json::array()}});
  auto room = reply(a, 2)["room_id"].get<std::uint64_t>();
  for (int i = 0; i < 3; ++i)
    send(fx, a,
         {{"id", 10 + i},
          {"op", "send_message"},
          {"room_id", room},
          {"body", "m"},
          {"client_msg_id", std::to_string(i)}});

  auto a2 = login(fx, alice->token);
  send(fx, a2, {{"id", 2}, {"op", "sync"}, {"since", {{std::to_string(room), 2}}}});
  auto frames = a2.link->frames();
  REQUIRE(frames.size() == 5);  // auth reply, sync reply, seq 3, seq 4, synced
  CHECK(frames[1]["re"] == 2);
  CHECK(frames[1]["ok"] == true);
  CHECK(frames[2]["seq"] == 3);
  CHECK(frames[3]["seq"] == 4);
  CHECK(frames[4]["ev"] == "synced");

  auto b = login(fx, bob->token);
  send(fx, b, {{"id", 2}, {"op", "sync"}, {"since", {{std::to_string(room), 0}, {"999", 0}}}});
  auto bf = b.link->frames();
  REQUIRE(bf.size() == 3);
  CHECK(bf[2]["ev"] == "synced");
  send(fx, b, {{"id", 3}, {"op", "history"}, {"room_id", room}});
  CHECK(reply(b, 3)["error"]["code"] == "forbidden");
}

TEST_CASE("session: history pages with before/after/limit / oldest first", "[session][history]") {
  actor_fixture fx;
  auto alice = fx.signup("alice");
  auto a = login(fx, alice->token);
  send(fx, a, {{"id", 2}, {"op", "create_room"}, {"name", "r"}, {"members", json::array()}});
  auto room = reply(a, 2)["room_id"].get<std::uint64_t>();
  for (int i = 1; i <= 5; ++i)
    send(fx, a,
         {{"id", 10 + i},
          {"op", "send_message"},
          {"room_id", room},
          {"body", "m" + std::to_string(i)},
          {"client_msg_id", std::to_string(i)}});
  auto ids = [](const json& r) {
    std::vector<std::string> out;
    for (const auto& m : r["messages"]) out.push_back(m["message_id"]);
    return out;
  };
  send(fx, a, {{"id", 20}, {"op", "history"}, {"room_id", room}, {"limit", 2}});
  CHECK(ids(reply(a, 20)) == std::vector<std::string>{"4", "5"});
  send(fx, a, {{"id", 21}, {"op", "history"}, {"room_id", room}, {"before", "4"}, {"limit", 2}});
  CHECK(ids(reply(a, 21)) == std::vector<std::string>{"2", "3"});
  send(fx, a, {{"id", 22}, {"op", "history"}, {"room_id", room}, {"after", "3"}});
  CHECK(ids(reply(a, 22)) == std::vector<std::string>{"4", "5"});
  send(fx, a, {{"id", 23}, {"op", "history"}, {"room_id", 77}});
  CHECK(reply(a, 23)["error"]["code"] == "not_found");
  send(fx, a, {{"id", 24}, {"op", "history"}, {"room_id", room}, {"limit", 0}});
  CHECK(reply(a, 24)["error"]["code"] == "bad_request");
}

TEST_CASE("session: the per-connection rate limit", "[session][rate]") {
  auto options = hibiki::testkit::test_options();
  options.rate_burst = 3;
  options.rate_per_second = 1;
  actor_fixture fx(options);
  auto c = connect(fx);
  for (int i = 1; i <= 4; ++i) fx.send_text(c.session, json{{"id", i}, {"op", "ping"}}.dump());
  fx.run();
  CHECK(reply(c, 1)["ok"] == true);
  CHECK(reply(c, 3)["ok"] == true);
  CHECK(reply(c, 4)["error"]["code"] == "rate_limited");
  CHECK_FALSE(c.link->close_code().has_value());
  fx.advance_time(1s);
  send(fx, c, {{"id", 5}, {"op", "ping"}});
  CHECK(reply(c, 5)["ok"] == true);
}

TEST_CASE("session: sync sends a gap instead of more than 1000 missed events", "[session][sync]") {
  auto options = hibiki::testkit::test_options();
  options.rate_burst = 5000;  // the set-up sends 1001 messages at once
  options.account_rate_burst = 5000;
  actor_fixture fx(options);
  auto alice = fx.signup("alice");
  auto a = login(fx, alice->token);
  send(fx, a, {{"id", 2}, {"op", "create_room"}, {"name", "r"}, {"members", json::array()}});
  auto room = reply(a, 2)["room_id"].get<std::uint64_t>();
  for (int i = 0; i < 1001; ++i)
    fx.send_text(a.session, json{{"id", 100 + i},
                                 {"op", "send_message"},
                                 {"room_id", room},
                                 {"body", "m"},
                                 {"client_msg_id", std::to_string(i)}}
                                .dump());
  fx.run();
  REQUIRE(reply(a, 1100)["seq"] == 1002);

  auto exact = login(fx, alice->token);  // exactly 1000 missing: replayed
  send(fx, exact, {{"id", 2}, {"op", "sync"}, {"since", {{std::to_string(room), 2}}}});
  auto frames = exact.link->frames();
  REQUIRE(frames.size() == 1 + 1 + 1000 + 1);
  CHECK(frames[2]["seq"] == 3);
  CHECK(frames[1001]["seq"] == 1002);
  CHECK(frames.back()["ev"] == "synced");

  auto far = login(fx, alice->token);  // 1001 missing: one gap
  send(fx, far, {{"id", 2}, {"op", "sync"}, {"since", {{std::to_string(room), 1}}}});
  auto gap = far.link->frames();
  REQUIRE(gap.size() == 4);
  CHECK(gap[2]["ev"] == "gap");
  CHECK(gap[2]["room_id"] == room);
  CHECK(gap[2]["seq"] == 1002);
  CHECK(gap[3]["ev"] == "synced");
}

TEST_CASE(
    "session: fetch_messages returns what is new to the account, per room, from any connection",
    "[session][rest]") {
  actor_fixture fx;
  auto alice = fx.signup("alice");
  auto bob = fx.signup("bob");
  auto eve = fx.signup("eve");
  REQUIRE(alice.ok());
  REQUIRE(bob.ok());
  REQUIRE(eve.ok());
  auto a = login(fx, alice->token);
  auto b1 = login(fx, bob->token), b2 = login(fx, bob->token);
  auto e = login(fx, eve->token);
  send(fx, a, {{"id", 2}, {"op", "create_room"}, {"name", "r"}, {"members", {2}}});
  const auto room = reply(a, 2)["room_id"].get<std::uint64_t>();
  for (int i = 0; i < 3; ++i)
    send(fx, a,
         {{"id", 10 + i},
          {"op", "send_message"},
          {"room_id", room},
          {"body", "m" + std::to_string(i)},
          {"client_msg_id", "c" + std::to_string(i)}});
  auto bodies = [](const json& r) {
    std::vector<std::string> out;
    for (const auto& m : r["messages"]) out.push_back(m["body"]);
    return out;
  };
  send(fx, b1, {{"id", 20}, {"op", "fetch_messages"}, {"room_id", room}});
  CHECK(bodies(reply(b1, 20)) == std::vector<std::string>{"m0", "m1", "m2"});
  // The position is the account's: bob's other connection has nothing new either.
  send(fx, b2, {{"id", 21}, {"op", "fetch_messages"}, {"room_id", room}});
  CHECK(reply(b2, 21)["ok"] == true);
  CHECK(reply(b2, 21)["messages"].empty());
  send(fx, a,
       {{"id", 14},
        {"op", "send_message"},
        {"room_id", room},
        {"body", "m3"},
        {"client_msg_id", "c3"}});
  send(fx, b1, {{"id", 22}, {"op", "fetch_messages"}, {"room_id", room}});
  CHECK(bodies(reply(b1, 22)) == std::vector<std::string>{"m3"});
  send(fx, b1, {{"id", 23}, {"op", "fetch_messages"}, {"room_id", room}, {"force", true}});
  CHECK(bodies(reply(b1, 23)) == std::vector<std::string>{"m0", "m1", "m2", "m3"});
  // force moves the position too: after a forced fetch that saw m4, nothing is new.
  send(fx, a,
       {{"id", 15},
        {"op", "send_message"},
        {"room_id", room},
        {"body", "m4"},
        {"client_msg_id", "c4"}});
  send(fx, b1, {{"id", 25}, {"op", "fetch_messages"}, {"room_id", room}, {"force", true}});
  CHECK(bodies(reply(b1, 25)) == std::vector<std::string>{"m0", "m1", "m2", "m3", "m4"});
  send(fx, b2, {{"id", 26}, {"op", "fetch_messages"}, {"room_id", room}});
  CHECK(reply(b2, 26)["ok"] == true);
  CHECK(reply(b2, 26)["messages"].empty());
  // Alice's position is her own.
  send(fx, a, {{"id", 24}, {"op", "fetch_messages"}, {"room_id", room}});
  CHECK(reply(a, 24)["messages"].size() == 5);
  // Not a member, no such room, a bad request.
  send(fx, e, {{"id", 30}, {"op", "fetch_messages"}, {"room_id", room}});
  CHECK(reply(e, 30)["error"]["code"] == "forbidden");
  send(fx, e, {{"id", 31}, {"op", "fetch_messages"}, {"room_id", 999}});
  CHECK(reply(e, 31)["error"]["code"] == "not_found");
  send(fx, e, {{"id", 32}, {"op", "fetch_messages"}, {"room_id", room}, {"force", "yes"}});
  CHECK(reply(e, 32)["error"]["code"] == "bad_request");
}
