#include <catch2/catch.hpp>

#include "hibiki/core/protocol.hpp"

using namespace hibiki;
using namespace hibiki::protocol;
using nlohmann::json;

namespace {

request parse_ok(std::string_view text) {
  auto r = parse_request(text);
  if (const auto* f = std::get_if<parse_failure>(&r)) FAIL(text << " -> " << f->error.message);
  return std::get<request>(r);
}

parse_failure parse_bad(std::string_view text) {
  auto r = parse_request(text);
  if (std::holds_alternative<request>(r)) FAIL(text << " was accepted");
  auto f = std::get<parse_failure>(r);
  CHECK(f.error.code == errc::bad_request);
  return f;
}

/// A request with `op` and the given extra fields, with id 7.
std::string req(std::string_view op, json fields = json::object()) {
  fields["id"] = 7;
  fields["op"] = std::string(op);
  return fields.dump();
}

}  // namespace

TEST_CASE("frames that are not requests", "[protocol]") {
  CHECK_FALSE(parse_bad("").id);
  CHECK_FALSE(parse_bad("{").id);
  CHECK_FALSE(parse_bad("[1,2]").id);
  CHECK_FALSE(parse_bad("42").id);
  CHECK_FALSE(parse_bad("\"str\"").id);
  CHECK_FALSE(parse_bad(R"({"op":"ping"})").id);
  CHECK_FALSE(parse_bad(R"({"id":"1","op":"ping"})").id);
  CHECK_FALSE(parse_bad(R"({"id":1.5,"op":"ping"})").id);
  CHECK_FALSE(parse_bad(R"({"id":true,"op":"ping"})").id);
  CHECK_FALSE(parse_bad(R"({"id":null,"op":"ping"})").id);
  CHECK_FALSE(parse_bad(R"({"id":18446744073709551615,"op":"ping"})").id);
  CHECK_FALSE(parse_bad("{\"id\":1,\"op\":\"auth\",\"token\":\"\xFF\"}").id);  // invalid UTF-8
  const std::string deep(100000, '[');
  CHECK_FALSE(parse_bad(deep).id);

  auto f = parse_bad(R"({"id":3})");
  CHECK(f.id == 3);
  CHECK(f.error.message.find("op") != std::string::npos);
  CHECK(parse_bad(R"({"id":3,"op":5})").id == 3);
  auto unknown = parse_bad(R"({"id":-4,"op":"fly"})");
  CHECK(unknown.id == -4);
  CHECK(unknown.error.message.find("fly") != std::string::npos);
}

TEST_CASE("ping, auth and list_rooms", "[protocol]") {
  auto p = parse_ok(R"({"id":1,"op":"ping"})");
  CHECK(p.id == 1);
  CHECK(std::holds_alternative<ping_req>(p.body));
  CHECK(op_name(p.body) == "ping");
  CHECK(allowed_before_auth(p.body));
  auto a = parse_ok(R"({"id":2,"op":"auth","token":"abc","extra":1})");
  CHECK(std::get<auth_req>(a.body).token == "abc");
  CHECK(allowed_before_auth(a.body));
  parse_bad(req("auth"));
  parse_bad(req("auth", {{"token", 5}}));
  parse_bad(req("auth", {{"token", ""}}));
  auto l = parse_ok(req("list_rooms"));
  CHECK(std::holds_alternative<list_rooms_req>(l.body));
  CHECK_FALSE(std::get<list_rooms_req>(l.body).details);
  CHECK_FALSE(allowed_before_auth(l.body));
  CHECK(std::get<list_rooms_req>(parse_ok(req("list_rooms", {{"details", true}})).body).details);
  parse_bad(req("list_rooms", {{"details", 1}}));
}

TEST_CASE("clients create group rooms only", "[protocol][type]") {
  parse_ok(req("create_room", {{"name", "n"}, {"members", json::array()}, {"type", "group"}}));
  for (const json& bad : {json("my"), json("direct"), json("channel"), json(1)}) {
    auto f =
        parse_bad(req("create_room", {{"name", "n"}, {"members", json::array()}, {"type", bad}}));
    CHECK(f.error.message.find("type") != std::string::npos);
  }
}

