/// The direct decoders (CBOR read straight into the structs) against the document decoders they
/// replace on the hot path: for every input, valid, old or broken, the public decoder must give
/// exactly what the document decoder gives (the same value, or the same error).

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "codec_dom.hpp"
#include "hibiki/core/codec.hpp"
#include "room_fixture.hpp"

using namespace hibiki;
using namespace hibiki::test;
using nlohmann::json;

namespace {

/// What a decode gave, comparable: the event's encoding (every field) or the error message.
template <class Event>
std::string outcome(const result<Event>& r) {
  if (!r.ok()) return "error: " + r.error().message;
  const auto bytes = codec::encode(*r);
  return "ok: " + std::string(bytes.begin(), bytes.end());
}

/// The public decoder gives what the document decoder gives, for any bytes.
void same_room_event(const codec::bytes& b) {
  const auto direct = codec::decode_room_event(b);
  const auto reference = codec::dom::decode_room_event(b);
  REQUIRE(outcome(direct) == outcome(reference));
}

void same_user_event(const codec::bytes& b) {
  REQUIRE(outcome(codec::decode_user_event(b)) == outcome(codec::dom::decode_user_event(b)));
}

/// The type peek (search indexing reads it for every event) agrees too.
void same_event_type(const codec::bytes& b) {
  const auto direct = codec::event_type(b);
  const auto reference = codec::dom::event_type(b);
  REQUIRE(direct.ok() == reference.ok());
  REQUIRE((direct.ok() ? *direct : direct.error().message) ==
          (reference.ok() ? *reference : reference.error().message));
}

void same_room_snapshot(const codec::bytes& b) {
  const auto direct = codec::decode_room_snapshot(b);
  const auto reference = codec::dom::decode_room_snapshot(b);
  REQUIRE(direct.ok() == reference.ok());
  if (direct.ok()) {
    REQUIRE(*direct == *reference);
    REQUIRE(direct->dedupe_order == reference->dedupe_order);
  } else {
    REQUIRE(direct.error().message == reference.error().message);
  }
}

void same_user_snapshot(const codec::bytes& b) {
  const auto direct = codec::decode_user_snapshot(b);
  const auto reference = codec::dom::decode_user_snapshot(b);
  REQUIRE(direct.ok() == reference.ok());
  if (direct.ok()) {
    REQUIRE(*direct == *reference);
  } else {
    REQUIRE(direct.error().message == reference.error().message);
  }
}

/// One of each room event kind, with every field set.
std::vector<room::event> every_room_event() {
  room::task_added task{task_id{7}, bob, alice, "do it", 1700000500, room::limit_type::time, 99};
  task.message = message_id{12};
  task.assignee_name = "Bob";
  task.by_name = "Alice";
  room::upload_requested upload;
  upload.id = file_id{3};
  upload.account = carol;
  upload.filename = "a.png";
  upload.size = 12345;
  upload.content_type = "image/png";
  upload.object_key = "rooms/100/3";
  upload.time = 5;
  upload.expires_at = 605;
  room::webhook_created hook;
  hook.id = webhook_id{2};
  hook.url = "https://example.test/hook";
  hook.events = {room::webhook_event::message_created, room::webhook_event::task_created};
  hook.token = "secret";
  hook.by = alice;
  hook.time = 77;
  room::room_created created{room1, "general \xE3\x81\x82", "about", alice, {bob, carol}, 1};
  created.type = room::room_type::direct;
  const std::vector<room::event> events = {
      created,
      room::member_added{dave, role::readonly, alice},
      room::member_removed{bob, alice},
      room::message_posted{message_id{42}, bob, "hi [To:1]", "cid-1", 2, {alice}, "Bob"},
      room::message_edited{message_id{42}, "edited", 3, {carol, alice}, "Bob"},
      room::message_deleted{message_id{42}, 4},
      room::read_marked{carol, message_id{41}},
      room::room_updated{"new", "desc", "meeting", alice, 5},
      room::room_deleted{alice, 6},
      task,
      room::task_status_changed{task_id{7}, room::task_status::done, bob, 8},
      room::unread_marked{carol, message_id{40}},
      upload,
      room::file_uploaded{file_id{3}, message_id{43}, 9},
      room::upload_expired{file_id{4}, 10},
      room::file_removed{file_id{3}},
      hook,
      room::webhook_deleted{webhook_id{2}, alice, 11},
  };
  REQUIRE(events.size() == std::variant_size_v<room::event>);
  return events;
}

std::vector<user::event> every_user_event() {
  const std::vector<user::event> events = {
      user::account_registered{account_id{3}, "carol", std::string(64, 'c'), 123},
      user::account_renamed{"caroline"},
      user::account_disabled{},
      user::account_enabled{},
      user::tokens_revoked{},
      user::token_issued{std::string(64, 'd')},
      user::fetch_cursor_moved{room1, message_id{9}},
      user::profile_updated{user::profile{"cw", "org", "dept", "title", "intro"}},
      user::my_room_assigned{room_id{55}},
      user::contact_requested{alice, bob, "hello", 77},
      user::contact_request_rejected{alice, bob},
      user::contact_accepted{alice, bob, room_id{56}},
  };
  REQUIRE(events.size() == std::variant_size_v<user::event>);
  return events;
}

/// A room with a little of everything a snapshot holds.
room::state busy_room() {
  auto s = made_room();
  s = post(s, bob, "[To:3] hi", "b1");
  s = post(s, alice, "[To:2]", "a1");
  s = post(s, bob, "three", "b2");
  s = run(s, room::edit_message{bob, message_id{1}, "[To:3] edited", 60});
  s = run(s, room::delete_message{alice, message_id{2}, 61});
  s = run(s, room::add_members{alice, {dave}, role::readonly});
  s = run(s, room::mark_read{dave, message_id{3}});
  room::task t{carol, alice, "task", 100, room::limit_type::date, room::task_status::open, 50, 0};
  t.message = message_id{3};
  t.assignee_name = "Carol";
  s.tasks[task_id{1}] = t;
  t.status = room::task_status::done;
  s.tasks[task_id{2}] = t;
  s.last_task = task_id{2};
  s.files[file_id{1}] = room::shared_file{bob,           "f.txt", 10, "text/plain",
                                          "k/1",         1,       2,  room::file_status::uploaded,
                                          message_id{3}, 3,       4,  0};
  s.last_file = file_id{1};
  s.webhooks[webhook_id{1}] = room::webhook_setting{
      "https://example.test/h", {room::webhook_event::mention_to_me}, "tok", alice, 9};
  s.last_webhook = webhook_id{1};
  room::count_open_tasks(s);
  return s;
}

// ---- random values ------------------------------------------------------------------------------

struct random_values {
  std::mt19937_64 gen;

