#pragma once
/// Applies journal records of one partition to the local index: events into `journal`, highest
/// and deleted-to into `journal_meta`, the rows into the read-model tables, and the partition's
/// next offset into `journal_offsets`, all in the caller's WriteBatch. Used by the partition's
/// owner both for what it committed itself and for what it catches up on, so the index is the
/// same either way. Applying is idempotent: an event not above the entity's highest is dropped
/// (and logged with both writer ids), a delete_to below deleted-to changes nothing.
///
/// Owner thread only: it caches each entity's meta (every entity of the partition is written by
/// this owner only).

#include <cstdint>
#include <string>
#include <unordered_map>

#include <rocksdb/write_batch.h>

#include "../rocksdb_database.hpp"
#include "../storage_keys.hpp"
#include "kafka_record.hpp"

namespace hibiki::persistence::kafka {

class index_writer {
 public:
  index_writer(rocksdb_database& db, std::string topic, std::int32_t partition);

  /// The entity's meta as the index has it (cached after the first read).
  result<storage::entity_meta> meta(const entity_id& entity);
  /// Adds `rec` to `wb`. Returns false when the record was dropped as a duplicate.
  result<bool> apply(const entity_id& entity, const journal_record& rec, rocksdb::WriteBatch& wb);
  /// Adds the partition's next offset to `wb`.
  void put_next_offset(rocksdb::WriteBatch& wb, std::int64_t next);
  /// Writes `wb` (not synced: Kafka is the truth). On failure the cache is dropped, since it may
  /// be ahead of what is on disk.
  status write(rocksdb::WriteBatch& wb);
  /// The stored next offset (0 when none).
  result<std::int64_t> next_offset();
  void clear_cache() { cache_.clear(); }

  /// `topic + '\0' + be32(partition)`: the key in journal_offsets.
  static std::string offset_key(const std::string& topic, std::int32_t partition);

 private:
  rocksdb_database& db_;
  const std::string topic_;
  const std::int32_t partition_;
  std::unordered_map<entity_id, storage::entity_meta> cache_;
};

}  // namespace hibiki::persistence::kafka
