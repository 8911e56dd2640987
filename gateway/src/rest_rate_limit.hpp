#pragma once
/// The REST API's per-token request limit, as Chatwork counts it: at most `limit` requests per
/// token in a fixed window of `period` (default 300 per 5 minutes), reported to the client in the
/// x-ratelimit-limit / -remaining / -reset headers (reset = the window's end in Unix seconds).
/// Per node: in a cluster each node counts the requests it serves. Thread-safe (the gateway may
/// run several I/O threads).

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace hibiki::gateway {

class rest_rate_limit {
 public:
  /// `limit` 0 = no limit (the headers still go out, with remaining = 0 never reached).
  rest_rate_limit(std::uint32_t limit, std::chrono::seconds period,
                  std::size_t max_tokens = 100'000)
      : limit_(limit), period_(period), max_tokens_(max_tokens) {}

  struct verdict {
    bool allowed = true;
    std::uint32_t limit = 0;
    std::uint32_t remaining = 0;
    std::int64_t reset = 0;  ///< Unix seconds when the window ends
  };

  /// Counts one request of `token` at `now` (Unix seconds). Only authenticated tokens are passed
  /// in, so the table holds at most one entry per live token; past `max_tokens` windows that
  /// ended are swept, and if none did the request is refused (never unbounded memory).
  verdict take(std::string_view token, std::int64_t now);

 private:
  struct window {
    std::int64_t start = 0;
    std::uint32_t used = 0;
  };
  std::uint32_t limit_;
  std::chrono::seconds period_;
  std::size_t max_tokens_;
  std::mutex mutex_;
  std::unordered_map<std::string, window> windows_;
};

}  // namespace hibiki::gateway
