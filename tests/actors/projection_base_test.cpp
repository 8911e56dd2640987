// room_traits::projection_base gives the projections of an event only what they read of the state
// before it (room_prior.hpp): the member states a post, an edit, a deletion or a read mark may
// change, or, for membership, role and task events, a copy without the room's history. For every
// kind of room event, the read-model rows, the pushes (frame and recipients) and the audit entries
// must be byte for byte those computed from the full state before the event.

#include <catch2/catch.hpp>

#include <set>

#include "entity_traits.hpp"

using namespace hibiki;

namespace {

constexpr account_id alice{1};
constexpr account_id bob{2};
constexpr account_id carol{3};
constexpr account_id dave{4};
constexpr unix_time now = 1'700'000'000;
const std::string webhook_token = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// The event kinds (variant indexes) checked so far, and how many events.
struct coverage {
  std::set<std::size_t> kinds;
  std::size_t events = 0;
  std::size_t without_copy = 0;
};

/// Decides `cmd` on `s`, and checks each event's effects from its prior against those from the
/// full state before it.
void run(room::state& s, const room::command& cmd, coverage& seen) {
  auto decided = room::decide(s, cmd);
  REQUIRE(decided);
  REQUIRE_FALSE(decided->events.empty());
  for (const auto& e : decided->events) {
    ++seen.events;
    seen.kinds.insert(e.index());
    const room::state full = s;
    const room::prior prior = actors::room_traits::projection_base(s, e);
    CHECK(s == full);  // the entity's own state is given back whole
    CHECK(prior.copy.has_value() == room::needs_copy(e));
    if (!prior.copy) ++seen.without_copy;
    const room::state after = room::apply(s, e);

    std::vector<read_model::row_op> full_rows, prior_rows;
    std::vector<actors::push_msg> full_pushes, prior_pushes;
    actors::room_traits::effects(full, e, after, full_rows, full_pushes);
    actors::room_traits::effects(prior, e, after, prior_rows, prior_pushes);
    CHECK(prior_rows == full_rows);
    REQUIRE(prior_pushes.size() == full_pushes.size());
    for (std::size_t i = 0; i < full_pushes.size(); ++i) {
      CHECK(*prior_pushes[i].frame == *full_pushes[i].frame);
      CHECK(prior_pushes[i].recipients == full_pushes[i].recipients);
      CHECK(prior_pushes[i].to_origin == full_pushes[i].to_origin);
    }
    // The core functions the effects are made of agree on their own too.
    CHECK(room::recipients(prior, e, after) == room::recipients(full, e, after));
    CHECK(read_model::project(prior, e, after) == read_model::project(full, e, after));

    std::vector<actors::audit_entry> full_audit, prior_audit;
    actors::room_traits::audit_entries(full, e, full_audit);
    actors::room_traits::audit_entries(prior, e, prior_audit);
    REQUIRE(prior_audit.size() == full_audit.size());
    for (std::size_t i = 0; i < full_audit.size(); ++i) {
      CHECK(prior_audit[i].event == full_audit[i].event);
      CHECK(prior_audit[i].room == full_audit[i].room);
      CHECK(prior_audit[i].account == full_audit[i].account);
      CHECK(prior_audit[i].by == full_audit[i].by);
      CHECK(prior_audit[i].role == full_audit[i].role);
      CHECK(prior_audit[i].from_role == full_audit[i].from_role);
    }
    s = after;
  }
}

const room::member_state& member(const room::state& s, account_id a) {
  const auto* m = s.member(a);
  REQUIRE(m != nullptr);
  return *m;
}

}  // namespace

