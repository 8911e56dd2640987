// The pure half of the REST API: form decoding, routing, the method override, id lists and
// flags, and the per-token rate limit window. No socket; e2e tests (tests/e2e/test_rest.py)
// drive the whole API against a real hibikid.

#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "rest_api.hpp"
#include "rest_rate_limit.hpp"
#include "rest_request.hpp"

using namespace hibiki;
using namespace hibiki::gateway;

TEST_CASE("form bodies and query strings decode", "[gateway][rest]") {
  rest_params p;
  REQUIRE(parse_form("body=hello+world%21&x=%E3%81%82&empty=&flag&&body2=a%2Bb", p).ok());
  CHECK(p.get("body") == "hello world!");
  CHECK(p.get("x") == "\xE3\x81\x82");
  CHECK(p.get("empty") == "");
  CHECK(p.get("flag") == "");
  CHECK(p.get("body2") == "a+b");
  CHECK_FALSE(p.get("missing"));
  // The later value wins: the form body is parsed after the query string.
  REQUIRE(parse_form("body=second", p).ok());
  CHECK(p.get("body") == "second");
  for (const char* bad : {"a=%", "a=%4", "a=%zz", "a=%G1", "=value", "%4=1"}) {
    INFO(bad);
    rest_params q;
    auto st = parse_form(bad, q);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().code == errc::bad_request);
  }
}

