#pragma once
/// Admission control at the network edge, for what is known before authentication: how many
/// connections are open (in total and per client address) and how often an address signs up.
/// Thread-safe: the listener and every connection's strand use one instance.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace hibiki::gateway {

class connection_limits;

/// What one connection holds: a place in the total count, a place in its address's count, or a
/// place among the connections being refused. Released on destruction; move-only, so it travels
/// from the http_session into the ws_session that takes over the socket.
class admission_slot {
 public:
  admission_slot() = default;
  admission_slot(const admission_slot&) = delete;
  admission_slot& operator=(const admission_slot&) = delete;
  admission_slot(admission_slot&& other) noexcept;
  admission_slot& operator=(admission_slot&& other) noexcept;
  ~admission_slot();

  /// Takes a place in `key`'s count; false (and nothing taken) when the address is at its cap.
  /// A slot holds at most one address; a second call for the same slot is a no-op returning true.
  bool enter_address(const std::string& key);
  bool has_address() const { return !key_.empty(); }

 private:
  friend class connection_limits;
  void release();

  connection_limits* limits_ = nullptr;
  bool total_ = false;
  bool refusing_ = false;
  std::string key_;
};

class connection_limits {
 public:
  /// 0 = no cap. `max_refusing` bounds the connections that are being answered 503/429: past it
  /// a connection over a cap is closed at once, since even answering would cost too much.
  connection_limits(std::size_t max_total, std::size_t max_per_address, std::size_t max_refusing);

  enum class verdict {
    admitted,       ///< the slot holds a place in the total (and the address when given)
    over_total,     ///< refused: total cap; the slot holds a refusing place
    over_address,   ///< refused: the address's cap; the slot holds a refusing place
    close_at_once,  ///< refused, and too many refusals already in progress: close the socket
  };

  /// Admits a new connection. `key` empty = do not count an address yet (the peer is a trusted
  /// proxy: the client is known only from its requests).
  verdict admit(const std::string& key, admission_slot& slot);

  std::size_t open_total() const;
  std::size_t open_for(const std::string& key) const;

 private:
  friend class admission_slot;
  bool enter_address(const std::string& key);
  void leave(admission_slot& slot);

  const std::size_t max_total_;
  const std::size_t max_per_address_;
  const std::size_t max_refusing_;
  mutable std::mutex mutex_;
  std::size_t total_ = 0;
  std::size_t refusing_ = 0;
  std::unordered_map<std::string, std::size_t> per_address_;
};

/// A token bucket per client address: `burst` sign-ups, refilled at `burst` per `period`. Entries
/// whose bucket is full again are dropped when the table grows, and the table never holds more
/// than `max_keys` addresses: past that, every address is refused until entries age out (an
/// attacker with many addresses cannot grow memory without bound).
class rate_limiter_by_key {
 public:
  using clock = std::chrono::steady_clock;

  rate_limiter_by_key(std::uint32_t burst, std::chrono::seconds period,
                      std::size_t max_keys = 100'000);

  /// Takes one token for `key` at `now`. On refusal, `retry_after` is when the next token is
  /// there (whole seconds, at least 1). A limiter with burst 0 admits everything.
  bool try_take(const std::string& key, clock::time_point now, std::chrono::seconds& retry_after);

  std::size_t tracked_keys() const;

 private:
  struct bucket {
    double tokens;
    clock::time_point updated;
  };
  void refill(bucket& b, clock::time_point now) const;
  void sweep(clock::time_point now);

  const double burst_;
  const double per_second_;
  const std::size_t max_keys_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, bucket> buckets_;
};

}  // namespace hibiki::gateway
