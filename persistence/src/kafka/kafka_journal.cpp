#include "kafka_journal.hpp"

#include <future>

#include "../journal_index.hpp"
#include "../storage_keys.hpp"
#include "hibiki/core/shard.hpp"

namespace hibiki::persistence::kafka {

partition_owner& kafka_journal::owner_of(const entity_id& entity) {
  return *owners_[static_cast<std::size_t>(shard_of(entity, ctx_.partition_count))];
}

status kafka_journal::readable(const entity_id& entity) {
  if (auto s = storage::check_entity(entity); !s) return s;
  auto& owner = owner_of(entity);
  if (owner.ready()) return {};
  // Clustered: a followed partition is read from the index as far as the follower got (the
  // read barrier, shard_control::await_indexed, says how far that is).
  if (ctx_.options.cluster && owner.snapshot().state == "following") return {};
  const auto st = owner.snapshot();
  return {errc::unavailable, "journal partition " + std::to_string(st.partition) + " is " +
                                 st.state + (st.last_error.empty() ? "" : ": " + st.last_error)};
}

void kafka_journal::async_append(append_request req, append_callback done) {
  if (auto s = storage::check_entity(req.entity); !s) {
    ++ctx_.counters->rejected;
    ctx_.runner->post([done = std::move(done), s] {
      if (done) done(s);
    });
    return;
  }
  auto& owner = owner_of(req.entity);
  owner.submit(partition_owner::job{std::move(req), false, 0, std::move(done)});
}

status kafka_journal::replay(const entity_id& entity, seq_nr from, seq_nr to, std::uint64_t max,
                             const std::function<void(const persisted_event&)>& fn) {
  if (auto s = readable(entity); !s) return s;
  return index::replay(*ctx_.db, entity, from, to, max, fn);
}

result<seq_nr> kafka_journal::highest_seq(const entity_id& entity) {
  if (auto s = readable(entity); !s) return s.error();
  return index::highest_seq(*ctx_.db, entity);
}

status kafka_journal::delete_to(const entity_id& entity, seq_nr to) {
  if (auto s = storage::check_entity(entity); !s) return s;
  if (to == 0) return {};
  auto done = std::make_shared<std::promise<status>>();
  auto result = done->get_future();
  partition_owner::job j;
  j.req.entity = entity;
  j.is_delete = true;
  j.delete_to = to;
  j.done = [done](status s) { done->set_value(std::move(s)); };
  owner_of(entity).submit(std::move(j));
  return result.get();
}

}  // namespace hibiki::persistence::kafka