TEST_CASE("REST routes", "[gateway][rest]") {
  auto route = [](std::string_view m, std::string_view p) { return route_rest(m, p); };
  CHECK(route("GET", "/v2/me")->endpoint == rest_endpoint::me);
  CHECK(route("GET", "/v2/my/status")->endpoint == rest_endpoint::my_status);
  CHECK(route("GET", "/v2/rooms")->endpoint == rest_endpoint::rooms_list);
  CHECK(route("GET", "/v2/rooms/")->endpoint == rest_endpoint::rooms_list);
  CHECK(route("POST", "/v2/rooms")->endpoint == rest_endpoint::rooms_create);
  auto leave = route("DELETE", "/v2/rooms/12");
  REQUIRE(leave.ok());
  CHECK(leave->endpoint == rest_endpoint::room_leave);
  CHECK(leave->room == room_id{12});
  CHECK(route("GET", "/v2/rooms/12/messages")->endpoint == rest_endpoint::messages_list);
  CHECK(route("POST", "/v2/rooms/12/messages")->endpoint == rest_endpoint::messages_post);
  CHECK(route("PUT", "/v2/rooms/12/messages/read")->endpoint == rest_endpoint::messages_read);
  auto get = route("GET", "/v2/rooms/12/messages/34");
  REQUIRE(get.ok());
  CHECK(get->endpoint == rest_endpoint::message_get);
  CHECK(get->message == message_id{34});
  CHECK(route("PUT", "/v2/rooms/12/messages/34")->endpoint == rest_endpoint::message_update);
  CHECK(route("DELETE", "/v2/rooms/12/messages/34")->endpoint == rest_endpoint::message_delete);
  CHECK(route("GET", "/v2/contacts")->endpoint == rest_endpoint::contacts_list);
  CHECK(route("GET", "/v2/incoming_requests")->endpoint == rest_endpoint::requests_list);
  auto accept = route("PUT", "/v2/incoming_requests/7");
  REQUIRE(accept.ok());
  CHECK(accept->endpoint == rest_endpoint::request_accept);
  CHECK(accept->request == account_id{7});
  CHECK(route("DELETE", "/v2/incoming_requests/7")->endpoint == rest_endpoint::request_reject);
  CHECK(route("GET", "/v2/my/tasks")->endpoint == rest_endpoint::my_tasks);
  CHECK(route("GET", "/v2/search")->endpoint == rest_endpoint::search);
  CHECK(route("GET", "/v2/rooms/12")->endpoint == rest_endpoint::room_get);
  CHECK(route("PUT", "/v2/rooms/12")->endpoint == rest_endpoint::room_update);
  CHECK(route("GET", "/v2/rooms/12/members")->endpoint == rest_endpoint::members_list);
  CHECK(route("PUT", "/v2/rooms/12/members")->endpoint == rest_endpoint::members_update);
  CHECK(route("PUT", "/v2/rooms/12/messages/unread")->endpoint == rest_endpoint::messages_unread);
  CHECK(route("GET", "/v2/rooms/12/tasks")->endpoint == rest_endpoint::tasks_list);
  CHECK(route("POST", "/v2/rooms/12/tasks")->endpoint == rest_endpoint::tasks_create);
  auto task = route("GET", "/v2/rooms/12/tasks/5");
  REQUIRE(task.ok());
  CHECK(task->endpoint == rest_endpoint::task_get);
  CHECK(task->room == room_id{12});
  CHECK(task->task == task_id{5});
  auto status = route("PUT", "/v2/rooms/12/tasks/5/status");
  REQUIRE(status.ok());
  CHECK(status->endpoint == rest_endpoint::task_status);
  CHECK(status->task == task_id{5});

  // Not found, bad ids, wrong methods (carried as conflict with the allowed methods).
  for (const char* p : {"/v2", "/v2/", "/v2/nope", "/v2/rooms/1/messages/2/x", "/v2/my", "/v2/me/x",
                        "/v2/contacts/1", "/v2/incoming_requests/1/x", "/v2/rooms/1/link",
                        "/v2/rooms/1/files/2/x", "/v2/rooms/1/members/2", "/v2/rooms/1/tasks/2/x",
                        "/v2/rooms/1/tasks/2/status/x", "/v2/my/tasks/1"}) {
    INFO(p);
    CHECK(route("GET", p).error().code == errc::not_found);
  }
  for (const char* p :
       {"/v2/rooms/abc", "/v2/rooms/0/messages", "/v2/rooms/-1", "/v2/rooms/01/messages",
        "/v2/rooms/9007199254740992", "/v2/rooms/1/messages/1x", "/v2/rooms/1/tasks/x",
        "/v2/rooms/1/tasks/0", "/v2/rooms/x/tasks", "/v2/rooms/x/members"}) {
    INFO(p);
    CHECK(route("GET", p).error().code == errc::bad_request);
  }
  for (const char* p : {"/v2/incoming_requests/0", "/v2/incoming_requests/x",
                        "/v2/incoming_requests/-3", "/v2/incoming_requests/9007199254740992"}) {
    INFO(p);
    CHECK(route("PUT", p).error().code == errc::bad_request);
  }
  CHECK(route("GET", "/v2/incoming_requests/1").error().message == "PUT, DELETE");
  CHECK(route("POST", "/v2/incoming_requests").error().message == "GET");
  CHECK(route("DELETE", "/v2/contacts").error().message == "GET");
  auto wrong = route("PUT", "/v2/rooms");
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().code == errc::conflict);
  CHECK(wrong.error().message == "GET, POST");
  CHECK(route("GET", "/v2/rooms/1/messages/read").error().message == "PUT");
  CHECK(route("GET", "/v2/rooms/1/messages/unread").error().message == "PUT");
  CHECK(route("POST", "/v2/rooms/1").error().message == "GET, PUT, DELETE");
  CHECK(route("DELETE", "/v2/rooms/1/members").error().message == "GET, PUT");
  CHECK(route("PUT", "/v2/rooms/1/tasks").error().message == "GET, POST");
  CHECK(route("PUT", "/v2/rooms/1/tasks/1").error().message == "GET");
  CHECK(route("GET", "/v2/rooms/1/tasks/1/status").error().message == "PUT");
  CHECK(route("POST", "/v2/my/tasks").error().message == "GET");
  CHECK(route("POST", "/v2/search").error().message == "GET");
  CHECK(route("GET", "/v2/search/1").error().code == errc::not_found);
  CHECK(route("POST", "/v2/me").error().code == errc::conflict);

  CHECK(is_rest_path("/v2"));
  CHECK(is_rest_path("/v2/rooms"));
  CHECK_FALSE(is_rest_path("/v22"));
  CHECK_FALSE(is_rest_path("/v"));
  CHECK_FALSE(is_rest_path("/api/v2"));
}

TEST_CASE("the ?method= override", "[gateway][rest]") {
  rest_params q;
  CHECK(*effective_method("POST", q) == "POST");
  q.add("method", "put");
  CHECK(*effective_method("POST", q) == "PUT");
  rest_params d;
  d.add("method", "Delete");
  CHECK(*effective_method("GET", d) == "DELETE");
  rest_params bad;
  bad.add("method", "PATCH");
  CHECK(effective_method("POST", bad).error().code == errc::bad_request);
}

