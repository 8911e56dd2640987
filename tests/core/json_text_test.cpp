#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "hibiki/core/json_text.hpp"
#include "hibiki/core/protocol.hpp"
#include "hibiki/core/read_model.hpp"
#include "hibiki/core/read_model_text.hpp"

using namespace hibiki;
using nlohmann::json;

namespace {

/// What the DOM path writes: nlohmann's compact dump, invalid UTF-8 replaced.
std::string dom_dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

/// encode_ok as it was written with a DOM: the fields merged into a new object, then re and ok.
std::string dom_encode_ok(std::int64_t id, const json& fields) {
  json j = json::object();
  if (fields.is_object())
    for (auto it = fields.begin(); it != fields.end(); ++it) j[it.key()] = it.value();
  j["re"] = id;
  j["ok"] = true;
  return dom_dump(j);
}

std::string text_of(std::string_view s) {
  std::string out;
  json_text::append_string(out, s);
  return out;
}

/// Strings that exercise the escaper: every control character, quotes, backslashes, DEL,
/// multi-byte UTF-8, and malformed UTF-8 of each kind.
std::vector<std::string> tricky_strings() {
  std::vector<std::string> v = {
      "",
      "hello",
      "quote \" backslash \\ slash /",
      "tab\tnewline\ncr\rbackspace\bformfeed\f",
      std::string("nul\0inside", 10),
      "\x7f del",
      "日本語のメッセージ",
      "emoji 😀 and 🇯🇵",
      "mixed \"日本\"\n\\😀",
      "[To:2] lg:t=123456789",
      // malformed UTF-8: lone continuation, truncated sequences, overlong, surrogate, too high
      "\x80",
      "abc\xC3",
      "\xE3\x81",
      "\xF0\x9F\x98",
      "\xC0\x80",
      "\xE0\x80\xAF",
      "\xED\xA0\x80",
      "\xF4\x90\x80\x80",
      "\xF5\x80\x80\x80",
      "\xFF\xFE",
      "ok \xE6\x97\xA5 then bad \xE6\x97 end",
  };
  std::string controls;
  for (int c = 0; c < 0x20; ++c) controls.push_back(static_cast<char>(c));
  v.push_back(controls);
  // A large body: the 65,535-character limit, multi-byte and escapes included.
  std::string large;
  while (large.size() < 200'000) large += "ばか\"\\\n😀 text ";
  v.push_back(large);
  return v;
}

}  // namespace

TEST_CASE("json_text strings are nlohmann's dump byte for byte", "[json_text]") {
  for (const auto& s : tricky_strings()) {
    INFO(dom_dump(json(s)));
    CHECK(text_of(s) == dom_dump(json(s)));
  }
}

TEST_CASE("json_text strings match nlohmann on random bytes", "[json_text]") {
  // Deterministic: the same strings every run. Short strings biased towards UTF-8 lead and
  // continuation bytes, so valid and malformed sequences both come up often.
  std::mt19937 rng(1234);
  const unsigned char pool[] = {'a',  '"',  '\\', 0x01, 0x1f, 0x7f, 0x80, 0x8f,
                                0x90, 0x9f, 0xa0, 0xbf, 0xc2, 0xc0, 0xdf, 0xe0,
                                0xe1, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, ' '};
  for (int n = 0; n < 20'000; ++n) {
    std::string s;
    const auto len = rng() % 8;
    for (unsigned i = 0; i < len; ++i) s.push_back(static_cast<char>(pool[rng() % sizeof pool]));
    INFO(dom_dump(json(s)));
    REQUIRE(text_of(s) == dom_dump(json(s)));
  }
}

TEST_CASE("json_text numbers and values are nlohmann's", "[json_text]") {
  for (const json& v :
       {json(nullptr), json(true), json(false), json(0), json(-1), json(std::int64_t{INT64_MIN}),
        json(std::uint64_t{UINT64_MAX}), json(1.5), json("s\n"),
        json::array({1, "x", json::object()}), json{{"b", 1}, {"a", {1, 2}}}}) {
    std::string out;
    json_text::append_value(out, v);
    CHECK(out == dom_dump(v));
  }
}

TEST_CASE("encode_ok writes what the merged DOM dumped", "[json_text][protocol]") {
  const std::vector<json> fields = {
      nullptr, json::object(), json{{"message_id", "123"}, {"seq", 45}},
      json{{"message_id", "18446744073709551615"}, {"seq", std::uint64_t{UINT64_MAX}}},
      // keys before, between and after "ok" and "re"; forged reserved keys are overwritten
      json{{"a", 1},
           {"o", 2},
           {"ok", false},
           {"ok0", 3},
           {"p", 4},
           {"re", "forged"},
           {"re0", 5},
           {"rz", 6},
           {"s", 7},
           {"z", 8}},
      json{{"zzz", "last"}}, json{{"\xc3\xa9t\xc3\xa9", 1}, {"A", 2}, {"", 3}, {"k\"ey", "v\\al"}},
      json{{"room", {{"name", "日本"}, {"members", {1, 2, 3}}}}, {"unread_num", 0}},
      json{{"tasks", json::array()}, {"f", 0.25}, {"neg", -7}, {"flag", true}, {"nil", nullptr}},
      json{{"body", "bad \xff utf-8"}},
      json::array({1, 2}),  // not an object: no fields, like the DOM path
  };
  for (const std::int64_t id : {std::int64_t{0}, std::int64_t{7}, std::int64_t{-3},
                                std::int64_t{INT64_MAX}, std::int64_t{INT64_MIN}}) {
    for (const auto& f : fields) {
      INFO(dom_dump(f) << " re " << id);
      CHECK(protocol::encode_ok(id, f) == dom_encode_ok(id, f));
    }
  }
  std::string large;
  while (large.size() < 100'000) large += "長い \"body\"\n";
  CHECK(protocol::encode_ok(1, json{{"body", large}}) == dom_encode_ok(1, json{{"body", large}}));
}

TEST_CASE("push_frame_text is push_frame's dump byte for byte", "[json_text][read_model]") {
  constexpr account_id alice{1}, bob{2}, carol{3};
  constexpr room_id room{100};
  auto s = room::state{};
  auto step = [&](const room::event& e) {
    auto before = s;
    s = room::apply(std::move(s), e);
    const auto dom = read_model::push_frame(before, e, s);
    const auto text = read_model::push_frame_text(before, e, s);
    REQUIRE(dom.has_value() == text.has_value());
    if (dom) CHECK(*text == dom_dump(*dom));
  };
  step(room::room_created{room, "general", "desc", alice, {bob, carol}, 10});
  std::uint64_t n = 0;
  for (const auto& body : tricky_strings()) {
    const message_id id{++n};
    step(room::message_posted{id,
                              bob,
                              body,
                              "c" + std::to_string(n),
                              20 + std::int64_t(n),
                              {},
                              body.size() < 100 ? body : "bob"});
    step(room::message_edited{id, body + " (edited)", 99, {}, "ボブ"});
  }
  step(room::message_posted{message_id{++n}, carol, "", "", 0, {}, ""});  // empty body and name
  step(room::message_deleted{message_id{1}, 200});
  // An edit event of a deleted message (not decided by the rules, but events are facts): the
  // text stays hidden.
  step(room::message_edited{message_id{1}, "secret", 201, {}, "bob"});
  step(room::member_added{carol, role::readonly, alice});
  step(room::read_marked{bob, message_id{2}});
  step(room::room_updated{"renamed \"room\"", "new\ndesc", "beer", alice});
  step(room::member_removed{carol, alice});
}

TEST_CASE("push_frame_text replaces invalid UTF-8 instead of failing", "[json_text][read_model]") {
  auto s =
      room::apply(room::state{}, room::room_created{room_id{5}, "r", "", account_id{1}, {}, 10});
  const room::event e =
      room::message_posted{message_id{1}, account_id{1}, "bad \xff", "c", 20, {}, "n\xc3"};
  auto after = room::apply(s, e);
  const auto text = read_model::push_frame_text(s, e, after);
  REQUIRE(text.has_value());
  CHECK(*text == dom_dump(*read_model::push_frame(s, e, after)));
}

TEST_CASE("a post's history and room_events rows are the DOM's bytes", "[json_text][read_model]") {
  auto s = room::apply(room::state{},
                       room::room_created{room_id{9}, "r", "", account_id{1}, {account_id{2}}, 10});
  for (const auto& body : tricky_strings()) {
    const message_id id{s.last_message().value + 1};
    const room::event e = room::message_posted{id, account_id{2}, body, "", 30, {}, "名前\t"};
    auto after = room::apply(s, e);
    const auto rows = read_model::project(s, e, after);
    bool history = false, events = false;
    for (const auto& op : rows) {
      if (op.tbl == read_model::table::history) {
        REQUIRE(op.value.has_value());
        history = true;
        CHECK(*op.value == dom_dump(read_model::message_object(id, account_id{2}, body, 30, 0,
                                                               false, "名前\t")));
      }
      if (op.tbl == read_model::table::room_events) {
        events = true;
        CHECK(*op.value == dom_dump(*read_model::push_frame(s, e, after)));
      }
    }
    CHECK(history);
    CHECK(events);
    s = std::move(after);
  }
}