TEST_CASE("ids must be positive integers below 2^53", "[protocol]") {
  auto r = parse_ok(req("leave_room", {{"room_id", 9007199254740991ULL}}));
  CHECK(std::get<leave_room_req>(r.body).room == room_id{9007199254740991ULL});
  for (const json& bad : {json(0), json(-1), json(1.0), json(1.5), json("1"), json(true),
                          json(nullptr), json(9007199254740992ULL), json::array({1})}) {
    auto f = parse_bad(req("leave_room", {{"room_id", bad}}));
    CHECK(f.id == 7);
    CHECK(f.error.message == "room_id must be a positive integer");
  }
  auto missing = parse_bad(req("leave_room"));
  CHECK(missing.error.message.find("room_id") != std::string::npos);
}

TEST_CASE("create_room", "[protocol]") {
  auto r = parse_ok(req("create_room", {{"name", "n"}, {"members", {2, 3}}, {"description", "d"}}));
  const auto& c = std::get<create_room_req>(r.body);
  CHECK(c.name == "n");
  CHECK(c.members == std::vector<account_id>{account_id{2}, account_id{3}});
  CHECK(c.description == "d");
  CHECK(op_name(r.body) == "create_room");
  auto e = parse_ok(req("create_room", {{"name", "n"}, {"members", json::array()}}));
  CHECK(std::get<create_room_req>(e.body).description.empty());
  parse_bad(req("create_room", {{"members", json::array()}}));
  parse_bad(req("create_room", {{"name", 1}, {"members", json::array()}}));
  parse_bad(req("create_room", {{"name", "n"}}));
  parse_bad(req("create_room", {{"name", "n"}, {"members", 2}}));
  parse_bad(req("create_room", {{"name", "n"}, {"members", {2, "3"}}}));
  parse_bad(req("create_room", {{"name", "n"}, {"members", {0}}}));
  parse_bad(req("create_room", {{"name", "n"}, {"members", json::array()}, {"description", 3}}));
}

TEST_CASE("add_members, remove_member", "[protocol]") {
  auto r = parse_ok(req("add_members", {{"room_id", 5}, {"account_ids", {2}}}));
  CHECK(std::get<add_members_req>(r.body).role == role::member);
  CHECK(std::get<add_members_req>(r.body).accounts == std::vector<account_id>{account_id{2}});
  for (auto [text, expected] : {std::pair{"admin", role::admin}, std::pair{"member", role::member},
                                std::pair{"readonly", role::readonly}}) {
    auto x = parse_ok(req("add_members", {{"room_id", 5}, {"account_ids", {2}}, {"role", text}}));
    CHECK(std::get<add_members_req>(x.body).role == expected);
  }
  auto bad_role =
      parse_bad(req("add_members", {{"room_id", 5}, {"account_ids", {2}}, {"role", "owner"}}));
  CHECK(bad_role.error.message.find("role") != std::string::npos);
  parse_bad(req("add_members", {{"room_id", 5}, {"account_ids", {2}}, {"role", 1}}));
  parse_bad(req("add_members", {{"room_id", 5}}));
  parse_bad(req("add_members", {{"account_ids", {2}}}));
  parse_bad(req("add_members", {{"room_id", 5}, {"account_ids", {-2}}}));

  auto rm = parse_ok(req("remove_member", {{"room_id", 5}, {"account_id", 9}}));
  CHECK(std::get<remove_member_req>(rm.body).room == room_id{5});
  CHECK(std::get<remove_member_req>(rm.body).account == account_id{9});
  auto f = parse_bad(req("remove_member", {{"room_id", 5}, {"account_id", "9"}}));
  CHECK(f.error.message == "account_id must be a positive integer");
}

