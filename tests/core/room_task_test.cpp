/// Tasks: one per assignee, done/open by assignee or creator, filters, counts, and the rule that
/// a member's tasks go with them when they leave.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "hibiki/core/codec.hpp"
#include "hibiki/core/read_model.hpp"
#include "room_fixture.hpp"

using namespace hibiki;
using namespace hibiki::test;
using nlohmann::json;

namespace {

room::add_task task_for(account_id by, std::vector<account_id> to, std::string body = "do it") {
  return room::add_task{by, std::move(to), std::move(body), 0, room::limit_type::none, 50};
}

room::set_task_status mark(account_id who, std::uint64_t task, room::task_status st) {
  return room::set_task_status{who, task_id{task}, st, 60};
}

/// alice (admin), bob and carol (members), dave (read-only).
room::state team() {
  return run(made_room(), room::add_members{alice, {dave}, role::readonly});
}

}  // namespace

TEST_CASE("add_task makes one task per assignee", "[room][task]") {
  auto s = team();
  auto cmd = task_for(alice, {bob, carol, bob});
  cmd.author_name = "alice";
  cmd.names = {{bob, "bob"}};  // carol's name unknown to the session: ""
  auto d = room::decide(s, cmd);
  REQUIRE(d);
  REQUIRE(d->events.size() == 3);
  // First the message that shows the tasks in the room (as Chatwork posts one), by the creator.
  const auto& shown = std::get<room::message_posted>(d->events[0]);
  CHECK(shown.id == message_id{1});
  CHECK(shown.author == alice);
  CHECK(shown.author_name == "alice");
  CHECK(shown.body == "[info][title]Task for [piconname:2] [piconname:3][/title]do it[/info]");
  CHECK(shown.mentions.empty());
  CHECK(shown.client_msg_id.empty());
  const auto& t1 = std::get<room::task_added>(d->events[1]);
  CHECK(t1.id == task_id{1});
  CHECK(t1.assignee == bob);
  CHECK(t1.by == alice);
  CHECK(t1.message == message_id{1});
  CHECK(t1.assignee_name == "bob");
  CHECK(t1.by_name == "alice");
  const auto& t2 = std::get<room::task_added>(d->events[2]);
  CHECK(t2.id == task_id{2});
  CHECK(t2.message == message_id{1});
  CHECK(t2.assignee_name.empty());
  s = run(s, task_for(alice, {bob, carol}));
  CHECK(s.tasks.size() == 2);
  CHECK(s.tasks.at(task_id{2}).message == message_id{1});
  CHECK(room::task_num(s) == 2);
  // The message is an ordinary one: unread for the others, read for its author, no mention.
  CHECK(room::message_num(s) == 1);
  CHECK(room::unread_num(s, bob) == 1);
  CHECK(room::mention_num(s, bob) == 0);
  CHECK(room::unread_num(s, alice) == 0);
  // It takes no place in the dedupe window: a client's own ids are never empty.
  CHECK(s.dedupe.empty());
  // Its mentions are its text's: a [To:] in the task's body mentions, the assignee list does not.
  auto with_to = room::decide(s, task_for(alice, {bob}, "ask [To:3] first"));
  REQUIRE(with_to);
  CHECK(std::get<room::message_posted>(with_to->events[0]).mentions ==
        std::vector<account_id>{carol});
  CHECK(room::mytask_num(s, bob) == 1);
  CHECK(room::mytask_num(s, alice) == 0);
  // A read-only member may be given a task.
  s = run(s, task_for(bob, {dave}));
  CHECK(s.tasks.at(task_id{3}).assignee == dave);
}

