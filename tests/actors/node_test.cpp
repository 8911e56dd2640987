// The node end to end, on real threads and RocksDB: signup, sessions, every op of the contract.
// These tests wait for frames (with a failsafe timeout) but never assert on time.

#include <catch2/catch.hpp>

#include <future>
#include <memory>
#include <set>
#include <thread>

#include "hibiki/actors/node.hpp"
#include "hibiki/persistence/storage.hpp"
#include "hibiki/testkit/recording_link.hpp"
#include "hibiki/testkit/temp_dir.hpp"

using hibiki::actors::node;
using hibiki::actors::node_options;
using hibiki::testkit::recording_link;
using hibiki::testkit::temp_dir;
using json = nlohmann::json;

namespace {

struct client {
  std::shared_ptr<recording_link> link = std::make_shared<recording_link>();
  std::unique_ptr<hibiki::actors::session> session;
  std::int64_t next_id = 1;

  explicit client(node& n) : session(n.open_session(link)) {}

  json call(json req) {
    auto id = next_id++;
    req["id"] = id;
    session->on_text(req.dump());
    auto reply = link->wait_reply(id);
    REQUIRE(reply.has_value());
    return *reply;
  }
  json wait_event(const std::string& ev, std::uint64_t seq = 0) {
    auto f = link->wait_for([&](const json& j) {
      return j.is_object() && j.value("ev", "") == ev &&
             (seq == 0 || j.value("seq", std::uint64_t{0}) == seq);
    });
    REQUIRE(f.has_value());
    return *f;
  }
};

hibiki::actors::signup_result do_signup(node& n, const std::string& name) {
  std::promise<hibiki::result<hibiki::actors::signup_result>> p;
  n.signup(name,
           [&](hibiki::result<hibiki::actors::signup_result> r) { p.set_value(std::move(r)); });
  auto r = p.get_future().get();
  REQUIRE(r.ok());
  return r.value();
}

std::unique_ptr<node> start(const temp_dir& dir) {
  hibiki::persistence::storage_options s;
  s.data_dir = dir.sub("data");
  s.sync_writes = false;
  auto backend = hibiki::persistence::open_backend(s);
  REQUIRE(backend.ok());
  node_options o;
  o.actor_threads = 2;
  auto n = node::start(std::move(*backend), o);
  REQUIRE(n.ok());
  return std::move(n.value());
}

}  // namespace

