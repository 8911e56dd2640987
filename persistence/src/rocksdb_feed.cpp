#include "rocksdb_feed.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>

#include "hibiki/core/log.hpp"
#include "storage_keys.hpp"

namespace hibiki::persistence {

namespace {

/// In the default family once the feed holds every event of the journal family.
constexpr const char* backfill_mark_key = "feed_backfilled";
/// Entries per WriteBatch while back-filling.
constexpr std::size_t backfill_batch = 10'000;

/// The first key past every feed key (feed keys are 8 bytes).
std::string past_every_feed_key() {
  return std::string(9, '\xff');
}

/// The entity and seq of a journal key `entity + '\0' + be64(seq)`; false when it is not one.
bool split_journal_key(std::string_view key, entity_id& entity, seq_nr& seq) {
  if (key.size() < 10 || key[key.size() - 9] != '\0') return false;
  entity.assign(key.substr(0, key.size() - 9));
  seq = storage::get_be64(key.substr(key.size() - 8));
  return true;
}

result<std::uint64_t> recover_end(rocksdb_database& db) {
  std::unique_ptr<rocksdb::Iterator> it(db.db().NewIterator(rocksdb::ReadOptions(), db.feed_cf()));
  it->SeekToLast();
  if (!it->status().ok()) return storage_error(it->status(), "cannot read the feed");
  if (!it->Valid()) return std::uint64_t{0};
  const auto key = it->key();
  if (key.size() != 8) return error{errc::internal, "corrupt feed key"};
  return storage::get_be64(std::string_view(key.data(), key.size())) + 1;
}

result<std::uint64_t> backfill(rocksdb_database& db) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  // A back-fill cut short left a prefix: start over.
  {
    rocksdb::WriteBatch clear;
    clear.DeleteRange(db.feed_cf(), std::string(), past_every_feed_key());
    if (auto s = db.db().Write(wo, &clear); !s.ok())
      return storage_error(s, "cannot clear the feed");
  }
  std::uint64_t next = 0;
  rocksdb::WriteBatch wb;
  std::unique_ptr<rocksdb::Iterator> it(
      db.db().NewIterator(rocksdb::ReadOptions(), db.journal_cf()));
  entity_id entity;
  seq_nr seq = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const auto key = it->key();
    if (!split_journal_key(std::string_view(key.data(), key.size()), entity, seq)) continue;
    wb.Put(db.feed_cf(), storage::feed_key(next++), storage::encode_feed_pointer(entity, seq));
    if (wb.Count() >= backfill_batch) {
      if (auto s = db.db().Write(wo, &wb); !s.ok())
        return storage_error(s, "cannot back-fill the feed");
      wb.Clear();
    }
  }
  if (!it->status().ok()) return storage_error(it->status(), "cannot read the journal");
  wb.Put(db.default_cf(), backfill_mark_key, "1");
  if (auto s = db.db().Write(wo, &wb); !s.ok())
    return storage_error(s, "cannot back-fill the feed");
  if (next > 0)
    log::info("journal") << "feed back-filled with the " << next
                         << " events written before it existed";
  return next;
}

class rocksdb_event_feed final : public event_feed {
 public:
  rocksdb_event_feed(rocksdb_database& db, std::shared_ptr<feed_end> end)
      : db_(db), end_(std::move(end)) {}

  result<std::vector<std::int32_t>> partitions() override { return std::vector<std::int32_t>{0}; }

  result<feed_positions> end_positions() override {
    return feed_positions{{0, static_cast<std::int64_t>(end_->end())}};
  }

