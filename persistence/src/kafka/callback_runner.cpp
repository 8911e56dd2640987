#include "callback_runner.hpp"

namespace hibiki::persistence::kafka {

callback_runner::callback_runner() : thread_([this] { run(); }) {}

callback_runner::~callback_runner() {
  stop();
}

void callback_runner::post(std::function<void()> fn) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      queue_.push_back(std::move(fn));
      wake_.notify_one();
      return;
    }
  }
  std::thread(std::move(fn)).detach();
}

void callback_runner::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    wake_.notify_all();
  }
  if (!thread_.joinable()) return;
  // From one of its own callbacks the thread can only be let go; it ends after this callback.
  if (std::this_thread::get_id() == thread_.get_id()) {
    thread_.detach();
  } else {
    thread_.join();
  }
}

void callback_runner::run() {
  for (;;) {
    std::function<void()> fn;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      fn = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      fn();
    } catch (...) {
      // A throwing callback is the caller's bug; it must not stop the others.
    }
  }
}

}  // namespace hibiki::persistence::kafka