TEST_CASE("send, edit, delete, mark_read", "[protocol]") {
  auto s = parse_ok(req("send_message", {{"room_id", 5}, {"body", "hi"}, {"client_msg_id", "c"}}));
  CHECK(std::get<send_message_req>(s.body).body == "hi");
  CHECK(std::get<send_message_req>(s.body).client_msg_id == "c");
  parse_bad(req("send_message", {{"room_id", 5}, {"body", 1}, {"client_msg_id", "c"}}));
  parse_bad(req("send_message", {{"room_id", 5}, {"client_msg_id", "c"}}));
  parse_bad(req("send_message", {{"room_id", 5}, {"body", "x"}}));
  parse_bad(req("send_message", {{"room_id", 5}, {"body", "x"}, {"client_msg_id", 3}}));

  auto e = parse_ok(req("edit_message", {{"room_id", 5}, {"message_id", "12"}, {"body", "x"}}));
  CHECK(std::get<edit_message_req>(e.body).message == message_id{12});
  auto d = parse_ok(req("delete_message", {{"room_id", 5}, {"message_id", "9999999999999999999"}}));
  CHECK(std::get<delete_message_req>(d.body).message == message_id{9999999999999999999ULL});
  auto m = parse_ok(req("mark_read", {{"room_id", 5}, {"message_id", "3"}}));
  CHECK(std::get<mark_read_req>(m.body).message == message_id{3});
  CHECK(op_name(m.body) == "mark_read");
  for (const json& bad : {json(12), json(""), json("0"), json("-1"), json("1.0"), json("1e3"),
                          json(" 1"), json("12345678901234567890"), json(nullptr)}) {
    auto f = parse_bad(req("delete_message", {{"room_id", 5}, {"message_id", bad}}));
    CHECK(f.error.message.find("message_id") != std::string::npos);
  }
  parse_bad(req("edit_message", {{"room_id", 5}, {"message_id", "1"}}));
  parse_bad(req("mark_read", {{"room_id", 5}}));
}

TEST_CASE("history", "[protocol]") {
  auto h = parse_ok(req("history", {{"room_id", 5}}));
  const auto& hr = std::get<history_req>(h.body);
  CHECK(hr.limit == 50);
  CHECK_FALSE(hr.before);
  CHECK_FALSE(hr.after);
  auto b = parse_ok(req("history", {{"room_id", 5}, {"before", "10"}, {"limit", 100}}));
  CHECK(std::get<history_req>(b.body).before == message_id{10});
  CHECK(std::get<history_req>(b.body).limit == 100);
  auto a = parse_ok(req("history", {{"room_id", 5}, {"after", "3"}, {"limit", 1}}));
  CHECK(std::get<history_req>(a.body).after == message_id{3});
  parse_bad(req("history", {{"room_id", 5}, {"before", "10"}, {"after", "3"}}));
  for (const json& bad : {json(0), json(101), json(-1), json(5.5), json("5")}) {
    auto f = parse_bad(req("history", {{"room_id", 5}, {"limit", bad}}));
    CHECK(f.error.message.find("limit") != std::string::npos);
  }
  parse_bad(req("history", {{"room_id", 5}, {"before", 10}}));
}

TEST_CASE("sync", "[protocol]") {
  auto s = parse_ok(req("sync", {{"since", {{"5", 3}, {"12", 0}}}}));
  auto since = std::get<sync_req>(s.body).since;
  std::sort(since.begin(), since.end());
  CHECK(since == std::vector<std::pair<room_id, seq_nr>>{{room_id{5}, 3}, {room_id{12}, 0}});
  CHECK(std::get<sync_req>(parse_ok(req("sync", {{"since", json::object()}})).body).since.empty());
  parse_bad(req("sync"));
  parse_bad(req("sync", {{"since", json::array()}}));
  parse_bad(req("sync", {{"since", {{"abc", 1}}}}));
  parse_bad(req("sync", {{"since", {{"0", 1}}}}));
  parse_bad(req("sync", {{"since", {{"-5", 1}}}}));
  parse_bad(req("sync", {{"since", {{"9007199254740992", 1}}}}));
  parse_bad(req("sync", {{"since", {{"5", -1}}}}));
  parse_bad(req("sync", {{"since", {{"5", "1"}}}}));
  parse_bad(req("sync", {{"since", {{"5", 1.5}}}}));
}

TEST_CASE("sync: each room has one spelling / leading zeros are refused naming the key",
          "[protocol][sync]") {
  // The attack: "1", "01", ..., "0000000000000001" used to be 16 keys for room 1.
  json since = json::object();
  for (std::size_t zeros = 0; zeros < 16; ++zeros) since[std::string(zeros, '0') + "1"] = 0;
  auto f = parse_bad(req("sync", {{"since", since}}));
  CHECK(f.id == 7);
  CHECK(f.error.message.find("since key \"0") != std::string::npos);  // the first bad key
  CHECK(f.error.message.find("leading zeros") != std::string::npos);
  for (const char* bad_key : {"01", "00", "0001", "+1", " 1", "1 ", "1e3", "0x10", "１", ""}) {
    auto failure = parse_bad(req("sync", {{"since", {{bad_key, 0}}}}));
    INFO(bad_key << ": " << failure.error.message);
    CHECK(failure.error.message.find("since key") != std::string::npos);
  }
  // The largest id is accepted, with 16 digits.
  auto top = parse_ok(req("sync", {{"since", {{"9007199254740991", 4}}}}));
  CHECK(std::get<sync_req>(top.body).since ==
        std::vector<std::pair<room_id, seq_nr>>{{room_id{9007199254740991}, 4}});
  // A control character in a key is quoted in the message, not copied raw.
  auto ctl = parse_bad(R"({"id":1,"op":"sync","since":{"1\u0007":0}})");
  CHECK(ctl.error.message.find('\a') == std::string::npos);
}

