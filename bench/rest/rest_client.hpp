#pragma once
/// The REST benchmark's HTTP side: one blocking keep-alive HTTP/1.1 connection (Boost.Beast) and
/// the form encoding Chatwork's API takes. Shared by the set-up and every measured request.

#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/verb.hpp>

namespace hibiki::bench {

/// Where the server listens.
struct server_address {
  std::string host = "127.0.0.1";  ///< Default: 127.0.0.1
  std::string port = "8080";       ///< Default: 8080
};

/// One keep-alive connection; one request in flight at a time, as HTTP/1.1 clients without
/// pipelining send them.
class rest_conn {
 public:
  rest_conn(boost::asio::io_context& ioc, const server_address& server);

  /// Sends one request (`token` as X-ChatWorkToken when not empty, `body` with `content_type`
  /// when not empty) and returns (status, body).
  std::pair<unsigned, std::string> call(boost::beast::http::verb method, const std::string& target,
                                        const std::string& token, std::string body = {},
                                        std::string_view content_type = {});

 private:
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::string host_;
};

/// application/x-www-form-urlencoded escaping of one value.
std::string form_escape(std::string_view s);

}  // namespace hibiki::bench
