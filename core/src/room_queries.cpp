/// Read-only questions about a room state: counts and who receives a push.

#include <algorithm>
#include <set>

#include "hibiki/core/room.hpp"

namespace hibiki::room {

namespace {

/// Deleted messages after `cursor` (`deleted` is ascending).
std::size_t deleted_after(const state& s, message_id cursor) {
  return static_cast<std::size_t>(s.deleted.end() -
                                  std::upper_bound(s.deleted.begin(), s.deleted.end(), cursor));
}

}  // namespace

unix_time last_update_time(const state& s) {
  if (s.messages.empty()) return s.created_at;
  const auto& newest = s.messages.back();
  return std::max({s.created_at, newest.send_time, newest.update_time});
}

std::size_t unread_num(const state& s, account_id account) {
  const auto* m = s.member(account);
  if (m == nullptr || m->read_up_to >= s.last_message()) return 0;
  return (s.last_message().value - m->read_up_to.value) - deleted_after(s, m->read_up_to);
}

std::size_t mention_num(const state& s, account_id account) {
  const auto* m = s.member(account);
  if (m == nullptr) return 0;
  return static_cast<std::size_t>(
      std::count_if(m->pending_mentions.begin(), m->pending_mentions.end(), [&](message_id id) {
        return id > m->read_up_to && !std::binary_search(s.deleted.begin(), s.deleted.end(), id);
      }));
}

std::size_t message_num(const state& s) {
  return s.messages.size() - s.deleted.size();
}

std::size_t task_num(const state& s) {
  std::size_t n = 0;
  for (const auto& [a, open] : s.open_tasks) n += open;
  return n;
}

std::size_t mytask_num(const state& s, account_id account) {
  auto it = s.open_tasks.find(account);
  return it == s.open_tasks.end() ? 0 : it->second;
}

void count_open_tasks(state& s) {
  s.open_tasks.clear();
  for (const auto& [id, t] : s.tasks)
    if (t.status == task_status::open) ++s.open_tasks[t.assignee];
}

std::vector<account_id> recipients(const state& before, const event& e, const state& after) {
  if (const auto* r = std::get_if<read_marked>(&e)) return {r->account};
  if (const auto* u = std::get_if<unread_marked>(&e)) return {u->account};
  std::set<account_id> all;
  for (const auto& [a, m] : before.members) all.insert(a);
  for (const auto& [a, m] : after.members) all.insert(a);
  return {all.begin(), all.end()};
}

}  // namespace hibiki::room
