// sync on the deterministic fixture: bad keys and too many rooms, a replay streamed in batches
// that wait for the client to read (paced link), the per-room byte cap that turns a room into a
// `gap`, and pipelined syncs that run one after the other.

#include <catch2/catch.hpp>

#include "hibiki/testkit/actor_fixture.hpp"
#include "hibiki/testkit/fixture_client.hpp"

using namespace hibiki;
using hibiki::testkit::actor_fixture;
using hibiki::testkit::recording_link;
using json = nlohmann::json;

namespace {

using conn = hibiki::testkit::fixture_connection;

/// Options for rooms with many large messages sent at once.
actors::node_options roomy_options() {
  auto o = hibiki::testkit::test_options();
  o.rate_burst = 10'000;
  o.account_rate_burst = 10'000;
  return o;
}

std::uint64_t make_room(actor_fixture& fx, conn& c, std::int64_t id) {
  send(fx, c, {{"id", id}, {"op", "create_room"}, {"name", "r"}, {"members", json::array()}});
  REQUIRE(reply(c, id)["ok"] == true);
  return reply(c, id)["room_id"].get<std::uint64_t>();
}

/// Posts `n` messages of `size` bytes to `room`; returns the room's last seq.
std::uint64_t post(actor_fixture& fx, conn& c, std::uint64_t room, int n, std::size_t size,
                   std::int64_t first_id) {
  for (int i = 0; i < n; ++i)
    fx.send_text(c.session, json{{"id", first_id + i},
                                 {"op", "send_message"},
                                 {"room_id", room},
                                 {"body", std::string(size, 'x')},
                                 {"client_msg_id", "p" + std::to_string(first_id + i)}}
                                .dump());
  fx.run();
  auto last = reply(c, first_id + n - 1);
  REQUIRE(last["ok"] == true);
  return last["seq"].get<std::uint64_t>();
}

/// The pushes after the reply to `id`, up to and including `synced`.
std::vector<json> sync_events(const conn& c, std::int64_t id) {
  std::vector<json> out;
  bool after = false;
  for (const auto& f : c.link->frames()) {
    if (f.contains("re") && f["re"] == id) {
      after = true;
      continue;
    }
    if (after && f.contains("ev")) {
      out.push_back(f);
      if (f["ev"] == "synced") break;
    }
  }
  return out;
}

}  // namespace

TEST_CASE("sync: a key with leading zeros is bad_request / the session keeps working",
          "[session][sync]") {
  actor_fixture fx;
  auto alice = fx.signup("alice");
  auto a = login(fx, alice->token);
  auto room = make_room(fx, a, 2);
  json since = json::object();
  for (std::size_t zeros = 0; zeros < 16; ++zeros)
    since[std::string(zeros, '0') + std::to_string(room)] = 0;
  send(fx, a, {{"id", 3}, {"op", "sync"}, {"since", since}});
  auto r = reply(a, 3);
  CHECK(r["ok"] == false);
  CHECK(r["error"]["code"] == "bad_request");
  CHECK(r["error"]["message"].get<std::string>().find("since key") != std::string::npos);
  CHECK(sync_events(a, 3).empty());
  send(fx, a, {{"id", 4}, {"op", "sync"}, {"since", {{std::to_string(room), 0}}}});
  auto events = sync_events(a, 4);
  REQUIRE(events.size() == 2);  // room_created, synced
  CHECK(events[0]["ev"] == "room_created");
}

TEST_CASE("sync: more rooms than sync_max_rooms is too_large / exactly the cap is served",
          "[session][sync]") {
  auto options = hibiki::testkit::test_options();
  options.sync_max_rooms = 3;
  actor_fixture fx(options);
  auto alice = fx.signup("alice");
  auto a = login(fx, alice->token);
  auto room = make_room(fx, a, 2);
  send(fx, a, {{"id", 3}, {"op", "sync"}, {"since", {{"1", 0}, {"2", 0}, {"3", 0}, {"4", 0}}}});
  auto r = reply(a, 3);
  CHECK(r["error"]["code"] == "too_large");
  CHECK(r["error"]["message"] == "sync names 4 rooms; at most 3 per request");
  send(fx, a,
       {{"id", 4}, {"op", "sync"}, {"since", {{std::to_string(room), 0}, {"50", 0}, {"60", 0}}}});
  CHECK(reply(a, 4)["ok"] == true);
  CHECK(sync_events(a, 4).size() == 2);
}

TEST_CASE("sync: the replay goes in batches, each after the client read the previous one",
          "[session][sync][pacing]") {
  auto options = roomy_options();
  options.sync_batch_bytes = 16 * 1024;
  actor_fixture fx(options);
  auto alice = fx.signup("alice");
  auto a = login(fx, alice->token);
  auto room = make_room(fx, a, 2);
  const auto last = post(fx, a, room, 40, 3000, 100);  // ~120 KB of events: 8 or so batches
  REQUIRE(last == 41);

  auto reader = login(fx, alice->token);
  reader.link->set_paced(true);
  send(fx, reader, {{"id", 2}, {"op", "sync"}, {"since", {{std::to_string(room), 0}}}});
  REQUIRE(reply(reader, 2)["ok"] == true);
  // The session sends while at most a batch is unread, so up to two batches wait for the client;
  // then nothing more comes until it reads.
  std::size_t rounds = 0;
  while (reader.link->drain_waiters() == 1) {
    auto before = reader.link->frames().size();
    fx.run();
    CHECK(reader.link->frames().size() == before);
    CHECK(reader.link->unread_bytes() > options.sync_batch_bytes);
    reader.link->read_all();
    fx.run();
    ++rounds;
    REQUIRE(rounds < 100);
  }
  CHECK(rounds >= 3);  // ~125 KB of events, at most ~32 KiB per round
  auto events = sync_events(reader, 2);
  REQUIRE(events.size() == 42);  // seq 1..41, synced
  for (std::size_t i = 0; i < 41; ++i) CHECK(events[i]["seq"] == i + 1);
  CHECK(events.back()["ev"] == "synced");
  std::size_t largest_frame = 0;
  for (const auto& raw : reader.link->raw()) largest_frame = std::max(largest_frame, raw->size());
  CHECK(reader.link->peak_unread_bytes() <= 2 * options.sync_batch_bytes + largest_frame + 1024);
}