  explicit random_values(std::uint64_t seed) : gen(seed) {}

  std::uint64_t below(std::uint64_t n) {
    return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(gen);
  }
  /// Unsigned values of every CBOR width, up to the largest.
  std::uint64_t u64() {
    switch (below(5)) {
      case 0:
        return below(24);
      case 1:
        return below(256);
      case 2:
        return below(65536);
      case 3:
        return below(std::uint64_t{1} << 32);
      default:
        return gen();
    }
  }
  std::int64_t i64() {
    const auto v = static_cast<std::int64_t>(u64() >> below(2));
    return below(3) == 0 ? -v - 1 : v;
  }
  /// Text of every header width, ASCII, multi-byte UTF-8 and some invalid UTF-8 (the codec carries
  /// bytes; validation happens where text enters the server).
  std::string text() {
    static const std::string pieces[] = {"a",
                                         "Z",
                                         " ",
                                         "\xE3\x81\x82",
                                         "\xF0\x9F\x98\x80",
                                         "\xFF",
                                         "\xC0",
                                         std::string(1, '\0'),
                                         "[To:1]",
                                         "0123456789"};
    const auto len = below(4) == 0 ? below(300) : below(12);
    std::string out;
    for (std::uint64_t i = 0; i < len; ++i) out += pieces[below(10)];
    return out;
  }
  template <class Id>
  std::vector<Id> ids() {
    std::vector<Id> out(below(5));
    for (auto& id : out) id = Id{u64()};
    return out;
  }
};

/// A valid encoded event of the kind `kind`, every field random (enum fields stay valid names).
json random_room_event_json(random_values& r, std::size_t kind) {
  auto doc = json::from_cbor(codec::encode(every_room_event()[kind]));
  for (auto& [key, value] : doc.items()) {
    if (key == "t" || key == "v" || key == "role" || key == "limit_type" || key == "status" ||
        key == "type" || key == "events") {
      continue;
    }
    if (value.is_string()) {
      value = r.text();
    } else if (value.is_array()) {
      value = json::array();
      for (std::uint64_t i = r.below(5); i > 0; --i) value.push_back(r.u64());
    } else if (key == "time" || key == "limit" || key == "expires_at") {
      value = r.i64();
    } else if (value.is_number()) {
      value = r.u64();
    }
  }
  return doc;
}

room::state random_room(random_values& r) {
  room::state s;
  s.id = room_id{r.u64()};
  s.created = r.below(2) == 1;
  s.type = static_cast<room::room_type>(r.below(3));
  s.removed = r.below(2) == 1;
  s.name = r.text();
  s.description = r.text();
  s.icon_preset = r.text();
  s.created_at = r.i64();
  s.seq = r.u64();
  for (auto n = r.below(6); n > 0; --n) {
    s.members[account_id{r.u64()}] =
        room::member_state{static_cast<role>(r.below(3)), message_id{r.u64()}, r.ids<message_id>()};
  }
  for (auto n = r.below(200); n > 0; --n)
    s.messages.push_back(
        room::message_meta{account_id{r.u64()}, r.i64(), r.i64(), r.below(2) == 1});
  s.deleted = r.ids<message_id>();
  for (auto n = r.below(20); n > 0; --n) {
    auto key = r.text();
    if (s.dedupe.emplace(key, room::sent_receipt{message_id{r.u64()}, r.u64()}).second)
      s.dedupe_order.push_back(key);
  }
  for (auto n = r.below(4); n > 0; --n) {
    room::task t{account_id{r.u64()},
                 account_id{r.u64()},
                 r.text(),
                 r.i64(),
                 static_cast<room::limit_type>(r.below(3)),
                 static_cast<room::task_status>(r.below(2)),
                 r.i64(),
                 r.i64()};
    t.message = message_id{r.u64()};
    t.assignee_name = r.text();
    t.by_name = r.text();
    s.tasks[task_id{r.u64()}] = t;
  }
  s.last_task = task_id{r.u64()};
  for (auto n = r.below(4); n > 0; --n) s.mentions[message_id{r.u64()}] = r.ids<account_id>();
  for (auto n = r.below(3); n > 0; --n) {
    s.files[file_id{r.u64()}] = room::shared_file{account_id{r.u64()},
                                                  r.text(),
                                                  r.u64(),
                                                  r.text(),
                                                  r.text(),
                                                  r.i64(),
                                                  r.i64(),
                                                  static_cast<room::file_status>(r.below(4)),
                                                  message_id{r.u64()},
                                                  r.i64(),
                                                  r.u64(),
                                                  r.i64()};
  }
  s.last_file = file_id{r.u64()};
  for (auto n = r.below(3); n > 0; --n) {
    room::webhook_setting w{r.text(), {}, r.text(), account_id{r.u64()}, r.i64()};
    for (auto e = r.below(4); e > 0; --e)
      w.events.push_back(static_cast<room::webhook_event>(r.below(3)));
    s.webhooks[webhook_id{r.u64()}] = w;
  }
  s.last_webhook = webhook_id{r.u64()};
  room::count_open_tasks(s);
  return s;
}

user::state random_user(random_values& r) {
  user::state s;
  s.id = account_id{r.u64()};
  s.registered = r.below(2) == 1;
  s.name = r.text();
  s.token_hash = r.text();
  s.created_at = r.i64();
  s.disabled = r.below(2) == 1;
  for (auto n = r.below(4); n > 0; --n) s.fetch_cursors[room_id{r.u64()}] = message_id{r.u64()};
  s.profile = user::profile{r.text(), r.text(), r.text(), r.text(), r.text()};
  s.my_room = room_id{r.u64()};
  for (auto n = r.below(4); n > 0; --n) {
    s.pairs[account_id{r.u64()}] =
        user::pair_state{r.below(2) == 1, account_id{r.u64()}, r.text(), r.i64(), room_id{r.u64()}};
  }
  return s;
}

/// Breaks `b` a little: flips, overwrites, cuts, inserts or drops bytes.
codec::bytes mutate(random_values& r, codec::bytes b) {
  for (auto n = 1 + r.below(3); n > 0; --n) {
    if (b.empty()) {
      b.push_back(static_cast<std::uint8_t>(r.below(256)));
      continue;
    }
    const auto at = r.below(b.size());
    switch (r.below(5)) {
      case 0:
        b[at] ^= static_cast<std::uint8_t>(1U << r.below(8));
        break;
      case 1:
        b[at] = static_cast<std::uint8_t>(r.below(256));
        break;
      case 2:
        b.resize(at);
        break;
      case 3:
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(at),
                 static_cast<std::uint8_t>(r.below(256)));
        break;
      default:
        b.erase(b.begin() + static_cast<std::ptrdiff_t>(at));
        break;
    }
  }
  return b;
}

