#pragma once
/// Asks the backend for its status on a thread of its own, with a deadline, so an operator's
/// `GET /api/journal` never waits longer than that, whatever the broker client does. The backends
/// budget about a second, but a client library can hang past its own timeout: librdkafka 2.0's
/// rd_kafka_query_watermark_offsets did while the broker was down (librdkafka #2588, fixed in
/// 2.3; the Kafka backend no longer calls it), which hung the gateway and then hibikid's stop.
///
/// At most one status call runs at a time; a caller arriving while one runs waits for that one.
/// Owned by the node; thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>

#include "hibiki/persistence/backend.hpp"

namespace hibiki::actors {

class status_probe {
 public:
  /// `backend` must outlive the probe's thread: see wait_idle.
  explicit status_probe(persistence::backend& backend);
  /// Joins the thread, so it waits for a call still running. Call wait_idle first.
  ~status_probe();
  status_probe(const status_probe&) = delete;
  status_probe& operator=(const status_probe&) = delete;

  /// The backend's status, or nullopt when it did not answer within `limit`.
  std::optional<persistence::journal_status> get(std::chrono::milliseconds limit);

  /// Stops taking calls and waits up to `limit` for the running one. False when it is still
  /// running (the backend is then still in use by the probe's thread).
  bool wait_idle(std::chrono::milliseconds limit);

 private:
  void run();

  persistence::backend& backend_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::uint64_t requested_ = 0;  ///< generation asked for
  std::uint64_t answered_ = 0;   ///< generation of `last_`
  bool running_ = false;
  bool stopped_ = false;
  persistence::journal_status last_;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace hibiki::actors
