// room_traits::projection_base leaves the room's history (messages, deleted ids, mentions, shared
// files) and its idempotency window out of the copy of the state before an event: the read-model
// rows, the pushes (frame and recipients) and the audit entries of every kind of room event must be
// the same as with the full state.

#include <catch2/catch.hpp>

#include "entity_traits.hpp"

using namespace hibiki;

namespace {

constexpr account_id alice{1};
constexpr account_id bob{2};
constexpr account_id carol{3};
constexpr unix_time now = 1'700'000'000;

/// Decides `cmd` on `s`, and checks each event's effects against the full state before it.
void run(room::state& s, const room::command& cmd, std::size_t& events) {
  auto decided = room::decide(s, cmd);
  REQUIRE(decided);
  for (const auto& e : decided->events) {
    ++events;
    const room::state full = s;
    const room::state base = actors::room_traits::projection_base(s);
    CHECK(s == full);  // the entity's own state is given back whole
    const room::state after = room::apply(s, e);

    std::vector<read_model::row_op> full_rows, base_rows;
    std::vector<actors::push_msg> full_pushes, base_pushes;
    actors::room_traits::effects(full, e, after, full_rows, full_pushes);
    actors::room_traits::effects(base, e, after, base_rows, base_pushes);
    CHECK(base_rows == full_rows);
    REQUIRE(base_pushes.size() == full_pushes.size());
    for (std::size_t i = 0; i < full_pushes.size(); ++i) {
      CHECK(*base_pushes[i].frame == *full_pushes[i].frame);
      CHECK(base_pushes[i].recipients == full_pushes[i].recipients);
      CHECK(base_pushes[i].to_origin == full_pushes[i].to_origin);
    }

    std::vector<actors::audit_entry> full_audit, base_audit;
    actors::room_traits::audit_entries(full, e, full_audit);
    actors::room_traits::audit_entries(base, e, base_audit);
    REQUIRE(base_audit.size() == full_audit.size());
    for (std::size_t i = 0; i < full_audit.size(); ++i) {
      CHECK(base_audit[i].event == full_audit[i].event);
      CHECK(base_audit[i].room == full_audit[i].room);
      CHECK(base_audit[i].account == full_audit[i].account);
      CHECK(base_audit[i].by == full_audit[i].by);
      CHECK(base_audit[i].role == full_audit[i].role);
      CHECK(base_audit[i].from_role == full_audit[i].from_role);
    }
    s = after;
  }
}

}  // namespace

TEST_CASE("projections see the same rows, pushes and audit entries without the room's history",
          "[room_entity][projection]") {
  room::state s = actors::room_traits::initial(entity_of(room_id{7}));
  std::size_t events = 0;
  run(s, room::create_room{alice, room_id{7}, "team", "about", {bob}, now}, events);
  run(s, room::add_members{alice, {carol}, role::member}, events);
  for (int i = 0; i < 5; ++i)
    run(s, room::send_message{bob, "hello " + std::to_string(i), "m" + std::to_string(i), now},
        events);
  run(s, room::send_message{alice, "[To:3] carol, look", "mention", now, false, "Alice"}, events);
  run(s, room::send_message{bob, "mine stays unread", "self", now, true}, events);
  REQUIRE(s.messages.size() == 7);
  REQUIRE_FALSE(s.mentions.empty());
  run(s, room::edit_message{bob, message_id{2}, "edited", now + 1, "Bob"}, events);
  run(s, room::delete_message{bob, message_id{3}, now + 2}, events);
  REQUIRE_FALSE(s.deleted.empty());
  // Shared files: pending, uploaded, hidden with their message, retired and forgotten.
  for (int i = 0; i < 3; ++i)
    run(s,
        room::request_upload{bob, "f" + std::to_string(i) + ".bin", 10, "a/b", 100,
                             "rooms/7/k" + std::to_string(i), now},
        events);
  REQUIRE(s.files.size() == 3);
  run(s, room::complete_upload{bob, file_id{1}, 10, now, "Bob"}, events);
  run(s, room::complete_upload{bob, file_id{2}, 10, now, "Bob"}, events);
  run(s, room::delete_message{bob, s.files.at(file_id{1}).message, now + 3}, events);
  REQUIRE(s.files.at(file_id{1}).status == room::file_status::hidden);
  run(s, room::retire_file{{}, file_id{1}, now + 10, 0}, events);
  run(s, room::forget_file{{}, file_id{1}}, events);
  REQUIRE(s.files.size() == 2);
  run(s, room::mark_read{carol, message_id{6}}, events);
  run(s, room::mark_unread{carol, message_id{4}}, events);
  run(s, room::add_task{alice, {bob, carol}, "do it", now + 100, room::limit_type::date, now},
      events);
  run(s, room::set_task_status{bob, s.tasks.begin()->first, room::task_status::done, now}, events);
  run(s, room::update_room{alice, "renamed", std::nullopt, std::nullopt, now}, events);
  run(s, room::set_members{alice, {alice, carol}, {bob}, {}}, events);
  run(s, room::remove_member{alice, carol}, events);
  run(s, room::leave_room{bob}, events);
  run(s, room::delete_room{alice, now + 20}, events);  // hides file 2 and the pending file 3
  CHECK(s.files.at(file_id{2}).status == room::file_status::hidden);
  CHECK(s.files.at(file_id{3}).status == room::file_status::hidden);
  CHECK(events >= 25);
}
