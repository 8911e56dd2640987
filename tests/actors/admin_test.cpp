// The operator's account actions through the actor layer (actors::admin, as the node runs them):
// auth honours disabled accounts and revoked or replaced tokens, the account's live connections
// are closed with 1008 (and nobody else's), and every effect survives a restart.

#include <catch2/catch.hpp>

#include "hibiki/core/protocol.hpp"
#include "hibiki/testkit/actor_fixture.hpp"
#include "hibiki/testkit/fixture_client.hpp"

using namespace hibiki;
using hibiki::testkit::actor_fixture;
using hibiki::testkit::recording_link;
using json = nlohmann::json;

namespace {

using conn = hibiki::testkit::fixture_connection;

/// The auth reply for `token` on a fresh connection; the connection is returned too.
std::pair<json, conn> auth(actor_fixture& fx, const std::string& token) {
  auto c = hibiki::testkit::connect(fx);
  send(fx, c, {{"id", 1}, {"op", "auth"}, {"token", token}});
  return {reply(c, 1), c};
}

std::string auth_error(actor_fixture& fx, const std::string& token) {
  auto [r, c] = auth(fx, token);
  return r.value("ok", false) ? std::string() : r["error"].value("code", "?");
}

result<actors::admin_result> admin(actor_fixture& fx, actors::admin_action action,
                                   std::uint64_t account, std::string name = {}) {
  auto got = std::make_shared<std::optional<result<actors::admin_result>>>();
  actors::admin(fx.rt().ctx, actors::admin_request{action, account_id{account}, std::move(name)},
                [got](result<actors::admin_result> r) { got->emplace(std::move(r)); });
  fx.run();
  REQUIRE(got->has_value());
  return std::move(**got);
}

}  // namespace

TEST_CASE("disabling closes the account's connections and refuses its token", "[admin]") {
  actor_fixture fx;
  auto alice = fx.signup("alice");
  auto bob = fx.signup("bob");
  REQUIRE(alice.ok());
  REQUIRE(bob.ok());
  auto [a_ok, a1] = auth(fx, alice->token);
  auto [a2_ok, a2] = auth(fx, alice->token);
  auto [b_ok, b] = auth(fx, bob->token);
  REQUIRE(a_ok["ok"] == true);

  auto r = admin(fx, actors::admin_action::disable_account, alice->account.value);
  REQUIRE(r.ok());
  CHECK(r->disabled);
  CHECK(r->name == "alice");
  CHECK(r->token.empty());
  CHECK(a1.link->close_code() == protocol::close_policy);
  CHECK(a2.link->close_code() == protocol::close_policy);
  CHECK_FALSE(b.link->close_code().has_value());
  CHECK(auth_error(fx, alice->token) == "unauthenticated");
  CHECK(auth_error(fx, bob->token).empty());

  // Disabled survives recovery from the journal and snapshots.
  fx.restart();
  CHECK(auth_error(fx, alice->token) == "unauthenticated");
  auto e = admin(fx, actors::admin_action::enable_account, alice->account.value);
  REQUIRE(e.ok());
  CHECK_FALSE(e->disabled);
  CHECK(auth_error(fx, alice->token).empty());
}

TEST_CASE("revoking and issuing tokens", "[admin]") {
  actor_fixture fx;
  auto alice = fx.signup("alice");
  REQUIRE(alice.ok());
  auto [ok, live] = auth(fx, alice->token);
  REQUIRE(ok["ok"] == true);

  REQUIRE(admin(fx, actors::admin_action::revoke_tokens, alice->account.value).ok());
  CHECK(live.link->close_code() == protocol::close_policy);
  CHECK(auth_error(fx, alice->token) == "unauthenticated");
  // Revoking again: nothing left to revoke, still an answer.
  REQUIRE(admin(fx, actors::admin_action::revoke_tokens, alice->account.value).ok());

  auto issued = admin(fx, actors::admin_action::issue_token, alice->account.value);
  REQUIRE(issued.ok());
  REQUIRE(issued->token.size() == 64);
  CHECK(issued->token != alice->token);
  auto [fresh, c] = auth(fx, issued->token);
  REQUIRE(fresh["ok"] == true);
  CHECK(fresh["account_id"] == alice->account.value);
  CHECK(auth_error(fx, alice->token) == "unauthenticated");

  // Another token replaces this one and closes its connection.
  auto again = admin(fx, actors::admin_action::issue_token, alice->account.value);
  REQUIRE(again.ok());
  CHECK(c.link->close_code() == protocol::close_policy);
  CHECK(auth_error(fx, issued->token) == "unauthenticated");
  fx.restart();
  CHECK(auth_error(fx, issued->token) == "unauthenticated");
  CHECK(auth_error(fx, again->token).empty());
}

TEST_CASE("renaming and the bad inputs of the admin actions", "[admin]") {
  actor_fixture fx;
  auto alice = fx.signup("alice");
  REQUIRE(alice.ok());
  auto renamed = admin(fx, actors::admin_action::rename_account, alice->account.value, "Alice L");
  REQUIRE(renamed.ok());
  CHECK(renamed->name == "Alice L");
  auto [r, c] = auth(fx, alice->token);
  CHECK(r["name"] == "Alice L");

  for (auto action : {actors::admin_action::disable_account, actors::admin_action::enable_account,
                      actors::admin_action::revoke_tokens, actors::admin_action::issue_token,
                      actors::admin_action::rename_account}) {
    auto unknown = admin(fx, action, 999, "x");
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error().code == errc::not_found);
    auto zero = admin(fx, action, 0, "x");
    REQUIRE_FALSE(zero.ok());
    CHECK(zero.error().code == errc::bad_request);
  }
  for (const char* bad : {"", "   ", "tab\there"}) {
    auto b = admin(fx, actors::admin_action::rename_account, alice->account.value, bad);
    REQUIRE_FALSE(b.ok());
    CHECK(b.error().code == errc::bad_request);
  }
  // Nothing of that touched the account: its token and name still work.
  auto [still, c2] = auth(fx, alice->token);
  CHECK(still["ok"] == true);
  CHECK(still["name"] == "Alice L");
  CHECK_FALSE(c.link->close_code().has_value());
}
