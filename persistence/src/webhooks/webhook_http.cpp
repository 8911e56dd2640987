#include "webhook_http.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace hibiki::persistence::webhooks {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

/// What the receiver says beyond the status is not needed: a small cap keeps a hostile
/// receiver from making the node read a large body.
constexpr std::size_t max_response_body = 16 * 1024;

}  // namespace

post_outcome post(const room::webhook_url& url, const std::vector<std::string>& addresses,
                  const std::string& body, const std::string& signature,
                  std::chrono::milliseconds connect_timeout, std::chrono::milliseconds total,
                  ssl::context& tls) {
  const auto deadline = std::chrono::steady_clock::now() + total;
  auto remaining = [&] {
    return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now()),
                    std::chrono::milliseconds{1});
  };
  net::io_context ioc;
  auto run = [&](auto start) {
    beast::error_code result = net::error::timed_out;
    start([&result](beast::error_code e, auto&&...) { result = e; });
    ioc.restart();
    ioc.run();
    return result;
  };
  std::vector<tcp::endpoint> endpoints;
  for (const auto& a : addresses) {
    boost::system::error_code ec;
    auto address = net::ip::make_address(a, ec);
    if (!ec) endpoints.emplace_back(address, url.port);
  }
  if (endpoints.empty()) return {0, "no address to connect to"};

  const bool default_port = url.port == (url.https ? 443 : 80);
  const bool v6_literal = url.host.find(':') != std::string::npos;
  std::string host_header = v6_literal ? "[" + url.host + "]" : url.host;
  if (!default_port) host_header += ":" + std::to_string(url.port);

  auto talk = [&](auto& stream, auto& lowest) -> post_outcome {
    http::request<http::string_body> req{http::verb::post, url.target, 11};
    req.set(http::field::host, host_header);
    req.set(http::field::user_agent, "hibiki-webhook");
    req.set(http::field::content_type, "application/json");
    req.set("x-chatworkwebhooksignature", signature);
    req.body() = body;
    req.prepare_payload();
    lowest.expires_after(remaining());
    auto ec = run([&](auto handler) { http::async_write(stream, req, handler); });
    if (ec) return {0, "cannot send: " + ec.message()};
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_response_body);
    lowest.expires_after(remaining());
    ec = run([&](auto handler) { http::async_read(stream, buffer, parser, handler); });
    if (ec && !(ec == http::error::body_limit && parser.is_header_done())) {
      return {0, ec == net::error::timed_out || ec == beast::error::timeout
                     ? "timed out waiting for the answer"
                     : "no answer: " + ec.message()};
    }
    const int status = parser.get().result_int();
    if (status >= 200 && status < 300) return {status, ""};
    if (status >= 300 && status < 400) {
      return {status, "answered a redirect (" + std::to_string(status) + "): not followed"};
    }
    return {status, "answered " + std::to_string(status)};
  };

  if (url.https) {
    beast::ssl_stream<beast::tcp_stream> stream(ioc, tls);
    if (!v6_literal && !SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str())) {
      return {0, "cannot set the TLS server name"};
    }
    stream.set_verify_callback(ssl::host_name_verification(url.host));
    auto& lowest = beast::get_lowest_layer(stream);
    lowest.expires_after(std::min(connect_timeout, remaining()));
    auto ec = run([&](auto handler) { lowest.async_connect(endpoints, handler); });
    if (ec) return {0, "cannot connect: " + ec.message()};
    lowest.expires_after(std::min(connect_timeout, remaining()));
    ec = run([&](auto handler) { stream.async_handshake(ssl::stream_base::client, handler); });
    if (ec) return {0, "TLS failed: " + ec.message()};
    return talk(stream, lowest);
  }
  beast::tcp_stream stream(ioc);
  stream.expires_after(std::min(connect_timeout, remaining()));
  auto ec = run([&](auto handler) { stream.async_connect(endpoints, handler); });
  if (ec) return {0, "cannot connect: " + ec.message()};
  return talk(stream, stream);
}

}  // namespace hibiki::persistence::webhooks
