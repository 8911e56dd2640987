#pragma once
/// The Kafka journal as the node sees it: routes each write to its entity's partition owner and
/// answers reads from the local index, but only while that partition is ready.

#include <memory>
#include <vector>

#include "../rocksdb_database.hpp"
#include "hibiki/persistence/journal.hpp"
#include "partition_owner.hpp"

namespace hibiki::persistence::kafka {

class kafka_journal final : public journal {
 public:
  /// Everything borrowed must outlive the journal.
  kafka_journal(const owner_context& ctx, std::vector<std::unique_ptr<partition_owner>>& owners)
      : ctx_(ctx), owners_(owners) {}

  void async_append(append_request req, append_callback done) override;
  status replay(const entity_id& entity, seq_nr from, seq_nr to, std::uint64_t max,
                const std::function<void(const persisted_event&)>& fn) override;
  result<seq_nr> highest_seq(const entity_id& entity) override;
  status delete_to(const entity_id& entity, seq_nr to) override;

 private:
  partition_owner& owner_of(const entity_id& entity);
  /// ok when the entity's partition serves reads.
  status readable(const entity_id& entity);

  const owner_context& ctx_;
  std::vector<std::unique_ptr<partition_owner>>& owners_;
};

}  // namespace hibiki::persistence::kafka
