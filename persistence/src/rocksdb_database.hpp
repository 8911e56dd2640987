#pragma once
/// The one RocksDB database of the embedded backend and its column families. Owned by the backend;
/// the journal, snapshot store and read store borrow it. RocksDB handles are thread-safe, so every
/// thread may read through it; only the journal's writer thread writes the journal CFs.

#include <array>
#include <memory>
#include <string>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>

#include "hibiki/core/read_model.hpp"
#include "hibiki/core/result.hpp"
#include "hibiki/metrics/registry.hpp"
#include "hibiki/persistence/rocksdb_backend.hpp"

namespace hibiki::persistence {

/// Column family names. The read-model ones match read_model::table_name (kept here as literals
/// so the storage layout is visible in one place and cannot drift with a rename in core).
inline constexpr const char* journal_cf_name = "journal";
inline constexpr const char* journal_meta_cf_name = "journal_meta";
inline constexpr const char* snapshots_cf_name = "snapshots";
/// Kafka backend only: per journal partition, the next offset its index will read.
inline constexpr const char* journal_offsets_cf_name = "journal_offsets";
/// Embedded backend only: the feed (rocksdb_feed.hpp), be64 global sequence -> journal key.
inline constexpr const char* feed_cf_name = "feed";
inline constexpr std::array<const char*, read_model::table_count> table_cf_names = {
    "history",       "room_events", "room_summary",     "member_rooms", "accounts",   "tokens",
    "account_tasks", "contacts",    "contact_requests", "room_files",   "file_chores"};

class rocksdb_database {
 public:
  static result<std::unique_ptr<rocksdb_database>> open(const rocksdb_options& options);
  ~rocksdb_database();
  rocksdb_database(const rocksdb_database&) = delete;
  rocksdb_database& operator=(const rocksdb_database&) = delete;

  rocksdb::DB& db() { return *db_; }
  rocksdb::ColumnFamilyHandle* journal_cf() { return journal_; }
  rocksdb::ColumnFamilyHandle* journal_meta_cf() { return journal_meta_; }
  rocksdb::ColumnFamilyHandle* snapshots_cf() { return snapshots_; }
  /// Key `topic + '\0' + be32(partition)`, value be64(next offset). Empty for the embedded backend.
  rocksdb::ColumnFamilyHandle* journal_offsets_cf() { return journal_offsets_; }
  /// Key be64(offset), value (be64 seq, entity): the feed's pointer to one journal event. Empty
  /// for the Kafka backend (its feed is the topic).
  rocksdb::ColumnFamilyHandle* feed_cf() { return feed_; }
  /// RocksDB's default family: small bookkeeping records (the feed's back-fill mark).
  rocksdb::ColumnFamilyHandle* default_cf() { return handles_[0]; }
  /// nullptr for a value outside the enum.
  rocksdb::ColumnFamilyHandle* table_cf(read_model::table t);

 private:
  rocksdb_database() = default;
  /// Sets hibiki_rocksdb_memory_bytes at each scrape, until this database is destroyed.
  void report_memory(metrics::registry& registry, std::shared_ptr<rocksdb::Cache> block_cache);

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // all of them, destroyed before db_
  rocksdb::ColumnFamilyHandle* journal_ = nullptr;
  rocksdb::ColumnFamilyHandle* journal_meta_ = nullptr;
  rocksdb::ColumnFamilyHandle* snapshots_ = nullptr;
  rocksdb::ColumnFamilyHandle* journal_offsets_ = nullptr;
  rocksdb::ColumnFamilyHandle* feed_ = nullptr;
  std::array<rocksdb::ColumnFamilyHandle*, read_model::table_count> tables_{};
  metrics::collector_handle memory_collector_;
};

/// Converts a failed RocksDB status into the error callers see: storage trouble is `unavailable`.
error storage_error(const rocksdb::Status& s, std::string_view what);

}  // namespace hibiki::persistence
