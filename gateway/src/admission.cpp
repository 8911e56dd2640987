#include "admission.hpp"

#include <algorithm>
#include <cmath>

namespace hibiki::gateway {

// ---- admission_slot ----

admission_slot::admission_slot(admission_slot&& other) noexcept
    : limits_(other.limits_),
      total_(other.total_),
      refusing_(other.refusing_),
      key_(std::move(other.key_)) {
  other.limits_ = nullptr;
  other.total_ = other.refusing_ = false;
  other.key_.clear();
}

admission_slot& admission_slot::operator=(admission_slot&& other) noexcept {
  if (this != &other) {
    release();
    limits_ = other.limits_;
    total_ = other.total_;
    refusing_ = other.refusing_;
    key_ = std::move(other.key_);
    other.limits_ = nullptr;
    other.total_ = other.refusing_ = false;
    other.key_.clear();
  }
  return *this;
}

admission_slot::~admission_slot() {
  release();
}

bool admission_slot::enter_address(const std::string& key) {
  if (!limits_ || !key_.empty()) return true;
  if (!limits_->enter_address(key)) return false;
  key_ = key;
  return true;
}

void admission_slot::release() {
  if (limits_) limits_->leave(*this);
  limits_ = nullptr;
  total_ = refusing_ = false;
  key_.clear();
}

// ---- connection_limits ----

connection_limits::connection_limits(std::size_t max_total, std::size_t max_per_address,
                                     std::size_t max_refusing)
    : max_total_(max_total), max_per_address_(max_per_address), max_refusing_(max_refusing) {}

connection_limits::verdict connection_limits::admit(const std::string& key, admission_slot& slot) {
  std::lock_guard lock(mutex_);
  auto refuse = [&](verdict why) {
    if (refusing_ >= max_refusing_) return verdict::close_at_once;
    ++refusing_;
    slot.limits_ = this;
    slot.refusing_ = true;
    return why;
  };
  if (max_total_ != 0 && total_ >= max_total_) return refuse(verdict::over_total);
  if (!key.empty() && max_per_address_ != 0) {
    auto it = per_address_.find(key);
    if (it != per_address_.end() && it->second >= max_per_address_)
      return refuse(verdict::over_address);
  }
  ++total_;
  slot.limits_ = this;
  slot.total_ = true;
  if (!key.empty()) {
    ++per_address_[key];
    slot.key_ = key;
  }
  return verdict::admitted;
}

bool connection_limits::enter_address(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto& n = per_address_[key];
  if (max_per_address_ != 0 && n >= max_per_address_) {
    if (n == 0) per_address_.erase(key);
    return false;
  }
  ++n;
  return true;
}

void connection_limits::leave(admission_slot& slot) {
  std::lock_guard lock(mutex_);
  if (slot.total_) --total_;
  if (slot.refusing_) --refusing_;
  if (!slot.key_.empty()) {
    auto it = per_address_.find(slot.key_);
    if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
  }
}

std::size_t connection_limits::open_total() const {
  std::lock_guard lock(mutex_);
  return total_;
}

std::size_t connection_limits::open_for(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = per_address_.find(key);
  return it == per_address_.end() ? 0 : it->second;
}

// ---- rate_limiter_by_key ----

rate_limiter_by_key::rate_limiter_by_key(std::uint32_t burst, std::chrono::seconds period,
                                         std::size_t max_keys)
    : burst_(burst),
      per_second_(period.count() > 0 ? static_cast<double>(burst) / period.count() : 0.0),
      max_keys_(max_keys) {}

void rate_limiter_by_key::refill(bucket& b, clock::time_point now) const {
  if (now <= b.updated) return;
  const double elapsed = std::chrono::duration<double>(now - b.updated).count();
  b.tokens = std::min(burst_, b.tokens + elapsed * per_second_);
  b.updated = now;
}

void rate_limiter_by_key::sweep(clock::time_point now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    refill(it->second, now);
    if (it->second.tokens >= burst_)
      it = buckets_.erase(it);
    else
      ++it;
  }
}

bool rate_limiter_by_key::try_take(const std::string& key, clock::time_point now,
                                   std::chrono::seconds& retry_after) {
  if (burst_ <= 0) return true;
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) sweep(now);
    if (buckets_.size() >= max_keys_) {
      retry_after = std::chrono::seconds(
          std::max<long>(1, static_cast<long>(std::ceil(1.0 / std::max(per_second_, 1e-9)))));
      return false;
    }
    it = buckets_.emplace(key, bucket{burst_, now}).first;
  }
  auto& b = it->second;
  refill(b, now);
  if (b.tokens >= 1.0 - 1e-9) {  // tolerate rounding in the refill
    b.tokens -= 1.0;
    return true;
  }
  const double wait = per_second_ > 0 ? (1.0 - b.tokens) / per_second_ : 3600.0;
  retry_after = std::chrono::seconds(std::max<long>(1, static_cast<long>(std::ceil(wait))));
  return false;
}

std::size_t rate_limiter_by_key::tracked_keys() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

}  // namespace hibiki::gateway
