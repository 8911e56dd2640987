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
