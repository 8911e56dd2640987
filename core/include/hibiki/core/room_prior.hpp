#pragma once
/// What the projections of one room event read of the state before it, taken without copying the
/// room state for the frequent events. The read-model rows, the push (frame and recipients) and
/// the audit entries of an event need the state before it only where the event changed it: a post
/// changes its author's read cursor and the pending mentions of the members it mentions, and
/// nothing else a projection reads (the members, their roles, the tasks, the room's id). So for
/// those events the prior holds the few member states the event may change, as they were, and the
/// projections take the rest from the state after. Events that change membership, roles or tasks
/// (rare) keep a copy of the state before them, minus what grows with the room's history.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hibiki/core/read_model.hpp"
#include "hibiki/core/room.hpp"

namespace hibiki::room {

struct prior {
  /// The state before the event without its messages, deleted ids, mentions, files and
  /// idempotency window (no projection reads those from before), for the events that add, remove
  /// or re-role members, or change tasks. Empty for every other event.
  std::optional<state> copy;
  /// When `copy` is empty: the members the event may change, as they were before it, ascending by
  /// account and without duplicates. Every other member is the same before and after the event.
  std::vector<std::pair<account_id, member_state>> members;
};

/// True for the events whose projections read a copy of the state before them (room_created,
/// member_added, member_removed, room_deleted, task_added, task_status_changed).
bool needs_copy(const event& e);

/// The prior of `e`, taken from `s` before `e` is applied to it. `s` is given back as it was (it
/// is not const so that the history can be set aside while the rest is copied).
prior take_prior(state& s, const event& e);

/// room::recipients with the state before given as its prior: the same accounts.
std::vector<account_id> recipients(const prior& before, const event& e, const state& after);

}  // namespace hibiki::room

namespace hibiki::read_model {

/// read_model::project with the state before given as its prior: the same row operations.
std::vector<row_op> project(const room::prior& before, const room::event& e,
                            const room::state& after);

}  // namespace hibiki::read_model