/// Raw CBOR pieces for hand-made inputs.
void put_text(codec::bytes& b, const std::string& s) {
  REQUIRE(s.size() < 24);
  b.push_back(static_cast<std::uint8_t>(0x60 + s.size()));
  b.insert(b.end(), s.begin(), s.end());
}

}  // namespace

TEST_CASE("the direct decoder reads every event kind as the document decoder does",
          "[codec][direct]") {
  for (const auto& e : every_room_event()) {
    const auto bytes = codec::encode(e);
    INFO(json::from_cbor(bytes).dump());
    // The direct path takes what encode writes (otherwise recovery silently pays for the DOM).
    const auto direct = codec::direct::decode_room_event(bytes);
    REQUIRE(direct.has_value());
    REQUIRE(codec::encode(*direct) == bytes);
    same_room_event(bytes);
  }
  for (const auto& e : every_user_event()) {
    const auto bytes = codec::encode(e);
    INFO(json::from_cbor(bytes).dump());
    const auto direct = codec::direct::decode_user_event(bytes);
    REQUIRE(direct.has_value());
    REQUIRE(codec::encode(*direct) == bytes);
    same_user_event(bytes);
  }
}

TEST_CASE("the direct decoder reads snapshots as the document decoder does",
          "[codec][direct][snapshot]") {
  for (const auto& s : {room::state{}, made_room(), busy_room()}) {
    const auto bytes = codec::encode_snapshot(s);
    const auto direct = codec::direct::decode_room_snapshot(bytes);
    REQUIRE(direct.has_value());
    REQUIRE(*direct == s);
    REQUIRE(direct->open_tasks == s.open_tasks);
    same_room_snapshot(bytes);
  }
  user::state u{account_id{3}, true, "carol", std::string(64, 'c'), 123, false, {}};
  u.fetch_cursors[room1] = message_id{4};
  u.profile = user::profile{"cw", "org", "dept", "title", "intro"};
  u.my_room = room_id{9};
  u.pairs[dave] = user::pair_state{true, carol, "hi", 5, room_id{10}};
  for (const auto& s : {user::state{}, u}) {
    const auto bytes = codec::encode_snapshot(s);
    const auto direct = codec::direct::decode_user_snapshot(bytes);
    REQUIRE(direct.has_value());
    REQUIRE(*direct == s);
    same_user_snapshot(bytes);
  }
}

