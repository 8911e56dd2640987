// Shared files through the actor layer, on an in-memory object store: request_upload signs a PUT
// for a random key, complete_upload checks the store (HEAD) before the room posts the message,
// get_file / list_files read the room_files rows, the sweeper removes what nobody can reach, a
// store that is down is `unavailable` (its breaker opens) while chat keeps working, and a pending
// upload survives a restart.

#include <regex>

#include <catch2/catch.hpp>

#include "hibiki/testkit/actor_fixture.hpp"
#include "hibiki/testkit/fixture_client.hpp"
#include "hibiki/testkit/memory_object_store.hpp"

using namespace hibiki;
using hibiki::testkit::actor_fixture;
using hibiki::testkit::fixture_connection;
using hibiki::testkit::memory_object_store;
using json = nlohmann::json;

namespace {

struct files_fixture {
  std::shared_ptr<memory_object_store> store = std::make_shared<memory_object_store>();
  std::unique_ptr<actor_fixture> fx;
  std::string alice_token, bob_token, eve_token;
  fixture_connection alice, bob, eve;
  std::uint64_t room = 0;
  std::int64_t next_id = 100;

  explicit files_fixture(std::uint32_t max_failures = 10,
                         std::function<void(actors::node_options&)> tune = {}) {
    auto options = testkit::test_options();
    options.objects = store;
    options.max_file_size = 1000;
    options.breaker.max_failures = max_failures;
    options.file_grace = std::chrono::seconds{600};
    if (tune) tune(options);
    fx = std::make_unique<actor_fixture>(options);
    alice_token = fx->signup("alice")->token;
    bob_token = fx->signup("bob")->token;
    eve_token = fx->signup("eve")->token;
    login_all();
    auto made = call(alice, {{"op", "create_room"}, {"name", "files"}, {"members", {2}}});
    REQUIRE(made["ok"] == true);
    room = made["room_id"];
  }

  void login_all() {
    alice = testkit::login(*fx, alice_token);
    bob = testkit::login(*fx, bob_token);
    eve = testkit::login(*fx, eve_token);
  }

  json call(fixture_connection& c, json req) {
    const auto id = next_id++;
    req["id"] = id;
    testkit::send(*fx, c, req);
    return testkit::reply(c, id);
  }

  json ask_upload(fixture_connection& c, std::string name = "report.pdf", std::uint64_t size = 10) {
    return call(c, {{"op", "request_upload"},
                    {"room_id", room},
                    {"filename", std::move(name)},
                    {"size", size},
                    {"content_type", "application/pdf"}});
  }

  json complete(fixture_connection& c, std::uint64_t file) {
    return call(c, {{"op", "complete_upload"}, {"room_id", room}, {"file_id", file}});
  }
};

/// The object key a mem:// PUT URL was signed for.
std::string key_of(const json& upload) {
  const std::string url = upload["upload_url"];
  const std::string prefix = "mem://put/";
  REQUIRE(url.rfind(prefix, 0) == 0);
  return url.substr(prefix.size(), url.find('?') - prefix.size());
}

std::string code_of(const json& r) {
  return r.value("ok", true) ? "ok" : r["error"]["code"].get<std::string>();
}

std::vector<json> events(const fixture_connection& c, std::string_view ev) {
  std::vector<json> out;
  for (const auto& f : c.link->frames())
    if (f.value("ev", "") == ev) out.push_back(f);
  return out;
}

}  // namespace