TEST_CASE("id lists, wire ids and flags", "[gateway][rest]") {
  CHECK(parse_id_list("f", "")->empty());
  auto ids = parse_id_list("f", "1, 2 ,3");
  REQUIRE(ids.ok());
  CHECK(*ids == std::vector<account_id>{account_id{1}, account_id{2}, account_id{3}});
  for (const char* bad : {"1,", ",1", "a", "1,,2", "0", "-1", "1.5", "9007199254740992"}) {
    INFO(bad);
    auto r = parse_id_list("members_member_ids", bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("members_member_ids") != std::string::npos);
  }
  CHECK(parse_wire_id("9007199254740991") == max_wire_id);
  CHECK_FALSE(parse_wire_id(""));
  CHECK_FALSE(parse_wire_id("007"));
  CHECK(*parse_flag("force", "1"));
  CHECK_FALSE(*parse_flag("force", "0"));
  CHECK_FALSE(*parse_flag("force", ""));
  CHECK(parse_flag("force", "2").error().message.find("force") != std::string::npos);
}

TEST_CASE("Chatwork's shapes and error statuses", "[gateway][rest]") {
  CHECK(rest_error_body("bad") == R"({"errors":["bad"]})");
  CHECK(rest_status_for("bad_request") == 400);
  CHECK(rest_status_for("unauthenticated") == 401);
  CHECK(rest_status_for("forbidden") == 403);
  CHECK(rest_status_for("not_found") == 404);
  CHECK(rest_status_for("rate_limited") == 429);
  CHECK(rest_status_for("too_large") == 413);
  CHECK(rest_status_for("unavailable") == 503);
  CHECK(rest_status_for("whatever") == 500);
  auto m = chatwork_message({{"message_id", "7"},
                             {"account_id", 3},
                             {"body", "hi"},
                             {"send_time", 100},
                             {"update_time", 0},
                             {"deleted", false}},
                            "carol", rest_images{"http://h:1"});
  CHECK(m == nlohmann::json{{"message_id", "7"},
                            {"account",
                             {{"account_id", 3},
                              {"name", "carol"},
                              {"avatar_image_url", "http://h:1/img/avatar.svg"}}},
                            {"body", "hi"},
                            {"send_time", 100},
                            {"update_time", 0}});
}

TEST_CASE("picture URLs: --public-url, else the request's scheme and a plain Host",
          "[gateway][rest]") {
  CHECK(image_base("https://chat.example.com/", "ignored:1", false) == "https://chat.example.com");
  CHECK(image_base("", "127.0.0.1:8080", false) == "http://127.0.0.1:8080");
  CHECK(image_base("", "[::1]:8443", true) == "https://[::1]:8443");
  CHECK(image_base("", "chat.example.com", true) == "https://chat.example.com");
  // Anything but a plain authority stays out of the answers: the URLs become paths.
  for (std::string_view bad :
       {"", "evil.example/x", "a b", "user@host", "h?q", "h#f", "h\\x", "h\"x", "h<x>"}) {
    INFO(bad);
    CHECK(image_base("", bad, false).empty());
  }
  CHECK(image_base("", std::string(256, 'a'), false).empty());
  const rest_images here{"http://h:1"};
  CHECK(here.avatar() == "http://h:1/img/avatar.svg");
  CHECK(here.icon("beer") == "http://h:1/img/icon/beer.svg");
  // An unknown preset (a corrupt row, a newer server's) shows the default picture, never a path
  // made of the text.
  CHECK(here.icon("../../etc") == "http://h:1/img/icon/group.svg");
  CHECK(here.icon("") == "http://h:1/img/icon/group.svg");
  CHECK(rest_images{}.avatar() == "/img/avatar.svg");
}

