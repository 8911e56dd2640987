#pragma once
/// Where blocking storage work runs: recovery, snapshot saves and read-model queries. Event-based
/// actors never block; they post a closure here and receive the result as a message. Production
/// uses a thread pool; the testkit uses a manual queue so a test decides when I/O completes.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace hibiki::actors {

class io_executor {
 public:
  virtual ~io_executor() = default;
  /// Queues `fn`; it runs later on another thread (or when a test runs the queue). Thread-safe.
  virtual void post(std::function<void()> fn) = 0;
};

/// A fixed pool of threads draining one FIFO queue. Owned by the node; `stop` runs what is
/// queued, then joins.
class thread_pool_executor final : public io_executor {
 public:
  explicit thread_pool_executor(std::size_t threads);
  ~thread_pool_executor() override;

  void post(std::function<void()> fn) override;
  /// Runs every queued task, then joins the threads. Idempotent; later posts run inline.
  void stop();

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace hibiki::actors
