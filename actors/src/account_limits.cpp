#include "account_limits.hpp"

#include <algorithm>

namespace hibiki::actors {

account_limits::account_limits(account_limit_options options) : options_(options) {
  options_.burst = std::max(options_.burst, 1.0);
}

bool account_limits::try_connect(account_id account, time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto [it, fresh] = entries_.try_emplace(account);
  auto& e = it->second;
  if (fresh) {
    e.tokens = options_.burst;
    e.refilled = now;
  }
  if (e.connections >= options_.max_connections) {
    if (fresh) entries_.erase(it);
    return false;
  }
  ++e.connections;
  return true;
}

void account_limits::disconnect(account_id account, time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(account);
  if (it == entries_.end() || it->second.connections == 0) return;
  --it->second.connections;
  // The bucket outlives the account's last connection until it has refilled, so closing every
  // connection and reconnecting does not buy a fresh burst.
  if (entries_.size() >= prune_at_) prune(now);
}

bool account_limits::take_token(account_id account, time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto [it, fresh] = entries_.try_emplace(account);
  auto& e = it->second;
  if (fresh) {
    e.tokens = options_.burst;
    e.refilled = now;
  }
  refill(e, now);
  if (e.tokens < 1.0) return false;
  e.tokens -= 1.0;
  return true;
}

std::size_t account_limits::connections(account_id account) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(account);
  return it == entries_.end() ? 0 : it->second.connections;
}

std::size_t account_limits::tracked_accounts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

void account_limits::refill(entry& e, time_point now) const {
  if (now <= e.refilled) return;
  const double elapsed = std::chrono::duration<double>(now - e.refilled).count();
  e.refilled = now;
  e.tokens = std::min(options_.burst, e.tokens + elapsed * options_.rate_per_second);
}

void account_limits::prune(time_point now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    refill(it->second, now);
    if (it->second.connections == 0 && it->second.tokens >= options_.burst)
      it = entries_.erase(it);
    else
      ++it;
  }
  // Amortized: the next sweep waits until the table has doubled since this one.
  prune_at_ = std::max<std::size_t>(1024, entries_.size() * 2);
}

}  // namespace hibiki::actors