TEST_CASE("an upload is signed, checked in the store, then posted as a message", "[files]") {
  files_fixture f;
  auto up = f.ask_upload(f.bob);
  REQUIRE(code_of(up) == "ok");
  CHECK(up["file_id"] == 1);
  CHECK(up["expires_at"] == f.fx->now + 15 * 60);
  CHECK_FALSE(up.contains("object_key"));
  const auto key = key_of(up);
  // rooms/ROOM/ and 128 random bits: nothing of the filename, nothing guessable from ids.
  CHECK(std::regex_match(key, std::regex("rooms/" + std::to_string(f.room) + "/[0-9a-f]{32}")));
  CHECK(up["upload_url"].get<std::string>().find("size=10&type=application/pdf") !=
        std::string::npos);
  // A second upload gets another key.
  CHECK(key_of(f.ask_upload(f.bob, "b.txt")) != key);

  // Before the PUT: nothing to complete.
  auto early = f.complete(f.bob, 1);
  CHECK(code_of(early) == "bad_request");
  // The wrong size stored.
  f.store->store(key, 9);
  CHECK(code_of(f.complete(f.bob, 1)) == "bad_request");
  // Another member cannot complete it; a non-member neither.
  f.store->store(key, 10);
  CHECK(code_of(f.complete(f.alice, 1)) == "forbidden");
  CHECK(code_of(f.complete(f.eve, 1)) == "forbidden");
  CHECK(code_of(f.complete(f.bob, 7)) == "not_found");

  auto done = f.complete(f.bob, 1);
  REQUIRE(code_of(done) == "ok");
  CHECK(done["message_id"] == "1");
  const auto seq = done["seq"].get<std::uint64_t>();
  // A retry answers the same.
  auto again = f.complete(f.bob, 1);
  CHECK(again["message_id"] == "1");
  CHECK(again["seq"] == seq);

  // alice is pushed the message and the file.
  auto created = events(f.alice, "message_created");
  REQUIRE(created.size() == 1);
  CHECK(created[0]["message"]["body"] == "[download:1]report.pdf[/download]");
  auto uploaded = events(f.alice, "file_uploaded");
  REQUIRE(uploaded.size() == 1);
  CHECK(uploaded[0]["seq"] == seq);
  CHECK(uploaded[0]["room_id"] == f.room);
  CHECK(uploaded[0]["file"] == json{{"file_id", 1},
                                    {"account_id", 2},
                                    {"message_id", "1"},
                                    {"filename", "report.pdf"},
                                    {"size", 10},
                                    {"upload_time", f.fx->now}});

  // Reads: members only; the key never shows; the download URL names the file.
  auto got = f.call(f.alice, {{"op", "get_file"}, {"room_id", f.room}, {"file_id", 1}});
  REQUIRE(code_of(got) == "ok");
  CHECK(got["file"] == uploaded[0]["file"]);
  CHECK_FALSE(got.contains("download_url"));
  auto with_url = f.call(
      f.alice, {{"op", "get_file"}, {"room_id", f.room}, {"file_id", 1}, {"download_url", true}});
  CHECK(with_url["download_url"] ==
        "mem://get/" + key + "?filename=report.pdf&expires=" + std::to_string(f.fx->now + 30));
  CHECK(code_of(f.call(f.eve, {{"op", "get_file"}, {"room_id", f.room}, {"file_id", 1}})) ==
        "forbidden");
  CHECK(code_of(f.call(f.alice, {{"op", "get_file"}, {"room_id", f.room}, {"file_id", 2}})) ==
        "not_found");  // pending, not visible
  CHECK(code_of(f.call(f.alice, {{"op", "get_file"}, {"room_id", 999}, {"file_id", 1}})) ==
        "not_found");
  auto list = f.call(f.alice, {{"op", "list_files"}, {"room_id", f.room}});
  REQUIRE(list["files"].size() == 1);
  CHECK(list["files"][0] == uploaded[0]["file"]);
  CHECK(f.call(f.alice, {{"op", "list_files"}, {"room_id", f.room}, {"account_id", 1}})["files"]
            .empty());
  CHECK(f.call(f.alice, {{"op", "list_files"}, {"room_id", f.room}, {"account_id", 2}})["files"]
            .size() == 1);
  CHECK(code_of(f.call(f.eve, {{"op", "list_files"}, {"room_id", f.room}})) == "forbidden");
  auto room = f.call(f.bob, {{"op", "get_room"}, {"room_id", f.room}});
  CHECK(room["room"]["file_num"] == 1);
}

TEST_CASE("request_upload refuses bad input with v1's codes", "[files]") {
  files_fixture f;
  CHECK(code_of(f.ask_upload(f.eve)) == "forbidden");  // not a member
  CHECK(code_of(f.ask_upload(f.bob, "a.txt", 0)) == "bad_request");
  CHECK(code_of(f.ask_upload(f.bob, "a.txt", 1001)) == "too_large");
  CHECK(code_of(f.ask_upload(f.bob, "../etc/passwd")) == "bad_request");
  CHECK(code_of(f.ask_upload(f.bob, "a\tb")) == "bad_request");
  CHECK(code_of(f.ask_upload(f.bob, std::string(10 * 1024, 'x'))) == "too_large");
  auto readonly = f.call(
      f.alice,
      {{"op", "add_members"}, {"room_id", f.room}, {"account_ids", {2}}, {"role", "readonly"}});
  REQUIRE(code_of(readonly) == "ok");
  CHECK(code_of(f.ask_upload(f.bob)) == "forbidden");
  CHECK(f.store->object_count() == 0);
  // Nothing was recorded: the next upload is file 1.
  CHECK(f.ask_upload(f.alice)["file_id"] == 1);
}

