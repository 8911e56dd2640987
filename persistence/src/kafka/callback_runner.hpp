#pragma once
/// One thread that runs callbacks which must not run on the caller's stack: the fail-fast answers
/// (partition not ready, backend closed, bad entity). After stop(), a late callback runs on a
/// fresh detached thread, as group_commit_journal does.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace hibiki::persistence::kafka {

class callback_runner {
 public:
  callback_runner();
  ~callback_runner();
  callback_runner(const callback_runner&) = delete;
  callback_runner& operator=(const callback_runner&) = delete;

  void post(std::function<void()> fn);
  /// Runs what is queued, then stops the thread. Idempotent.
  void stop();

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace hibiki::persistence::kafka
