#include <catch2/catch.hpp>

#include "hibiki/core/room.hpp"

using namespace hibiki;
using room::parse_mentions;
using room::utf8_length;

TEST_CASE("utf8_length counts code points and rejects invalid UTF-8", "[room][text]") {
  CHECK(utf8_length("") == 0u);
  CHECK(utf8_length("abc") == 3u);
  CHECK(utf8_length("\xC3\xA9") == 1u);                  // é
  CHECK(utf8_length("\xE3\x81\x82\xE3\x81\x84") == 2u);  // あい
  CHECK(utf8_length("\xF0\x9F\x98\x80") == 1u);          // emoji
  CHECK_FALSE(utf8_length("\xC3"));                      // truncated
  CHECK_FALSE(utf8_length("\x80"));                      // lone continuation
  CHECK_FALSE(utf8_length("\xC0\xAF"));                  // overlong '/'
  CHECK_FALSE(utf8_length("\xED\xA0\x80"));              // surrogate
  CHECK_FALSE(utf8_length("\xF4\x90\x80\x80"));          // above U+10FFFF
  CHECK_FALSE(utf8_length("\xFF"));
  CHECK_FALSE(utf8_length(std::string_view("a\xE3\x81", 3)));
}

TEST_CASE("parse_mentions finds [To:id] tags", "[room][text]") {
  using ids = std::vector<account_id>;
  CHECK(parse_mentions("hello") == ids{});
  CHECK(parse_mentions("[To:123] hi") == ids{account_id{123}});
  CHECK(parse_mentions("[To:2][To:1][To:2]") == ids{account_id{2}, account_id{1}});
  CHECK(parse_mentions("x [to:5] [TO:6] [To: 7] [To:8 ] [To:] [To:-1] [To:0] [To:9") == ids{});
  CHECK(parse_mentions("[To:1a] [To:3]") == ids{account_id{3}});
  CHECK(parse_mentions("[To:[To:4]") == ids{account_id{4}});
  CHECK(parse_mentions("[To:9007199254740991]") == ids{account_id{9007199254740991ULL}});
  CHECK(parse_mentions("[To:9007199254740992]") == ids{});
  CHECK(parse_mentions("[To:99999999999999999999999999] [To:5]") == ids{account_id{5}});
  CHECK(parse_mentions("[To:007]") == ids{account_id{7}});
}