TEST_CASE("node: signup / auth / rooms / messages / history / pushes", "[node]") {
  temp_dir dir;
  auto n = start(dir);
  REQUIRE(n->healthy());
  auto alice = do_signup(*n, "alice");
  auto bob = do_signup(*n, "bob");
  CHECK(alice.account.value == 1);
  CHECK(bob.account.value == 2);
  CHECK(alice.token.size() == 64);
  CHECK(alice.token != bob.token);

  client a(*n), b(*n);
  auto ra = a.call({{"op", "auth"}, {"token", alice.token}});
  REQUIRE(ra["ok"] == true);
  CHECK(ra["account_id"] == 1);
  CHECK(ra["name"] == "alice");
  REQUIRE(b.call({{"op", "auth"}, {"token", bob.token}})["ok"] == true);

  auto created = a.call({{"op", "create_room"}, {"name", "general"}, {"members", {2}}});
  REQUIRE(created["ok"] == true);
  auto room = created["room_id"].get<std::uint64_t>();
  CHECK(room == 3);  // rooms 1 and 2 are alice's and bob's my rooms
  b.wait_event("room_created");

  auto sent = a.call(
      {{"op", "send_message"}, {"room_id", room}, {"body", "hi [To:2]"}, {"client_msg_id", "c1"}});
  REQUIRE(sent["ok"] == true);
  CHECK(sent["message_id"] == "1");
  auto pushed = b.wait_event("message_created");
  CHECK(pushed["message"]["body"] == "hi [To:2]");
  CHECK(pushed["seq"] == sent["seq"]);

  // An idempotent retry returns the first reply and creates nothing.
  auto again = a.call(
      {{"op", "send_message"}, {"room_id", room}, {"body", "hi [To:2]"}, {"client_msg_id", "c1"}});
  CHECK(again["message_id"] == sent["message_id"]);
  CHECK(again["seq"] == sent["seq"]);

  auto hist = b.call({{"op", "history"}, {"room_id", room}});
  REQUIRE(hist["ok"] == true);
  REQUIRE(hist["messages"].size() == 1);
  CHECK(hist["messages"][0]["body"] == "hi [To:2]");

  // bob's rooms: his my room (made at sign-up) and this one.
  auto rooms = b.call({{"op", "list_rooms"}, {"details", true}});
  REQUIRE(rooms["rooms"].size() == 2);
  CHECK(rooms["rooms"][0]["type"] == "my");
  CHECK(rooms["rooms"][1]["room_id"] == room);
  CHECK(rooms["rooms"][1]["unread_num"] == 1);
  CHECK(rooms["rooms"][1]["mention_num"] == 1);

  client b2(*n);
  REQUIRE(b2.call({{"op", "auth"}, {"token", bob.token}})["ok"] == true);
  auto read = b.call({{"op", "mark_read"}, {"room_id", room}, {"message_id", "1"}});
  REQUIRE(read["ok"] == true);
  CHECK(read["unread_num"] == 0);
  CHECK(read["mention_num"] == 0);
  auto read_push = b2.wait_event("read");
  CHECK(read_push["room_id"] == room);

  auto edited =
      a.call({{"op", "edit_message"}, {"room_id", room}, {"message_id", "1"}, {"body", "edited"}});
  REQUIRE(edited["ok"] == true);
  b.wait_event("message_updated");
  auto deleted = a.call({{"op", "delete_message"}, {"room_id", room}, {"message_id", "1"}});
  REQUIRE(deleted["ok"] == true);
  b.wait_event("message_deleted");

  // sync from 0 replays every room event, then synced.
  client b3(*n);
  REQUIRE(b3.call({{"op", "auth"}, {"token", bob.token}})["ok"] == true);
  auto synced = b3.call({{"op", "sync"}, {"since", {{std::to_string(room), 0}}}});
  REQUIRE(synced["ok"] == true);
  b3.wait_event("synced");
  std::vector<std::uint64_t> seqs;
  for (auto& f : b3.link->frames())
    if (f.contains("ev") && f.contains("seq") && f["ev"] != "gap") seqs.push_back(f["seq"]);
  REQUIRE(!seqs.empty());
  for (std::size_t i = 0; i < seqs.size(); ++i) CHECK(seqs[i] == i + 1);

  // Errors: unknown room, not a member, unknown account.
  CHECK(a.call({{"op", "history"}, {"room_id", 999}})["error"]["code"] == "not_found");
  auto carol = do_signup(*n, "carol");
  client c(*n);
  REQUIRE(c.call({{"op", "auth"}, {"token", carol.token}})["ok"] == true);
  CHECK(c.call({{"op", "history"}, {"room_id", room}})["error"]["code"] == "forbidden");
  CHECK(a.call({{"op", "create_room"}, {"name", "x"}, {"members", {77}}})["error"]["code"] ==
        "not_found");
  CHECK(
      a.call({{"op", "add_members"}, {"room_id", room}, {"account_ids", {77}}})["error"]["code"] ==
      "not_found");
  n->stop();
  CHECK_FALSE(n->healthy());
}

TEST_CASE("node: bad token and unauthenticated ops", "[node][session]") {
  temp_dir dir;
  auto n = start(dir);
  client a(*n);
  CHECK(a.call({{"op", "ping"}})["ok"] == true);
  CHECK(a.call({{"op", "auth"}, {"token", "nope"}})["error"]["code"] == "unauthenticated");
  CHECK_FALSE(a.link->close_code().has_value());
  auto r = a.call({{"op", "list_rooms"}});
  CHECK(r["error"]["code"] == "unauthenticated");
  CHECK(a.link->wait_closed() == std::optional<std::uint16_t>(1008));
}

TEST_CASE("node: signup rejects bad names", "[node]") {
  temp_dir dir;
  auto n = start(dir);
  std::promise<hibiki::result<hibiki::actors::signup_result>> p;
  n->signup("", [&](auto r) { p.set_value(std::move(r)); });
  auto r = p.get_future().get();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == hibiki::errc::bad_request);
}

