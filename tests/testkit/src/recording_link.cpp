#include "hibiki/testkit/recording_link.hpp"

#include <algorithm>

namespace hibiki::testkit {

void recording_link::send(std::shared_ptr<const std::string> frame) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (paced_) {
    unread_ += frame->size();
    peak_unread_ = std::max(peak_unread_, unread_);
  }
  frames_.push_back(nlohmann::json::parse(*frame, nullptr, false));
  raw_.push_back(std::move(frame));
  cv_.notify_all();
}

void recording_link::close(std::uint16_t code, std::string) {
  std::lock_guard<std::mutex> lock(mutex_);
  close_code_ = code;
  cv_.notify_all();
}

void recording_link::when_drained(std::size_t below_bytes, std::function<void()> ready) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (paced_ && unread_ > below_bytes) {
      waiters_.emplace_back(below_bytes, std::move(ready));
      return;
    }
  }
  ready();
}

void recording_link::set_paced(bool paced) {
  std::lock_guard<std::mutex> lock(mutex_);
  paced_ = paced;
}

void recording_link::read_all() {
  std::vector<std::pair<std::size_t, std::function<void()>>> due;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    unread_ = 0;
    due = std::move(waiters_);
    waiters_.clear();
  }
  for (auto& [below, ready] : due) ready();
}

std::size_t recording_link::unread_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return unread_;
}

std::size_t recording_link::peak_unread_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return peak_unread_;
}

std::size_t recording_link::drain_waiters() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return waiters_.size();
}

std::vector<nlohmann::json> recording_link::frames() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return frames_;
}

std::vector<nlohmann::json> recording_link::take() {
  std::lock_guard<std::mutex> lock(mutex_);
  auto out = std::move(frames_);
  frames_.clear();
  return out;
}

std::vector<std::shared_ptr<const std::string>> recording_link::raw() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return raw_;
}

std::optional<std::uint16_t> recording_link::close_code() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return close_code_;
}

std::optional<nlohmann::json> recording_link::wait_for(
    const std::function<bool(const nlohmann::json&)>& pred, std::chrono::milliseconds failsafe) {
  std::unique_lock<std::mutex> lock(mutex_);
  std::optional<nlohmann::json> found;
  cv_.wait_for(lock, failsafe, [&] {
    for (const auto& f : frames_)
      if (pred(f)) {
        found = f;
        return true;
      }
    return false;
  });
  return found;
}

std::optional<std::uint16_t> recording_link::wait_closed(std::chrono::milliseconds failsafe) {
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait_for(lock, failsafe, [&] { return close_code_.has_value(); });
  return close_code_;
}

std::optional<nlohmann::json> recording_link::wait_reply(std::int64_t id) {
  return wait_for([id](const nlohmann::json& f) {
    return f.is_object() && f.contains("re") && f["re"].is_number_integer() &&
           f["re"].get<std::int64_t>() == id;
  });
}

}  // namespace hibiki::testkit