TEST_CASE("Chatwork's task, member and room objects", "[gateway][rest]") {
  using nlohmann::json;
  const rest_images images{"http://h:1"};
  const std::string avatar = "http://h:1/img/avatar.svg";
  const json task{{"task_id", 2},
                  {"room_id", 5},
                  {"room", {{"room_id", 5}, {"name", "team"}, {"icon_preset", "beer"}}},
                  {"account", {{"account_id", 3}, {"name", "carol"}}},
                  {"assigned_by_account", {{"account_id", 1}}},
                  {"message_id", "41"},
                  {"body", "ship"},
                  {"limit_time", 1900000000},
                  {"limit_type", "date"},
                  {"status", "done"},
                  {"time", 100},
                  {"update_time", 200}};
  const json base{
      {"task_id", 2},
      {"account", {{"account_id", 3}, {"name", "carol"}, {"avatar_image_url", avatar}}},
      // A name the reply lacks (an account without a row) is "".
      {"assigned_by_account", {{"account_id", 1}, {"name", ""}, {"avatar_image_url", avatar}}},
      {"message_id", "41"},
      {"body", "ship"},
      {"limit_time", 1900000000},
      {"status", "done"},
      {"limit_type", "date"}};
  CHECK(chatwork_task(task, false, images) == base);
  auto with_room = base;
  with_room["room"] = {
      {"room_id", 5}, {"name", "team"}, {"icon_path", "http://h:1/img/icon/beer.svg"}};
  CHECK(chatwork_task(task, true, images) == with_room);
  // A task from before tasks posted a message has none: "".
  auto old_task = task;
  old_task.erase("message_id");
  CHECK(chatwork_task(old_task, false, images)["message_id"] == "");

  CHECK(chatwork_member({{"account_id", 2}, {"role", "readonly"}, {"name", "bob"}},
                        {{"account_id", 2},
                         {"name", "bob"},
                         {"chatwork_id", "bob_b"},
                         {"organization_name", "Hibiki"},
                         {"department", "Sales"},
                         {"title", "lead"}},
                        images) == json{{"account_id", 2},
                                        {"role", "readonly"},
                                        {"name", "bob"},
                                        {"chatwork_id", "bob_b"},
                                        {"organization_id", 0},
                                        {"organization_name", "Hibiki"},
                                        {"department", "Sales"},
                                        {"avatar_image_url", avatar}});
  // No profile: the member's own fields, the rest empty.
  CHECK(chatwork_member({{"account_id", 2}, {"role", "admin"}, {"name", "bob"}}, json::object(),
                        images)["chatwork_id"] == "");

  const json room{{"room_id", 5},     {"name", "team"},         {"description", "ours"},
                  {"type", "group"},  {"icon_preset", "star"},  {"role", "admin"},
                  {"unread_num", 1},  {"mention_num", 0},       {"mytask_num", 2},
                  {"message_num", 9}, {"task_num", 3},          {"member_num", 4},
                  {"file_num", 0},    {"last_update_time", 77}, {"last_seq", 12}};
  CHECK(chatwork_room_details(room, images) == json{{"room_id", 5},
                                                    {"name", "team"},
                                                    {"type", "group"},
                                                    {"role", "admin"},
                                                    {"sticky", false},
                                                    {"unread_num", 1},
                                                    {"mention_num", 0},
                                                    {"mytask_num", 2},
                                                    {"message_num", 9},
                                                    {"file_num", 0},
                                                    {"task_num", 3},
                                                    {"icon_path", "http://h:1/img/icon/star.svg"},
                                                    {"last_update_time", 77},
                                                    {"description", "ours"}});
  // GET /rooms: the list_rooms entry (with details) has the update time and the icon too.
  const auto listed = chatwork_room({{"room_id", 5},
                                     {"name", "team"},
                                     {"type", "group"},
                                     {"icon_preset", "beer"},
                                     {"last_update_time", 1796000000}},
                                    images);
  CHECK(listed["last_update_time"] == 1796000000);
  CHECK(listed["icon_path"] == "http://h:1/img/icon/beer.svg");
  CHECK(listed["sticky"] == false);
  CHECK_FALSE(listed.contains("description"));
}

TEST_CASE("the per-token rate limit counts in fixed windows", "[gateway][rest]") {
  rest_rate_limit limit(3, std::chrono::seconds(60), 2);
  for (std::uint32_t left : {2u, 1u, 0u}) {
    auto v = limit.take("a", 1000);
    CHECK(v.allowed);
    CHECK(v.remaining == left);
    CHECK(v.reset == 1060);
  }
  auto over = limit.take("a", 1059);
  CHECK_FALSE(over.allowed);
  CHECK(over.remaining == 0);
  CHECK(limit.take("b", 1010).remaining == 2);  // another token, its own window
  // A third token while the table is full and no window has ended: refused, not stored.
  CHECK_FALSE(limit.take("c", 1020).allowed);
  // The window ends: a fresh budget, and ended windows make room.
  CHECK(limit.take("a", 1060).remaining == 2);
  CHECK(limit.take("c", 1075).allowed);
  rest_rate_limit none(0, std::chrono::seconds(60));
  for (int i = 0; i < 1000; ++i) REQUIRE(none.take("a", 1).allowed);
}

