// Per-account limits: the pure table (connection cap, shared token bucket, pruning), and the
// session actors that apply them (the next auth past the cap is refused with close 1008; the
// account's connections share one request budget; other accounts are not affected).

#include <catch2/catch.hpp>

#include "account_limits.hpp"
#include "hibiki/testkit/actor_fixture.hpp"
#include "hibiki/testkit/fixture_client.hpp"

using namespace hibiki;
using namespace std::chrono_literals;
using hibiki::actors::account_limit_options;
using hibiki::actors::account_limits;
using hibiki::testkit::actor_fixture;
using hibiki::testkit::recording_link;
using json = nlohmann::json;

namespace {

using conn = hibiki::testkit::fixture_connection;

json auth(actor_fixture& fx, conn& c, const std::string& token, std::int64_t id = 1) {
  send(fx, c, {{"id", id}, {"op", "auth"}, {"token", token}});
  return reply(c, id);
}

}  // namespace

TEST_CASE("account_limits: the connection cap counts per account", "[account][unit]") {
  account_limits limits(account_limit_options{10, 10, 2});
  const auto t = std::chrono::steady_clock::time_point{} + 1h;
  const account_id a{1}, b{2};
  CHECK(limits.try_connect(a, t));
  CHECK(limits.try_connect(a, t));
  CHECK_FALSE(limits.try_connect(a, t));
  CHECK(limits.connections(a) == 2);
  CHECK(limits.try_connect(b, t));  // another account has its own count
  limits.disconnect(a, t);
  CHECK(limits.try_connect(a, t));
  CHECK_FALSE(limits.try_connect(a, t));
  // A release without a connection is ignored, never below zero.
  limits.disconnect(account_id{3}, t);
  CHECK(limits.connections(account_id{3}) == 0);
}

TEST_CASE("account_limits: one bucket per account refills at the rate", "[account][unit]") {
  account_limits limits(account_limit_options{2, 3, 50});
  auto t = std::chrono::steady_clock::time_point{} + 1h;
  const account_id a{1}, b{2};
  for (int i = 0; i < 3; ++i) CHECK(limits.take_token(a, t));
  CHECK_FALSE(limits.take_token(a, t));
  CHECK(limits.take_token(b, t));  // b's bucket is its own
  t += 500ms;                      // 2/s: one token back
  CHECK(limits.take_token(a, t));
  CHECK_FALSE(limits.take_token(a, t));
  t += 1h;  // never more than the burst
  for (int i = 0; i < 3; ++i) CHECK(limits.take_token(a, t));
  CHECK_FALSE(limits.take_token(a, t));
}

TEST_CASE("account_limits: accounts without connections are forgotten once refilled",
          "[account][unit]") {
  account_limits limits(account_limit_options{1000, 5, 50});
  auto t = std::chrono::steady_clock::time_point{} + 1h;
  for (std::uint64_t i = 1; i <= 3000; ++i) {
    REQUIRE(limits.try_connect(account_id{i}, t));
    REQUIRE(limits.take_token(account_id{i}, t));
    limits.disconnect(account_id{i}, t);
    t += 1ms;
  }
  // Sweeps ran as the table grew: it holds at most the accounts whose bucket was still refilling.
  CHECK(limits.tracked_accounts() < 3000);
  // A drained account that reconnects does not get a fresh burst.
  const account_id drained{9'000};
  REQUIRE(limits.try_connect(drained, t));
  for (int i = 0; i < 5; ++i) REQUIRE(limits.take_token(drained, t));
  limits.disconnect(drained, t);
  REQUIRE(limits.try_connect(drained, t));
  CHECK_FALSE(limits.take_token(drained, t));
}

TEST_CASE("session: past max_connections_per_account the auth is refused and closed 1008",
          "[session][account]") {
  auto options = hibiki::testkit::test_options();
  options.max_connections_per_account = 2;
  actor_fixture fx(options);
  auto alice = fx.signup("alice");
  auto bob = fx.signup("bob");
  auto a1 = connect(fx), a2 = connect(fx), a3 = connect(fx);
  CHECK(auth(fx, a1, alice->token)["ok"] == true);
  CHECK(auth(fx, a2, alice->token)["ok"] == true);
  // The third is refused, with a reason, then closed; a request pipelined behind it is dropped.
  fx.send_text(a3.session, json{{"id", 1}, {"op", "auth"}, {"token", alice->token}}.dump());
  fx.send_text(a3.session, json{{"id", 2}, {"op", "list_rooms"}}.dump());
  fx.run();
  auto refused = reply(a3, 1);
  CHECK(refused["ok"] == false);
  CHECK(refused["error"]["code"] == "rate_limited");
  CHECK(refused["error"]["message"].get<std::string>().find("2 connections") != std::string::npos);
  CHECK(a3.link->close_code() == 1008);
  CHECK(a3.link->frames().size() == 1);
  // Bob is not affected; re-authenticating an existing connection as alice takes no new slot.
  auto b = connect(fx);
  CHECK(auth(fx, b, bob->token)["ok"] == true);
  CHECK(auth(fx, a1, alice->token, 5)["ok"] == true);
  CHECK(fx.ctx().accounts->connections(alice->account) == 2);
  // A closed connection gives its slot back.
  fx.close_session(a2.session);
  fx.run();
  auto a4 = connect(fx);
  CHECK(auth(fx, a4, alice->token)["ok"] == true);
  CHECK(fx.ctx().accounts->connections(alice->account) == 2);
  // A connection switching to bob releases alice's slot.
  CHECK(auth(fx, a1, bob->token, 6)["ok"] == true);
  CHECK(fx.ctx().accounts->connections(alice->account) == 1);
  CHECK(fx.ctx().accounts->connections(bob->account) == 2);
}

TEST_CASE("session: an account's connections share one request budget", "[session][account]") {
  auto options = hibiki::testkit::test_options();
  options.rate_burst = 100;  // each connection alone would allow 100 at once
  options.account_rate_burst = 6;
  options.account_rate_per_second = 1;
  actor_fixture fx(options);
  auto alice = fx.signup("alice");
  auto bob = fx.signup("bob");
  auto a1 = connect(fx), a2 = connect(fx), b = connect(fx);
  // auth itself runs before the account is known: it spends no account token.
  REQUIRE(auth(fx, a1, alice->token)["ok"] == true);
  REQUIRE(auth(fx, a2, alice->token)["ok"] == true);
  REQUIRE(auth(fx, b, bob->token)["ok"] == true);
  for (int i = 2; i <= 5; ++i) {
    fx.send_text(a1.session, json{{"id", i}, {"op", "ping"}}.dump());
    fx.send_text(a2.session, json{{"id", i}, {"op", "ping"}}.dump());
  }
  fx.run();
  int ok = 0, limited = 0;
  for (auto* c : {&a1, &a2})
    for (int i = 2; i <= 5; ++i) {
      auto r = reply(*c, i);
      if (r["ok"] == true) {
        ++ok;
      } else {
        ++limited;
        CHECK(r["error"]["code"] == "rate_limited");
        CHECK(r["error"]["message"].get<std::string>().find("account") != std::string::npos);
      }
    }
  CHECK(ok == 6);
  CHECK(limited == 2);
  CHECK_FALSE(a1.link->close_code().has_value());
  // Bob has his own budget.
  send(fx, b, {{"id", 2}, {"op", "ping"}});
  CHECK(reply(b, 2)["ok"] == true);
  // Time refills alice's.
  fx.advance_time(2s);
  send(fx, a2, {{"id", 10}, {"op", "ping"}});
  CHECK(reply(a2, 10)["ok"] == true);
}
