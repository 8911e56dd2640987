#pragma once
/// How far opening the storage has got, for whoever watches meanwhile (hibikid answers /readyz
/// from it while the journal opens, which on Kafka can take minutes), and the way to cancel an
/// open (SIGTERM during a long catch-up). One object shared by the opener and its watchers;
/// thread-safe.

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "hibiki/persistence/backend.hpp"

namespace hibiki::persistence {

class open_progress {
 public:
  /// At most this many partitions are listed by pending(); the rest are counted in one line.
  static constexpr std::size_t max_partitions_listed = 16;

  /// What is not done yet, one complete sentence each (the /readyz reasons). While a watched
  /// backend catches up: each partition not caught up, "opening the journal: partition 3
  /// catching up 1200/5000" (indexed/end offsets, "?" when unknown; "following" instead of
  /// "catching up" for a clustered node indexing what others write), or the current step when
  /// every partition is caught up or the status cannot be read. Otherwise the current step
  /// ("opening the journal: connecting to kafka topic T at B", "starting the node"). Never
  /// empty. May ask the broker (the watched backend's status(), ~1 s at most).
  std::vector<std::string> pending() const;

  /// Asks the open to give up at its next check (a fraction of a second, or the end of the broker
  /// call in flight, bounded by the request timeout); it then fails with unavailable "opening
  /// cancelled". Idempotent.
  void cancel();
  bool cancelled() const;

  // ---- for the opener ----

  /// The current step, a complete sentence ("opening the journal: ...").
  void set_step(std::string step);
  /// While watched, pending() reads each partition from `source` (a backend's status()).
  void watch(std::function<journal_status()> source);
  /// Stops watching; waits for a pending() that is reading the source, so the backend behind it
  /// may be closed once this returns.
  void unwatch();

 private:
  mutable std::mutex mutex_;  ///< guards step_, source_ (held while source_ runs)
  std::string step_ = "opening the journal";
  std::function<journal_status()> source_;
  std::atomic<bool> cancelled_{false};
};

/// The /readyz lines for a journal being opened (open_progress::pending with a watched backend):
/// "opening the journal: partition P STATE INDEXED/END" for each partition that is not serving
/// and not caught up, at most `max_listed` of them plus "opening the journal: N more partitions
/// not caught up". Empty when every partition is caught up. Pure; unit-tested.
std::vector<std::string> opening_partition_lines(const journal_status& status,
                                                 std::size_t max_listed);

}  // namespace hibiki::persistence
