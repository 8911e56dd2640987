#pragma once
/// The access log's records as the gateway fills them: one per HTTP request (written when its
/// response is on the wire) and one per WebSocket session (written when the connection object
/// ends, so every frame and byte is counted). Paths lose their query string; no header, body or
/// frame content is ever recorded, so a token can never reach the access log.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "beast_fwd.hpp"

namespace hibiki::gateway {

/// "IP:PORT" ("[IPv6]:PORT"); "-" when the socket has no peer any more.
std::string peer_text(const tcp::socket& socket);

/// The path of a request target as logged: no query string or fragment, at most 256 bytes.
std::string loggable_path(std::string_view target);

/// One HTTP request, from the moment it was read to the moment its response was written.
class http_access {
 public:
  /// A request was read (or failed to parse after `bytes_in` bytes): method and target as far as
  /// the parser got.
  void begin(std::string_view method, std::string_view target, std::size_t bytes_in);
  /// The status of the response about to be written.
  void respond(unsigned status) { status_ = status; }
  /// More of the request's body was read after `begin` (a streamed upload).
  void add_bytes_in(std::size_t bytes) { bytes_in_ += bytes; }
  /// The response was written (or its write failed after `bytes_out` bytes): writes the record
  /// when the access log is on.
  void end(std::string_view peer, std::size_t bytes_out) const;

 private:
  unsigned status_ = 0;
  std::string method_ = "-";
  std::string path_ = "-";
  std::uint64_t bytes_in_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

/// One WebSocket session's counters. Frames and bytes are counted on the connection's strand;
/// the account is set from an actor thread, hence atomic.
class ws_access {
 public:
  void frame_in(std::size_t bytes) {
    ++frames_in_;
    bytes_in_ += bytes;
  }
  void frame_out(std::size_t bytes) {
    ++frames_out_;
    bytes_out_ += bytes;
  }
  void set_account(std::uint64_t account) { account_.store(account, std::memory_order_relaxed); }

  /// Writes the record: `accepted` false when the opening handshake failed; `close_code` as sent
  /// or received (1006 when the connection ended without a close frame); `closed_by` "client" or
  /// "server".
  void end(std::string_view peer, bool accepted, unsigned close_code,
           std::string_view closed_by) const;

 private:
  std::uint64_t frames_in_ = 0, frames_out_ = 0, bytes_in_ = 0, bytes_out_ = 0;
  std::atomic<std::uint64_t> account_{0};
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace hibiki::gateway