TEST_CASE("add_task validates", "[room][task]") {
  auto s = team();
  CHECK(refusal(s, task_for(dave, {bob})) == errc::forbidden);  // read-only
  CHECK(refusal(s, task_for(account_id{99}, {bob})) == errc::forbidden);
  CHECK(refusal(s, task_for(alice, {})) == errc::bad_request);
  CHECK(refusal(s, task_for(alice, {account_id{99}})) == errc::bad_request);  // not a member
  CHECK(refusal(s, task_for(alice, {bob}, "")) == errc::bad_request);
  CHECK(refusal(s, task_for(alice, {bob}, std::string(65536, 'x'))) == errc::too_large);
  std::vector<account_id> many(101, bob);
  CHECK(refusal(s, task_for(alice, many)) == errc::bad_request);
  auto limited = task_for(alice, {bob});
  limited.limit = 1800000000;
  CHECK(refusal(s, limited) == errc::bad_request);  // a limit needs date or time
  limited.limit_type = room::limit_type::date;
  CHECK(refusal(s, limited) == errc::ok);
  limited.limit = 0;
  CHECK(refusal(s, limited) == errc::bad_request);  // date without a limit
  limited.limit = -1;
  CHECK(refusal(s, limited) == errc::bad_request);
}

TEST_CASE("done and open again: assignee or creator only", "[room][task]") {
  auto s = run(team(), task_for(alice, {bob}));
  CHECK(refusal(s, mark(carol, 1, room::task_status::done)) == errc::forbidden);
  CHECK(refusal(s, mark(bob, 2, room::task_status::done)) == errc::not_found);
  s = run(s, mark(bob, 1, room::task_status::done));
  CHECK(s.tasks.at(task_id{1}).status == room::task_status::done);
  CHECK(s.tasks.at(task_id{1}).update_time == 60);
  CHECK(room::mytask_num(s, bob) == 0);
  CHECK(room::task_num(s) == 0);
  // Again done: nothing happens.
  auto again = room::decide(s, mark(bob, 1, room::task_status::done));
  REQUIRE(again);
  CHECK(again->events.empty());
  s = run(s, mark(alice, 1, room::task_status::open));  // the creator reopens it
  CHECK(room::mytask_num(s, bob) == 1);
}

