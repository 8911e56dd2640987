#include "rocksdb_snapshot_store.hpp"

#include <memory>

#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>

#include "storage_keys.hpp"

namespace hibiki::persistence {

namespace {

rocksdb::WriteOptions synced() {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return wo;
}

bool timestamp_matches(std::int64_t ts, const snapshot_criteria& c) {
  return ts >= c.min_timestamp_ms && ts <= c.max_timestamp_ms;
}

std::string_view view(const rocksdb::Slice& s) {
  return {s.data(), s.size()};
}

}  // namespace

status rocksdb_snapshot_store::save(const snapshot& s) {
  if (auto st = storage::check_entity(s.meta.entity); !st) return st;
  auto r = db_.db().Put(synced(), db_.snapshots_cf(), storage::seq_key(s.meta.entity, s.meta.seq),
                        storage::encode_snapshot(s.meta.timestamp_ms, s.data));
  if (!r.ok()) return storage_error(r, "snapshot save failed");
  return {};
}

result<std::optional<snapshot>> rocksdb_snapshot_store::load(const entity_id& entity,
                                                             const snapshot_criteria& criteria) {
  if (auto st = storage::check_entity(entity); !st) return st.error();
  if (criteria.min_seq > criteria.max_seq) return std::optional<snapshot>{};
  const std::string prefix = storage::entity_prefix(entity);
  const std::string lower = storage::seq_key(entity, criteria.min_seq);
  rocksdb::Slice lower_slice(lower);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_.db().NewIterator(ro, db_.snapshots_cf()));
  // Newest first: the first match walking back from max_seq is the answer.
  for (it->SeekForPrev(storage::seq_key(entity, criteria.max_seq)); it->Valid(); it->Prev()) {
    const auto seq = storage::seq_of(view(it->key()), prefix);
    if (!seq) break;
    auto ts = storage::snapshot_timestamp(view(it->value()));
    if (!ts) return ts.error();
    if (!timestamp_matches(*ts, criteria)) continue;
    auto data = storage::snapshot_data(view(it->value()));
    if (!data) return data.error();
    return std::optional<snapshot>(snapshot{{entity, *seq, *ts}, std::move(*data)});
  }
  if (!it->status().ok()) return storage_error(it->status(), "snapshot load failed");
  return std::optional<snapshot>{};
}

status rocksdb_snapshot_store::remove(const entity_id& entity, seq_nr seq) {
  if (auto st = storage::check_entity(entity); !st) return st;
  auto r = db_.db().Delete(synced(), db_.snapshots_cf(), storage::seq_key(entity, seq));
  if (!r.ok()) return storage_error(r, "snapshot remove failed");
  return {};
}

status rocksdb_snapshot_store::remove_matching(const entity_id& entity,
                                               const snapshot_criteria& criteria) {
  if (auto st = storage::check_entity(entity); !st) return st;
  if (criteria.min_seq > criteria.max_seq) return {};
  const std::string prefix = storage::entity_prefix(entity);
  const std::string lower = storage::seq_key(entity, criteria.min_seq);
  const std::string upper = criteria.max_seq == max_seq
                                ? storage::entity_end(entity)
                                : storage::seq_key(entity, criteria.max_seq + 1);
  rocksdb::Slice lower_slice(lower), upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower_slice;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_.db().NewIterator(ro, db_.snapshots_cf()));
  rocksdb::WriteBatch wb;
  for (it->Seek(lower_slice); it->Valid(); it->Next()) {
    if (!storage::seq_of(view(it->key()), prefix)) continue;
    auto ts = storage::snapshot_timestamp(view(it->value()));
    if (!ts) return ts.error();
    if (timestamp_matches(*ts, criteria)) wb.Delete(db_.snapshots_cf(), it->key());
  }
  if (!it->status().ok()) return storage_error(it->status(), "snapshot scan failed");
  if (wb.Count() == 0) return {};
  auto r = db_.db().Write(synced(), &wb);
  if (!r.ok()) return storage_error(r, "snapshot remove failed");
  return {};
}

}  // namespace hibiki::persistence
