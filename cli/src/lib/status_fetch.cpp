#include "hibiki/cli/status_fetch.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace hibiki::cli {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;
using json = nlohmann::json;

std::string with_port(const server_url& url) {
  return (url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host) + ":" +
         url.port;
}

/// "code: message" from the gateway's {"error":{"code","message"}}, else the start of the body.
std::string error_text(const std::string& body) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    const auto& e = j["error"];
    auto code = e.contains("code") && e["code"].is_string() ? e["code"].get<std::string>() : "";
    auto message =
        e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : "";
    if (!code.empty() || !message.empty()) return code + ": " + message;
  }
  return body.substr(0, 200);
}

/// The server's own error code from its JSON body, or "".
std::string error_code(const std::string& body) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object() &&
      j["error"].contains("code") && j["error"]["code"].is_string())
    return j["error"]["code"].get<std::string>();
  return "";
}

result<status_reply> exchange(const server_url& url, http::verb method, std::string_view target,
                              std::string body, std::string_view what,
                              std::chrono::milliseconds timeout, std::string_view admin_token);

}  // namespace

result<status_reply> fetch_status_json(const server_url& url, std::string_view target,
                                       std::string_view what, std::chrono::milliseconds timeout,
                                       std::string_view admin_token) {
  return exchange(url, http::verb::get, target, {}, what, timeout, admin_token);
}

result<status_reply> post_operator_json(const server_url& url, std::string_view target,
                                        std::string body, std::string_view what,
                                        std::chrono::milliseconds timeout,
                                        std::string_view admin_token) {
  return exchange(url, http::verb::post, target, std::move(body), what, timeout, admin_token);
}

namespace {

result<status_reply> exchange(const server_url& url, http::verb method, std::string_view target,
                              std::string body, std::string_view what,
                              std::chrono::milliseconds timeout, std::string_view admin_token) {
  using reply = result<status_reply>;
  const std::string thing(what);
  const auto where = with_port(url);
  net::io_context ioc;
  beast::error_code ec;
  tcp::resolver resolver(ioc);
  auto endpoints = resolver.resolve(url.host, url.port, ec);
  if (ec) return reply(errc::unavailable, "cannot resolve " + url.host + ": " + ec.message());

  // Asynchronous, with the stream's deadline: a server that accepts and never answers must not
  // hang the command.
  beast::tcp_stream stream(ioc);
  http::request<http::string_body> req{method, std::string(target), 11};
  req.set(http::field::host, where);
  req.set(http::field::user_agent, "hibiki-cli");
  if (!admin_token.empty())
    req.set(http::field::authorization, "Bearer " + std::string(admin_token));
  if (method == http::verb::post) {
    req.set(http::field::content_type, "application/json");
    req.body() = std::move(body);
    req.prepare_payload();
  }
  req.keep_alive(false);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(16 * 1024 * 1024);
  std::string failed_step;
  beast::error_code failure;

  stream.expires_after(timeout);
  stream.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) {
    if (e) {
      failed_step = "connect to";
      failure = e;
      return;
    }
    stream.expires_after(timeout);
    http::async_write(stream, req, [&](beast::error_code e2, std::size_t) {
      if (e2) {
        failed_step = "send the request to";
        failure = e2;
        return;
      }
      stream.expires_after(timeout);
      http::async_read(stream, buffer, parser, [&](beast::error_code e3, std::size_t) {
        if (e3) {
          failed_step = "read the answer from";
          failure = e3;
        }
      });
    });
  });
  ioc.run();

  if (failure) {
    if (failure == beast::error::timeout) {
      return reply(errc::unavailable, "no answer from " + where + " within " +
                                          std::to_string(timeout.count()) + " ms");
    }
    auto message = "cannot " + failed_step + " " + where + ": " + failure.message();
    if (failure == net::error::connection_refused) message += " (is hibikid running there?)";
    return reply(errc::unavailable, message);
  }
  auto res = parser.release();
  const auto why =
      " (HTTP " + std::to_string(res.result_int()) + " " + error_text(res.body()) + ")";
  if (res.result() == http::status::unauthorized) {
    return reply(errc::unauthenticated,
                 "the server refused the " + thing + why +
                     (admin_token.empty() ? ": it wants the admin token: pass --admin-token-file "
                                            "FILE or set HIBIKI_ADMIN_TOKEN"
                                          : ": the admin token given is not the server's"));
  }
  if (res.result() == http::status::forbidden) {
    return reply(errc::forbidden, "the server refused the " + thing + why +
                                      "; its operator endpoints are off unless hibikid runs with "
                                      "--admin-token-file or --admin-http");
  }
  const auto code = error_code(res.body());
  if (res.result() == http::status::bad_request && method == http::verb::post)
    return reply(errc::bad_request, thing + " refused" + why);
  if (res.result() == http::status::not_found && code == "not_found" &&
      method == http::verb::post &&
      error_text(res.body()).find("no such account") != std::string::npos)
    return reply(errc::not_found, thing + " failed" + why);
  if (res.result() != http::status::ok) {
    auto message = thing + " failed" + why;
    if (res.result() == http::status::not_found) {
      message += "; is this a hibikid that serves " + std::string(target) +
                 "? (with --admin-http it is served on the admin listener only: pass "
                 "--admin-url http://HOST:PORT)";
    }
    return reply(errc::internal, message);
  }
  auto j = json::parse(res.body(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return reply(errc::internal,
                 "the server's " + thing + " is not a JSON object: " + res.body().substr(0, 80));
  }
  return status_reply{res.body(), std::move(j)};
}

}  // namespace

}  // namespace hibiki::cli