TEST_CASE("task parameters", "[gateway][rest]") {
  CHECK(parse_account_param("account_id", "7")->value == 7);
  for (const char* bad : {"", "0", "x", "-1", "01", "9007199254740992", " 7"}) {
    INFO(bad);
    auto r = parse_account_param("assigned_by_account_id", bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errc::bad_request);
    CHECK(r.error().message.find("assigned_by_account_id") != std::string::npos);
  }
  CHECK(*parse_task_status_param("status", "open") == "open");
  CHECK(*parse_task_status_param("status", "done") == "done");
  for (const char* bad : {"", "Done", "closed", "open "}) {
    INFO(bad);
    auto r = parse_task_status_param("body", bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("body") != std::string::npos);
  }
  CHECK(*parse_limit("0") == 0);
  CHECK(*parse_limit("1900000000") == 1900000000);
  for (const char* bad : {"", "-1", "+5", "1.5", "soon", "99999999999999999999", "12 "}) {
    INFO(bad);
    CHECK(parse_limit(bad).error().code == errc::bad_request);
  }
  for (const char* ok : {"none", "date", "time"}) CHECK(*parse_limit_type(ok) == ok);
  for (const char* bad : {"", "week", "Date"}) {
    INFO(bad);
    CHECK(parse_limit_type(bad).error().code == errc::bad_request);
  }
  // Every endpoint has its own metric label.
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < rest_endpoint_count; ++i) {
    const auto name = endpoint_name(static_cast<rest_endpoint>(i));
    CHECK_FALSE(name.empty());
    CHECK(names.insert(name).second);
  }
  CHECK(endpoint_name(rest_endpoint::room_get) == "room_get");
  CHECK(endpoint_name(rest_endpoint::messages_unread) == "messages_unread");
  CHECK(endpoint_name(rest_endpoint::task_status) == "task_status");
  CHECK(endpoint_name(rest_endpoint::my_tasks) == "my_tasks");
  CHECK(endpoint_name(rest_endpoint::search) == "search");
  CHECK(endpoint_name(rest_endpoint::unknown) == "unknown");
}

TEST_CASE("the files endpoints route, POST on the list being the upload", "[rest][files]") {
  auto route = [](std::string_view m, std::string_view p) { return route_rest(m, p); };
  CHECK(route("GET", "/v2/rooms/12/files")->endpoint == rest_endpoint::files_list);
  auto one = route("GET", "/v2/rooms/12/files/5");
  REQUIRE(one.ok());
  CHECK(one->endpoint == rest_endpoint::file_get);
  CHECK(one->room == room_id{12});
  CHECK(one->file == file_id{5});
  CHECK(route("GET", "/v2/rooms/12/files/0").error().code == errc::bad_request);
  CHECK(route("GET", "/v2/rooms/12/files/x").error().code == errc::bad_request);
  CHECK(route("GET", "/v2/rooms/12/files/5/x").error().code == errc::not_found);
  auto upload = route("POST", "/v2/rooms/12/files");
  REQUIRE(upload.ok());
  CHECK(upload->endpoint == rest_endpoint::files_upload);
  CHECK(upload->room == room_id{12});
  CHECK(route("PUT", "/v2/rooms/12/files").error().code == errc::conflict);  // 405
  CHECK(route("POST", "/v2/rooms/12/files/5").error().code == errc::conflict);
  CHECK(route("DELETE", "/v2/rooms/12/files/5").error().code == errc::conflict);
  CHECK(endpoint_name(rest_endpoint::files_upload) == "files_upload");
  CHECK(endpoint_name(rest_endpoint::files_list) == "files_list");
  CHECK(endpoint_name(rest_endpoint::file_get) == "file_get");
}

TEST_CASE("a file object in Chatwork's shape", "[rest][files]") {
  const nlohmann::json file = {{"file_id", 3},       {"account_id", 2},
                               {"message_id", "17"}, {"filename", "a.pdf"},
                               {"size", 1234},       {"upload_time", 1796000000}};
  CHECK(
      chatwork_file(file, "bob", rest_images{"http://h:1"}) ==
      nlohmann::json{
          {"file_id", 3},
          {"account",
           {{"account_id", 2}, {"name", "bob"}, {"avatar_image_url", "http://h:1/img/avatar.svg"}}},
          {"message_id", "17"},
          {"filename", "a.pdf"},
          {"filesize", 1234},
          {"upload_time", 1796000000}});
}
