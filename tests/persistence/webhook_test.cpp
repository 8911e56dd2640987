/// Webhook deliveries' pure pieces (signature, base64, SSRF classification, backoff) and the
/// outbox projection over a real RocksDB database: deliveries made exactly once per event, with
/// the feed positions, and still there after a reopen.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "hibiki/core/codec.hpp"
#include "hibiki/persistence/webhooks.hpp"
#include "temp_dir.hpp"

using namespace hibiki;
using namespace hibiki::persistence;
using namespace std::chrono_literals;

namespace {

/// The base64 of the 32 ASCII bytes "0123456789abcdef0123456789abcdef".
const std::string token = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

feed_record record(std::int64_t offset, room_id room, seq_nr seq, const room::event& e) {
  feed_record r;
  r.partition = 0;
  r.offset = offset;
  r.event.entity = entity_of(room);
  r.event.seq = seq;
  r.event.writer = "test";
  r.event.payload = codec::encode(e);
  return r;
}

room::message_posted message(std::uint64_t id, std::vector<account_id> mentions = {}) {
  room::message_posted m;
  m.id = message_id{id};
  m.author = account_id{1};
  m.body = "hello [To:2]";
  m.client_msg_id = "c" + std::to_string(id);
  m.time = 1000 + static_cast<unix_time>(id);
  m.mentions = std::move(mentions);
  return m;
}

room::webhook_created created(std::uint64_t id, std::vector<room::webhook_event> events) {
  return room::webhook_created{
      webhook_id{id}, "http://127.0.0.1:9/hook", std::move(events), token, account_id{1}, 900};
}

}  // namespace

TEST_CASE("the signature is Chatwork's: base64(HMAC-SHA256(base64-decoded token, body))",
          "[webhook]") {
  // Computed independently: Python's hmac.new(b64decode(token), body, sha256) and
  // `openssl dgst -sha256 -mac HMAC -macopt hexkey:...` both give this value.
  const std::string body = R"({"webhook_setting_id":"1","webhook_event_type":"message_created"})";
  auto sig = webhook_signature(token, body);
  REQUIRE(sig);
  CHECK(*sig == "yizH3I9cZsMX6f074fXcgOozjoC+yGxY6p5pPcBs8vU=");
  // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
  auto rfc = webhook_signature(base64_encode("Jefe"), "what do ya want for nothing?");
  REQUIRE(rfc);
  CHECK(*base64_decode(*rfc) ==
        std::string("\x5b\xdc\xc1\x46\xbf\x60\x75\x4e\x6a\x04\x24\x26\x08\x95\x75\xc7\x5a\x00\x3f"
                    "\x08\x9d\x27\x39\x83\x9d\xec\x58\xb9\x64\xec\x38\x43",
                    32));
  CHECK_FALSE(webhook_signature("not base64!", body));
}

TEST_CASE("base64 round-trips and refuses what is not base64", "[webhook]") {
  for (const std::string& s :
       std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    CHECK(base64_decode(base64_encode(s)) == s);
  }
  CHECK(base64_encode("ab") == "YWI=");
  CHECK_FALSE(base64_decode("abc"));
  CHECK_FALSE(base64_decode("a$cd"));
}

TEST_CASE("a new token is the base64 of 32 random bytes", "[webhook]") {
  auto a = new_webhook_token();
  auto b = new_webhook_token();
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->size() == 44);
  CHECK(base64_decode(*a)->size() == 32);
  CHECK(*a != *b);
}

