#pragma once
/// The shared timeline of one load run: a monotonic nanosecond clock (send timestamps travel in
/// message bodies and are read back by the receiving connection in the same process), the
/// measurement window, and the stop flag. Read from every connection's strand.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>

namespace hibiki::bench {

inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct run_clock {
  std::atomic<std::int64_t> window_start{std::numeric_limits<std::int64_t>::max()};
  std::atomic<std::int64_t> window_end{std::numeric_limits<std::int64_t>::max()};
  std::atomic<bool> stopping{false};
  /// Sends without a reply yet, over all connections.
  std::atomic<std::int64_t> outstanding{0};
  /// message_created pushes received, over all connections and all time.
  std::atomic<std::uint64_t> pushes_total{0};

  bool in_window(std::int64_t t) const {
    return t >= window_start.load(std::memory_order_relaxed) &&
           t < window_end.load(std::memory_order_relaxed);
  }
};

}  // namespace hibiki::bench
