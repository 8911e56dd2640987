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
  auto d = room::decide(s, task_for(alice, {bob, carol, bob}));
  REQUIRE(d);
  REQUIRE(d->events.size() == 2);
  const auto& t1 = std::get<room::task_added>(d->events[0]);
  CHECK(t1.id == task_id{1});
  CHECK(t1.assignee == bob);
  CHECK(t1.by == alice);
  CHECK(std::get<room::task_added>(d->events[1]).id == task_id{2});
  s = run(s, task_for(alice, {bob, carol}));
  CHECK(s.tasks.size() == 2);
  CHECK(room::task_num(s) == 2);
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
             {"account", {{"account_id", 2}}},
             {"assigned_by_account", {{"account_id", 1}}},
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
  auto s0 = team();
  auto d = room::decide(s0, task_for(alice, {bob}));
  auto s1 = room::apply(s0, d->events[0]);
  auto frame = read_model::push_frame(s0, d->events[0], s1);
  REQUIRE(frame);
  CHECK((*frame)["ev"] == "task_added");
  CHECK((*frame)["seq"] == s1.seq);
  CHECK((*frame)["task"]["account"]["account_id"] == 2);
  const auto ops = read_model::project(s0, d->events[0], s1);
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
}

TEST_CASE("task events, commands and snapshots round-trip", "[room][task][codec]") {
  const room::event added =
      room::task_added{task_id{4}, bob, alice, "b", 1800000000, room::limit_type::date, 5};
  const room::event changed =
      room::task_status_changed{task_id{4}, room::task_status::done, bob, 6};
  for (const auto& e : {added, changed}) {
    auto back = codec::decode_room_event(codec::encode(e));
    REQUIRE(back.ok());
    CHECK(codec::encode(*back) == codec::encode(e));
  }
  CHECK(std::get<room::task_added>(*codec::decode_room_event(codec::encode(added))).limit_type ==
        room::limit_type::date);
  auto s = run(team(), task_for(alice, {bob, carol}));
  s = run(s, mark(bob, 1, room::task_status::done));
  auto back = codec::decode_room_snapshot(codec::encode_snapshot(s));
  REQUIRE(back.ok());
  CHECK(*back == s);  // open_tasks is recomputed on load
  CHECK(room::mytask_num(*back, carol) == 1);
  auto j = json::from_cbor(codec::encode_snapshot(s));
  j["tasks"][0][6] = "maybe";
  CHECK_FALSE(codec::decode_room_snapshot(json::to_cbor(j)).ok());
  // Rows from before tasks read as none.
  auto row = json::parse(read_model::encode(read_model::member_row{room1, role::member, {}, {}}));
  row.erase("mytask_num");
  CHECK(read_model::decode_member_row(row.dump())->mytask_num == 0);
}