TEST_CASE("SSRF: non-public addresses are refused, public ones allowed", "[webhook][ssrf]") {
  for (const auto* bad : {"127.0.0.1",
                          "127.255.255.254",
                          "10.0.0.1",
                          "172.16.0.1",
                          "172.31.255.255",
                          "192.168.1.1",
                          "169.254.169.254",
                          "100.64.0.1",
                          "100.127.255.255",
                          "0.0.0.0",
                          "0.1.2.3",
                          "224.0.0.1",
                          "239.255.255.250",
                          "255.255.255.255",
                          "240.0.0.1",
                          "192.0.2.1",
                          "198.51.100.7",
                          "203.0.113.9",
                          "198.18.0.1",
                          "192.0.0.8",
                          "::",
                          "::1",
                          "fe80::1",
                          "fe80::1%1",
                          "fc00::1",
                          "fd12:3456::1",
                          "ff02::1",
                          "fec0::1",
                          "::ffff:127.0.0.1",
                          "::ffff:10.1.2.3",
                          "::ffff:169.254.169.254",
                          "::ffff:7f00:1",
                          "::127.0.0.1",
                          "::10.0.0.1",
                          "64:ff9b::a00:1",
                          "64:ff9b::7f00:1",
                          "64:ff9b:1::1",
                          "2002:7f00:1::",
                          "2002:a00:1::1",
                          "2001:db8::1",
                          "2001::1",
                          "100::1"}) {
    INFO(bad);
    CHECK_FALSE(forbidden_address_reason(bad).empty());
  }
  for (const auto* good : {"8.8.8.8", "1.1.1.1", "93.184.216.34", "172.32.0.1", "100.128.0.1",
                           "192.169.0.1", "11.0.0.1", "2606:4700::1111", "2a00:1450::1",
                           "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"}) {
    INFO(good);
    CHECK(forbidden_address_reason(good).empty());
  }
  CHECK(forbidden_address_reason("example.com") == "not an IP address");
  CHECK(forbidden_address_reason("") == "not an IP address");
}

TEST_CASE("SSRF: numeric host forms resolve to what they mean and are refused", "[webhook][ssrf]") {
  // getaddrinfo reads inet_aton's forms: decimal, hex, octal, short dotted.
  for (const auto* host : {"127.0.0.1", "2130706433", "0x7f000001", "0177.0.0.1", "127.1", "0x7f.1",
                           "::1", "::ffff:127.0.0.1", "0", "10.1"}) {
    INFO(host);
    auto r = resolve_webhook_host(host, false);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::bad_request);
    CHECK(r.error().message.find("refused") != std::string::npos);
    // With --webhook-allow-private the same host is allowed.
    CHECK(resolve_webhook_host(host, true));
  }
  CHECK_FALSE(check_webhook_target("http://127.0.0.1:8080/h", false));
  CHECK_FALSE(check_webhook_target("http://[::1]:8080/h", false));
  CHECK_FALSE(check_webhook_target("http://localhost:8080/h", false));
  CHECK(check_webhook_target("http://127.0.0.1:8080/h", true));
  CHECK_FALSE(check_webhook_target("ftp://8.8.8.8/", true));
  CHECK_FALSE(check_webhook_target("http://no-such-host.invalid/", true));
}