TEST_CASE("sync: a repeated key names its room once / rooms come in id order", "[protocol][sync]") {
  auto s = parse_ok(R"({"id":1,"op":"sync","since":{"20":1,"3":2,"20":5,"100":0}})");
  CHECK(std::get<sync_req>(s.body).since ==
        std::vector<std::pair<room_id, seq_nr>>{
            {room_id{3}, 2}, {room_id{20}, 5}, {room_id{100}, 0}});
}

TEST_CASE("encode replies and events", "[protocol]") {
  CHECK(json::parse(encode_ok(4)) == json{{"re", 4}, {"ok", true}});
  CHECK(json::parse(encode_ok(4, {{"room_id", 9}})) ==
        json{{"re", 4}, {"ok", true}, {"room_id", 9}});
  // Fields cannot forge the reserved keys.
  CHECK(json::parse(encode_ok(4, {{"ok", false}, {"re", 1}})) == json{{"re", 4}, {"ok", true}});
  CHECK(json::parse(encode_error(5, make_error(errc::forbidden, "no"))) ==
        json{{"re", 5}, {"ok", false}, {"error", {{"code", "forbidden"}, {"message", "no"}}}});
  CHECK(json::parse(encode_error(std::nullopt, make_error(errc::bad_request, "bad"))) ==
        json{{"re", nullptr},
             {"ok", false},
             {"error", {{"code", "bad_request"}, {"message", "bad"}}}});
  CHECK(json::parse(encode_event("synced", json::object())) == json{{"ev", "synced"}});
  CHECK(json::parse(encode_event("gap", {{"room_id", 1}, {"seq", 9}})) ==
        json{{"ev", "gap"}, {"room_id", 1}, {"seq", 9}});
  // Invalid UTF-8 in a message is replaced, not thrown.
  CHECK_NOTHROW(encode_error(1, make_error(errc::internal, "\xFF")));
}

TEST_CASE("message ids on the wire", "[protocol]") {
  CHECK(to_wire(message_id{42}) == "42");
  CHECK(message_id_from_wire("42") == message_id{42});
  CHECK(message_id_from_wire(to_wire(message_id{18446744073709551615ULL})) == std::nullopt);
  CHECK(message_id_from_wire("1234567890123456789") == message_id{1234567890123456789ULL});
  CHECK_FALSE(message_id_from_wire(""));
  CHECK_FALSE(message_id_from_wire("0"));
  CHECK_FALSE(message_id_from_wire("00"));
  CHECK_FALSE(message_id_from_wire("+1"));
  CHECK_FALSE(message_id_from_wire("1a"));
}

TEST_CASE("get_accounts", "[protocol][admin]") {
  auto r = parse_ok(req("get_accounts", {{"account_ids", {3, 1, 3}}}));
  CHECK(op_name(r.body) == "get_accounts");
  CHECK_FALSE(allowed_before_auth(r.body));
  CHECK(std::get<get_accounts_req>(r.body).accounts ==
        std::vector<account_id>{account_id{3}, account_id{1}, account_id{3}});
  json many = json::array();
  for (int i = 1; i <= 1000; ++i) many.push_back(i);
  CHECK(std::get<get_accounts_req>(parse_ok(req("get_accounts", {{"account_ids", many}})).body)
            .accounts.size() == 1000);
  many.push_back(1001);
  parse_bad(req("get_accounts", {{"account_ids", many}}));
  parse_bad(req("get_accounts"));
  parse_bad(req("get_accounts", {{"account_ids", json::array()}}));
  parse_bad(req("get_accounts", {{"account_ids", 1}}));
  parse_bad(req("get_accounts", {{"account_ids", {0}}}));
  parse_bad(req("get_accounts", {{"account_ids", {"1"}}}));
  parse_bad(req("get_accounts", {{"account_ids", {1.5}}}));
  parse_bad(req("get_accounts", {{"account_ids", {9007199254740992ULL}}}));
}

