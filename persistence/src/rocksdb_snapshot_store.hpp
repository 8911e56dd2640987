#pragma once
/// Snapshots in the `snapshots` column family: key `entity + '\0' + be64(seq)`, value timestamp +
/// data. Every write is synced, so a saved snapshot survives a crash. Safe from any thread.

#include "hibiki/persistence/snapshot_store.hpp"
#include "rocksdb_database.hpp"

namespace hibiki::persistence {

class rocksdb_snapshot_store final : public snapshot_store {
 public:
  /// `db` must outlive this store.
  explicit rocksdb_snapshot_store(rocksdb_database& db) : db_(db) {}

  status save(const snapshot& s) override;
  result<std::optional<snapshot>> load(const entity_id& entity,
                                       const snapshot_criteria& criteria) override;
  status remove(const entity_id& entity, seq_nr seq) override;
  status remove_matching(const entity_id& entity, const snapshot_criteria& criteria) override;

 private:
  rocksdb_database& db_;
};

}  // namespace hibiki::persistence