TEST_CASE("list_tasks filters by assignee, creator and status", "[room][task]") {
  auto s = run(team(), task_for(alice, {bob, carol}));
  s = run(s, task_for(bob, {carol}));
  s = run(s, mark(carol, 2, room::task_status::done));
  auto ids = [&](room::list_tasks q) {
    std::vector<std::uint64_t> out;
    for (const auto& t : read_model::task_list(s, q)) out.push_back(t["task_id"]);
    return out;
  };
  CHECK(ids({alice, {}, {}, {}}) == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(ids({alice, carol, {}, {}}) == std::vector<std::uint64_t>{2, 3});
  CHECK(ids({alice, {}, bob, {}}) == std::vector<std::uint64_t>{3});
  CHECK(ids({alice, carol, {}, room::task_status::open}) == std::vector<std::uint64_t>{3});
  CHECK(ids({alice, {}, {}, room::task_status::done}) == std::vector<std::uint64_t>{2});
  CHECK(refusal(s, room::list_tasks{account_id{99}, {}, {}, {}}) == errc::forbidden);
  CHECK(refusal(s, room::get_task{alice, task_id{9}}) == errc::not_found);
  CHECK(refusal(s, room::get_task{dave, task_id{1}}) == errc::ok);
  CHECK(read_model::task_object(room1, task_id{1}, s.tasks.at(task_id{1})) ==
        json{{"task_id", 1},
             {"room_id", 100},
             {"account", {{"account_id", 2}, {"name", ""}}},
             {"assigned_by_account", {{"account_id", 1}, {"name", ""}}},
             {"message_id", "1"},
             {"body", "do it"},
             {"limit_time", 0},
             {"limit_type", "none"},
             {"status", "open"},
             {"time", 50},
             {"update_time", 0}});
}

TEST_CASE("a member's tasks go with them; ids are never reused", "[room][task]") {
  auto s = run(team(), task_for(alice, {bob, carol}));
  const auto before = s;
  s = run(s, room::leave_room{bob});
  CHECK(s.tasks.size() == 1);
  CHECK(s.tasks.begin()->second.assignee == carol);
  CHECK(room::mytask_num(s, bob) == 0);
  // The projection deletes bob's my-tasks row and keeps carol's.
  auto d = room::decide(before, room::leave_room{bob});
  const auto ops = read_model::project(before, d->events[0], s);
  int deleted = 0;
  for (const auto& op : ops)
    if (op.tbl == read_model::table::account_tasks) {
      CHECK(op.key == read_model::account_task_key(bob, room1, task_id{1}));
      CHECK_FALSE(op.value);
      ++deleted;
    }
  CHECK(deleted == 1);
  // Removal by an admin too.
  s = run(s, room::remove_member{alice, carol});
  CHECK(s.tasks.empty());
  s = run(s, task_for(alice, {dave}));
  CHECK(s.tasks.begin()->first == task_id{3});
  // Deleting the room takes every task.
  s = run(s, room::delete_room{alice, 70});
  CHECK(s.tasks.empty());
  CHECK(room::task_num(s) == 0);
}

TEST_CASE("task events: pushes, rows, counts", "[room][task][read_model]") {
  auto cmd = task_for(alice, {bob});
  cmd.author_name = "alice";
  cmd.names = {{bob, "bob"}};
  auto sm = team();
  auto d = room::decide(sm, cmd);
  REQUIRE(d->events.size() == 2);
  auto s0 = room::apply(sm, d->events[0]);
  auto shown = read_model::push_frame(sm, d->events[0], s0);
  REQUIRE(shown);
  CHECK((*shown)["ev"] == "message_created");
  CHECK((*shown)["message"]["account"]["name"] == "alice");
  auto s1 = room::apply(s0, d->events[1]);
  auto frame = read_model::push_frame(s0, d->events[1], s1);
  REQUIRE(frame);
  CHECK((*frame)["ev"] == "task_added");
  CHECK((*frame)["seq"] == s1.seq);
  // The whole task, its people named.
  const auto& task = (*frame)["task"];
  CHECK(task["account"] == json{{"account_id", 2}, {"name", "bob"}});
  CHECK(task["assigned_by_account"] == json{{"account_id", 1}, {"name", "alice"}});
  CHECK(task["message_id"] == "1");
  CHECK(task["body"] == "do it");
  CHECK(task["limit_type"] == "none");
  CHECK(task["status"] == "open");
  const auto ops = read_model::project(s0, d->events[1], s1);
  bool task_row = false, bob_row = false, summary = false;
  for (const auto& op : ops) {
    if (op.tbl == read_model::table::account_tasks) {
      task_row = op.key == read_model::account_task_key(bob, room1, task_id{1}) && op.value;
    }
    if (op.tbl == read_model::table::member_rooms &&
        op.key == read_model::member_room_key(bob, room1)) {
      bob_row = read_model::decode_member_row(*op.value)->mytask_num == 1;
    }
    if (op.tbl == read_model::table::room_summary) {
      summary = read_model::decode_room_summary(*op.value)->task_num == 1;
    }
  }
  CHECK(task_row);
  CHECK(bob_row);
  CHECK(summary);
  auto d2 = room::decide(s1, mark(bob, 1, room::task_status::done));
  auto s2 = room::apply(s1, d2->events[0]);
  CHECK((*read_model::push_frame(s1, d2->events[0], s2))["ev"] == "task_updated");
  CHECK((*read_model::push_frame(s1, d2->events[0], s2))["task"]["status"] == "done");
  CHECK((*read_model::push_frame(s1, d2->events[0], s2))["task"]["account"]["name"] == "bob");
  // A replayed frame (sync) names its people as they are named now.
  read_model::name_refresher names([](account_id a) -> std::optional<std::string> {
    if (a == bob) return std::string("robert");
    return std::nullopt;
  });
  auto fresh = names.refresh_frame(frame->dump());
  REQUIRE(fresh);
  auto j = json::parse(*fresh);
  CHECK(j["task"]["account"]["name"] == "robert");
  CHECK(j["task"]["assigned_by_account"]["name"] == "alice");  // no current name: kept
  CHECK_FALSE(names.refresh_frame(R"({"ev":"room_deleted","room_id":100,"seq":9})"));
}

TEST_CASE("the task message's body is cut to a message's limit", "[room][task]") {
  CHECK(room::task_message_body({bob}, "x") ==
        "[info][title]Task for [piconname:2][/title]x[/info]");
  const std::string head = "[info][title]Task for [piconname:2][/title]";
  const std::string tail = "[/info]";
  const std::size_t room_left = room::max_body_chars - head.size() - tail.size();
  // Exactly what fits stays whole; one code point more is cut and ends in an ellipsis.
  const std::string fits(room_left, 'a');
  CHECK(room::task_message_body({bob}, fits) == head + fits + tail);
  std::string over;
  for (std::size_t i = 0; i < room_left + 5; ++i) over += "\xc3\xa9";  // é, two bytes
  const auto cut = room::task_message_body({bob}, over);
  CHECK(room::utf8_length(cut) == room::max_body_chars);
  CHECK(cut.substr(cut.size() - tail.size() - 3, 3) == "\xe2\x80\xa6");
}

TEST_CASE("task events, commands and snapshots round-trip", "[room][task][codec]") {
  room::task_added with_message{task_id{4}, bob, alice, "b", 1800000000, room::limit_type::date, 5};
  with_message.message = message_id{9};
  with_message.assignee_name = "bob";
  with_message.by_name = "alice";
  const room::event added = with_message;
  const room::event changed =
      room::task_status_changed{task_id{4}, room::task_status::done, bob, 6};
  for (const auto& e : {added, changed}) {
    auto back = codec::decode_room_event(codec::encode(e));
    REQUIRE(back.ok());
    CHECK(codec::encode(*back) == codec::encode(e));
  }
  CHECK(std::get<room::task_added>(*codec::decode_room_event(codec::encode(added))).limit_type ==
        room::limit_type::date);
  // A version 1 task_added (before tasks posted a message) reads with no message and no names.
  auto v1 = json::from_cbor(codec::encode(added));
  v1["v"] = 1;
  for (const char* k : {"message", "assignee_name", "by_name"}) v1.erase(k);
  auto old_event = codec::decode_room_event(json::to_cbor(v1));
  REQUIRE(old_event.ok());
  const auto& old_task = std::get<room::task_added>(*old_event);
  CHECK_FALSE(old_task.message);
  CHECK(old_task.assignee_name.empty());
  CHECK(old_task.body == "b");
  auto s = run(team(), task_for(alice, {bob, carol}));
  s = run(s, mark(bob, 1, room::task_status::done));
  auto back = codec::decode_room_snapshot(codec::encode_snapshot(s));
  REQUIRE(back.ok());
  CHECK(*back == s);  // open_tasks is recomputed on load
  CHECK(room::mytask_num(*back, carol) == 1);
  auto j = json::from_cbor(codec::encode_snapshot(s));
  // A snapshot from before tasks had a message: tasks of 9 fields, read with none.
  auto old_snapshot = j;
  for (auto& t : old_snapshot["tasks"]) t.erase(t.begin() + 9, t.end());
  auto old_state = codec::decode_room_snapshot(json::to_cbor(old_snapshot));
  REQUIRE(old_state.ok());
  CHECK_FALSE(old_state->tasks.at(task_id{1}).message);
  CHECK(old_state->tasks.at(task_id{1}).body == "do it");
  auto short_task = j;
  short_task["tasks"][0].erase(short_task["tasks"][0].begin() + 10, short_task["tasks"][0].end());
  CHECK_FALSE(codec::decode_room_snapshot(json::to_cbor(short_task)).ok());  // 10 fields
  j["tasks"][0][6] = "maybe";
  CHECK_FALSE(codec::decode_room_snapshot(json::to_cbor(j)).ok());
  // Rows from before tasks read as none.
  auto row = json::parse(read_model::encode(read_model::member_row{room1, role::member, {}, {}}));
  row.erase("mytask_num");
  CHECK(read_model::decode_member_row(row.dump())->mytask_num == 0);
}
