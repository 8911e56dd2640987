#pragma once
/// A circuit breaker around another journal's writes (Akka persistence's journal breaker).
///
///  - async_append / delete_to go through the breaker. While it is open they fail fast with
///    `unavailable` ("journal circuit breaker is open"), without touching the inner journal.
///  - An append not answered within `call_timeout` is answered `unavailable` ("journal call timed
///    out") and counts as a failure; the inner journal's late answer is then dropped (the entity
///    re-recovers from the journal, so a late success is never lost, only not acknowledged).
///  - Only storage failures (`unavailable`) and timeouts count. conflict / bad_request / too_large
///    are the caller's errors and count as successes of the journal.
///  - replay / highest_seq pass straight through: reads keep working while the breaker is open.
///
/// Time comes from a `breaker_clock`. In production (`steady_breaker_clock`) the journal runs one
/// thread that expires overdue calls and runs fail-fast callbacks (never on the caller's stack).
/// With a manual clock nothing runs by itself: the test advances the clock and calls `poll()`.

#include <chrono>
#include <memory>

#include "hibiki/core/circuit_breaker.hpp"
#include "hibiki/persistence/journal.hpp"

namespace hibiki::persistence {

class breaker_clock {
 public:
  virtual ~breaker_clock() = default;
  virtual circuit_breaker::time_point now() const = 0;
  /// True for the real clock: the journal then starts its own timer thread.
  virtual bool is_real_time() const = 0;
};

/// std::chrono::steady_clock.
std::shared_ptr<breaker_clock> steady_breaker_clock();

class breaker_journal final : public journal {
 public:
  /// `inner` must outlive this journal.
  breaker_journal(journal& inner, breaker_options options,
                  std::shared_ptr<breaker_clock> clock = steady_breaker_clock());
  ~breaker_journal() override;

  void async_append(append_request req, append_callback done) override;
  status replay(const entity_id& entity, seq_nr from, seq_nr to, std::uint64_t max,
                const std::function<void(const persisted_event&)>& fn) override;
  result<seq_nr> highest_seq(const entity_id& entity) override;
  status delete_to(const entity_id& entity, seq_nr to) override;

  breaker_state state() const;
  std::uint32_t consecutive_failures() const;

  /// Expires calls past their deadline and runs queued fail-fast callbacks, on the calling thread.
  /// The timer thread calls it every few ms; with a manual clock the test calls it.
  void poll();

  /// Answers every call still waiting with `unavailable`, stops the timer thread. Idempotent.
  void close();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace hibiki::persistence
