#include "rocksdb_database.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>

namespace hibiki::persistence {

error storage_error(const rocksdb::Status& s, std::string_view what) {
  return error{errc::unavailable, std::string(what) + ": " + s.ToString()};
}

result<std::unique_ptr<rocksdb_database>> rocksdb_database::open(const rocksdb_options& options) {
  if (options.path.empty()) return error{errc::bad_request, "rocksdb path is empty"};
  std::error_code ec;
  std::filesystem::create_directories(options.path, ec);
  if (ec) return error{errc::unavailable, "cannot create " + options.path + ": " + ec.message()};

  // One block cache shared by every column family, so the memory bound is the option's value.
  rocksdb::BlockBasedTableOptions table_options;
  table_options.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options));
  // Memtables are bounded as a whole (db_write_buffer_size below); one family may take a quarter.
  cf_options.write_buffer_size = std::max<std::size_t>(options.write_buffer_bytes / 4, 1 << 20);

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.IncreaseParallelism(2);
  db_options.db_write_buffer_size = options.write_buffer_bytes;

  std::vector<std::string> names = {rocksdb::kDefaultColumnFamilyName, journal_cf_name,
                                    journal_meta_cf_name, snapshots_cf_name};
  names.insert(names.end(), table_cf_names.begin(), table_cf_names.end());
  names.push_back(journal_offsets_cf_name);
  names.push_back(feed_cf_name);
  // A database written by a newer version may hold column families we do not know; RocksDB only
  // opens a database when every existing family is listed, so add them too.
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(db_options, options.path, &existing).ok()) {
    for (const auto& name : existing) {
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& name : names) descriptors.emplace_back(name, cf_options);

  std::unique_ptr<rocksdb_database> out(new rocksdb_database());
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(db_options, options.path, descriptors, &out->handles_, &raw);
  if (!s.ok()) return storage_error(s, "cannot open " + options.path);
  out->db_.reset(raw);
  out->journal_ = out->handles_[1];
  out->journal_meta_ = out->handles_[2];
  out->snapshots_ = out->handles_[3];
  for (std::size_t i = 0; i < table_cf_names.size(); ++i) out->tables_[i] = out->handles_[4 + i];
  out->journal_offsets_ = out->handles_[4 + table_cf_names.size()];
  out->feed_ = out->handles_[5 + table_cf_names.size()];
  if (options.metrics) out->report_memory(*options.metrics, table_options.block_cache);
  return out;
}

void rocksdb_database::report_memory(metrics::registry& registry,
                                     std::shared_ptr<rocksdb::Cache> block_cache) {
  memory_collector_ = registry.add_collector([this, cache = std::move(block_cache)](auto& r) {
    std::uint64_t bytes = 0;
    if (db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kCurSizeAllMemTables, &bytes))
      r.set_rocksdb_memory("memtables", bytes);
    // One cache shared by every family: ask it, not the per-family property (counted N times).
    r.set_rocksdb_memory("block_cache", cache->GetUsage());
    if (db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kEstimateTableReadersMem, &bytes))
      r.set_rocksdb_memory("table_readers", bytes);
  });
}

rocksdb_database::~rocksdb_database() {
  // Before the handles go: waits for a scrape reading them.
  memory_collector_.reset();
  if (!db_) return;
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  db_->Close().PermitUncheckedError();
}

rocksdb::ColumnFamilyHandle* rocksdb_database::table_cf(read_model::table t) {
  const auto i = static_cast<std::size_t>(t);
  return i < tables_.size() ? tables_[i] : nullptr;
}

}  // namespace hibiki::persistence
