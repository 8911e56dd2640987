#include "index_writer.hpp"
#include "hibiki/core/log.hpp"

#include <algorithm>

namespace hibiki::persistence::kafka {

namespace {
/// Past this many cached entities the cache starts over (re-read on next touch).
constexpr std::size_t cache_limit = 1 << 16;
}  // namespace

index_writer::index_writer(rocksdb_database& db, std::string topic, std::int32_t partition)
    : db_(db), topic_(std::move(topic)), partition_(partition) {}

std::string index_writer::offset_key(const std::string& topic, std::int32_t partition) {
  std::string key = topic;
  key.push_back('\0');
  const auto p = static_cast<std::uint32_t>(partition);
  for (int shift = 24; shift >= 0; shift -= 8)
    key.push_back(static_cast<char>((p >> shift) & 0xff));
  return key;
}

result<storage::entity_meta> index_writer::meta(const entity_id& entity) {
  if (auto it = cache_.find(entity); it != cache_.end()) return it->second;
  if (cache_.size() > cache_limit) cache_.clear();
  std::string value;
  auto s = db_.db().Get(rocksdb::ReadOptions(), db_.journal_meta_cf(), entity, &value);
  storage::entity_meta m;
  if (s.ok()) {
    auto decoded = storage::decode_meta(value);
    if (!decoded) return decoded.error();
    m = *decoded;
  } else if (!s.IsNotFound()) {
    return storage_error(s, "cannot read journal meta");
  }
  cache_.emplace(entity, m);
  return m;
}

result<bool> index_writer::apply(const entity_id& entity, const journal_record& rec,
                                 rocksdb::WriteBatch& wb) {
  if (auto s = storage::check_entity(entity); !s) return s.error();
  auto got = meta(entity);
  if (!got) return got.error();
  auto& m = cache_[entity];
  if (rec.kind == record_kind::delete_to) {
    const seq_nr upto = std::min(rec.seq, m.highest);
    if (upto <= m.deleted_to) return false;
    wb.DeleteRange(db_.journal_cf(), storage::seq_key(entity, 0),
                   storage::seq_key(entity, upto + 1));
    m.deleted_to = upto;
    wb.Put(db_.journal_meta_cf(), entity, storage::encode_meta(m));
    return true;
  }
  if (rec.seq <= m.highest) {
    // A write that slipped past fencing, or a record indexed before: never index it twice.
    std::string kept_writer = "(deleted)";
    std::string value;
    if (db_.db()
            .Get(rocksdb::ReadOptions(), db_.journal_cf(), storage::seq_key(entity, rec.seq),
                 &value)
            .ok()) {
      if (auto ev = storage::decode_event(entity, rec.seq, value)) kept_writer = ev->writer;
    }
    log::warn("journal") << topic_ << "/" << partition_ << ": dropped event " << entity << "#"
                         << rec.seq << " of writer " << rec.writer << " (indexed highest "
                         << m.highest << ", kept writer " << kept_writer << ")";
    return false;
  }
  wb.Put(db_.journal_cf(), storage::seq_key(entity, rec.seq),
         storage::encode_event(rec.writer, rec.payload));
  for (const auto& row : rec.rows) {
    auto* cf = db_.table_cf(row.tbl);
    if (!cf) continue;  // decode_record already refuses unknown tables
    if (row.value) {
      wb.Put(cf, row.key, *row.value);
    } else {
      wb.Delete(cf, row.key);
    }
  }
  m.highest = rec.seq;
  wb.Put(db_.journal_meta_cf(), entity, storage::encode_meta(m));
  return true;
}

void index_writer::put_next_offset(rocksdb::WriteBatch& wb, std::int64_t next) {
  std::string value;
  storage::put_be64(value, static_cast<std::uint64_t>(next));
  wb.Put(db_.journal_offsets_cf(), offset_key(topic_, partition_), value);
}

status index_writer::write(rocksdb::WriteBatch& wb) {
  if (wb.Count() == 0) return {};
  auto s = db_.db().Write(rocksdb::WriteOptions(), &wb);
  if (s.ok()) return {};
  cache_.clear();
  return storage_error(s, "index write failed");
}

result<std::int64_t> index_writer::next_offset() {
  std::string value;
  auto s = db_.db().Get(rocksdb::ReadOptions(), db_.journal_offsets_cf(),
                        offset_key(topic_, partition_), &value);
  if (s.IsNotFound()) return std::int64_t{0};
  if (!s.ok()) return storage_error(s, "cannot read the stored offset");
  if (value.size() != 8) return error{errc::internal, "corrupt stored offset"};
  return static_cast<std::int64_t>(storage::get_be64(value));
}

}  // namespace hibiki::persistence::kafka
