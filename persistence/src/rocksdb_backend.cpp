#include "hibiki/persistence/rocksdb_backend.hpp"

#include "group_commit_journal.hpp"
#include "rocksdb_database.hpp"
#include "rocksdb_feed.hpp"
#include "rocksdb_read_store.hpp"
#include "rocksdb_snapshot_store.hpp"

namespace hibiki::persistence {

namespace {

/// Owns the database and the three views of it. Members are declared in dependency order, so they
/// are destroyed journal first (its writer drains) and database last.
class rocksdb_backend_impl final : public rocksdb_backend {
 public:
  rocksdb_backend_impl(std::unique_ptr<rocksdb_database> db, const rocksdb_options& options,
                       std::uint64_t feed_end_offset)
      : db_(std::move(db)),
        journal_(*db_, options, std::make_shared<feed_end>(feed_end_offset)),
        snapshots_(*db_),
        reads_(*db_) {}
  ~rocksdb_backend_impl() override { close(); }

  persistence::journal& journal() override { return journal_; }
  persistence::snapshot_store& snapshots() override { return snapshots_; }
  persistence::read_store& reads() override { return reads_; }
  void close() override { journal_.close(); }
  /// Readers must be destroyed before the backend (they read its database).
  std::unique_ptr<event_feed> open_feed() override {
    return open_rocksdb_feed(*db_, journal_.feed());
  }

  journal_status identity() const override {
    journal_status out;
    out.kind = "rocksdb";
    return out;
  }

  journal_status status() override {
    auto st = journal_.stats();
    journal_status out;
    out.kind = "rocksdb";
    out.appends = st.appends;
    out.rejected = st.rejected;
    out.failed = st.failed;
    return out;
  }

 private:
  std::unique_ptr<rocksdb_database> db_;
  group_commit_journal journal_;
  rocksdb_snapshot_store snapshots_;
  rocksdb_read_store reads_;
};

}  // namespace

result<std::unique_ptr<rocksdb_backend>> rocksdb_backend::open(const rocksdb_options& options) {
  auto db = rocksdb_database::open(options);
  if (!db) return db.error();
  auto feed_end_offset = prepare_feed(**db);
  if (!feed_end_offset) return feed_end_offset.error();
  return std::unique_ptr<rocksdb_backend>(
      std::make_unique<rocksdb_backend_impl>(std::move(*db), options, *feed_end_offset));
}

}  // namespace hibiki::persistence
