#pragma once
/// The embedded backend's journal seen as what it is: a journal plus its group-commit counters and
/// two test hooks. Get it with `dynamic_cast<rocksdb_journal&>(backend->journal())`; code that only
/// appends and replays should keep using `journal`.

#include <cstdint>

#include "hibiki/persistence/journal.hpp"

namespace hibiki::persistence {

/// Counters since open. `commits < appends` is group commit at work.
struct journal_stats {
  std::uint64_t appends = 0;        ///< appends acknowledged ok
  std::uint64_t rejected = 0;       ///< appends refused (conflict, bad_request, too_large)
  std::uint64_t failed = 0;         ///< appends failed by a storage error (unavailable)
  std::uint64_t commits = 0;        ///< RocksDB write batches written (ok or not)
  std::uint64_t largest_batch = 0;  ///< most appends written in one commit
};

class rocksdb_journal : public journal {
 public:
  virtual journal_stats stats() const = 0;

  /// Test hook: the writer finishes the commit it is doing, then waits before taking the next
  /// batch, until release_writer. Lets a test queue many appends and see them share one commit.
  /// close() releases the writer.
  virtual void hold_writer() = 0;
  virtual void release_writer() = 0;

  /// Test hook: the next `n` commits fail as if RocksDB had returned an IO error.
  virtual void fail_next_commits(std::uint32_t n) = 0;
};

}  // namespace hibiki::persistence
