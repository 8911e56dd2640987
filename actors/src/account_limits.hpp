#pragma once
/// The limits that need to know the account, shared by all of its connections on this node: a
/// token bucket of requests (on top of each connection's own) and a cap on its authenticated
/// connections. Per node: a clustered account's connections on other nodes have their own.
///
/// Time comes from the caller (the actor clock, manual in tests). Thread-safe (one mutex): session
/// actors on any scheduler thread call it once per request, and each call is a hash lookup and a
/// few arithmetic operations.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "hibiki/core/ids.hpp"

namespace hibiki::actors {

struct account_limit_options {
  double rate_per_second = 200;
  double burst = 400;
  std::size_t max_connections = 50;
};

class account_limits {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit account_limits(account_limit_options options);

  /// Counts one more connection of `account`; false (and nothing counted) when it already has
  /// `max_connections`.
  bool try_connect(account_id account, time_point now);
  /// One connection of `account` is gone (each successful try_connect is released once).
  void disconnect(account_id account, time_point now);
  /// Takes one request token of `account` at `now`; false when its bucket is empty.
  bool take_token(account_id account, time_point now);

  /// Connections counted for `account`, and accounts tracked (for tests and metrics).
  std::size_t connections(account_id account) const;
  std::size_t tracked_accounts() const;

 private:
  struct entry {
    std::size_t connections = 0;
    double tokens = 0;
    time_point refilled{};
  };
  void refill(entry& e, time_point now) const;
  /// Forgets accounts without connections whose bucket has refilled: what they would get back.
  void prune(time_point now);

  account_limit_options options_;
  mutable std::mutex mutex_;
  std::unordered_map<account_id, entry> entries_;
  std::size_t prune_at_ = 1024;
};

}  // namespace hibiki::actors
