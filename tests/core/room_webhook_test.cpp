/// Webhook settings: who may add, list and remove them, which URLs and events are accepted, the
/// per-room limit, the events they record, the snapshot and the command codec.

#include <catch2/catch.hpp>

#include "hibiki/core/codec.hpp"
#include "hibiki/core/command_codec.hpp"
#include "hibiki/core/protocol.hpp"
#include "room_fixture.hpp"

using namespace hibiki;
using namespace hibiki::test;

namespace {

const std::string token = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

room::create_webhook hook(account_id who, std::string url = "https://example.com/hook",
                          std::vector<std::string> events = {"message_created"}) {
  return room::create_webhook{who, std::move(url), std::move(events), token, 50};
}

protocol::request parse_ok(std::string_view text) {
  auto r = protocol::parse_request(text);
  auto* ok = std::get_if<protocol::request>(&r);
  if (ok == nullptr) FAIL("did not parse: " << std::get<protocol::parse_failure>(r).error.message);
  return *ok;
}

bool parses(std::string_view text) {
  return std::holds_alternative<protocol::request>(protocol::parse_request(text));
}

std::string message_of(const room::state& s, const room::command& cmd) {
  auto d = room::decide(s, cmd);
  REQUIRE_FALSE(d);
  return d.error().message;
}

}  // namespace

TEST_CASE("an admin creates a webhook; it is room state with the next id", "[webhook]") {
  auto s = run(made_room(), hook(alice, "https://example.com/a",
                                 {"message_created", "mention_to_me", "task_created"}));
  REQUIRE(s.webhooks.size() == 1);
  const auto& w = s.webhooks.at(webhook_id{1});
  CHECK(w.url == "https://example.com/a");
  CHECK(w.events == std::vector<room::webhook_event>{room::webhook_event::message_created,
                                                     room::webhook_event::mention_to_me,
                                                     room::webhook_event::task_created});
  CHECK(w.token == token);
  CHECK(w.by == alice);
  CHECK(w.created_at == 50);
  s = run(s, hook(alice));
  CHECK(s.webhooks.contains(webhook_id{2}));
  // Ids are never reused after a delete.
  s = run(s, room::delete_webhook{alice, webhook_id{2}, 60});
  s = run(s, hook(alice));
  CHECK(s.webhooks.contains(webhook_id{3}));
  CHECK_FALSE(s.webhooks.contains(webhook_id{2}));
}

TEST_CASE("the webhook events are not room events of the protocol", "[webhook]") {
  auto s = made_room();
  const auto seq = s.seq;
  s = run(s, hook(alice));
  s = run(s, room::delete_webhook{alice, webhook_id{1}, 60});
  CHECK(s.seq == seq);
  CHECK_FALSE(room::is_visible(room::webhook_created{}));
  CHECK_FALSE(room::is_visible(room::webhook_deleted{}));
}

TEST_CASE("only admins manage webhooks", "[webhook]") {
  auto s = run(made_room(), hook(alice));
  CHECK(refusal(s, hook(bob)) == errc::forbidden);
  CHECK(refusal(s, room::list_webhooks{bob}) == errc::forbidden);
  CHECK(refusal(s, room::delete_webhook{bob, webhook_id{1}, 60}) == errc::forbidden);
  CHECK(refusal(s, room::list_webhooks{alice}) == errc::ok);
  // Not a member at all.
  CHECK(refusal(s, hook(dave)) == errc::forbidden);
  // A member made admin may.
  s = run(s, room::add_members{alice, {bob}, role::admin});
  CHECK(refusal(s, hook(bob)) == errc::ok);
}

TEST_CASE("webhook URLs: http or https, a host, no user information, a length limit", "[webhook]") {
  auto s = made_room();
  for (const auto* good :
       {"http://example.com", "https://example.com:8443/x?y=1", "http://127.0.0.1:9/h",
        "http://[::1]:8080/h", "HTTPS://Example.COM/path", "http://example.com?q=1"}) {
    INFO(good);
    CHECK(refusal(s, hook(alice, good)) == errc::ok);
  }
  for (const auto* bad :
       {"", "ftp://example.com/", "example.com/hook", "javascript:alert(1)",
        "http://user:pw@example.com/", "http://user@example.com/", "http:///path", "http://:80/",
        "http://example.com:0/", "http://example.com:65536/", "http://example.com:x/",
        "http://example.com:/", "http://exa mple.com/", "http://example.com/#frag", "http://[::1/",
        "http://[::1]x/", "http://exa%6dple.com/", "file:///etc/passwd",
        "http://example.com/\xe3\x81\x82"}) {
    INFO(bad);
    CHECK(refusal(s, hook(alice, bad)) == errc::bad_request);
  }
  CHECK(refusal(s, hook(alice, "https://example.com/" + std::string(3000, 'a'))) ==
        errc::too_large);
  auto parsed = room::parse_webhook_url("https://Example.com:8443");
  REQUIRE(parsed);
  CHECK(parsed->https);
  CHECK(parsed->host == "Example.com");
  CHECK(parsed->port == 8443);
  CHECK(parsed->target == "/");
  auto v6 = room::parse_webhook_url("http://[fe80::1]/a?b");
  REQUIRE(v6);
  CHECK(v6->host == "fe80::1");
  CHECK(v6->port == 80);
  CHECK(v6->target == "/a?b");
}

