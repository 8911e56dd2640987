#include "signup_client.hpp"

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "tls_stream.hpp"

namespace hibiki::bench {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

/// One keep-alive HTTP connection, reopened when the server closes it.
class signup_connection {
 public:
  signup_connection(std::string host, std::string port, bool tls)
      : host_(std::move(host)),
        port_(std::move(port)),
        tls_(tls),
        stream_(std::in_place, ioc_.get_executor(), tls) {}

  /// Nothing (and `error` set) on failure.
  std::optional<account> sign_up(const std::string& name, std::string& error) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      beast::error_code ec;
      if (!open_) {
        tcp::resolver resolver(ioc_);
        auto endpoints = resolver.resolve(host_, port_, ec);
        if (!ec) stream_->next_layer().connect(endpoints, ec);
        if (!ec) stream_->handshake(ec);
        if (ec) {
          error = "connect: " + ec.message();
          continue;
        }
        open_ = true;
      }
      http::request<http::string_body> req{http::verb::post, "/api/signup", 11};
      req.set(http::field::host, host_);
      req.set(http::field::content_type, "application/json");
      req.keep_alive(true);
      req.body() = nlohmann::json{{"name", name}}.dump();
      req.prepare_payload();
      http::write(*stream_, req, ec);
      http::response<http::string_body> res;
      if (!ec) http::read(*stream_, buffer_, res, ec);
      if (ec) {
        // A keep-alive connection the server closed: reconnect once.
        error = "http: " + ec.message();
        reset();
        continue;
      }
      if (!res.keep_alive()) reset();
      if (res.result() != http::status::ok) {
        error = "status " + std::to_string(res.result_int()) + ": " + res.body();
        return std::nullopt;
      }
      auto body = nlohmann::json::parse(res.body(), nullptr, false);
      if (body.is_discarded() || !body.contains("token") || !body.contains("account_id")) {
        error = "unexpected sign-up reply: " + res.body();
        return std::nullopt;
      }
      return account{body["account_id"].get<std::uint64_t>(), name,
                     body["token"].get<std::string>()};
    }
    return std::nullopt;
  }

 private:
  void reset() {
    beast::error_code ignored;
    stream_->next_layer().socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_->next_layer().close();
    buffer_.clear();
    open_ = false;
    // A TLS session cannot be reused on a new socket: start from a fresh stream.
    stream_.emplace(ioc_.get_executor(), tls_);
  }

  std::string host_;
  std::string port_;
  net::io_context ioc_;
  bool tls_;
  std::optional<tls_stream> stream_;
  beast::flat_buffer buffer_;
  bool open_ = false;
};

}  // namespace

std::vector<account> sign_up_accounts(const std::string& host, const std::string& port,
                                      const std::string& prefix, std::size_t count,
                                      std::size_t parallelism, bool tls) {
  std::vector<std::optional<account>> slots(count);
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex error_mutex;
  std::string first_error;
  std::vector<std::thread> workers;
  for (std::size_t w = 0; w < std::min(parallelism, count); ++w) {
    workers.emplace_back([&] {
      signup_connection conn(host, port, tls);
      std::string error;
      for (std::size_t i = next++; i < count && !failed; i = next++) {
        slots[i] = conn.sign_up(prefix + std::to_string(i), error);
        if (!slots[i]) {
          failed = true;
          std::lock_guard lock(error_mutex);
          if (first_error.empty()) first_error = error;
        }
      }
    });
  }
  for (auto& t : workers) t.join();
  std::vector<account> out;
  out.reserve(count);
  for (auto& s : slots) {
    if (s) out.push_back(std::move(*s));
  }
  if (failed) std::fprintf(stderr, "hibiki_loadgen: sign-up failed: %s\n", first_error.c_str());
  return out;
}

}  // namespace hibiki::bench
