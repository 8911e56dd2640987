#include "connection_registry.hpp"

#include <vector>

namespace hibiki::gateway {

std::uint64_t connection_registry::add(std::weak_ptr<connection> c) {
  std::lock_guard lock(mutex_);
  auto id = next_id_++;
  live_.emplace(id, std::move(c));
  return id;
}

void connection_registry::remove(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  live_.erase(id);
  if (live_.empty()) empty_.notify_all();
}

void connection_registry::shutdown_all() {
  // Collect first: shutdown() may end up in remove() on another thread, never under our lock.
  std::vector<std::shared_ptr<connection>> all;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, weak] : live_)
      if (auto c = weak.lock()) all.push_back(std::move(c));
  }
  for (auto& c : all) c->shutdown();
}

void connection_registry::release_all() {
  std::vector<std::shared_ptr<connection>> all;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, weak] : live_)
      if (auto c = weak.lock()) all.push_back(std::move(c));
  }
  for (auto& c : all) c->release();
}

bool connection_registry::wait_empty(std::chrono::milliseconds limit) {
  std::unique_lock lock(mutex_);
  return empty_.wait_for(lock, limit, [this] { return live_.empty(); });
}

std::size_t connection_registry::size() const {
  std::lock_guard lock(mutex_);
  return live_.size();
}

}  // namespace hibiki::gateway