TEST_CASE("sync: a room over sync_max_room_bytes gets its gap / other rooms replay in full",
          "[session][sync][gap]") {
  auto options = roomy_options();
  options.sync_max_room_bytes = 50 * 1024;
  options.sync_batch_bytes = 8 * 1024;
  actor_fixture fx(options);
  auto alice = fx.signup("alice");
  auto a = login(fx, alice->token);
  auto big = make_room(fx, a, 2);
  auto small = make_room(fx, a, 3);
  const auto big_last = post(fx, a, big, 12, 30'000, 100);  // ~360 KB, the cap is 50 KiB
  const auto small_last = post(fx, a, small, 5, 100, 200);

  auto c = login(fx, alice->token);
  send(fx, c,
       {{"id", 2},
        {"op", "sync"},
        {"since", {{std::to_string(big), 0}, {std::to_string(small), 0}}}});
  auto events = sync_events(c, 2);
  REQUIRE(events.size() == 1 + small_last + 1);
  CHECK(events[0] == json{{"ev", "gap"}, {"room_id", big}, {"seq", big_last}});
  for (std::uint64_t s = 1; s <= small_last; ++s) {
    CHECK(events[s]["room_id"] == small);
    CHECK(events[s]["seq"] == s);
  }
  CHECK(events.back()["ev"] == "synced");

  // Under the cap, the same room replays: its last message.
  send(fx, c, {{"id", 3}, {"op", "sync"}, {"since", {{std::to_string(big), big_last - 1}}}});
  auto tail = sync_events(c, 3);
  REQUIRE(tail.size() == 2);
  CHECK(tail[0]["seq"] == big_last);
  CHECK(tail[0]["message"]["body"].get<std::string>().size() == 30'000);
}

TEST_CASE("sync: pipelined syncs run one after the other / past four waiting is rate_limited",
          "[session][sync]") {
  auto options = roomy_options();
  options.sync_batch_bytes = 4 * 1024;
  actor_fixture fx(options);
  auto alice = fx.signup("alice");
  auto a = login(fx, alice->token);
  auto room = make_room(fx, a, 2);
  post(fx, a, room, 10, 2000, 100);

  auto c = login(fx, alice->token);
  c.link->set_paced(true);
  for (int id = 10; id < 16; ++id)
    fx.send_text(c.session,
                 json{{"id", id}, {"op", "sync"}, {"since", {{std::to_string(room), 0}}}}.dump());
  fx.run();
  // The first runs; three wait; the fifth and sixth are refused.
  CHECK(reply(c, 10)["ok"] == true);
  for (int id : {11, 12, 13}) CHECK_FALSE(find_reply(c, id).has_value());
  for (int id : {14, 15}) {
    CHECK(reply(c, id)["error"]["code"] == "rate_limited");
    CHECK(reply(c, id)["error"]["message"].get<std::string>().find("syncs") != std::string::npos);
  }
  for (int i = 0; i < 200 && c.link->drain_waiters() > 0; ++i) {
    c.link->read_all();
    fx.run();
  }
  // Each sync: its reply, then its 11 events in order, then synced, before the next reply.
  std::vector<json> seen;
  for (const auto& f : c.link->frames())
    if ((f.contains("re") && f["re"] >= 10 && f["re"] <= 13) || f.contains("ev")) seen.push_back(f);
  REQUIRE(seen.size() == 4 * 13);
  for (std::size_t k = 0; k < 4; ++k) {
    INFO("sync " << 10 + k);
    const auto* first = &seen[k * 13];
    CHECK(first[0]["re"] == 10 + k);
    for (std::uint64_t s = 1; s <= 11; ++s) CHECK(first[s]["seq"] == s);
    CHECK(first[12]["ev"] == "synced");
  }
  // The connection is free again.
  send(fx, c, {{"id", 20}, {"op", "sync"}, {"since", {{std::to_string(room), 11}}}});
  CHECK(reply(c, 20)["ok"] == true);
}

TEST_CASE("sync: a session closed in the middle of a replay stops it", "[session][sync]") {
  auto options = roomy_options();
  options.sync_batch_bytes = 4 * 1024;
  actor_fixture fx(options);
  auto alice = fx.signup("alice");
  auto a = login(fx, alice->token);
  auto room = make_room(fx, a, 2);
  post(fx, a, room, 10, 2000, 100);
  auto c = login(fx, alice->token);
  c.link->set_paced(true);
  send(fx, c, {{"id", 2}, {"op", "sync"}, {"since", {{std::to_string(room), 0}}}});
  REQUIRE(c.link->drain_waiters() == 1);
  auto before = c.link->frames().size();
  fx.close_session(c.session);
  fx.run();
  c.link->read_all();  // a late drain notice reaches a stopped actor: nothing happens
  fx.run();
  CHECK(c.link->frames().size() == before);
  // The node keeps serving.
  send(fx, a, {{"id", 3}, {"op", "sync"}, {"since", {{std::to_string(room), 10}}}});
  CHECK(sync_events(a, 3).size() == 2);
}