TEST_CASE("older versions go through the upcasters and read the same", "[codec][direct]") {
  // Events written before a field existed: the direct decoder leaves them to the document
  // decoder, which upcasts them.
  auto posted = json::from_cbor(codec::encode(every_room_event()[3]));
  posted.erase("author_name");
  posted["v"] = 1;
  auto edited = json::from_cbor(codec::encode(every_room_event()[4]));
  edited.erase("author_name");
  edited["v"] = 1;
  auto task = json::from_cbor(codec::encode(every_room_event()[9]));
  for (const char* f : {"message", "assignee_name", "by_name"}) task.erase(f);
  task["v"] = 1;
  auto created = json::from_cbor(codec::encode(every_room_event()[0]));
  created.erase("type");
  created["v"] = 1;
  for (const auto& doc : {posted, edited, task, created}) {
    INFO(doc.dump());
    const auto bytes = json::to_cbor(doc);
    CHECK_FALSE(codec::direct::decode_room_event(bytes).has_value());
    REQUIRE(codec::decode_room_event(bytes).ok());
    same_room_event(bytes);
  }

  // Room snapshots of versions 1 to 3, and tasks of the 9-element shape in the current one.
  const auto current = json::from_cbor(codec::encode_snapshot(busy_room()));
  auto v3 = current;
  v3.erase("webhooks");
  v3.erase("last_webhook");
  v3["v"] = 3;
  auto v2 = v3;
  v2.erase("files");
  v2.erase("last_file");
  v2["v"] = 2;
  auto v1 = v2;
  for (const char* f : {"type", "icon_preset", "removed", "tasks", "last_task", "mentions"})
    v1.erase(f);
  v1["v"] = 1;
  for (const auto& doc : {v1, v2, v3}) {
    INFO(doc["v"]);
    const auto bytes = json::to_cbor(doc);
    CHECK_FALSE(codec::direct::decode_room_snapshot(bytes).has_value());
    REQUIRE(codec::decode_room_snapshot(bytes).ok());
    same_room_snapshot(bytes);
  }
  // User snapshots of versions 1 and 2.
  const auto user_doc = json::from_cbor(codec::encode_snapshot(
      user::state{account_id{3}, true, "carol", std::string(64, 'c'), 123, true, {}}));
  auto u2 = user_doc;
  for (const char* f : {"profile", "my_room", "pairs"}) u2.erase(f);
  u2["v"] = 2;
  auto u1 = u2;
  u1.erase("disabled");
  u1.erase("fetch_cursors");
  u1["v"] = 1;
  for (const auto& doc : {u1, u2}) {
    INFO(doc.dump());
    const auto bytes = json::to_cbor(doc);
    CHECK_FALSE(codec::direct::decode_user_snapshot(bytes).has_value());
    REQUIRE(codec::decode_user_snapshot(bytes).ok());
    same_user_snapshot(bytes);
  }

  auto short_tasks = current;
  for (auto& t : short_tasks["tasks"]) t.erase(t.begin() + 9, t.end());
  const auto bytes = json::to_cbor(short_tasks);
  REQUIRE(codec::direct::decode_room_snapshot(bytes).has_value());
  REQUIRE(codec::decode_room_snapshot(bytes)->tasks.at(task_id{1}).message == message_id{});
  same_room_snapshot(bytes);
}

