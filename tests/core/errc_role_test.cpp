#include <catch2/catch.hpp>

#include "hibiki/core/errc.hpp"
#include "hibiki/core/ids.hpp"
#include "hibiki/core/result.hpp"
#include "hibiki/core/role.hpp"

using namespace hibiki;

TEST_CASE("errc wire names match the contract", "[errc]") {
  CHECK(wire_name(errc::bad_request) == "bad_request");
  CHECK(wire_name(errc::unauthenticated) == "unauthenticated");
  CHECK(wire_name(errc::forbidden) == "forbidden");
  CHECK(wire_name(errc::not_found) == "not_found");
  CHECK(wire_name(errc::too_large) == "too_large");
  CHECK(wire_name(errc::rate_limited) == "rate_limited");
  CHECK(wire_name(errc::conflict) == "conflict");
  CHECK(wire_name(errc::unavailable) == "unavailable");
  CHECK(wire_name(errc::internal) == "internal");
  CHECK(wire_name(static_cast<errc>(99)) == "internal");
}

TEST_CASE("errc converts to std::error_code", "[errc]") {
  std::error_code ec = errc::not_found;
  CHECK(ec.category().name() == std::string("hibiki"));
  CHECK(ec.message() == "not_found");
  CHECK(ec == make_error_code(errc::not_found));
  CHECK(ec != make_error_code(errc::conflict));
}

TEST_CASE("result and status carry values or errors", "[errc]") {
  result<int> good = 5;
  REQUIRE(good.ok());
  CHECK(*good == 5);
  result<int> bad(errc::conflict, "nope");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error() == make_error(errc::conflict, "nope"));
  status s;
  CHECK(s.ok());
  status f(errc::forbidden, "x");
  CHECK_FALSE(f.ok());
  CHECK(f.error().code == errc::forbidden);
}

TEST_CASE("roles round-trip through text", "[role]") {
  for (auto r : {role::admin, role::member, role::readonly}) {
    CHECK(parse_role(to_string(r)) == r);
  }
  CHECK(to_string(role::readonly) == "readonly");
  CHECK_FALSE(parse_role("Admin"));
  CHECK_FALSE(parse_role(""));
  CHECK_FALSE(parse_role("owner"));
}

TEST_CASE("ids are distinct types with an entity name", "[ids]") {
  CHECK(entity_of(room_id{7}) == "room-7");
  CHECK(entity_of(account_id{9}) == "user-9");
  CHECK_FALSE(static_cast<bool>(message_id{}));
  CHECK(message_id{2} > message_id{1});
  CHECK(max_wire_id == 9007199254740991ULL);
}
