#pragma once
/// The RocksDB journal. One writer thread owns every write to the journal column families: callers
/// queue appends (and deletes), the writer takes all that is waiting, checks each against the
/// entity's highest seq, writes them as ONE WriteBatch (synced when options.sync) and only then
/// runs their callbacks. Many entities thus share one fsync. Reads go straight to RocksDB from the
/// caller's thread. Each accepted event also gets the feed's next offset (rocksdb_feed.hpp), its
/// feed entry written in the same WriteBatch.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "hibiki/persistence/rocksdb_backend.hpp"
#include "hibiki/persistence/rocksdb_journal.hpp"
#include "rocksdb_database.hpp"
#include "rocksdb_feed.hpp"
#include "storage_keys.hpp"

namespace hibiki::persistence {

class group_commit_journal final : public rocksdb_journal {
 public:
  /// `db` must outlive this journal. `feed` is the feed's end as prepare_feed found it; the
  /// writer advances it after each commit. Starts the writer thread.
  group_commit_journal(rocksdb_database& db, const rocksdb_options& options,
                       std::shared_ptr<feed_end> feed);
  ~group_commit_journal() override;

  void async_append(append_request req, append_callback done) override;
  status replay(const entity_id& entity, seq_nr from, seq_nr to, std::uint64_t max,
                const std::function<void(const persisted_event&)>& fn) override;
  result<seq_nr> highest_seq(const entity_id& entity) override;
  status delete_to(const entity_id& entity, seq_nr to) override;

  journal_stats stats() const override;
  void hold_writer() override;
  void release_writer() override;
  void fail_next_commits(std::uint32_t n) override;

  /// The feed's end, shared with its readers.
  const std::shared_ptr<feed_end>& feed() const { return feed_; }

  /// Drains the queue, then stops the writer, then wakes the feed's readers. Idempotent.
  void close();

 private:
  /// One queued write: an append, or a delete_to (which goes through the writer too, so the
  /// writer's cache of entity metadata is never stale).
  struct job {
    append_request req;
    bool is_delete = false;
    seq_nr delete_to = 0;
    append_callback done;
  };

  void enqueue(job j);
  void run_writer();
  void commit(std::vector<job>& batch);
  /// The cached metadata of `entity`, read from journal_meta on first touch.
  result<storage::entity_meta*> meta_for(const entity_id& entity);
  status validate(const append_request& req, seq_nr highest) const;

  rocksdb_database& db_;
  const rocksdb_options options_;

  mutable std::mutex mutex_;  // guards queue_, closing_, held_, stats_
  std::condition_variable wake_;
  std::deque<job> queue_;
  bool closing_ = false;
  bool held_ = false;
  journal_stats stats_;
  std::atomic<std::uint32_t> failures_to_inject_{0};

  std::mutex close_mutex_;  // serialises close() callers
  std::shared_ptr<feed_end> feed_;

  // Touched by the writer thread only.
  std::unordered_map<entity_id, storage::entity_meta> meta_cache_;
  /// The feed offset the next accepted event gets.
  std::uint64_t next_offset_ = 0;

  std::thread writer_;  // last: starts after every member above is ready
};

}  // namespace hibiki::persistence