TEST_CASE("random events and snapshots read the same through both decoders",
          "[codec][direct][random]") {
  const std::uint64_t seed = std::random_device{}();
  INFO("seed " << seed);
  random_values r(seed);
  for (int i = 0; i < 3000; ++i) {
    const auto kind = static_cast<std::size_t>(r.below(std::variant_size_v<room::event>));
    const auto bytes = json::to_cbor(random_room_event_json(r, kind));
    REQUIRE(codec::direct::decode_room_event(bytes).has_value());
    same_room_event(bytes);
    same_event_type(bytes);
  }
  for (int i = 0; i < 200; ++i) {
    const auto s = random_room(r);
    const auto bytes = codec::encode_snapshot(s);
    const auto direct = codec::direct::decode_room_snapshot(bytes);
    REQUIRE(direct.has_value());
    REQUIRE(*direct == s);
    same_room_snapshot(bytes);
  }
  for (int i = 0; i < 500; ++i) {
    const auto s = random_user(r);
    const auto bytes = codec::encode_snapshot(s);
    const auto direct = codec::direct::decode_user_snapshot(bytes);
    REQUIRE(direct.has_value());
    REQUIRE(*direct == s);
    same_user_snapshot(bytes);
  }
}

TEST_CASE("broken bytes give the document decoder's error, never a crash",
          "[codec][direct][random]") {
  const std::uint64_t seed = std::random_device{}();
  INFO("seed " << seed);
  random_values r(seed);
  std::vector<codec::bytes> seeds;
  for (const auto& e : every_room_event()) seeds.push_back(codec::encode(e));
  for (const auto& e : every_user_event()) seeds.push_back(codec::encode(e));
  for (int i = 0; i < 20000; ++i) {
    const auto b = mutate(r, seeds[r.below(seeds.size())]);
    same_room_event(b);
    same_user_event(b);
    same_event_type(b);
  }
  const auto snapshot = codec::encode_snapshot(busy_room());
  for (int i = 0; i < 5000; ++i) same_room_snapshot(mutate(r, snapshot));
  const auto user_snapshot = codec::encode_snapshot(random_user(r));
  for (int i = 0; i < 5000; ++i) same_user_snapshot(mutate(r, user_snapshot));
  // Every prefix of a snapshot (a torn write) is refused the same way.
  for (std::size_t n = 0; n < snapshot.size(); ++n)
    same_room_snapshot(
        codec::bytes(snapshot.begin(), snapshot.begin() + static_cast<std::ptrdiff_t>(n)));
}

