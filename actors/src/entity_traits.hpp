#pragma once
/// The three kinds of event-sourced entity (room, user, id allocator) as traits the generic
/// entity actor and shard region are written against. Each traits struct adapts one pure
/// aggregate of core: its rules (decide/apply), codec, projection, pushes and reply fields.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "context.hpp"
#include "hibiki/core/codec.hpp"
#include "hibiki/core/command_codec.hpp"
#include "hibiki/core/log.hpp"
#include "hibiki/core/read_model.hpp"
#include "hibiki/core/room.hpp"
#include "hibiki/core/room_prior.hpp"
#include "hibiki/core/user.hpp"
#include "messages.hpp"

namespace hibiki::actors {

/// What a command decided: events to persist, or (without events) a reply given at once.
template <class Event>
struct plan {
  std::vector<Event> events;
  std::optional<command_reply> immediate;
};

/// An entity's state as recovered from storage.
template <class State>
struct recovery {
  State state;
  seq_nr journal_seq = 0;   ///< the journal seq of the last event folded in
  seq_nr snapshot_seq = 0;  ///< the seq of the snapshot it started from (0 = none)
};

/// Latest snapshot plus the events after it. Blocking: runs on the io executor only.
///
/// A snapshot that cannot be read (the store fails, or its bytes do not decode) is skipped: the
/// state is rebuilt from every event instead, which is slower but the same, since entities never
/// delete their events. If the journal does not start at seq 1 (a prefix was deleted), the events
/// alone cannot give the state: the recovery fails with `unavailable`, naming both causes.
template <class Traits>
result<recovery<typename Traits::state>> recover_from_storage(const node_context& ctx,
                                                              const entity_id& id) {
  recovery<typename Traits::state> out{Traits::initial(id)};
  std::optional<hibiki::error> unreadable;
  auto snap = ctx.deps.snapshots->load(id, persistence::snapshot_criteria{});
  if (!snap) {
    unreadable = snap.error();
  } else if (snap->has_value()) {
    auto decoded = Traits::decode_snapshot((*snap)->data);
    if (decoded) {
      out.state = std::move(*decoded);
      out.journal_seq = out.snapshot_seq = (*snap)->meta.seq;
    } else {
      unreadable = decoded.error();
    }
  }
  if (unreadable)
    log::warn("entity") << id << ": snapshot unreadable (" << unreadable->message
                        << "), recovering from its events";
  std::optional<hibiki::error> bad;
  seq_nr first = 0;
  auto st = ctx.deps.journal->replay(id, out.journal_seq + 1, persistence::max_seq, UINT64_MAX,
                                     [&](const persistence::persisted_event& pe) {
                                       if (bad) return;
                                       if (first == 0) first = pe.seq;
                                       auto e = Traits::decode(pe.payload);
                                       if (!e) {
                                         bad = e.error();
                                         return;
                                       }
                                       out.state = Traits::apply(std::move(out.state), *e);
                                       out.journal_seq = pe.seq;
                                     });
  if (!st) return st.error();
  if (bad) return *bad;
  // Appends continue after the highest seq ever written, even if the tail was deleted.
  auto high = ctx.deps.journal->highest_seq(id);
  if (!high) return high.error();
  if (unreadable && *high > 0 && first != 1)
    return hibiki::error{errc::unavailable, "snapshot of " + id + " unreadable (" +
                                                unreadable->message +
                                                ") and its events before seq " +
                                                std::to_string(first == 0 ? *high + 1 : first) +
                                                " were deleted: cannot recover"};
  if (*high > out.journal_seq) out.journal_seq = *high;
  return out;
}

// ---- audit --------------------------------------------------------------------------------------

/// A membership or role change for the audit log. Taken when its event is decided (the state
/// before tells an added member from a role change) and written only once the event is durable:
/// a change whose append failed never happened.
struct audit_entry {
  /// room_created, member_added, role_changed, member_removed, member_left.
  std::string_view event;
  std::uint64_t room = 0;
  std::uint64_t account = 0;   ///< the member concerned (the creator for room_created)
  std::uint64_t by = 0;        ///< who did it
  std::string_view role;       ///< the role after (not for removals)
  std::string_view from_role;  ///< role_changed only
};
void write_audit(const audit_entry& entry);

// ---- room ---------------------------------------------------------------------------------------

struct room_traits {
  using state = room::state;
  using command = room::command;
  using event = room::event;
  static constexpr bool snapshots = true;
  static constexpr entity_kind kind = entity_kind::room;
  /// "room-"; a forwarded command for another kind of entity is refused.
  static constexpr std::string_view id_prefix = "room-";