TEST_CASE("node: data survives a restart", "[node]") {
  temp_dir dir;
  std::string token;
  std::uint64_t room = 0;
  {
    auto n = start(dir);
    token = do_signup(*n, "alice").token;
    client a(*n);
    REQUIRE(a.call({{"op", "auth"}, {"token", token}})["ok"] == true);
    room = a.call({{"op", "create_room"}, {"name", "r"}, {"members", json::array()}})["room_id"];
    REQUIRE(a.call({{"op", "send_message"},
                    {"room_id", room},
                    {"body", "one"},
                    {"client_msg_id", "x"}})["ok"] == true);
  }
  auto n = start(dir);
  client a(*n);
  REQUIRE(a.call({{"op", "auth"}, {"token", token}})["ok"] == true);
  auto sent =
      a.call({{"op", "send_message"}, {"room_id", room}, {"body", "two"}, {"client_msg_id", "y"}});
  REQUIRE(sent["ok"] == true);
  CHECK(sent["message_id"] == "2");
  auto again =
      a.call({{"op", "send_message"}, {"room_id", room}, {"body", "one"}, {"client_msg_id", "x"}});
  CHECK(again["message_id"] == "1");
  auto second = do_signup(*n, "bob");
  CHECK(second.account.value == 2);
  auto created = a.call({{"op", "create_room"}, {"name", "r2"}, {"members", json::array()}});
  CHECK(created["room_id"] == room + 2);  // room + 1 is bob's my room
}

TEST_CASE("node: stop lets in-flight writes finish - every ok reply is durable", "[node][stop]") {
  temp_dir dir;
  std::string token;
  std::uint64_t room = 0;
  std::vector<std::string> acked;
  {
    auto n = start(dir);
    token = do_signup(*n, "alice").token;
    client a(*n);
    REQUIRE(a.call({{"op", "auth"}, {"token", token}})["ok"] == true);
    room = a.call({{"op", "create_room"}, {"name", "r"}, {"members", json::array()}})["room_id"];
    for (int i = 0; i < 150; ++i)
      a.session->on_text(json{{"id", 1000 + i},
                              {"op", "send_message"},
                              {"room_id", room},
                              {"body", "m"},
                              {"client_msg_id", std::to_string(i)}}
                             .dump());
    REQUIRE(a.link->wait_reply(1000).has_value());
    n->stop();
    n->stop();  // idempotent
    CHECK_FALSE(n->healthy());
    for (const auto& f : a.link->frames())
      if (f.contains("re") && f["re"].is_number() && f["re"].get<int>() >= 1000 && f["ok"] == true)
        acked.push_back(f["message_id"]);
  }
  REQUIRE_FALSE(acked.empty());
  auto n = start(dir);
  client a(*n);
  REQUIRE(a.call({{"op", "auth"}, {"token", token}})["ok"] == true);
  std::set<std::string> stored;
  // Page backwards from the newest message with `before`.
  std::string before;
  for (;;) {
    json req = {{"op", "history"}, {"room_id", room}, {"limit", 100}};
    if (!before.empty()) req["before"] = before;
    auto page = a.call(req);
    REQUIRE(page["ok"] == true);
    if (page["messages"].empty()) break;
    for (const auto& m : page["messages"]) stored.insert(m["message_id"].get<std::string>());
    before = page["messages"].front()["message_id"];
  }
  for (const auto& id : acked) CHECK(stored.count(id) == 1);
}

TEST_CASE("node: stop returns when sessions were opened and used from other threads",
          "[node][stop]") {
  // The gateway opens sessions on its own io threads, which outlive the node.
  temp_dir dir;
  auto n = start(dir);
  auto token = do_signup(*n, "alice").token;
  std::unique_ptr<client> a;
  std::promise<void> opened, stopped;
  // The thread that opened the session stays alive until the node has stopped.
  std::thread gateway_thread([&] {
    a = std::make_unique<client>(*n);
    opened.set_value();
    stopped.get_future().wait();
  });
  opened.get_future().wait();
  REQUIRE(a->call({{"op", "auth"}, {"token", token}})["ok"] == true);
  n->stop();
  stopped.set_value();
  gateway_thread.join();
  CHECK_FALSE(n->healthy());
  a->session->on_text(R"({"id": 9, "op": "ping"})");  // after stop: dropped, no crash
  a.reset();
}

TEST_CASE("node: after stop sign-ups answer unavailable and new sessions are inert",
          "[node][stop]") {
  temp_dir dir;
  auto n = start(dir);
  n->stop();
  std::promise<hibiki::result<hibiki::actors::signup_result>> p;
  n->signup("late", [&](auto r) { p.set_value(std::move(r)); });
  auto r = p.get_future().get();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == hibiki::errc::unavailable);
  auto link = std::make_shared<recording_link>();
  auto s = n->open_session(link);
  s->on_text(R"({"id": 1, "op": "ping"})");
  s->on_closed();
  CHECK(link->frames().empty());
}