TEST_CASE("the store down is unavailable, its breaker opens, chat keeps working", "[files]") {
  files_fixture f(2);
  auto up = f.ask_upload(f.bob);
  f.store->store(key_of(up), 10);
  f.store->down = true;
  CHECK(code_of(f.complete(f.bob, 1)) == "unavailable");
  CHECK(code_of(f.complete(f.bob, 1)) == "unavailable");
  const auto heads = f.store->heads.load();
  // Open: no more calls reach the store.
  auto fast = f.complete(f.bob, 1);
  CHECK(code_of(fast) == "unavailable");
  CHECK(fast["error"]["message"].get<std::string>().find("breaker") != std::string::npos);
  CHECK(f.store->heads == heads);
  // Chat is not affected. Signing needs no I/O but is refused while the breaker is open (a URL to
  // a store known to be down sends the client's bytes nowhere; the pending upload the room
  // recorded first expires unused, like any upload never PUT).
  CHECK(code_of(f.call(f.bob, {{"op", "send_message"},
                               {"room_id", f.room},
                               {"body", "still here"},
                               {"client_msg_id", "c1"}})) == "ok");
  auto refused = f.ask_upload(f.bob, "b.txt");
  CHECK(code_of(refused) == "unavailable");
  CHECK(refused["error"]["message"].get<std::string>().find("breaker") != std::string::npos);
  // Back up, after the breaker's reset timeout: the upload completes.
  f.store->down = false;
  CHECK(code_of(f.complete(f.bob, 1)) == "unavailable");  // still open
  f.fx->now += 31;
  CHECK(code_of(f.complete(f.bob, 1)) == "ok");
  CHECK(code_of(f.ask_upload(f.bob, "b.txt")) == "ok");
}

TEST_CASE("the sweeper removes expired uploads and hidden files' objects", "[files]") {
  files_fixture f;
  auto never = f.ask_upload(f.bob, "never.txt");
  const auto never_key = key_of(never);
  f.store->store(never_key, 10);  // PUT but never completed
  auto kept = f.ask_upload(f.bob, "kept.txt");
  f.store->store(key_of(kept), 10);
  REQUIRE(code_of(f.complete(f.bob, 2)) == "ok");
  auto gone = f.ask_upload(f.alice, "gone.txt");
  const auto gone_key = key_of(gone);
  f.store->store(gone_key, 10);
  auto posted = f.complete(f.alice, 3);
  REQUIRE(code_of(posted) == "ok");

  // Before the expiry nothing goes.
  f.fx->advance_time(std::chrono::seconds{61});
  CHECK(f.store->object_count() == 3);
  CHECK(f.fx->rt().sweeper->passes >= 1);

  // Past the expiry: the never-completed object goes, and the upload cannot complete any more.
  f.fx->now += 15 * 60;
  f.fx->advance_time(std::chrono::seconds{61});
  CHECK_FALSE(f.store->has(never_key));
  CHECK(f.store->object_count() == 2);
  CHECK(code_of(f.complete(f.bob, 1)) == "not_found");

  // Deleting the message hides the file at once; its object goes after the grace period.
  REQUIRE(code_of(f.call(f.alice, {{"op", "delete_message"},
                                   {"room_id", f.room},
                                   {"message_id", posted["message_id"]}})) == "ok");
  CHECK(code_of(f.call(f.bob, {{"op", "get_file"}, {"room_id", f.room}, {"file_id", 3}})) ==
        "not_found");
  CHECK(f.call(f.bob, {{"op", "list_files"}, {"room_id", f.room}})["files"].size() == 1);
  f.fx->advance_time(std::chrono::seconds{61});
  CHECK(f.store->has(gone_key));
  f.fx->now += 600;
  f.fx->advance_time(std::chrono::seconds{61});
  CHECK_FALSE(f.store->has(gone_key));
  CHECK(f.store->object_count() == 1);  // kept.txt
  CHECK(f.fx->rt().sweeper->removed == 2);

  // Deleting the room hides the rest.
  REQUIRE(code_of(f.call(f.alice, {{"op", "delete_room"}, {"room_id", f.room}})) == "ok");
  f.fx->now += 600;
  f.fx->advance_time(std::chrono::seconds{61});
  f.fx->advance_time(std::chrono::seconds{61});
  CHECK(f.store->object_count() == 0);
  CHECK(f.fx->rt().sweeper->removed == 3);
  CHECK(f.fx->rt().sweeper->failed == 0);
}

