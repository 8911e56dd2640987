#include "test_client.hpp"

namespace hibiki::testkit {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;

http_reply http_request(std::uint16_t port, http::verb verb, std::string target, std::string body) {
  return http_request_at("127.0.0.1", port, verb, std::move(target), std::move(body));
}

http_reply http_request_at(const std::string& address, std::uint16_t port, http::verb verb,
                           std::string target, std::string body) {
  return http_request_with(address, port, verb, std::move(target), std::move(body), {});
}

http_reply http_request_with(const std::string& address, std::uint16_t port, http::verb verb,
                             std::string target, std::string body, const header_list& headers) {
  net::io_context ioc;
  tcp::socket socket(ioc);
  beast::error_code ec;
  auto ip = net::ip::make_address(address, ec);
  if (ec) return {};
  socket.connect(tcp::endpoint(ip, port), ec);
  if (ec) return {};
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, address);
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  for (const auto& [field, value] : headers) req.set(field, value);
  req.body() = std::move(body);
  req.prepare_payload();
  req.keep_alive(false);
  http::write(socket, req, ec);
  if (ec) return {};
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  // A HEAD answer carries the GET's Content-Length and no body (RFC 9110 9.3.2).
  if (verb == http::verb::head) parser.skip(true);
  http::read(socket, buffer, parser, ec);
  if (ec) return {};
  auto res = parser.release();
  return {static_cast<int>(res.result_int()), res.body(),
          std::string(res[http::field::content_type]),
          std::string(res[http::field::www_authenticate])};
}

int upgrade_status(std::uint16_t port, std::string target, std::optional<std::string> origin) {
  net::io_context ioc;
  tcp::socket socket(ioc);
  beast::error_code ec;
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return 0;
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::upgrade, "websocket");
  req.set(http::field::connection, "Upgrade");
  req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  req.set(http::field::sec_websocket_version, "13");
  if (origin) req.set(http::field::origin, *origin);
  http::write(socket, req, ec);
  if (ec) return 0;
  beast::flat_buffer buffer;
  http::response_parser<http::empty_body> parser;
  parser.skip(true);  // a 101 has no body, a refusal's body is not needed
  http::read_header(socket, buffer, parser, ec);
  if (ec) return 0;
  return static_cast<int>(parser.get().result_int());
}

ws_client::ws_client() : ws_(ioc_) {}

beast::error_code ws_client::connect(std::uint16_t port, std::optional<std::string> protocol,
                                     std::optional<std::string> origin, int rcvbuf) {
  beast::error_code ec;
  auto& socket = ws_.next_layer();
  socket.open(tcp::v4(), ec);
  if (ec) return ec;
  if (rcvbuf > 0) socket.set_option(net::socket_base::receive_buffer_size(rcvbuf), ec);
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return ec;
  ws_.set_option(
      websocket::stream_base::decorator([protocol, origin](websocket::request_type& req) {
        if (protocol) req.set(http::field::sec_websocket_protocol, *protocol);
        if (origin) req.set(http::field::origin, *origin);
      }));
  ws_.read_message_max(64 * 1024 * 1024);
  websocket::response_type res;
  ws_.handshake(res, "127.0.0.1:" + std::to_string(port), "/ws", ec);
  protocol_ = std::string(res[http::field::sec_websocket_protocol]);
  return ec;
}

beast::error_code ws_client::send_text(const std::string& text) {
  beast::error_code ec;
  ws_.text(true);
  ws_.write(net::buffer(text), ec);
  return ec;
}

beast::error_code ws_client::send_binary(const std::string& bytes) {
  beast::error_code ec;
  ws_.binary(true);
  ws_.write(net::buffer(bytes), ec);
  return ec;
}

beast::error_code ws_client::read(std::string& out) {
  beast::flat_buffer buffer;
  beast::error_code ec;
  ws_.read(buffer, ec);
  out = beast::buffers_to_string(buffer.data());
  return ec;
}

beast::error_code ws_client::close(std::uint16_t code) {
  beast::error_code ec;
  ws_.close(websocket::close_reason(code), ec);
  return ec;
}

std::uint16_t ws_client::read_until_closed() {
  std::string ignored;
  for (;;) {
    auto ec = read(ignored);
    if (ec == websocket::error::closed) return close_code();
    if (ec) return 0;
  }
}

}  // namespace hibiki::testkit
