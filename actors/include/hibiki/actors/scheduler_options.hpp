#pragma once
/// How CAF's scheduler runs the node's actors: its policy, how many messages an actor handles
/// before it yields its worker, and how an idle work-stealing worker polls before it sleeps. The
/// defaults are CAF 0.17's own; docs/operations.md ("Actor scheduler") explains each setting and
/// docs/benchmarks.md ("Issue 13: CAF scheduler settings") what they cost.

#include <chrono>
#include <cstddef>

namespace hibiki::actors {

/// CAF's scheduling policy.
enum class scheduler_policy {
  /// One queue per worker; an idle worker polls its queue and steals from the others.
  stealing,
  /// One shared queue; an idle worker waits on it at once, without polling.
  sharing,
};

struct scheduler_options {
  /// The policy. Default: stealing (CAF's).
  scheduler_policy policy = scheduler_policy::stealing;
  /// Most messages an actor handles in one go before its worker moves on to the next actor.
  /// Default: 0 = no limit (CAF's).
  std::size_t max_throughput = 0;
  /// Work stealing: polls of an idle worker's queue with no sleep in between (CAF's
  /// aggressive-poll-attempts). Default: 100.
  std::size_t spin_polls = 100;
  /// Work stealing: polls after those, each followed by a sleep of `poll_sleep` (CAF's
  /// moderate-poll-attempts); 0 = wait on the condition variable right after the spin polls.
  /// Default: 500.
  std::size_t sleep_polls = 500;
  /// Work stealing: the sleep between two of the `sleep_polls` (CAF's moderate-sleep-duration).
  /// Default: 50 µs.
  std::chrono::microseconds poll_sleep{50};
  /// Work stealing: how long a worker that found no work waits on its condition variable before
  /// it looks for work to steal (CAF's relaxed-sleep-duration); new work for it wakes it at once.
  /// Default: 10 ms.
  std::chrono::milliseconds idle_wait{10};
};

}  // namespace hibiki::actors
