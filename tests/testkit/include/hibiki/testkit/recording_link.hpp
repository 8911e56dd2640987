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
#include <vector>

#include <nlohmann/json.hpp>

#include "hibiki/actors/node.hpp"

namespace hibiki::testkit {

class recording_link final : public actors::client_link {
 public:
  void send(std::shared_ptr<const std::string> frame) override;
  void close(std::uint16_t code, std::string reason) override;

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
};

}  // namespace hibiki::testkit