TEST_CASE("hand-made CBOR edge cases read the same through both decoders", "[codec][direct]") {
  const auto marked = codec::encode(room::event{room::read_marked{carol, message_id{41}}});
  REQUIRE(marked[0] == 0xA4);  // a map of four pairs: account, t, up_to, v

  SECTION("a key given twice counts once, the last") {
    auto b = marked;
    b[0] = 0xA5;
    put_text(b, "up_to");
    b.push_back(0x07);
    REQUIRE(codec::direct::decode_room_event(b).has_value());
    same_room_event(b);
    REQUIRE(std::get<room::read_marked>(*codec::decode_room_event(b)).up_to == message_id{7});
  }
  SECTION("unknown fields of any shape are ignored") {
    auto doc = json::from_cbor(marked);
    doc["zz_extra"] = json{{"a", json::array({1, -2, 3.5, nullptr, true, "x"})}};
    doc["aa_extra"] = json::binary({1, 2, 3});
    const auto b = json::to_cbor(doc);
    REQUIRE(codec::direct::decode_room_event(b).has_value());
    same_room_event(b);
  }
  SECTION("integers written wider than needed") {
    // "up_to": 41 as a 64-bit integer (0x1B + 8 bytes) instead of one byte.
    auto doc = json::from_cbor(marked);
    doc.erase("up_to");
    auto b = json::to_cbor(doc);
    b[0] = 0xA4;
    put_text(b, "up_to");
    for (std::uint8_t x : {0x1B, 0, 0, 0, 0, 0, 0, 0, 41}) b.push_back(x);
    same_room_event(b);
    REQUIRE(std::get<room::read_marked>(*codec::decode_room_event(b)).up_to == message_id{41});
  }
  SECTION("wrong types, floats, negative ids, oversize and indefinite lengths") {
    for (const json& bad : {json("41"), json(41.0), json(-41), json::array({41}), json(nullptr),
                            json(true), json::binary({41})}) {
      auto doc = json::from_cbor(marked);
      doc["up_to"] = bad;
      const auto b = json::to_cbor(doc);
      INFO(doc.dump());
      CHECK_FALSE(codec::decode_room_event(b).ok());
      same_room_event(b);
    }
    // An array claiming 2^32 elements in a few bytes; a string claiming 2^63 bytes.
    for (const codec::bytes& tail : {codec::bytes{0x9A, 0xFF, 0xFF, 0xFF, 0xFF, 0x01},
                                     codec::bytes{0x7B, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x61}}) {
      auto b = marked;
      b[0] = 0xA5;
      put_text(b, "extra");
      b.insert(b.end(), tail.begin(), tail.end());
      CHECK_FALSE(codec::decode_room_event(b).ok());
      same_room_event(b);
    }
    // Indefinite-length map and text (nlohmann reads them; the direct decoder leaves them).
    codec::bytes indefinite{0xBF};
    put_text(indefinite, "t");
    indefinite.insert(indefinite.end(), {0x7F, 0x65, 'r', 'o', 'o', 'm', '.'});
    put_text(indefinite, "read_marked");
    indefinite.push_back(0xFF);
    put_text(indefinite, "v");
    indefinite.push_back(0x01);
    put_text(indefinite, "account");
    indefinite.push_back(0x03);
    put_text(indefinite, "up_to");
    indefinite.push_back(0x05);
    indefinite.push_back(0xFF);
    CHECK_FALSE(codec::direct::decode_room_event(indefinite).has_value());
    REQUIRE(codec::decode_room_event(indefinite).ok());
    same_room_event(indefinite);
  }
  SECTION("trailing bytes, tags and a version newer than this build") {
    auto trailing = marked;
    trailing.push_back(0x00);
    CHECK_FALSE(codec::decode_room_event(trailing).ok());
    same_room_event(trailing);
    auto tagged = codec::bytes{0xC1};
    tagged.insert(tagged.end(), marked.begin(), marked.end());
    same_room_event(tagged);
    auto doc = json::from_cbor(marked);
    doc["v"] = 99;
    const auto newer = json::to_cbor(doc);
    CHECK_FALSE(codec::decode_room_event(newer).ok());
    same_room_event(newer);
  }
  SECTION("invalid UTF-8 in a text is carried as bytes, as before") {
    const auto b = codec::encode(
        room::event{room::message_posted{message_id{1}, bob, "\xFF\xC0", "c", 1, {}}});
    REQUIRE(codec::direct::decode_room_event(b).has_value());
    same_room_event(b);
  }
  SECTION("nesting past the bound in an unknown field is refused by both") {
    for (const std::size_t depth : {30, 31, 32, 40, 5000}) {
      auto b = marked;
      b[0] = 0xA5;
      put_text(b, "extra");
      b.insert(b.end(), depth, 0x81);
      b.push_back(0x00);
      INFO(depth);
      same_room_event(b);
      CHECK(codec::decode_room_event(b).ok() == (depth <= 31));
    }
  }
  SECTION("a snapshot list of the wrong shape or with an unknown name") {
    const auto doc = json::from_cbor(codec::encode_snapshot(busy_room()));
    auto bad_hook = doc;
    bad_hook["webhooks"][0][2] = json::array({"no_such_event"});
    auto bad_file = doc;
    bad_file["files"][0][8] = "lost";
    auto float_time = doc;
    float_time["messages"][0][1] = 1.5;
    auto dup_dedupe = doc;
    dup_dedupe["dedupe"].push_back(dup_dedupe["dedupe"][0]);
    auto no_members = doc;
    no_members.erase("members");
    auto user_type = doc;
    user_type["t"] = "user.snapshot";
    for (const auto& d : {bad_hook, bad_file, float_time, dup_dedupe, no_members, user_type}) {
      const auto b = json::to_cbor(d);
      CHECK_FALSE(codec::decode_room_snapshot(b).ok());
      same_room_snapshot(b);
    }
  }
}