TEST_CASE("projections from the prior of every kind of room event match the full state before it",
          "[room_entity][projection]") {
  room::state s = actors::room_traits::initial(entity_of(room_id{7}));
  coverage seen;
  run(s, room::create_room{alice, room_id{7}, "team", "about", {bob}, now}, seen);
  run(s, room::add_members{alice, {carol, dave}, role::member}, seen);
  run(s, room::add_members{alice, {dave}, role::readonly}, seen);  // a role change
  run(s, room::add_task{alice, {bob, carol}, "do it", now + 100, room::limit_type::date, now},
      seen);
  for (int i = 0; i < 5; ++i)
    run(s, room::send_message{bob, "hello " + std::to_string(i), "m" + std::to_string(i), now},
        seen);
  // Mentions: carol's pending mentions change with posts, edits, deletions and read marks.
  run(s, room::send_message{alice, "[To:3] carol, look", "mention", now, false, "Alice"}, seen);
  run(s, room::send_message{bob, "[toall] everyone", "all", now, false, "Bob"}, seen);
  run(s, room::send_message{bob, "mine stays unread", "self", now, true}, seen);
  REQUIRE_FALSE(s.mentions.empty());
  REQUIRE_FALSE(member(s, carol).pending_mentions.empty());
  run(s, room::edit_message{bob, message_id{3}, "[To:3] edited", now + 1, "Bob"}, seen);
  run(s, room::edit_message{alice, message_id{7}, "no mention now", now + 1, "Alice"}, seen);
  run(s, room::delete_message{bob, message_id{3}, now + 2}, seen);
  REQUIRE_FALSE(s.deleted.empty());
  run(s, room::mark_read{carol, message_id{8}}, seen);
  REQUIRE(member(s, carol).pending_mentions.empty());
  run(s, room::mark_unread{carol, message_id{4}}, seen);
  REQUIRE_FALSE(member(s, carol).pending_mentions.empty());
  // Shared files: pending, uploaded, hidden with their message, expired, retired and forgotten.
  for (int i = 0; i < 4; ++i)
    run(s,
        room::request_upload{bob, "f" + std::to_string(i) + ".bin", 10, "a/b", 100,
                             "rooms/7/k" + std::to_string(i), now},
        seen);
  REQUIRE(s.files.size() == 4);
  run(s, room::complete_upload{bob, file_id{1}, 10, now, "Bob"}, seen);
  run(s, room::complete_upload{bob, file_id{2}, 10, now, "Bob"}, seen);
  run(s, room::delete_message{bob, s.files.at(file_id{1}).message, now + 3}, seen);
  REQUIRE(s.files.at(file_id{1}).status == room::file_status::hidden);
  run(s, room::retire_file{{}, file_id{4}, s.files.at(file_id{4}).expires_at, 0}, seen);
  REQUIRE(s.files.at(file_id{4}).status == room::file_status::expired);
  run(s, room::forget_file{{}, file_id{1}}, seen);
  REQUIRE(s.files.size() == 3);
  run(s,
      room::create_webhook{
          alice, "https://example.com/hook", {"message_created"}, webhook_token, now},
      seen);
  run(s, room::delete_webhook{alice, webhook_id{1}, now}, seen);
  run(s, room::set_task_status{bob, s.tasks.begin()->first, room::task_status::done, now}, seen);
  run(s, room::update_room{alice, "renamed", std::nullopt, std::nullopt, now}, seen);
  run(s, room::set_members{alice, {alice, carol}, {bob}, {dave}}, seen);
  run(s, room::remove_member{alice, carol}, seen);  // takes carol's task with her
  run(s, room::leave_room{bob}, seen);
  run(s, room::send_message{alice, "after the moves", "late", now}, seen);
  run(s, room::delete_room{alice, now + 20}, seen);  // hides file 2 and the pending file 3
  CHECK(s.files.at(file_id{2}).status == room::file_status::hidden);
  CHECK(s.files.at(file_id{3}).status == room::file_status::hidden);
  // Every kind of room event was checked, most of them without a copy.
  CHECK(seen.kinds.size() == std::variant_size_v<room::event>);
  CHECK(seen.without_copy > seen.events / 2);
}
