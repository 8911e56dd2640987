#pragma once
/// The `hibiki` client's WebSocket connection to hibikid (ws://, or wss:// over TLS trusted as
/// client_tls.hpp says): requests matched to their replies by id, pushes kept aside, and the
/// token lookup and `auth` every WebSocket command starts with.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <nlohmann/json.hpp>

#include "hibiki/cli/client_options.hpp"
#include "hibiki/cli/client_tls.hpp"
#include "hibiki/core/result.hpp"

namespace hibiki::cli {

/// "code: message" of a refusal ({"ok":false,"error":{...}}).
std::string wire_error(const nlohmann::json& reply);

/// One WebSocket connection to the server, offering the hibiki.v1 subprotocol.
class ws_connection {
 public:
  ws_connection();
  ~ws_connection();
  ws_connection(const ws_connection&) = delete;
  ws_connection& operator=(const ws_connection&) = delete;

  /// Connects (TCP, TLS when url.tls, the WebSocket handshake). Errors: internal with a message
  /// saying which step failed and why (tls_handshake_failure, plain_to_tls_hint).
  status open(const server_url& url, const client_tls_options& tls);

  /// Reads one frame as a JSON object. Errors: unavailable (closed, lost), internal (not JSON).
  result<nlohmann::json> read();

  /// Sends `req` with a fresh id and waits for its reply; pushes read meanwhile go to `events`.
  /// A refusal is an error with the server's code (forbidden, not_found, ...) and the message
  /// "code: message". Errors: unavailable also when the connection is lost.
  result<nlohmann::json> call(nlohmann::json req, std::vector<nlohmann::json>* events = nullptr);

  /// A normal close (1000); errors are ignored.
  void close();

 private:
  using plain_ws = boost::beast::websocket::stream<boost::beast::tcp_stream>;
  using tls_ws =
      boost::beast::websocket::stream<boost::beast::ssl_stream<boost::beast::tcp_stream>>;
  template <class F>
  auto with_ws(F&& f);

  boost::asio::io_context ioc_;
  std::shared_ptr<boost::asio::ssl::context> tls_ctx_;  ///< declared before the stream using it
  std::unique_ptr<plain_ws> plain_ws_;
  std::unique_ptr<tls_ws> tls_ws_;
  std::int64_t next_id_ = 1;
};

/// The account's token: --token, then $HIBIKI_TOKEN, then the stored file (token_file_path).
/// Errors: unauthenticated, saying how to get one.
result<std::string> find_token(const client_options& o);

/// A connection that has sent `auth` with find_token's token and had it accepted. Errors:
/// open's, unauthenticated ("auth failed: ...").
result<std::unique_ptr<ws_connection>> connect_and_auth(const client_options& o,
                                                        const server_url& url);

}  // namespace hibiki::cli
