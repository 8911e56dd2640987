/// room::prior: the part of the state before an event that its projections read (room_prior.hpp).

#include "hibiki/core/room_prior.hpp"

#include <algorithm>
#include <set>

namespace hibiki::room {

namespace {

/// The state minus its history-sized parts, with `s` given back whole.
state copy_without_history(state& s) {
  auto messages = std::exchange(s.messages, {});
  auto deleted = std::exchange(s.deleted, {});
  auto mentions = std::exchange(s.mentions, {});
  auto window = std::exchange(s.dedupe, {});
  auto order = std::exchange(s.dedupe_order, {});
  auto files = std::exchange(s.files, {});
  state copy = s;
  s.files = std::move(files);
  s.messages = std::move(messages);
  s.deleted = std::move(deleted);
  s.mentions = std::move(mentions);
  s.dedupe = std::move(window);
  s.dedupe_order = std::move(order);
  return copy;
}

/// The accounts whose member state room::apply(s, e) may change, for an event that does not need
/// a copy (room_apply.cpp is the reference: a post moves its author's cursor and adds pending
/// mentions; an edit or a deletion takes the message out of anyone's pending mentions; a read
/// or unread mark moves one cursor; the other events leave the members alone).
std::set<account_id> changed_members(const state& s, const event& e) {
  std::set<account_id> out;
  if (const auto* p = std::get_if<message_posted>(&e)) {
    out.insert(p->author);
    out.insert(p->mentions.begin(), p->mentions.end());
  } else if (const auto* ed = std::get_if<message_edited>(&e)) {
    out.insert(ed->mentions.begin(), ed->mentions.end());
    for (const auto& [a, m] : s.members)
      if (std::binary_search(m.pending_mentions.begin(), m.pending_mentions.end(), ed->id))
        out.insert(a);
  } else if (const auto* d = std::get_if<message_deleted>(&e)) {
    for (const auto& [a, m] : s.members)
      if (std::binary_search(m.pending_mentions.begin(), m.pending_mentions.end(), d->id))
        out.insert(a);
  } else if (const auto* r = std::get_if<read_marked>(&e)) {
    out.insert(r->account);
  } else if (const auto* u = std::get_if<unread_marked>(&e)) {
    out.insert(u->account);
  }
  return out;
}

}  // namespace

bool needs_copy(const event& e) {
  return std::holds_alternative<room_created>(e) || std::holds_alternative<member_added>(e) ||
         std::holds_alternative<member_removed>(e) || std::holds_alternative<room_deleted>(e) ||
         std::holds_alternative<task_added>(e) || std::holds_alternative<task_status_changed>(e);
}

prior take_prior(state& s, const event& e) {
  prior p;
  if (needs_copy(e)) {
    p.copy = copy_without_history(s);
    return p;
  }
  for (const auto a : changed_members(s, e))
    if (const auto* m = s.member(a)) p.members.emplace_back(a, *m);
  return p;
}

std::vector<account_id> recipients(const prior& before, const event& e, const state& after) {
  if (before.copy) return recipients(*before.copy, e, after);
  if (const auto* r = std::get_if<read_marked>(&e)) return {r->account};
  if (const auto* u = std::get_if<unread_marked>(&e)) return {u->account};
  // The event added and removed nobody: the members before are the members after.
  std::vector<account_id> out;
  out.reserve(after.members.size());
  for (const auto& [a, m] : after.members) out.push_back(a);
  return out;
}

}  // namespace hibiki::room
