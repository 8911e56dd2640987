#include "rocksdb_read_store.hpp"

#include <memory>

#include <rocksdb/iterator.h>

namespace hibiki::persistence {

result<std::optional<std::string>> rocksdb_read_store::get(read_model::table t,
                                                           std::string_view key) {
  auto* cf = db_.table_cf(t);
  if (!cf) return error{errc::bad_request, "unknown read-model table"};
  std::string value;
  auto s = db_.db().Get(rocksdb::ReadOptions(), cf, rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>{};
  if (!s.ok()) return storage_error(s, "read-model get failed");
  return std::optional<std::string>(std::move(value));
}

status rocksdb_read_store::scan(
    read_model::table t, std::string_view from, std::string_view to, std::size_t limit,
    bool reverse, const std::function<bool(std::string_view key, std::string_view value)>& fn) {
  auto* cf = db_.table_cf(t);
  if (!cf) return {errc::bad_request, "unknown read-model table"};
  if (limit == 0 || from >= to) return {};
  rocksdb::Slice lower(from.data(), from.size()), upper(to.data(), to.size());
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_.db().NewIterator(ro, cf));
  std::size_t visited = 0;
  // With both bounds set, SeekToFirst/SeekToLast stay inside [from, to).
  for (reverse ? it->SeekToLast() : it->SeekToFirst(); it->Valid() && visited < limit;
       reverse ? it->Prev() : it->Next()) {
    ++visited;
    if (!fn(std::string_view(it->key().data(), it->key().size()),
            std::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  if (!it->status().ok()) return storage_error(it->status(), "read-model scan failed");
  return {};
}

}  // namespace hibiki::persistence