TEST_CASE("the node's upload window sets the expiry and the sweeper keeps to it", "[files]") {
  files_fixture f(10, [](actors::node_options& o) { o.upload_window = std::chrono::seconds{40}; });
  auto up = f.ask_upload(f.bob);
  REQUIRE(code_of(up) == "ok");
  CHECK(up["expires_at"] == f.fx->now + 40);
  // The PUT URL is signed for the same window.
  CHECK(up["upload_url"].get<std::string>().find("expires=" + std::to_string(f.fx->now + 40)) !=
        std::string::npos);
  const auto key = key_of(up);
  f.store->store(key, 10);
  f.fx->now += 40;
  f.fx->advance_time(std::chrono::seconds{61});
  CHECK_FALSE(f.store->has(key));
  CHECK(code_of(f.complete(f.bob, 1)) == "not_found");
}

TEST_CASE("pending uploads per account and room are capped; over it is rate_limited", "[files]") {
  files_fixture f(10, [](actors::node_options& o) { o.max_pending_uploads = 2; });
  REQUIRE(code_of(f.ask_upload(f.bob, "a.txt")) == "ok");
  REQUIRE(code_of(f.ask_upload(f.bob, "b.txt")) == "ok");
  auto over = f.ask_upload(f.bob, "c.txt");
  CHECK(code_of(over) == "rate_limited");
  CHECK(over["error"]["message"].get<std::string>().find("2 uploads pending") != std::string::npos);
  // Nothing was recorded or signed for it; alice is not held back by bob's uploads.
  CHECK(f.store->object_count() == 0);
  CHECK(f.ask_upload(f.alice, "d.txt")["file_id"] == 3);
  // Completing one of bob's frees a place; so does the window passing.
  auto first = f.ask_upload(f.alice, "e.txt");
  CHECK(code_of(f.ask_upload(f.alice, "f.txt")) == "rate_limited");
  f.store->store(key_of(first), 10);
  REQUIRE(code_of(f.complete(f.alice, 4)) == "ok");
  CHECK(f.ask_upload(f.alice, "f.txt")["file_id"] == 5);
  f.fx->now += 15 * 60;
  CHECK(f.ask_upload(f.bob, "c.txt")["file_id"] == 6);
  // The server kept serving: chat works.
  CHECK(code_of(f.call(f.bob, {{"op", "send_message"},
                               {"room_id", f.room},
                               {"body", "still here"},
                               {"client_msg_id", "cap"}})) == "ok");
}

TEST_CASE("a pending upload survives a restart and completes after it", "[files]") {
  files_fixture f;
  auto up = f.ask_upload(f.bob);
  const auto key = key_of(up);
  f.fx->restart();
  f.login_all();
  f.store->store(key, 10);
  auto done = f.complete(f.bob, 1);
  REQUIRE(code_of(done) == "ok");
  CHECK(f.call(f.alice, {{"op", "list_files"}, {"room_id", f.room}})["files"].size() == 1);
}

TEST_CASE("without an object store the file ops are unavailable", "[files]") {
  actor_fixture fx;
  auto token = fx.signup("solo")->token;
  auto c = testkit::login(fx, token);
  testkit::send(fx, c,
                {{"id", 5},
                 {"op", "request_upload"},
                 {"room_id", 1},
                 {"filename", "a.txt"},
                 {"size", 1},
                 {"content_type", "text/plain"}});
  auto r = testkit::reply(c, 5);
  CHECK(r["error"]["code"] == "unavailable");
  CHECK(fx.rt().ctx->sweeper == caf::actor{});
}
