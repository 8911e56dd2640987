#include "rest_rate_limit.hpp"

#include <algorithm>

namespace hibiki::gateway {

rest_rate_limit::verdict rest_rate_limit::take(std::string_view token, std::int64_t now) {
  const std::int64_t period = std::max<std::int64_t>(period_.count(), 1);
  std::lock_guard lock(mutex_);
  auto it = windows_.find(std::string(token));
  if (it == windows_.end()) {
    if (windows_.size() >= max_tokens_) {
      for (auto w = windows_.begin(); w != windows_.end();) {
        if (now >= w->second.start + period)
          w = windows_.erase(w);
        else
          ++w;
      }
      if (windows_.size() >= max_tokens_) return verdict{false, limit_, 0, now + period};
    }
    it = windows_.emplace(std::string(token), window{now, 0}).first;
  }
  auto& w = it->second;
  if (now >= w.start + period) w = window{now, 0};
  verdict v;
  v.limit = limit_;
  v.reset = w.start + period;
  if (limit_ != 0 && w.used >= limit_) {
    v.allowed = false;
    v.remaining = 0;
    return v;
  }
  ++w.used;
  v.remaining = limit_ == 0 ? 0 : limit_ - w.used;
  return v;
}

}  // namespace hibiki::gateway
