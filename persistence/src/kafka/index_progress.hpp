#pragma once
/// What the clustered backend's pieces share about each partition: how far the local index has
/// read it (the follower or the owner, whichever indexes it now), and who hears ownership
/// changes. The read barrier (await_indexed) waits on `progress`.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "hibiki/persistence/shard_control.hpp"

namespace hibiki::persistence::kafka {

class index_progress {
 public:
  explicit index_progress(std::int32_t partitions)
      : next_(static_cast<std::size_t>(partitions), -1) {}

  /// Everything of `partition` before `next` is in the index. Never moves backwards.
  void advance(std::int32_t partition, std::int64_t next) {
    {
      std::lock_guard lock(mutex_);
      auto& n = next_[static_cast<std::size_t>(partition)];
      n = std::max(n, next);
    }
    changed_.notify_all();
  }
  /// -1 when nothing is known yet.
  std::int64_t next(std::int32_t partition) const {
    std::lock_guard lock(mutex_);
    return next_[static_cast<std::size_t>(partition)];
  }
  /// Wakes the barrier's waiters (a partition became serving).
  void poke() { changed_.notify_all(); }
  /// Waits until `done()` (called under the lock) or `deadline`; true when done.
  template <class Pred>
  bool wait_until(std::chrono::steady_clock::time_point deadline, Pred done) {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (done()) return true;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      // Sliced: a poke() can race the predicate (it does not take the lock).
      changed_.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() +
                                                       std::chrono::milliseconds(20)));
    }
  }
  /// next() for use inside wait_until's predicate (the lock is held).
  std::int64_t next_locked(std::int32_t partition) const {
    return next_[static_cast<std::size_t>(partition)];
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::int64_t> next_;
};

/// The shard_control listener, called one at a time.
class shard_events {
 public:
  void set(std::function<void(std::int32_t, shard_change)> fn) {
    std::lock_guard lock(mutex_);
    fn_ = std::move(fn);
  }
  void notify(std::int32_t partition, shard_change change) {
    std::lock_guard lock(mutex_);
    if (!fn_) return;
    try {
      fn_(partition, change);
    } catch (...) {
      // A throwing listener is the node's bug; it must not take a backend thread down.
    }
  }

 private:
  std::mutex mutex_;
  std::function<void(std::int32_t, shard_change)> fn_;
};

/// The follower as a partition owner sees it.
class follow_control {
 public:
  virtual ~follow_control() = default;
  /// Starts indexing `partition` from the index's stored next offset. Returns at once.
  virtual void follow(std::int32_t partition) = 0;
  /// Stops indexing `partition`; returns once the follower no longer writes it.
  virtual void unfollow(std::int32_t partition) = 0;
};

}  // namespace hibiki::persistence::kafka
