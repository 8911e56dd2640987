#pragma once
/// Blocking Beast clients for the gateway tests: one HTTP request per call, and a WebSocket
/// client that can offer a sub-protocol and an Origin, send text or binary, and read close codes.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace hibiki::testkit {

struct http_reply {
  int status = 0;
  std::string body;
  std::string content_type;
  std::string www_authenticate;
};

using header_list = std::vector<std::pair<std::string, std::string>>;  ///< name, value

/// Sends one request to 127.0.0.1:port and reads the reply; status 0 when the exchange failed.
http_reply http_request(std::uint16_t port, boost::beast::http::verb verb, std::string target,
                        std::string body = {});

/// The same to another address of this machine (a non-loopback peer for the gateway).
http_reply http_request_at(const std::string& address, std::uint16_t port,
                           boost::beast::http::verb verb, std::string target,
                           std::string body = {});

/// The same with extra request headers (Authorization, X-Forwarded-For...).
http_reply http_request_with(const std::string& address, std::uint16_t port,
                             boost::beast::http::verb verb, std::string target, std::string body,
                             const header_list& headers);

/// Sends a WebSocket upgrade request for `target` by hand and returns the HTTP status of the reply
/// (101 when accepted), so a refusal's status can be checked.
int upgrade_status(std::uint16_t port, std::string target, std::optional<std::string> origin = {});

class ws_client {
 public:
  ws_client();

  /// Connects and upgrades. `protocol` is offered in Sec-WebSocket-Protocol when set; `rcvbuf`
  /// shrinks the socket's receive buffer (a slow reader).
  boost::beast::error_code connect(std::uint16_t port, std::optional<std::string> protocol = {},
                                   std::optional<std::string> origin = {}, int rcvbuf = 0);
  boost::beast::error_code send_text(const std::string& text);
  boost::beast::error_code send_binary(const std::string& bytes);
  /// Reads one message; after the server's close, returns websocket::error::closed and
  /// close_code() holds its code.
  boost::beast::error_code read(std::string& out);
  /// Reads until the connection ends and returns the close code seen (0 when none).
  std::uint16_t read_until_closed();
  /// Sends a close frame with `code` and waits for the server's answer (the closing handshake).
  boost::beast::error_code close(std::uint16_t code);

  std::uint16_t close_code() const { return static_cast<std::uint16_t>(ws_.reason().code); }
  const std::string& negotiated_protocol() const { return protocol_; }

 private:
  boost::asio::io_context ioc_;
  boost::beast::websocket::stream<boost::asio::ip::tcp::socket> ws_;
  std::string protocol_;
};

}  // namespace hibiki::testkit
