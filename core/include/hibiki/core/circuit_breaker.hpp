#pragma once
/// A circuit breaker as Akka's (closed / open / half-open), pure: the caller passes the time, so
/// tests drive it with a manual clock and production with steady_clock.
///
///  closed     calls go through; `max_failures` failures in a row open it.
///  open       calls fail fast; `reset_timeout` after opening it becomes half-open.
///  half_open  exactly one trial call goes through (others fail fast); its success closes the
///             breaker, its failure opens it again for another `reset_timeout`.
/// A call that takes longer than `call_timeout` counts as a failure (the caller enforces it).

#include <chrono>
#include <cstdint>
#include <string_view>

namespace hibiki {

/// Bad values are not errors: `max_failures` 0 counts as 1; a negative timeout counts as 0. A
/// zero `reset_timeout` lets the next call try at once (still one trial at a time); a zero
/// `call_timeout` means calls are not timed out (breaker_journal enforces no deadline).
struct breaker_options {
  std::uint32_t max_failures = 10;
  std::chrono::milliseconds call_timeout{10'000};
  std::chrono::milliseconds reset_timeout{30'000};

  bool operator==(const breaker_options&) const = default;
};

enum class breaker_state : std::uint8_t { closed, open, half_open };

std::string_view to_string(breaker_state s);

class circuit_breaker {
 public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;

  explicit circuit_breaker(breaker_options options = {});

  /// May a call start at `now`? Moves open → half_open once the reset timeout has passed; in
  /// half_open, grants only one trial call until that call reports back.
  bool try_acquire(time_point now);
  /// The call that was granted at try_acquire finished well.
  void on_success(time_point now);
  /// The call failed or timed out.
  void on_failure(time_point now);

  /// The state at `now` (open reads as half_open once its reset timeout has passed).
  breaker_state state(time_point now) const;
  std::uint32_t consecutive_failures() const { return failures_; }
  const breaker_options& options() const { return options_; }

 private:
  breaker_options options_;
  breaker_state state_ = breaker_state::closed;
  std::uint32_t failures_ = 0;
  time_point opened_at_{};
  bool trial_running_ = false;
};

}  // namespace hibiki
