#pragma once
/// A client_link that records what a session sends, for tests: the frames as parsed JSON and the
/// close code. Thread-safe; `wait_for` blocks (with a generous failsafe timeout, never asserted
/// on) until a frame matching a predicate has arrived, for tests of the threaded node.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "hibiki/actors/node.hpp"

namespace hibiki::testkit {

class recording_link final : public actors::client_link {
 public:
  void send(std::shared_ptr<const std::string> frame) override;
  void close(std::uint16_t code, std::string reason) override;
  /// Not paced (the default): `ready` runs at once, like a client that reads everything as it
  /// comes. Paced: every frame sent counts as unread until the test calls `read_all()`.
  void when_drained(std::size_t below_bytes, std::function<void()> ready) override;

  /// Makes the link hold frames as unread until `read_all()` (a client that reads when told).
  void set_paced(bool paced);
  /// The client reads everything sent so far: unread bytes drop to 0 and the drain waiters run
  /// (their `ready` usually sends to an actor: `run()` the fixture afterwards).
  void read_all();
  /// Bytes sent and not yet read (paced mode), and the most there ever were.
  std::size_t unread_bytes() const;
  std::size_t peak_unread_bytes() const;
  /// Drain waiters registered and not yet run.
  std::size_t drain_waiters() const;

  /// Every frame so far, parsed.
  std::vector<nlohmann::json> frames() const;
  /// Removes and returns the frames so far.
  std::vector<nlohmann::json> take();
  /// The raw shared buffers received (to check that pushes share one encoding).
  std::vector<std::shared_ptr<const std::string>> raw() const;
  std::optional<std::uint16_t> close_code() const;

  /// Waits until a frame satisfies `pred` and returns it (nullopt after the failsafe timeout).
  std::optional<nlohmann::json> wait_for(
      const std::function<bool(const nlohmann::json&)>& pred,
      std::chrono::milliseconds failsafe = std::chrono::seconds(30));
  /// Waits until the connection is closed and returns the code (nullopt after the failsafe).
  std::optional<std::uint16_t> wait_closed(
      std::chrono::milliseconds failsafe = std::chrono::seconds(30));
  /// Waits for the reply `{"re": id, ...}`.
  std::optional<nlohmann::json> wait_reply(std::int64_t id);

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<const std::string>> raw_;
  std::vector<nlohmann::json> frames_;
  std::optional<std::uint16_t> close_code_;
  bool paced_ = false;
  std::size_t unread_ = 0;
  std::size_t peak_unread_ = 0;
  std::vector<std::pair<std::size_t, std::function<void()>>> waiters_;
};

}  // namespace hibiki::testkit