  result<std::vector<feed_record>> read(const feed_positions& from, std::size_t max,
                                        std::chrono::milliseconds wait) override {
    for (const auto& [partition, offset] : from) {
      if (partition != 0)
        return error{errc::bad_request, "the embedded journal's feed has one partition (0), not " +
                                            std::to_string(partition)};
      if (offset < 0) return error{errc::bad_request, "negative feed offset"};
    }
    std::vector<feed_record> out;
    read_to_ = from;
    if (from.empty() || max == 0) return out;
    const auto start = static_cast<std::uint64_t>(from.begin()->second);
    std::uint64_t end = end_->end();
    if (start >= end) end = end_->wait_past(start, wait);
    if (start >= end) return out;

    const rocksdb::Snapshot* snapshot = db_.db().GetSnapshot();
    struct release {
      rocksdb::DB& db;
      const rocksdb::Snapshot* s;
      ~release() { db.ReleaseSnapshot(s); }
    } releaser{db_.db(), snapshot};
    const std::string lower = storage::feed_key(start), upper = storage::feed_key(end);
    rocksdb::Slice lower_slice(lower), upper_slice(upper);
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot;
    ro.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(db_.db().NewIterator(ro, db_.feed_cf()));
    it->Seek(lower_slice);

    std::uint64_t scanned_to = start;  // every entry below it was returned or points nowhere
    std::vector<std::uint64_t> offsets;
    std::vector<storage::feed_pointer> pointers;
    std::vector<std::string> keys;
    while (out.size() < max && it->Valid()) {
      offsets.clear();
      pointers.clear();
      keys.clear();
      for (; it->Valid() && offsets.size() < max - out.size(); it->Next()) {
        const auto k = it->key();
        const auto v = it->value();
        if (k.size() != 8) return error{errc::internal, "corrupt feed key"};
        auto p = storage::decode_feed_pointer(std::string_view(v.data(), v.size()));
        if (!p) return p.error();
        offsets.push_back(storage::get_be64(std::string_view(k.data(), k.size())));
        keys.push_back(storage::seq_key(p->entity, p->seq));
        pointers.push_back(std::move(*p));
      }
      if (!it->status().ok()) return storage_error(it->status(), "cannot read the feed");
      if (offsets.empty()) break;
      std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
      std::vector<std::string> values;
      auto statuses = db_.db().MultiGet(
          ro, std::vector<rocksdb::ColumnFamilyHandle*>(slices.size(), db_.journal_cf()), slices,
          &values);
      scanned_to = offsets.back() + 1;
      for (std::size_t i = 0; i < offsets.size(); ++i) {
        if (statuses[i].IsNotFound()) continue;  // deleted by delete_to
        if (!statuses[i].ok()) return storage_error(statuses[i], "cannot read a feed event");
        auto ev = storage::decode_event(pointers[i].entity, pointers[i].seq, values[i]);
        if (!ev) return ev.error();
        out.push_back(feed_record{0, static_cast<std::int64_t>(offsets[i]), std::move(*ev)});
      }
    }
    if (!it->Valid()) scanned_to = end;  // every entry up to the end was looked at
    read_to_[0] = static_cast<std::int64_t>(scanned_to);
    return out;
  }

  feed_positions read_to() override { return read_to_; }

 private:
  rocksdb_database& db_;
  std::shared_ptr<feed_end> end_;
  feed_positions read_to_;
};

}  // namespace

void feed_end::advance(std::uint64_t end) {
  {
    std::lock_guard lock(mutex_);
    end_ = end;
  }
  changed_.notify_all();
}

std::uint64_t feed_end::end() const {
  std::lock_guard lock(mutex_);
  return end_;
}

std::uint64_t feed_end::wait_past(std::uint64_t offset, std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, wait, [&] { return closed_ || end_ > offset; });
  return end_;
}

void feed_end::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  changed_.notify_all();
}

result<std::uint64_t> prepare_feed(rocksdb_database& db) {
  std::string mark;
  auto s = db.db().Get(rocksdb::ReadOptions(), db.default_cf(), backfill_mark_key, &mark);
  if (s.IsNotFound()) return backfill(db);
  if (!s.ok()) return storage_error(s, "cannot read the feed's back-fill mark");
  return recover_end(db);
}

std::unique_ptr<event_feed> open_rocksdb_feed(rocksdb_database& db, std::shared_ptr<feed_end> end) {
  return std::make_unique<rocksdb_event_feed>(db, std::move(end));
}

}  // namespace hibiki::persistence
