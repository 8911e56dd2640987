#include "group_commit_journal.hpp"

#include <algorithm>
#include <chrono>
#include <future>
#include <unordered_set>

#include <rocksdb/write_batch.h>

#include "journal_index.hpp"

namespace hibiki::persistence {

namespace {

/// Past this many cached entities the writer forgets them all; they are re-read on next touch.
/// Keeps memory bounded on a node that has seen millions of entities.
constexpr std::size_t meta_cache_limit = 1 << 16;

/// Runs `done(s)` on a fresh thread: a callback must never run on the caller's stack, and once the
/// journal is closed there is no writer thread left to run it on. Only for the rare late append.
void call_later(append_callback done, status s) {
  if (!done) return;
  std::thread([done = std::move(done), s = std::move(s)] { done(s); }).detach();
}

}  // namespace

group_commit_journal::group_commit_journal(rocksdb_database& db, const rocksdb_options& options,
                                           std::shared_ptr<feed_end> feed)
    : db_(db),
      options_(options),
      feed_(std::move(feed)),
      next_offset_(feed_->end()),
      writer_([this] { run_writer(); }) {}

group_commit_journal::~group_commit_journal() {
  close();
}

void group_commit_journal::async_append(append_request req, append_callback done) {
  enqueue(job{std::move(req), false, 0, std::move(done)});
}

void group_commit_journal::enqueue(job j) {
  {
    std::lock_guard lock(mutex_);
    if (!closing_) {
      queue_.push_back(std::move(j));
      wake_.notify_one();
      return;
    }
  }
  call_later(std::move(j.done), status{errc::unavailable, "journal is closed"});
}

void group_commit_journal::close() {
  std::lock_guard close_lock(close_mutex_);
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
    held_ = false;
    wake_.notify_all();
  }
  // From a callback (the writer thread itself) we can only ask: the writer stops after this batch.
  if (std::this_thread::get_id() == writer_.get_id()) return;
  if (writer_.joinable()) writer_.join();
  feed_->close();
}

void group_commit_journal::hold_writer() {
  std::lock_guard lock(mutex_);
  held_ = true;
}

void group_commit_journal::release_writer() {
  std::lock_guard lock(mutex_);
  held_ = false;
  wake_.notify_all();
}

void group_commit_journal::fail_next_commits(std::uint32_t n) {
  failures_to_inject_ = n;
}

journal_stats group_commit_journal::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void group_commit_journal::run_writer() {
  const std::size_t max_batch = std::max<std::size_t>(1, options_.max_batch_appends);
  std::vector<job> batch;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return closing_ || (!held_ && !queue_.empty()); });
      // Closing drains what is queued, then stops.
      if (queue_.empty()) return;
      const std::size_t n = std::min(max_batch, queue_.size());
      batch.clear();
      for (std::size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    commit(batch);
  }
}

result<storage::entity_meta*> group_commit_journal::meta_for(const entity_id& entity) {
  if (auto it = meta_cache_.find(entity); it != meta_cache_.end()) return &it->second;
  std::string value;
  auto s = db_.db().Get(rocksdb::ReadOptions(), db_.journal_meta_cf(), entity, &value);
  storage::entity_meta meta;
  if (s.ok()) {
    auto decoded = storage::decode_meta(value);
    if (!decoded) return decoded.error();
    meta = *decoded;
  } else if (!s.IsNotFound()) {
    return storage_error(s, "cannot read journal meta");
  }
  return &meta_cache_.emplace(entity, meta).first->second;
}

status group_commit_journal::validate(const append_request& req, seq_nr highest) const {
  return index::validate_append(req, highest, options_.max_event_bytes);
}

