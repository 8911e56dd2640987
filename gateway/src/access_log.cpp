#include "access_log.hpp"

#include "hibiki/core/log.hpp"

namespace hibiki::gateway {
namespace {

/// Milliseconds since `start`, to the microsecond.
double ms_since(std::chrono::steady_clock::time_point start) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  return static_cast<double>(us) / 1000.0;
}

}  // namespace

std::string peer_text(const tcp::socket& socket) {
  beast::error_code ec;
  const auto peer = socket.remote_endpoint(ec);
  if (ec) return "-";
  const auto address = peer.address().to_string();
  const auto port = std::to_string(peer.port());
  return peer.address().is_v6() ? "[" + address + "]:" + port : address + ":" + port;
}

std::string loggable_path(std::string_view target) {
  constexpr std::size_t max_path = 256;
  auto path = target.substr(0, target.find_first_of("?#"));
  if (path.empty()) return "-";
  return std::string(path.substr(0, max_path));
}

void http_access::begin(std::string_view method, std::string_view target, std::size_t bytes_in) {
  constexpr std::size_t max_method = 16;
  method_ = method.empty() ? std::string("-") : std::string(method.substr(0, max_method));
  path_ = loggable_path(target);
  bytes_in_ = bytes_in;
  start_ = std::chrono::steady_clock::now();
}

void http_access::end(std::string_view peer, std::size_t bytes_out) const {
  if (!log::enabled(log::channel::access)) return;
  log::access("http", {{"peer", peer},
                       {"method", method_},
                       {"path", path_},
                       {"status", status_},
                       {"bytes_in", bytes_in_},
                       {"bytes_out", bytes_out},
                       {"duration_ms", ms_since(start_)}});
}

void ws_access::end(std::string_view peer, bool accepted, unsigned close_code,
                    std::string_view closed_by) const {
  if (!log::enabled(log::channel::access)) return;
  const auto account = account_.load(std::memory_order_relaxed);
  // "account": 0 = the session never authenticated.
  log::access("ws", {{"peer", peer},
                     {"path", "/ws"},
                     {"accepted", accepted},
                     {"account", account},
                     {"frames_in", frames_in_},
                     {"frames_out", frames_out_},
                     {"bytes_in", bytes_in_},
                     {"bytes_out", bytes_out_},
                     {"duration_ms", ms_since(start_)},
                     {"close_code", close_code},
                     {"closed_by", closed_by}});
}

}  // namespace hibiki::gateway
