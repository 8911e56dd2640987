#include <catch2/catch.hpp>
#include <map>

#include "hibiki/core/protocol.hpp"
#include "hibiki/core/read_model.hpp"
#include "room_fixture.hpp"

using namespace hibiki;
using namespace hibiki::test;
using namespace hibiki::read_model;
using nlohmann::json;

namespace {

/// An in-memory stand-in for the column families, fed with project()'s row operations.
struct tables {
  std::map<std::pair<table, std::string>, std::string> rows;

  void apply(const std::vector<row_op>& ops) {
    for (const auto& op : ops) {
      if (op.value) {
        rows[{op.tbl, op.key}] = *op.value;
      } else {
        rows.erase({op.tbl, op.key});
      }
    }
  }
  std::optional<std::string> get(table t, const std::string& key) const {
    auto it = rows.find({t, key});
    if (it == rows.end()) return std::nullopt;
    return it->second;
  }
};

/// Runs a command like the room actor: decide, then apply + project each event.
room::state step(room::state s, const room::command& cmd, tables& db) {
  auto d = room::decide(s, cmd);
  if (!d) FAIL("decide refused: " << d.error().message);
  for (const auto& e : d->events) {
    auto after = room::apply(s, e);
    db.apply(project(s, e, after));
    s = std::move(after);
  }
  return s;
}

const row_op* find_op(const std::vector<row_op>& ops, table t) {
  for (const auto& op : ops) {
    if (op.tbl == t) return &op;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("keys are big-endian so they sort numerically", "[read_model]") {
  CHECK(be64(1) == std::string("\0\0\0\0\0\0\0\x01", 8));
  CHECK(be64(0x0102030405060708ULL) == "\x01\x02\x03\x04\x05\x06\x07\x08");
  CHECK(read_be64(be64(0xDEADBEEFCAFEULL)) == 0xDEADBEEFCAFEULL);
  CHECK(read_be64("abc") == 0);
  CHECK(be64(255) < be64(256));
  CHECK(history_key(room_id{1}, message_id{9}) < history_key(room_id{1}, message_id{10}));
  CHECK(history_key(room_id{1}, message_id{999}) < history_key(room_id{2}, message_id{1}));
  CHECK(room_event_key(room_id{3}, 4) == be64(3) + be64(4));
  CHECK(room_summary_key(room_id{3}) == be64(3));
  CHECK(member_room_key(account_id{5}, room_id{6}).rfind(member_rooms_prefix(account_id{5}), 0) ==
        0);
  CHECK(account_key(account_id{5}) == be64(5));
  CHECK(std::string(table_name(table::member_rooms)) == "member_rooms");
  CHECK(std::string(table_name(table::tokens)) == "tokens");
}

TEST_CASE("read-model table numbers are fixed", "[read_model]") {
  // The Kafka journal stores each row's table as this number, and the RocksDB column families
  // are opened in this order: a table keeps its number once released, and new ones go last.
  const std::pair<table, const char*> tables[] = {{table::history, "history"},
                                                  {table::room_events, "room_events"},
                                                  {table::room_summary, "room_summary"},
                                                  {table::member_rooms, "member_rooms"},
                                                  {table::accounts, "accounts"},
                                                  {table::tokens, "tokens"},
                                                  {table::account_tasks, "account_tasks"},
                                                  {table::contacts, "contacts"},
                                                  {table::contact_requests, "contact_requests"},
                                                  {table::room_files, "room_files"},
                                                  {table::file_chores, "file_chores"}};
  REQUIRE(std::size(tables) == static_cast<std::size_t>(table_count));
  for (std::size_t i = 0; i < std::size(tables); ++i) {
    INFO(tables[i].second);
    CHECK(static_cast<std::size_t>(tables[i].first) == i);
    CHECK(std::string(table_name(tables[i].first)) == tables[i].second);
  }
}

TEST_CASE("rows round-trip and corrupt rows are errors", "[read_model]") {
  const room_summary s{room1, "general", 7, message_id{5}, {message_id{2}, message_id{4}}};
  auto s2 = decode_room_summary(encode(s));
  REQUIRE(s2.ok());
  CHECK(s2->room == room1);
  CHECK(s2->name == "general");
  CHECK(s2->last_seq == 7);
  CHECK(s2->last_message == message_id{5});
  CHECK(s2->deleted == s.deleted);
  const member_row m{room1, role::readonly, message_id{3}, {message_id{4}}};
  auto m2 = decode_member_row(encode(m));
  REQUIRE(m2.ok());
  CHECK(m2->role == role::readonly);
  CHECK(m2->read_up_to == message_id{3});
  CHECK(m2->pending_mentions == m.pending_mentions);
  CHECK_FALSE(decode_room_summary("not json").ok());
  CHECK_FALSE(decode_room_summary("[]").ok());
  CHECK_FALSE(
      decode_member_row(R"({"room_id":1,"role":"king","read_up_to":0,"pending_mentions":[]})")
          .ok());
  CHECK_FALSE(
      decode_member_row(R"({"room_id":1,"role":"admin","read_up_to":-1,"pending_mentions":[]})")
          .ok());
}

TEST_CASE("rows are read from their text field by field, without a document", "[read_model]") {
  // Fields in any order, unknown fields (nested too) skipped, a repeated key's last value kept.
  auto m = decode_member_row(
      R"({"extra":{"room_id":9,"a":[1,{"b":2}]},"pending_mentions":[7,8],"read_up_to":3,)"
      R"("role":"member","room_id":5,"room_id":6,"more":[[1],"x",null,true,-1,1.5]})");
  REQUIRE(m.ok());
  CHECK(m->room == room_id{6});
  CHECK(m->role == role::member);
  CHECK(m->read_up_to == message_id{3});
  CHECK(m->pending_mentions == std::vector<message_id>{message_id{7}, message_id{8}});
  CHECK(m->mytask_num == 0);
  // Rows written before types and task counts: a group room without tasks.
  auto s = decode_room_summary(
      R"({"room_id":2,"name":"a\u00e9\"b","last_seq":4,"last_message":3,"deleted":[]})");
  REQUIRE(s.ok());
  CHECK(s->name == "a\xc3\xa9\"b");
  CHECK(s->type == room::room_type::group);
  CHECK(s->task_num == 0);
  // ... and before the last update time and the icon: 0 ("not known yet") and the default icon.
  CHECK(s->last_update_time == 0);
  CHECK(s->icon_preset == "group");
  const std::string good_member = R"("role":"admin","read_up_to":0,"pending_mentions":[])";
  for (const std::string& bad : std::vector<std::string>{
           R"({"room_id":-1,)" + good_member + "}",   // negative id
           R"({"room_id":1.5,)" + good_member + "}",  // fractional id
           R"({"room_id":"1",)" + good_member + "}",  // string id
           R"({"room_id":1,)" + good_member + ",\"mytask_num\":true}",
           R"({"room_id":1,"role":"admin","read_up_to":0,"pending_mentions":[1,"2"]})",
           R"({"room_id":1,"role":"admin","read_up_to":0,"pending_mentions":[[1]]})",
           R"({"room_id":1,"role":"admin","read_up_to":0,"pending_mentions":{}})",
           R"({"room_id":1,"role":"admin","read_up_to":0})",  // missing field
           R"({"room_id":1,)" + good_member + "} trailing",
           R"({"room_id":1,)" + good_member,  // unterminated
           R"([{"room_id":1,)" + good_member + "}]", "", "null", "7", "\"text\""}) {
    INFO(bad);
    CHECK_FALSE(decode_member_row(bad).ok());
  }
  CHECK_FALSE(
      decode_room_summary(
          R"({"room_id":2,"name":"x","last_seq":4,"last_message":3,"deleted":[],"type":"?"})")
          .ok());
  CHECK_FALSE(
      decode_room_summary(R"({"room_id":2,"name":7,"last_seq":4,"last_message":3,"deleted":[]})")
          .ok());
  CHECK_FALSE(
      decode_room_summary(
          R"({"room_id":2,"name":"x","last_seq":4,"last_message":3,"deleted":[],"task_num":-2})")
          .ok());
  const std::string good_summary =
      R"({"room_id":2,"name":"x","last_seq":4,"last_message":3,"deleted":[])";
  for (const std::string& bad :
       {good_summary + R"(,"updated":-5})", good_summary + R"(,"updated":"7"})",
        good_summary + R"(,"icon":3})", good_summary + R"(,"icon":null})"}) {
    INFO(bad);
    CHECK_FALSE(decode_room_summary(bad).ok());
  }
  // A preset this build does not know (a newer server's row) is kept, not an error.
  auto newer = decode_room_summary(good_summary + R"(,"icon":"rocket"})");
  REQUIRE(newer.ok());
  CHECK(newer->icon_preset == "rocket");
}

TEST_CASE("the room summary keeps the last update time and the icon", "[read_model]") {
  room_summary s{room1, "general", 7, message_id{5}, {}};
  s.last_update_time = 1796000123;
  s.icon_preset = "beer";
  auto back = decode_room_summary(encode(s));
  REQUIRE(back.ok());
  CHECK(back->last_update_time == 1796000123);
  CHECK(back->icon_preset == "beer");
  // The default icon is not written (the row stays short) and reads back as the default.
  s.icon_preset = "group";
  CHECK(encode(s).find("icon") == std::string::npos);
  CHECK(decode_room_summary(encode(s))->icon_preset == "group");
  const auto l = listing(member_row{room1, role::member, message_id{5}, {}}, *back);
  CHECK(to_json(l, true)["last_update_time"] == 1796000123);
  CHECK(to_json(l, true)["icon_preset"] == "beer");
  // The v1 entry stays as it was.
  CHECK_FALSE(to_json(l).contains("last_update_time"));
  CHECK_FALSE(to_json(l).contains("icon_preset"));
}

TEST_CASE("message objects follow the contract", "[read_model]") {
  auto m = message_object(message_id{12}, bob, "hi", 100, 0, false);
  CHECK(m == json{{"message_id", "12"},
                  {"account_id", 2},
                  {"account", {{"account_id", 2}, {"name", ""}}},
                  {"body", "hi"},
                  {"send_time", 100},
                  {"update_time", 0},
                  {"deleted", false}});
  auto d = message_object(message_id{12}, bob, "secret", 100, 0, true);
  CHECK(d["body"] == "");
  CHECK(d["deleted"] == true);
}

TEST_CASE("push frames of every visible event", "[read_model]") {
  auto s0 = room::state{};
  const room::event created = room::room_created{room1, "general", "", alice, {bob}, 10};
  auto s1 = room::apply(s0, created);
  CHECK(*push_frame(s0, created, s1) ==
        json::parse(R"({"ev":"room_created","room_id":100,"seq":1,"name":"general","type":"group",
          "members":[{"account_id":1,"role":"admin"},{"account_id":2,"role":"member"}]})"));

  const room::event posted = room::message_posted{message_id{1}, bob, "hey", "c", 20, {}};
  auto s2 = room::apply(s1, posted);
  CHECK(*push_frame(s1, posted, s2) ==
        json{{"ev", "message_created"},
             {"room_id", 100},
             {"seq", 2},
             {"message", message_object(message_id{1}, bob, "hey", 20, 0, false)}});

  const room::event edited = room::message_edited{message_id{1}, "new", 30, {}};
  auto s3 = room::apply(s2, edited);
  const auto upd = *push_frame(s2, edited, s3);
  CHECK(upd["ev"] == "message_updated");
  CHECK(upd["seq"] == 3);
  CHECK(upd["message"] == message_object(message_id{1}, bob, "new", 20, 30, false));

  const room::event deleted = room::message_deleted{message_id{1}, 40};
  auto s4 = room::apply(s3, deleted);
  CHECK(*push_frame(s3, deleted, s4) ==
        json{{"ev", "message_deleted"}, {"room_id", 100}, {"seq", 4}, {"message_id", "1"}});

  const room::event added = room::member_added{carol, role::readonly, alice};
  auto s5 = room::apply(s4, added);
  CHECK(*push_frame(s4, added, s5) == json{{"ev", "member_added"},
                                           {"room_id", 100},
                                           {"seq", 5},
                                           {"account_id", 3},
                                           {"role", "readonly"}});

  const room::event removed = room::member_removed{carol, alice};
  auto s6 = room::apply(s5, removed);
  CHECK(*push_frame(s5, removed, s6) ==
        json{{"ev", "member_removed"}, {"room_id", 100}, {"seq", 6}, {"account_id", 3}});

  const room::event read = room::read_marked{bob, message_id{1}};
  CHECK_FALSE(push_frame(s6, read, room::apply(s6, read)));
}

TEST_CASE("project writes history, room events, summary and member rows", "[read_model]") {
  tables db;
  auto s = step(room::state{}, room::create_room{alice, room1, "general", "", {bob}, 10}, db);
  // room_created: one event row, the summary, and a member row for every initial member.
  CHECK(db.get(table::room_events, room_event_key(room1, 1)));
  CHECK(db.get(table::member_rooms, member_room_key(alice, room1)));
  CHECK(db.get(table::member_rooms, member_room_key(bob, room1)));
  CHECK(decode_room_summary(*db.get(table::room_summary, room_summary_key(room1)))->name ==
        "general");

  const auto before = s;
  const room::event posted =
      room::message_posted{message_id{1}, bob, "[To:1] hi", "c", 20, {alice}};
  s = room::apply(before, posted);
  const auto ops = project(before, posted, s);
  const auto* hist = find_op(ops, table::history);
  REQUIRE(hist);
  CHECK(hist->key == history_key(room1, message_id{1}));
  CHECK(json::parse(*hist->value) == message_object(message_id{1}, bob, "[To:1] hi", 20, 0, false));
  const auto* ev = find_op(ops, table::room_events);
  REQUIRE(ev);
  CHECK(ev->key == room_event_key(room1, 2));
  // The stored frame is exactly the push the clients get.
  CHECK(*ev->value == protocol::encode_event("message_created", [&] {
    auto f = *push_frame(before, posted, s);
    f.erase("ev");
    return f;
  }()));
  CHECK(*ev->value == push_frame(before, posted, s)->dump());
  // Both members changed: bob's cursor moved, alice got a mention.
  std::size_t member_ops = 0;
  for (const auto& op : ops) member_ops += op.tbl == table::member_rooms;
  CHECK(member_ops == 2);
  db.apply(ops);

  s = step(s, room::edit_message{bob, message_id{1}, "edited", 30}, db);
  auto h = json::parse(*db.get(table::history, history_key(room1, message_id{1})));
  CHECK(h["body"] == "edited");
  CHECK(h["update_time"] == 30);
  s = step(s, room::delete_message{bob, message_id{1}, 40}, db);
  h = json::parse(*db.get(table::history, history_key(room1, message_id{1})));
  CHECK(h["body"] == "");
  CHECK(h["deleted"] == true);

  // read_marked: only the reader's member row; no event row, no summary.
  s = step(s, room::send_message{bob, "two", "c2", 50}, db);
  const auto before_read = s;
  const room::event read = room::read_marked{alice, message_id{2}};
  s = room::apply(before_read, read);
  const auto read_ops = project(before_read, read, s);
  REQUIRE(read_ops.size() == 1);
  CHECK(read_ops[0].tbl == table::member_rooms);
  CHECK(read_ops[0].key == member_room_key(alice, room1));
  db.apply(read_ops);

  // A removed member's row is deleted.
  s = step(s, room::remove_member{alice, bob}, db);
  CHECK_FALSE(db.get(table::member_rooms, member_room_key(bob, room1)));
  CHECK(db.get(table::member_rooms, member_room_key(alice, room1)));
  // One room_events row per visible event, keyed by seq.
  for (seq_nr q = 1; q <= s.seq; ++q) CHECK(db.get(table::room_events, room_event_key(room1, q)));
  CHECK_FALSE(db.get(table::room_events, room_event_key(room1, s.seq + 1)));
}

TEST_CASE("listing from the rows equals the room's own counts", "[read_model]") {
  tables db;
  room::state s;
  const std::vector<room::command> script = {
      room::create_room{alice, room1, "general", "", {bob, carol}, 1},
      room::send_message{bob, "[To:1] [To:3] one", "b1", 2},
      room::send_message{bob, "two", "b2", 3},
      room::send_message{carol, "[To:1] three", "c1", 4},
      room::mark_read{alice, message_id{1}},
      room::add_members{alice, {dave}},
      room::send_message{bob, "[To:4][To:1] four", "b3", 5},
      room::edit_message{bob, message_id{2}, "[To:3][To:4] two edited", 6},
      room::delete_message{carol, message_id{3}, 7},
      room::mark_read{carol, message_id{2}},
      room::send_message{alice, "five", "a1", 8},
      room::add_members{alice, {carol}, role::readonly},
      room::edit_message{bob, message_id{4}, "no mentions", 9},
      room::send_message{bob, "[To:3] six", "b4", 10},
      room::delete_message{bob, message_id{1}, 11},
      room::remove_member{alice, dave},
      room::mark_read{bob, message_id{6}},
      room::update_room{alice, std::nullopt, std::nullopt, std::string("star"), 12},
  };
  std::size_t checked = 0;
  for (const auto& cmd : script) {
    s = step(std::move(s), cmd, db);
    auto summary = decode_room_summary(*db.get(table::room_summary, room_summary_key(room1)));
    REQUIRE(summary.ok());
    CHECK(summary->last_seq == s.seq);
    CHECK(summary->last_update_time == room::last_update_time(s));
    CHECK(summary->icon_preset == s.icon_preset);
    for (const auto a : {alice, bob, carol, dave}) {
      auto row = db.get(table::member_rooms, member_room_key(a, room1));
      REQUIRE(row.has_value() == (s.member(a) != nullptr));
      if (!row) continue;
      auto m = decode_member_row(*row);
      REQUIRE(m.ok());
      const auto l = listing(*m, *summary);
      CHECK(l.unread_num == room::unread_num(s, a));
      CHECK(l.mention_num == room::mention_num(s, a));
      CHECK(l.message_num == room::message_num(s));
      CHECK(l.role == s.member(a)->role);
      ++checked;
    }
  }
  CHECK(checked > 40);
  // The script reached interesting numbers, so the equalities above were not all zeros.
  // Worked by hand: alice read up to 5 (her own post), 6 is new, 1 and 3 are deleted.
  CHECK(room::unread_num(s, alice) == 1);
  // carol read up to 2; 3 is deleted, 4..6 are unread; only 6 still mentions her.
  CHECK(room::unread_num(s, carol) == 3);
  CHECK(room::mention_num(s, carol) == 1);
  const auto l = to_json(
      listing(*decode_member_row(*db.get(table::member_rooms, member_room_key(carol, room1))),
              *decode_room_summary(*db.get(table::room_summary, room_summary_key(room1)))));
  CHECK(l["room_id"] == 100);
  CHECK(l["name"] == "general");
  CHECK(l["role"] == "readonly");
  CHECK(l["last_seq"] == s.seq);
  for (const char* k : {"unread_num", "mention_num", "message_num"}) CHECK(l.contains(k));
  // The newest message (6, sent at 10) is the room's last update; the icon is the one set.
  const auto details = to_json(
      listing(*decode_member_row(*db.get(table::member_rooms, member_room_key(carol, room1))),
              *decode_room_summary(*db.get(table::room_summary, room_summary_key(room1)))),
      true);
  CHECK(details["last_update_time"] == 10);
  CHECK(details["icon_preset"] == "star");
}

TEST_CASE("user projection writes accounts and tokens", "[read_model]") {
  const user::state none;
  const user::event reg = user::account_registered{account_id{7}, "alice", std::string(64, 'e'), 1};
  const auto s = user::apply(none, reg);
  const auto ops = project(none, reg, s);
  REQUIRE(ops.size() == 2);
  CHECK(ops[0].tbl == table::accounts);
  CHECK(ops[0].key == account_key(account_id{7}));
  CHECK(json::parse(*ops[0].value) == json{{"account_id", 7},
                                           {"name", "alice"},
                                           {"chatwork_id", ""},
                                           {"organization_name", ""},
                                           {"department", ""},
                                           {"title", ""},
                                           {"introduction", ""}});
  CHECK(ops[1].tbl == table::tokens);
  CHECK(ops[1].key == std::string(64, 'e'));
  CHECK(ops[1].value == "7");

  const user::event ren = user::account_renamed{"bob"};
  const auto r = project(s, ren, user::apply(s, ren));
  REQUIRE(r.size() == 1);
  CHECK(json::parse(*r[0].value)["name"] == "bob");
}

TEST_CASE("user projection follows disabling and the live token", "[read_model][admin]") {
  const std::string first(64, 'e'), second(64, 'f');
  const auto s = user::apply({}, user::account_registered{account_id{7}, "alice", first, 1});

  const user::event dis = user::account_disabled{};
  const auto disabled = user::apply(s, dis);
  auto ops = project(s, dis, disabled);
  REQUIRE(ops.size() == 1);  // the token row stays: enabling gives the same token back
  CHECK(json::parse(*ops[0].value)["disabled"] == true);
  CHECK(json::parse(*ops[0].value)["name"] == "alice");
  const user::event en = user::account_enabled{};
  ops = project(disabled, en, user::apply(disabled, en));
  REQUIRE(ops.size() == 1);
  CHECK_FALSE(json::parse(*ops[0].value).contains("disabled"));

  const user::event rev = user::tokens_revoked{};
  const auto revoked = user::apply(s, rev);
  ops = project(s, rev, revoked);
  REQUIRE(ops.size() == 2);
  CHECK(ops[1].tbl == table::tokens);
  CHECK(ops[1].key == first);
  CHECK_FALSE(ops[1].value.has_value());  // deleted

  const user::event iss = user::token_issued{second};
  ops = project(revoked, iss, user::apply(revoked, iss));
  REQUIRE(ops.size() == 2);
  CHECK(ops[1].key == second);
  CHECK(ops[1].value == "7");

  // Replacing a live token deletes the old row and puts the new one.
  ops = project(s, iss, user::apply(s, iss));
  REQUIRE(ops.size() == 3);
  CHECK(ops[1].key == first);
  CHECK_FALSE(ops[1].value.has_value());
  CHECK(ops[2].key == second);
}