TEST_CASE("room management ops", "[protocol][manage]") {
  CHECK(std::get<get_room_req>(parse_ok(req("get_room", {{"room_id", 5}})).body).room ==
        room_id{5});
  CHECK(std::get<get_members_req>(parse_ok(req("get_members", {{"room_id", 5}})).body).room ==
        room_id{5});
  CHECK(std::get<delete_room_req>(parse_ok(req("delete_room", {{"room_id", 5}})).body).room ==
        room_id{5});
  parse_bad(req("get_room"));
  parse_bad(req("delete_room", {{"room_id", "5"}}));
  auto u = std::get<update_room_req>(
      parse_ok(req("update_room", {{"room_id", 5}, {"icon_preset", "star"}})).body);
  CHECK_FALSE(u.name);
  CHECK(u.icon_preset == "star");
  parse_bad(req("update_room", {{"room_id", 5}}));
  parse_bad(req("update_room", {{"room_id", 5}, {"name", 3}}));
  auto m = std::get<set_members_req>(
      parse_ok(req("set_members",
                   {{"room_id", 5}, {"members_admin_ids", {1, 2}}, {"members_readonly_ids", {3}}}))
          .body);
  CHECK(m.admins.size() == 2);
  CHECK(m.members.empty());
  CHECK(m.readonly == std::vector<account_id>{account_id{3}});
  parse_bad(req("set_members", {{"room_id", 5}}));
  parse_bad(req("set_members", {{"room_id", 5}, {"members_admin_ids", json::array()}}));
  parse_bad(req("set_members", {{"room_id", 5}, {"members_admin_ids", "1,2"}}));
  parse_bad(req("set_members",
                {{"room_id", 5}, {"members_admin_ids", {1}}, {"members_member_ids", {0}}}));
  CHECK(op_name(parse_ok(req("set_members", {{"room_id", 5}, {"members_admin_ids", {1}}})).body) ==
        "set_members");
}

TEST_CASE("message extensions", "[protocol][message]") {
  auto h = std::get<history_req>(parse_ok(req("history", {{"room_id", 5}, {"after", "0"}})).body);
  REQUIRE(h.after);
  CHECK(h.after->value == 0);
  parse_bad(req("history", {{"room_id", 5}, {"after", "00"}}));
  parse_bad(req("history", {{"room_id", 5}, {"before", "0"}}));
  parse_bad(req("history", {{"room_id", 5}, {"after", 0}}));
  CHECK(std::get<send_message_req>(
            parse_ok(
                req("send_message",
                    {{"room_id", 5}, {"body", "b"}, {"client_msg_id", "c"}, {"self_unread", true}}))
                .body)
            .self_unread);
  parse_bad(req("send_message",
                {{"room_id", 5}, {"body", "b"}, {"client_msg_id", "c"}, {"self_unread", 1}}));
  CHECK(std::get<get_message_req>(
            parse_ok(req("get_message", {{"room_id", 5}, {"message_id", "3"}})).body)
            .message == message_id{3});
  parse_bad(req("get_message", {{"room_id", 5}, {"message_id", 3}}));
  CHECK(std::get<mark_unread_req>(
            parse_ok(req("mark_unread", {{"room_id", 5}, {"message_id", "3"}})).body)
            .message == message_id{3});
  parse_bad(req("mark_unread", {{"room_id", 5}, {"message_id", "0"}}));
}

