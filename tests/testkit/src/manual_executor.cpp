#include "hibiki/testkit/manual_executor.hpp"

namespace hibiki::testkit {

void manual_executor::post(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(mutex_);
  queue_.push_back(std::move(fn));
}

std::size_t manual_executor::pending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size();
}

bool manual_executor::run_one() {
  std::function<void()> fn;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (queue_.empty()) return false;
    fn = std::move(queue_.front());
    queue_.pop_front();
  }
  fn();
  return true;
}

std::size_t manual_executor::run_all() {
  std::size_t n = 0;
  while (run_one()) ++n;
  return n;
}

}  // namespace hibiki::testkit