void group_commit_journal::commit(std::vector<job>& batch) {
  if (meta_cache_.size() > meta_cache_limit) meta_cache_.clear();

  rocksdb::WriteBatch wb;
  const std::uint64_t first_offset = next_offset_;
  std::vector<status> results(batch.size());
  std::vector<bool> accepted(batch.size(), false);
  std::unordered_set<entity_id> dirty;
  std::uint64_t accepted_appends = 0, rejected = 0;

  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto& j = batch[i];
    const auto& entity = j.req.entity;
    if (auto s = storage::check_entity(entity); !s) {
      results[i] = s;
      ++rejected;
      continue;
    }
    auto meta = meta_for(entity);
    if (!meta) {
      results[i] = meta.error();
      continue;
    }
    storage::entity_meta& m = **meta;
    if (j.is_delete) {
      // Deleting past the highest seq deletes what exists; the recorded mark never passes highest.
      const seq_nr upto = std::min(j.delete_to, m.highest);
      if (upto > m.deleted_to) {
        wb.DeleteRange(db_.journal_cf(), storage::seq_key(entity, 0),
                       storage::seq_key(entity, upto + 1));
        m.deleted_to = upto;
        dirty.insert(entity);
      }
      accepted[i] = true;
      continue;
    }
    if (auto s = validate(j.req, m.highest); !s) {
      results[i] = s;
      ++rejected;
      continue;
    }
    for (const auto& ev : j.req.events) {
      wb.Put(db_.journal_cf(), storage::seq_key(entity, ev.seq),
             storage::encode_event(ev.writer, ev.payload));
      wb.Put(db_.feed_cf(), storage::feed_key(next_offset_++),
             storage::encode_feed_pointer(entity, ev.seq));
    }
    for (const auto& row : j.req.rows) {
      auto* cf = db_.table_cf(row.tbl);
      if (row.value) {
        wb.Put(cf, row.key, *row.value);
      } else {
        wb.Delete(cf, row.key);
      }
    }
    // Later appends of the same entity in this batch chain onto this one (pipelining).
    m.highest = j.req.events.back().seq;
    dirty.insert(entity);
    accepted[i] = true;
    ++accepted_appends;
  }
  for (const auto& entity : dirty) {
    wb.Put(db_.journal_meta_cf(), entity, storage::encode_meta(meta_cache_.at(entity)));
  }

  bool wrote = false;
  bool write_failed = false;
  if (wb.Count() > 0) {
    wrote = true;
    rocksdb::Status s;
    if (std::uint32_t left = failures_to_inject_.load(); left > 0) {
      failures_to_inject_.compare_exchange_strong(left, left - 1);
      s = rocksdb::Status::IOError("injected commit failure");
    } else {
      rocksdb::WriteOptions wo;
      wo.sync = options_.sync;
      const auto started = std::chrono::steady_clock::now();
      s = db_.db().Write(wo, &wb);
      if (s.ok() && options_.metrics)
        options_.metrics->journal_commit(std::chrono::steady_clock::now() - started,
                                         accepted_appends);
    }
    if (!s.ok()) {
      write_failed = true;
      const auto err = storage_error(s, "journal write failed");
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (accepted[i]) results[i] = err;
      }
      // What the cache says may not be on disk: forget it and re-read on next touch.
      for (const auto& entity : dirty) meta_cache_.erase(entity);
      next_offset_ = first_offset;
    } else if (next_offset_ != first_offset) {
      feed_->advance(next_offset_);
    }
  }

  {
    std::lock_guard lock(mutex_);
    stats_.rejected += rejected;
    if (wrote) {
      ++stats_.commits;
      if (write_failed) {
        stats_.failed += accepted_appends;
      } else {
        stats_.appends += accepted_appends;
        stats_.largest_batch = std::max<std::uint64_t>(stats_.largest_batch, accepted_appends);
      }
    }
  }

  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (!batch[i].done) continue;
    try {
      batch[i].done(results[i]);
    } catch (...) {
      // A throwing callback is a bug in the caller; it must not take the writer down with it.
    }
  }
  batch.clear();
}

status group_commit_journal::replay(const entity_id& entity, seq_nr from, seq_nr to,
                                    std::uint64_t max,
                                    const std::function<void(const persisted_event&)>& fn) {
  return index::replay(db_, entity, from, to, max, fn);
}

result<seq_nr> group_commit_journal::highest_seq(const entity_id& entity) {
  return index::highest_seq(db_, entity);
}

status group_commit_journal::delete_to(const entity_id& entity, seq_nr to) {
  if (auto s = storage::check_entity(entity); !s) return s;
  if (to == 0) return {};
  auto done = std::make_shared<std::promise<status>>();
  auto result = done->get_future();
  job j;
  j.req.entity = entity;
  j.is_delete = true;
  j.delete_to = to;
  j.done = [done](status s) { done->set_value(std::move(s)); };
  enqueue(std::move(j));
  return result.get();
}

}  // namespace hibiki::persistence
