#pragma once
/// A breaker_clock that only moves when the test says so. A breaker_journal on it starts no
/// thread: the test advances the clock and calls `poll()` to expire calls and run fail-fast
/// answers, so breaker tests never wait on real time. Header-only, so tests that do not link the
/// actor testkit (tests/persistence) can use it through `hibiki_testkit_clock`.

#include <atomic>
#include <chrono>
#include <cstdint>

#include "hibiki/persistence/breaker_journal.hpp"

namespace hibiki::testkit {

class manual_breaker_clock final : public persistence::breaker_clock {
 public:
  using time_point = circuit_breaker::time_point;

  /// Starts an hour after the clock's epoch, so no test depends on time zero being special.
  static constexpr time_point start = time_point{} + std::chrono::hours(1);

  time_point now() const override { return start + std::chrono::nanoseconds(offset_ns_.load()); }
  bool is_real_time() const override { return false; }

  /// Moves the clock forward by `d`. Time never goes back (breaker_journal relies on it), so a
  /// negative `d` is ignored.
  void advance(std::chrono::nanoseconds d) {
    if (d.count() > 0) offset_ns_.fetch_add(d.count());
  }

 private:
  std::atomic<std::int64_t> offset_ns_{0};
};

}  // namespace hibiki::testkit
