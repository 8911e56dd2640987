#include "journal_index.hpp"

#include <memory>
#include <string>

#include <rocksdb/iterator.h>

#include "storage_keys.hpp"

namespace hibiki::persistence::index {

status validate_append(const append_request& req, seq_nr highest, std::size_t max_event_bytes) {
  if (auto s = storage::check_entity(req.entity); !s) return s;
  if (req.events.empty()) return {errc::bad_request, "append without events"};
  for (const auto& ev : req.events) {
    if (!ev.entity.empty() && ev.entity != req.entity) {
      return {errc::bad_request, "event of " + ev.entity + " in an append for " + req.entity};
    }
    if (ev.payload.empty()) return {errc::bad_request, "empty event payload"};
    if (ev.payload.size() > max_event_bytes) {
      return {errc::too_large, "event of " + std::to_string(ev.payload.size()) +
                                   " bytes is over the limit of " +
                                   std::to_string(max_event_bytes)};
    }
  }
  for (const auto& row : req.rows) {
    if (static_cast<std::size_t>(row.tbl) >= table_cf_names.size()) {
      return {errc::bad_request, "row for an unknown read-model table"};
    }
  }
  for (std::size_t i = 0; i < req.events.size(); ++i) {
    const seq_nr expected = highest + 1 + i;
    if (req.events[i].seq != expected) {
      return {errc::conflict, "expected seq " + std::to_string(expected) + " for " + req.entity +
                                  ", got " + std::to_string(req.events[i].seq)};
    }
  }
  return {};
}

status replay(rocksdb_database& db, const entity_id& entity, seq_nr from, seq_nr to,
              std::uint64_t max, const std::function<void(const persisted_event&)>& fn) {
  if (auto s = storage::check_entity(entity); !s) return s;
  if (from > to || max == 0) return {};
  const std::string prefix = storage::entity_prefix(entity);
  const std::string lower = storage::seq_key(entity, from);
  const std::string upper =
      to == max_seq ? storage::entity_end(entity) : storage::seq_key(entity, to + 1);
  rocksdb::Slice lower_slice(lower), upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower_slice;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db.db().NewIterator(ro, db.journal_cf()));
  std::uint64_t n = 0;
  for (it->Seek(lower_slice); it->Valid() && n < max; it->Next()) {
    const auto key = it->key();
    const auto seq = storage::seq_of(std::string_view(key.data(), key.size()), prefix);
    if (!seq) continue;
    auto ev = storage::decode_event(entity, *seq,
                                    std::string_view(it->value().data(), it->value().size()));
    if (!ev) return ev.error();
    fn(*ev);
    ++n;
  }
  if (!it->status().ok()) return storage_error(it->status(), "journal replay failed");
  return {};
}

result<seq_nr> highest_seq(rocksdb_database& db, const entity_id& entity) {
  if (auto s = storage::check_entity(entity); !s) return s.error();
  std::string value;
  auto s = db.db().Get(rocksdb::ReadOptions(), db.journal_meta_cf(), entity, &value);
  if (s.IsNotFound()) return seq_nr{0};
  if (!s.ok()) return storage_error(s, "cannot read journal meta");
  auto meta = storage::decode_meta(value);
  if (!meta) return meta.error();
  return meta->highest;
}

}  // namespace hibiki::persistence::index