TEST_CASE("backoff doubles from the initial delay and stops at the cap", "[webhook]") {
  CHECK(webhook_backoff(0, 1000ms, 600s) == 0ms);
  CHECK(webhook_backoff(1, 1000ms, 600s) == 1000ms);
  CHECK(webhook_backoff(2, 1000ms, 600s) == 2000ms);
  CHECK(webhook_backoff(5, 1000ms, 600s) == 16000ms);
  CHECK(webhook_backoff(10, 1000ms, 600s) == 512000ms);
  CHECK(webhook_backoff(11, 1000ms, 600s) == 600000ms);
  CHECK(webhook_backoff(4'000'000'000u, 1000ms, 600s) == 600000ms);
  CHECK(webhook_backoff(3, 0ms, 600s) == 0ms);
}

TEST_CASE("the outbox projection makes each event's deliveries once, with its positions",
          "[webhook][outbox]") {
  testkit::temp_dir dir("hibiki-webhooks");
  const room_id room{7};
  {
    webhook_options o;
    o.path = dir.sub("outbox");
    auto service = webhook_service::open(o);
    REQUIRE(service);
    auto& p = (*service)->outbox_projection();
    CHECK(p.name() == "webhooks");
    REQUIRE(p.committed()->empty());
    // A message before any webhook: nothing. Then a webhook for messages and mentions.
    std::vector<feed_record> batch{
        record(0, room, 2, message(1, {account_id{2}})),
        record(
            1, room, 3,
            created(1, {room::webhook_event::message_created, room::webhook_event::mention_to_me})),
        record(2, room, 4, message(2, {account_id{2}, account_id{3}})),
        // Another room without webhooks, and a user entity: nothing.
        record(3, room_id{8}, 1, message(1)),
    };
    REQUIRE(p.apply(batch, {{0, 4}}));
    // message_created + one mention_to_me per mentioned account.
    CHECK((*service)->pending() == 3);
    CHECK(*p.committed() == feed_positions{{0, 4}});
    auto states = (*service)->states(room);
    REQUIRE(states.contains(webhook_id{1}));
    CHECK(states.at(webhook_id{1}).pending == 3);
    CHECK(states.at(webhook_id{1}).breaker == "closed");
    // An empty batch only moves the positions.
    REQUIRE(p.apply({}, {{0, 6}}));
    CHECK((*service)->pending() == 3);
    CHECK(*p.committed() == feed_positions{{0, 6}});
  }
  {
    // Reopened (a restart): the deliveries, settings and positions are still there.
    webhook_options o;
    o.path = dir.sub("outbox");
    auto service = webhook_service::open(o);
    REQUIRE(service);
    auto& p = (*service)->outbox_projection();
    CHECK(*p.committed() == feed_positions{{0, 6}});
    CHECK((*service)->pending() == 3);
    // The setting survived: a new message makes one more delivery (no mention).
    REQUIRE(p.apply({record(6, room, 5, message(3))}, {{0, 7}}));
    CHECK((*service)->pending() == 4);
    // After the webhook is deleted, later events make none.
    REQUIRE(p.apply({record(7, room, 6, room::webhook_deleted{webhook_id{1}, account_id{1}, 5}),
                     record(8, room, 7, message(4))},
                    {{0, 9}}));
    CHECK((*service)->pending() == 4);
    // reset drops everything (a rebuild starts from the beginning).
    REQUIRE(p.reset());
    CHECK((*service)->pending() == 0);
    CHECK(p.committed()->empty());
  }
}

TEST_CASE("replayed events (taken over from another node) keep the settings, deliver nothing",
          "[webhook][outbox]") {
  testkit::temp_dir dir("hibiki-webhooks");
  const room_id room{7};
  webhook_options o;
  o.path = dir.sub("outbox");
  auto service = webhook_service::open(o);
  REQUIRE(service);
  auto& p = (*service)->outbox_projection();
  // What the previous owner delivered already: the webhook and two messages.
  REQUIRE(p.replay({record(0, room, 1, created(1, {room::webhook_event::message_created})),
                    record(1, room, 2, message(1)), record(2, room, 3, message(2))},
                   {{0, 3}}));
  CHECK((*service)->pending() == 0);
  CHECK(*p.committed() == feed_positions{{0, 3}});
  // Applied from there on: the setting is known, so the next message is delivered.
  REQUIRE(p.apply({record(3, room, 4, message(3))}, {{0, 4}}));
  CHECK((*service)->pending() == 1);
  // A webhook deleted in a replayed range is gone too.
  REQUIRE(p.replay({record(4, room, 5, room::webhook_deleted{webhook_id{1}, account_id{1}, 5})},
                   {{0, 5}}));
  REQUIRE(p.apply({record(5, room, 6, message(4))}, {{0, 6}}));
  CHECK((*service)->pending() == 1);
}

TEST_CASE("task_created deliveries carry hibiki's task shape", "[webhook][outbox]") {
  testkit::temp_dir dir("hibiki-webhooks");
  webhook_options o;
  o.path = dir.sub("outbox");
  auto service = webhook_service::open(o);
  REQUIRE(service);
  auto& p = (*service)->outbox_projection();
  room::task_added t;
  t.id = task_id{4};
  t.assignee = account_id{2};
  t.by = account_id{1};
  t.body = "do it";
  t.time = 77;
  t.message = message_id{9};
  REQUIRE(p.apply({record(0, room_id{7}, 2, created(1, {room::webhook_event::task_created})),
                   record(1, room_id{7}, 3, message(9)), record(2, room_id{7}, 4, t)},
                  {{0, 3}}));
  // The task's message is not wanted (task_created only): one delivery.
  CHECK((*service)->pending() == 1);
}

TEST_CASE("an unreadable event is skipped, not fatal", "[webhook][outbox]") {
  testkit::temp_dir dir("hibiki-webhooks");
  webhook_options o;
  o.path = dir.sub("outbox");
  auto service = webhook_service::open(o);
  REQUIRE(service);
  auto& p = (*service)->outbox_projection();
  feed_record junk;
  junk.event.entity = "room-7";
  junk.event.seq = 1;
  junk.event.payload = {0xff, 0x00, 0x13};
  REQUIRE(p.apply({junk}, {{0, 1}}));
  CHECK(*p.committed() == feed_positions{{0, 1}});
}