TEST_CASE("task ops", "[protocol][task]") {
  auto a = std::get<add_task_req>(
      parse_ok(req("add_task", {{"room_id", 5}, {"body", "b"}, {"to_ids", {2, 3}}, {"limit", 9}}))
          .body);
  CHECK(a.to_ids.size() == 2);
  CHECK(a.limit == 9);
  CHECK_FALSE(a.limit_type);
  parse_bad(req("add_task", {{"room_id", 5}, {"body", "b"}}));
  parse_bad(req("add_task", {{"room_id", 5}, {"body", "b"}, {"to_ids", json::array()}}));
  parse_bad(req("add_task", {{"room_id", 5}, {"body", "b"}, {"to_ids", {2}}, {"limit", -1}}));
  parse_bad(req("add_task", {{"room_id", 5}, {"body", "b"}, {"to_ids", {2}}, {"limit", 1.5}}));
  parse_bad(
      req("add_task", {{"room_id", 5}, {"body", "b"}, {"to_ids", {2}}, {"limit_type", "week"}}));
  auto st = std::get<set_task_status_req>(
      parse_ok(req("set_task_status", {{"room_id", 5}, {"task_id", 2}, {"status", "done"}})).body);
  CHECK(st.task == task_id{2});
  parse_bad(req("set_task_status", {{"room_id", 5}, {"task_id", 2}, {"status", "closed"}}));
  parse_bad(req("set_task_status", {{"room_id", 5}, {"task_id", 0}, {"status", "done"}}));
  parse_bad(req("get_task", {{"room_id", 5}}));
  auto l = std::get<list_tasks_req>(
      parse_ok(req("list_tasks", {{"room_id", 5}, {"account_id", 2}, {"status", "open"}})).body);
  CHECK(l.account == account_id{2});
  CHECK_FALSE(l.assigned_by);
  parse_bad(req("list_tasks", {{"room_id", 5}, {"status", "x"}}));
  auto m = std::get<my_tasks_req>(parse_ok(req("my_tasks", {{"assigned_by_account_id", 4}})).body);
  CHECK(m.assigned_by == account_id{4});
  parse_bad(req("my_tasks", {{"assigned_by_account_id", "4"}}));
  CHECK(op_name(parse_ok(req("my_status")).body) == "my_status");
}

TEST_CASE("fetch_messages", "[protocol][rest]") {
  auto r = parse_ok(req("fetch_messages", {{"room_id", 5}}));
  CHECK(op_name(r.body) == "fetch_messages");
  CHECK(std::get<fetch_messages_req>(r.body).room == room_id{5});
  CHECK_FALSE(std::get<fetch_messages_req>(r.body).force);
  CHECK(std::get<fetch_messages_req>(
            parse_ok(req("fetch_messages", {{"room_id", 5}, {"force", true}})).body)
            .force);
  parse_bad(req("fetch_messages"));
  parse_bad(req("fetch_messages", {{"room_id", 5}, {"force", 1}}));
  parse_bad(req("fetch_messages", {{"room_id", "5"}}));
}

TEST_CASE("search: fields, defaults and every bad field", "[protocol][search]") {
  auto r = parse_ok(req("search", {{"q", "東京 meeting"}}));
  CHECK(op_name(r.body) == "search");
  const auto& s = std::get<search_req>(r.body);
  CHECK(s.q == "東京 meeting");
  CHECK_FALSE(s.room);
  CHECK_FALSE(s.account);
  CHECK_FALSE(s.after_time);
  CHECK_FALSE(s.before_time);
  CHECK_FALSE(s.relevance);
  CHECK(s.limit == 20);
  CHECK(s.offset == 0);

  auto all = std::get<search_req>(parse_ok(req("search", {{"q", "x"},
                                                          {"room_id", 5},
                                                          {"account_id", 2},
                                                          {"after_time", 0},
                                                          {"before_time", 1796000000},
                                                          {"order", "relevance"},
                                                          {"limit", 100},
                                                          {"offset", 9900}}))
                                      .body);
  CHECK(all.room == room_id{5});
  CHECK(all.account == account_id{2});
  CHECK(all.after_time == 0);
  CHECK(all.before_time == 1796000000);
  CHECK(all.relevance);
  CHECK(all.limit == 100);
  CHECK(all.offset == 9900);
  CHECK_FALSE(std::get<search_req>(parse_ok(req("search", {{"q", "x"}, {"order", "newest"}})).body)
                  .relevance);

  // The text's own rules (empty, length, words) belong to the index; the parser wants a string.
  parse_bad(req("search"));
  parse_bad(req("search", {{"q", 5}}));
  parse_bad(req("search", {{"q", nullptr}}));
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, nlohmann::json>>{{"room_id", 0},
                                                           {"room_id", "5"},
                                                           {"account_id", -1},
                                                           {"after_time", -1},
                                                           {"after_time", 1.5},
                                                           {"before_time", "1796000000"},
                                                           {"order", "oldest"},
                                                           {"order", 1},
                                                           {"limit", 0},
                                                           {"limit", 101},
                                                           {"limit", "20"},
                                                           {"offset", -1},
                                                           {"offset", 9901}}) {
    INFO(key << " = " << value.dump());
    parse_bad(req("search", {{"q", "x"}, {key, value}}));
  }
}