  static state initial(const entity_id& id);
  static result<plan<event>> decide(const state& s, const command& cmd);
  static state apply(state s, const event& e) { return room::apply(std::move(s), e); }
  /// What the projections of `e` read of the state before it (room_prior.hpp): for a post, an
  /// edit, a read mark and the other frequent events, only the few member states the event may
  /// change; a copy of the state without its history for the rare events that change membership,
  /// roles or tasks. Copying the room per event made every post cost a copy of its members.
  /// tests/actors/projection_base_test.cpp checks the effects of every kind of room event are the
  /// same as with the full state before it.
  static room::prior projection_base(state& s, const event& e) { return room::take_prior(s, e); }
  static codec::bytes encode(const event& e) { return codec::encode(e); }
  static result<event> decode(std::span<const std::uint8_t> b) {
    return codec::decode_room_event(b);
  }
  static codec::bytes encode_snapshot(const state& s) { return codec::encode_snapshot(s); }
  static result<state> decode_snapshot(std::span<const std::uint8_t> b) {
    return codec::decode_room_snapshot(b);
  }
  /// What a snapshot's cost grows with: the entries it holds (see entity_actor::maybe_snapshot).
  static std::size_t snapshot_size(const state& s) {
    return s.messages.size() + s.deleted.size() + s.mentions.size() + s.tasks.size() +
           s.members.size() + s.dedupe_order.size();
  }
  /// The read-model rows and the pushes one event causes, from the state before it or its prior.
  static void effects(const state& before, const event& e, const state& after,
                      std::vector<read_model::row_op>& rows, std::vector<push_msg>& pushes);
  static void effects(const room::prior& before, const event& e, const state& after,
                      std::vector<read_model::row_op>& rows, std::vector<push_msg>& pushes);
  static nlohmann::json reply_fields(const command& cmd, const std::vector<event>& events,
                                     const state& after);
  /// The audit entries of a membership or role change (none for other events).
  static void audit_entries(const state& before, const event& e, std::vector<audit_entry>& out);
  static void audit_entries(const room::prior& before, const event& e,
                            std::vector<audit_entry>& out);
  static result<recovery<state>> recover(const node_context& ctx, const entity_id& id) {
    return recover_from_storage<room_traits>(ctx, id);
  }
  /// The command as JSON text (core's command codec): the oracle of the wire round-trip tests.
  static std::string encode_command(const command& c) { return codec::encode_command(c); }
  static result<command> decode_command(std::string_view text) {
    return codec::decode_room_command(text);
  }
};

// ---- user ---------------------------------------------------------------------------------------

struct user_traits {
  using state = user::state;
  using command = user::command;
  using event = user::event;
  static constexpr bool snapshots = true;
  static constexpr entity_kind kind = entity_kind::user;
  static constexpr std::string_view id_prefix = "user-";

  static state initial(const entity_id& id);
  static result<plan<event>> decide(const state& s, const command& cmd);
  static state apply(state s, const event& e) { return user::apply(std::move(s), e); }
  static state projection_base(state& s, const event&) { return s; }
  static codec::bytes encode(const event& e) { return codec::encode(e); }
  static result<event> decode(std::span<const std::uint8_t> b) {
    return codec::decode_user_event(b);
  }
  static codec::bytes encode_snapshot(const state& s) { return codec::encode_snapshot(s); }
  static result<state> decode_snapshot(std::span<const std::uint8_t> b) {
    return codec::decode_user_snapshot(b);
  }
  static void effects(const state& before, const event& e, const state& after,
                      std::vector<read_model::row_op>& rows, std::vector<push_msg>& pushes);
  static nlohmann::json reply_fields(const command& cmd, const std::vector<event>& events,
                                     const state& after);
  static result<recovery<state>> recover(const node_context& ctx, const entity_id& id) {
    return recover_from_storage<user_traits>(ctx, id);
  }
  static std::string encode_command(const command& c) { return codec::encode_command(c); }
  static result<command> decode_command(std::string_view text) {
    return codec::decode_user_command(text);
  }
};

/// Chatwork's `me` of an account: account_id, room_id (its `my` room; 0 until it has one), name,
/// chatwork_id, organization_name, department, title, introduction.
nlohmann::json me_fields(const user::state& s);

// ---- id allocator -------------------------------------------------------------------------------

/// Hands out dense ids from 1: the id is the journal seq of the allocation event, so it is durable
/// once the append is, and recovery is one `highest_seq` lookup.
struct id_state {
  std::uint64_t highest = 0;
  friend bool operator==(const id_state&, const id_state&) = default;
};
struct allocate_id {};
/// Asks for the highest id allocated (and durable): account n exists iff n <= highest.
struct peek_ids {};
using id_command = std::variant<allocate_id, peek_ids>;
struct id_allocated {};

struct id_traits {
  using state = id_state;
  using command = id_command;
  using event = id_allocated;
  static constexpr bool snapshots = false;
  static constexpr entity_kind kind = entity_kind::ids;
  static constexpr std::string_view id_prefix = "ids-";

  static state initial(const entity_id&) { return {}; }
  static result<plan<event>> decide(const state& s, const command& cmd);
  static state apply(state s, const event&) {
    ++s.highest;
    return s;
  }
  static state projection_base(state& s, const event&) { return s; }
  static codec::bytes encode(const event& e);
  static result<event> decode(std::span<const std::uint8_t> b);
  static codec::bytes encode_snapshot(const state& s);
  static result<state> decode_snapshot(std::span<const std::uint8_t> b);
  static void effects(const state&, const event&, const state&, std::vector<read_model::row_op>&,
                      std::vector<push_msg>&) {}
  static nlohmann::json reply_fields(const command& cmd, const std::vector<event>& events,
                                     const state& after);
  static result<recovery<state>> recover(const node_context& ctx, const entity_id& id);
  /// {"t": "ids.allocate"} or {"t": "ids.peek"}; anything else is bad_request.
  static std::string encode_command(const command& c);
  static result<command> decode_command(std::string_view text);
};

}  // namespace hibiki::actors
