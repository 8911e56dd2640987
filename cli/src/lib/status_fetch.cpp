#include "hibiki/cli/status_fetch.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <type_traits>

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

result<status_reply> exchange(const server_url& url, const client_tls_options& tls,
                              http::verb method, std::string_view target, std::string body,
                              std::string_view what, std::chrono::milliseconds timeout,
                              std::string_view admin_token);

}  // namespace

result<status_reply> fetch_status_json(const server_url& url, std::string_view target,
                                       std::string_view what, std::chrono::milliseconds timeout,
                                       std::string_view admin_token,
                                       const client_tls_options& tls) {
  return exchange(url, tls, http::verb::get, target, {}, what, timeout, admin_token);
}

result<status_reply> post_operator_json(const server_url& url, std::string_view target,
                                        std::string body, std::string_view what,
                                        std::chrono::milliseconds timeout,
                                        std::string_view admin_token,
                                        const client_tls_options& tls) {
  return exchange(url, tls, http::verb::post, target, std::move(body), what, timeout, admin_token);
}

namespace {

/// The exchange's steps on `stream` (plain TCP or TLS over TCP), chained asynchronously so that
/// each is bounded by the stream's deadline: a server that accepts and never answers must not
/// hang the command. Fills `failed_step` and `failure` when a step fails.
template <class Stream>
void run_exchange(net::io_context& ioc, Stream& stream,
                  const tcp::resolver::results_type& endpoints,
                  http::request<http::string_body>& req, beast::flat_buffer& buffer,
                  http::response_parser<http::string_body>& parser,
                  std::chrono::milliseconds timeout, std::string& failed_step,
                  beast::error_code& failure) {
  auto& tcp_layer = beast::get_lowest_layer(stream);
  auto fail_at = [&](const char* step, beast::error_code e) {
    failed_step = step;
    failure = e;
  };
  auto write_and_read = [&] {
    tcp_layer.expires_after(timeout);
    http::async_write(stream, req, [&](beast::error_code e, std::size_t) {
      if (e) return fail_at("send the request to", e);
      tcp_layer.expires_after(timeout);
      http::async_read(stream, buffer, parser, [&](beast::error_code e2, std::size_t) {
        if (e2) fail_at("read the answer from", e2);
      });
    });
  };
  tcp_layer.expires_after(timeout);
  tcp_layer.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) {
    if (e) return fail_at("connect to", e);
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      write_and_read();
    } else {
      tcp_layer.expires_after(timeout);
      stream.async_handshake(net::ssl::stream_base::client, [&](beast::error_code e2) {
        if (e2) return fail_at("handshake", e2);
        write_and_read();
      });
    }
  });
  ioc.run();
}

}  // namespace

result<http_answer> http_exchange(const server_url& url, const client_tls_options& tls,
                                  std::string_view method, std::string_view target,
                                  std::string body, std::string_view bearer_token,
                                  std::chrono::milliseconds timeout) {
  using reply = result<http_answer>;
  const auto where = with_port(url);
  net::io_context ioc;
  beast::error_code ec;
  tcp::resolver resolver(ioc);
  auto endpoints = resolver.resolve(url.host, url.port, ec);
  if (ec) return reply(errc::unavailable, "cannot resolve " + url.host + ": " + ec.message());

  const auto verb = http::string_to_verb(beast::string_view(method.data(), method.size()));
  http::request<http::string_body> req{verb, std::string(target), 11};
  req.set(http::field::host, where);
  req.set(http::field::user_agent, "hibiki-cli");
  if (!bearer_token.empty())
    req.set(http::field::authorization, "Bearer " + std::string(bearer_token));
  if (verb == http::verb::post) {
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
  std::string tls_failure;

  if (url.tls) {
    auto ctx = make_client_tls_context(tls);
    if (!ctx) return ctx.error();
    beast::ssl_stream<beast::tcp_stream> stream(ioc, **ctx);
    if (auto st = prepare_tls_connection(stream.native_handle(), url.host, tls.insecure); !st)
      return st.error();
    run_exchange(ioc, stream, endpoints, req, buffer, parser, timeout, failed_step, failure);
    if (failed_step == "handshake" && failure != beast::error::timeout)
      tls_failure = tls_handshake_failure(stream.native_handle(), failure, where);
  } else {
    beast::tcp_stream stream(ioc);
    run_exchange(ioc, stream, endpoints, req, buffer, parser, timeout, failed_step, failure);
  }

  if (!tls_failure.empty()) return reply(errc::unavailable, tls_failure);
  if (failure) {
    if (failure == beast::error::timeout) {
      return reply(errc::unavailable, "no answer from " + where + " within " +
                                          std::to_string(timeout.count()) + " ms");
    }
    if (failed_step == "handshake") failed_step = "do the TLS handshake with";
    auto message = "cannot " + failed_step + " " + where + ": " + failure.message();
    if (failure == net::error::connection_refused) message += " (is hibikid running there?)";
    if (!url.tls && failed_step != "connect to") message += plain_to_tls_hint(failure);
    return reply(errc::unavailable, message);
  }
  auto res = parser.release();
  return http_answer{res.result_int(), std::move(res.body())};
}

namespace {

result<status_reply> exchange(const server_url& url, const client_tls_options& tls,
                              http::verb method, std::string_view target, std::string body,
                              std::string_view what, std::chrono::milliseconds timeout,
                              std::string_view admin_token) {
  using reply = result<status_reply>;
  const std::string thing(what);
  auto answer = http_exchange(url, tls, std::string(http::to_string(method)), target,
                              std::move(body), admin_token, timeout);
  if (!answer) return answer.error();
  http::response<http::string_body> res;
  res.result(answer->status);
  res.body() = std::move(answer->body);
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
      (error_text(res.body()).find("no such account") != std::string::npos ||
       error_text(res.body()).find("no projection named") != std::string::npos))
    return reply(errc::not_found, thing + " failed" + why);
  if (res.result() != http::status::ok) {
    auto message = thing + " failed" + why;
    if (res.result() == http::status::not_found) {
      message += "; is this a hibikid that serves " + std::string(target) +
                 "? (with --admin-http it is served on the admin listener only: pass "
                 "--admin-url http(s)://HOST:PORT)";
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
