#include "hibiki/core/circuit_breaker.hpp"

#include <algorithm>

namespace hibiki {

std::string_view to_string(breaker_state s) {
  switch (s) {
    case breaker_state::closed:
      return "closed";
    case breaker_state::open:
      return "open";
    case breaker_state::half_open:
      return "half_open";
  }
  return "unknown";
}

namespace {

/// Zero failures would mean "open before the first call", which no one wants: one is the least
/// that makes sense. Negative timeouts mean the same as zero.
breaker_options sanitized(breaker_options o) {
  o.max_failures = std::max<std::uint32_t>(o.max_failures, 1);
  o.call_timeout = std::max(o.call_timeout, std::chrono::milliseconds{0});
  o.reset_timeout = std::max(o.reset_timeout, std::chrono::milliseconds{0});
  return o;
}

}  // namespace

circuit_breaker::circuit_breaker(breaker_options options) : options_(sanitized(options)) {}

bool circuit_breaker::try_acquire(time_point now) {
  switch (state(now)) {
    case breaker_state::closed:
      return true;
    case breaker_state::open:
      return false;
    case breaker_state::half_open:
      state_ = breaker_state::half_open;
      if (trial_running_) return false;
      trial_running_ = true;
      return true;
  }
  return false;
}

void circuit_breaker::on_success(time_point) {
  switch (state_) {
    case breaker_state::closed:
      failures_ = 0;
      break;
    case breaker_state::half_open:
      // The trial went well: the storage is back.
      state_ = breaker_state::closed;
      failures_ = 0;
      trial_running_ = false;
      break;
    case breaker_state::open:
      // A call granted before the breaker opened: it says nothing about the storage now.
      break;
  }
}

void circuit_breaker::on_failure(time_point now) {
  switch (state_) {
    case breaker_state::closed:
      if (failures_ < options_.max_failures) ++failures_;
      if (failures_ >= options_.max_failures) {
        state_ = breaker_state::open;
        opened_at_ = now;
      }
      break;
    case breaker_state::half_open:
      // The trial failed: open again for another reset timeout.
      state_ = breaker_state::open;
      opened_at_ = now;
      trial_running_ = false;
      break;
    case breaker_state::open:
      // Already open; a straggler granted before it opened does not restart the reset timeout.
      break;
  }
}

breaker_state circuit_breaker::state(time_point now) const {
  if (state_ == breaker_state::open && now - opened_at_ >= options_.reset_timeout)
    return breaker_state::half_open;
  return state_;
}

}  // namespace hibiki
