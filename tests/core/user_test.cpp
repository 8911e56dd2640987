#include <catch2/catch.hpp>

#include "hibiki/core/user.hpp"

using namespace hibiki;

namespace {
const std::string hash(64, 'a');
errc code(const user::state& s, const user::command& c) {
  auto r = user::decide(s, c);
  return r ? errc::ok : r.error().code;
}
}  // namespace

TEST_CASE("validate_name", "[user]") {
  CHECK(user::validate_name("alice").ok());
  CHECK(user::validate_name("\xE3\x81\x82\xE3\x81\x84").ok());
  CHECK(user::validate_name("a b").ok());
  CHECK(user::validate_name(std::string(64, 'x')).ok());
  std::string kana;
  for (int i = 0; i < 64; ++i) kana += "\xE3\x81\x82";
  CHECK(user::validate_name(kana).ok());
  for (std::string bad :
       {std::string(""), std::string(65, 'x'), std::string("a\x01"), std::string("tab\there"),
        std::string("new\nline"), std::string("del\x7F"), std::string("c1\xC2\x85"),
        std::string("   "), std::string("\xE3\x80\x80"), std::string("\xFF"),
        std::string("a\0b", 3)}) {
    auto st = user::validate_name(bad);
    CHECK_FALSE(st.ok());
    if (!st.ok()) CHECK(st.error().code == errc::bad_request);
  }
}

TEST_CASE("register_account", "[user]") {
  const user::state none;
  auto r = user::decide(none, user::register_account{account_id{7}, "alice", hash, 99});
  REQUIRE(r.ok());
  REQUIRE(r->size() == 1);
  const auto s = user::apply(none, r->at(0));
  CHECK(s.registered);
  CHECK(s.id == account_id{7});
  CHECK(s.name == "alice");
  CHECK(s.token_hash == hash);
  CHECK(s.created_at == 99);

  CHECK(code(s, user::register_account{account_id{7}, "alice", hash, 1}) == errc::conflict);
  CHECK(code(none, user::register_account{account_id{7}, "", hash, 1}) == errc::bad_request);
  CHECK(code(none, user::register_account{account_id{0}, "a", hash, 1}) == errc::bad_request);
  CHECK(code(none, user::register_account{account_id{7}, "a", "abc", 1}) == errc::bad_request);
  CHECK(code(none, user::register_account{account_id{7}, "a", std::string(64, 'g'), 1}) ==
        errc::bad_request);
  CHECK(code(none, user::register_account{account_id{7}, "a", std::string(65, 'a'), 1}) ==
        errc::bad_request);
  CHECK(code(none, user::register_account{account_id{7}, "a", std::string(64, 'F'), 1}) ==
        errc::ok);
}

TEST_CASE("rename_account", "[user]") {
  const user::state none;
  CHECK(code(none, user::rename_account{account_id{7}, "bob"}) == errc::not_found);
  const auto s = user::apply(none, user::account_registered{account_id{7}, "alice", hash, 1});
  CHECK(code(s, user::rename_account{account_id{8}, "bob"}) == errc::forbidden);
  CHECK(code(s, user::rename_account{account_id{7}, ""}) == errc::bad_request);
  auto r = user::decide(s, user::rename_account{account_id{7}, "bob"});
  REQUIRE(r.ok());
  const auto renamed = user::apply(s, r->at(0));
  CHECK(renamed.name == "bob");
  CHECK(renamed.token_hash == hash);
  CHECK(renamed.id == account_id{7});
}

TEST_CASE("operator commands need a registered account", "[user][admin]") {
  const user::state none;
  for (const user::command& c :
       {user::command{user::disable_account{}}, user::command{user::enable_account{}},
        user::command{user::revoke_tokens{}}, user::command{user::issue_token{hash}}}) {
    CHECK(code(none, c) == errc::not_found);
  }
}

