#pragma once
/// The live connections of one gateway, so stop() can close them all and wait for them.
/// Thread-safe: connections register and unregister from I/O threads, stop() runs on its own.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

namespace hibiki::gateway {

/// What the registry needs of a connection (HTTP or WebSocket).
class connection {
 public:
  virtual ~connection() = default;
  /// Starts closing (1001 for WebSockets). Thread-safe: posts onto the connection's strand.
  virtual void shutdown() = 0;
  /// Drops references the connection holds to itself (e.g. while waiting for a sign-up). Only
  /// called once the I/O threads are joined.
  virtual void release() {}
};

class connection_registry {
 public:
  std::uint64_t add(std::weak_ptr<connection> c);
  void remove(std::uint64_t id);
  /// Calls shutdown() on every live connection.
  void shutdown_all();
  /// Calls release() on every live connection.
  void release_all();
  /// Waits until no connection is registered or `limit` has passed; true when empty.
  bool wait_empty(std::chrono::milliseconds limit);
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable empty_;
  std::uint64_t next_id_ = 1;
  std::unordered_map<std::uint64_t, std::weak_ptr<connection>> live_;
};

/// Guards posting onto the gateway's io_context from foreign threads (actor threads delivering
/// frames or sign-up results): once closed, posts are dropped, so the io_context can be destroyed
/// without a late post touching it.
class post_gate {
 public:
  /// Runs `f` under the gate when it is open; returns whether it ran.
  template <class F>
  bool run(F&& f) {
    std::shared_lock lock(mutex_);
    if (!open_) return false;
    f();
    return true;
  }
  void close() {
    std::unique_lock lock(mutex_);
    open_ = false;
  }

 private:
  std::shared_mutex mutex_;
  bool open_ = true;
};

}  // namespace hibiki::gateway
