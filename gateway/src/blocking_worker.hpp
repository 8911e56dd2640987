#pragma once
/// One thread for the gateway's calls into the node that may block (the journal status asks the
/// broker, up to ~1 s), so they never hold up an I/O thread and the WebSockets it serves.
/// Owned by the gateway_context; the server stops it after its I/O threads. Thread-safe.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace hibiki::gateway {

class blocking_worker {
 public:
  /// At most `max_queued` jobs wait; more are refused (an operator endpoint needs no queue).
  explicit blocking_worker(std::size_t max_queued);
  blocking_worker() : blocking_worker(8) {}
  ~blocking_worker();
  blocking_worker(const blocking_worker&) = delete;
  blocking_worker& operator=(const blocking_worker&) = delete;

  /// Queues `job`; false when the queue is full or the worker is stopped (the job is dropped).
  bool post(std::function<void()> job);

  /// Drops the jobs not started, waits for the running one, joins the thread. Idempotent. Never
  /// from a job (so a job must not own what owns the worker).
  void stop();

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  std::size_t max_queued_;
  bool stopped_ = false;
  std::thread thread_;  // last: started once the members above exist
};

}  // namespace hibiki::gateway