TEST_CASE("disable and enable an account", "[user][admin]") {
  const auto s = user::apply({}, user::account_registered{account_id{7}, "alice", hash, 1});
  CHECK_FALSE(s.disabled);
  // Enabling an enabled account changes nothing: no event.
  auto noop = user::decide(s, user::enable_account{});
  REQUIRE(noop.ok());
  CHECK(noop->empty());

  auto d = user::decide(s, user::disable_account{});
  REQUIRE(d.ok());
  REQUIRE(d->size() == 1);
  CHECK(std::holds_alternative<user::account_disabled>(d->at(0)));
  const auto disabled = user::apply(s, d->at(0));
  CHECK(disabled.disabled);
  CHECK(disabled.token_hash == hash);  // the token stays; the account cannot use it
  auto again = user::decide(disabled, user::disable_account{});
  REQUIRE(again.ok());
  CHECK(again->empty());
  // A disabled account can still be renamed by the operator (as its owner).
  CHECK(code(disabled, user::rename_account{account_id{7}, "carol"}) == errc::ok);

  auto e = user::decide(disabled, user::enable_account{});
  REQUIRE(e.ok());
  REQUIRE(e->size() == 1);
  const auto enabled = user::apply(disabled, e->at(0));
  CHECK_FALSE(enabled.disabled);
  CHECK(enabled == s);
}

TEST_CASE("revoke tokens and issue a new one", "[user][admin]") {
  const auto s = user::apply({}, user::account_registered{account_id{7}, "alice", hash, 1});
  auto r = user::decide(s, user::revoke_tokens{});
  REQUIRE(r.ok());
  REQUIRE(r->size() == 1);
  const auto revoked = user::apply(s, r->at(0));
  CHECK(revoked.token_hash.empty());
  CHECK(revoked.name == "alice");
  // Nothing left to revoke: no event.
  auto again = user::decide(revoked, user::revoke_tokens{});
  REQUIRE(again.ok());
  CHECK(again->empty());

  const std::string fresh(64, 'b');
  auto i = user::decide(revoked, user::issue_token{fresh});
  REQUIRE(i.ok());
  REQUIRE(i->size() == 1);
  const auto issued = user::apply(revoked, i->at(0));
  CHECK(issued.token_hash == fresh);
  // Issuing replaces a live token too.
  const std::string third(64, 'c');
  CHECK(user::apply(issued, user::decide(issued, user::issue_token{third})->at(0)).token_hash ==
        third);

  for (const std::string& bad : {std::string(), std::string("abc"), std::string(64, 'g'),
                                 std::string(65, 'a'), std::string(63, 'a')}) {
    INFO(bad);
    CHECK(code(s, user::issue_token{bad}) == errc::bad_request);
  }
}

TEST_CASE("the REST fetch position only moves forward, per room", "[user][rest]") {
  const auto s = user::apply({}, user::account_registered{account_id{7}, "alice", hash, 1});
  const room_id r1{1}, r2{2};
  // Peeking decides nothing.
  auto peek = user::decide(s, user::peek_fetch_cursor{r1});
  REQUIRE(peek.ok());
  CHECK(peek->empty());
  auto m = user::decide(s, user::move_fetch_cursor{r1, message_id{5}});
  REQUIRE(m.ok());
  REQUIRE(m->size() == 1);
  const auto moved = user::apply(s, m->at(0));
  CHECK(moved.fetch_cursors == std::map<room_id, message_id>{{r1, message_id{5}}});
  // Back or in place: nothing; another room has its own position.
  CHECK(user::decide(moved, user::move_fetch_cursor{r1, message_id{5}})->empty());
  CHECK(user::decide(moved, user::move_fetch_cursor{r1, message_id{3}})->empty());
  const auto both =
      user::apply(moved, user::decide(moved, user::move_fetch_cursor{r2, message_id{1}})->at(0));
  CHECK(both.fetch_cursors.size() == 2);
  CHECK(user::apply(both, user::decide(both, user::move_fetch_cursor{r1, message_id{9}})->at(0))
            .fetch_cursors.at(r1) == message_id{9});
  CHECK(code(s, user::move_fetch_cursor{room_id{}, message_id{1}}) == errc::bad_request);
  CHECK(code(s, user::move_fetch_cursor{r1, message_id{}}) == errc::bad_request);
  CHECK(code(user::state{}, user::peek_fetch_cursor{r1}) == errc::not_found);
}