TEST_CASE("webhook events: known names, at least one, none twice", "[webhook]") {
  auto s = made_room();
  CHECK(refusal(s, hook(alice, "https://example.com/", {})) == errc::bad_request);
  CHECK(message_of(s, hook(alice, "https://example.com/", {"message_deleted"}))
            .find("unknown webhook event") != std::string::npos);
  CHECK(refusal(s, hook(alice, "https://example.com/", {"message_created", "message_created"})) ==
        errc::bad_request);
  CHECK(refusal(s, hook(alice, "https://example.com/", {""})) == errc::bad_request);
}

TEST_CASE("a room has at most max_webhooks_per_room webhooks", "[webhook]") {
  auto s = made_room();
  for (std::size_t i = 0; i < room::max_webhooks_per_room; ++i) s = run(s, hook(alice));
  CHECK(refusal(s, hook(alice)) == errc::conflict);
  s = run(s, room::delete_webhook{alice, webhook_id{1}, 60});
  CHECK(refusal(s, hook(alice)) == errc::ok);
}

TEST_CASE("deleting an unknown webhook is not_found; a deleted room has none", "[webhook]") {
  auto s = run(made_room(), hook(alice));
  CHECK(refusal(s, room::delete_webhook{alice, webhook_id{9}, 60}) == errc::not_found);
  s = run(s, room::delete_webhook{alice, webhook_id{1}, 60});
  CHECK(refusal(s, room::delete_webhook{alice, webhook_id{1}, 60}) == errc::not_found);
  s = run(s, hook(alice));
  s = run(s, room::delete_room{alice, 70});
  CHECK(s.webhooks.empty());
  CHECK(refusal(s, hook(alice)) == errc::not_found);
}

TEST_CASE("webhook events and the snapshot round-trip through the codec", "[webhook][codec]") {
  room::webhook_created created{
      webhook_id{3},
      "https://example.com/h",
      {room::webhook_event::mention_to_me, room::webhook_event::task_created},
      token,
      alice,
      99};
  auto back = codec::decode_room_event(codec::encode(room::event{created}));
  REQUIRE(back);
  const auto* c = std::get_if<room::webhook_created>(&*back);
  REQUIRE(c != nullptr);
  CHECK(c->id == created.id);
  CHECK(c->url == created.url);
  CHECK(c->events == created.events);
  CHECK(c->token == token);
  CHECK(c->by == alice);
  CHECK(c->time == 99);
  auto deleted = codec::decode_room_event(
      codec::encode(room::event{room::webhook_deleted{webhook_id{3}, bob, 100}}));
  REQUIRE(deleted);
  CHECK(std::get<room::webhook_deleted>(*deleted).by == bob);

  auto s = run(run(made_room(), hook(alice)), hook(alice, "http://example.org/", {"task_created"}));
  s = run(s, room::delete_webhook{alice, webhook_id{1}, 60});
  auto restored = codec::decode_room_snapshot(codec::encode_snapshot(s));
  REQUIRE(restored);
  CHECK(restored->webhooks == s.webhooks);
  CHECK(restored->last_webhook == webhook_id{2});
  CHECK(*restored == s);
}

TEST_CASE("the webhook commands round-trip through the command codec", "[webhook][codec]") {
  for (const room::command& cmd :
       {room::command{hook(alice, "https://example.com/", {"message_created", "task_created"})},
        room::command{room::list_webhooks{bob}},
        room::command{room::delete_webhook{alice, webhook_id{7}, 5}}}) {
    auto text = codec::encode_command(cmd);
    auto back = codec::decode_room_command(text);
    REQUIRE(back);
    CHECK(codec::encode_command(*back) == text);
  }
}

TEST_CASE("the webhook ops parse, and bad ones are refused", "[webhook][protocol]") {
  auto ok = parse_ok(
      R"({"id":1,"op":"create_webhook","room_id":5,"url":"https://e.com/","events":["message_created"]})");
  const auto& c = std::get<protocol::create_webhook_req>(ok.body);
  CHECK(c.room == room_id{5});
  CHECK(c.events == std::vector<std::string>{"message_created"});
  auto list = parse_ok(R"({"id":2,"op":"list_webhooks","room_id":5})");
  CHECK(std::get<protocol::list_webhooks_req>(list.body).room == room_id{5});
  auto del = parse_ok(R"({"id":3,"op":"delete_webhook","room_id":5,"webhook_id":2})");
  CHECK(std::get<protocol::delete_webhook_req>(del.body).webhook == webhook_id{2});
  for (const auto* bad :
       {R"({"id":1,"op":"create_webhook","room_id":5,"url":"https://e.com/"})",
        R"({"id":1,"op":"create_webhook","room_id":5,"url":7,"events":[]})",
        R"({"id":1,"op":"create_webhook","room_id":5,"url":"x","events":"message_created"})",
        R"({"id":1,"op":"create_webhook","room_id":5,"url":"x","events":[1]})",
        R"({"id":1,"op":"delete_webhook","room_id":5})",
        R"({"id":1,"op":"delete_webhook","room_id":5,"webhook_id":0})",
        R"({"id":1,"op":"list_webhooks"})"}) {
    INFO(bad);
    CHECK_FALSE(parses(bad));
  }
}
