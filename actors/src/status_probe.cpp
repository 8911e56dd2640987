#include "status_probe.hpp"

namespace hibiki::actors {

status_probe::status_probe(persistence::backend& backend)
    : backend_(backend), thread_([this] { run(); }) {}

status_probe::~status_probe() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::optional<persistence::journal_status> status_probe::get(std::chrono::milliseconds limit) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (stopped_) return std::nullopt;
  // A call already running answers this caller too: never more than one waits on the broker.
  const auto wanted = running_ ? requested_ : ++requested_;
  changed_.notify_all();
  if (!changed_.wait_for(lock, limit, [&] { return answered_ >= wanted || stopped_; }))
    return std::nullopt;
  if (answered_ < wanted) return std::nullopt;
  return last_;
}

bool status_probe::wait_idle(std::chrono::milliseconds limit) {
  std::unique_lock<std::mutex> lock(mutex_);
  stopped_ = true;
  changed_.notify_all();
  return changed_.wait_for(lock, limit, [&] { return !running_; });
}

void status_probe::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return stopped_ || requested_ > answered_; });
    if (stopped_) return;
    const auto generation = requested_;
    running_ = true;
    lock.unlock();
    auto status = backend_.status();
    lock.lock();
    running_ = false;
    last_ = std::move(status);
    answered_ = generation;
    changed_.notify_all();
  }
}

}  // namespace hibiki::actors
