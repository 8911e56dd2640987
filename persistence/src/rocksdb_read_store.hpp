#pragma once
/// Reads of the read-model column families (one per read_model::table). The rows themselves are
/// written by the journal's writer, in the batch of the events they derive from. Safe from any
/// thread.

#include "hibiki/persistence/read_store.hpp"
#include "rocksdb_database.hpp"

namespace hibiki::persistence {

class rocksdb_read_store final : public read_store {
 public:
  /// `db` must outlive this store.
  explicit rocksdb_read_store(rocksdb_database& db) : db_(db) {}

  result<std::optional<std::string>> get(read_model::table t, std::string_view key) override;
  status scan(read_model::table t, std::string_view from, std::string_view to, std::size_t limit,
              bool reverse,
              const std::function<bool(std::string_view key, std::string_view value)>& fn) override;

 private:
  rocksdb_database& db_;
};

}  // namespace hibiki::persistence
