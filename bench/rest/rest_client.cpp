#include "rest_client.hpp"

#include <cctype>
#include <cstdio>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>

namespace hibiki::bench {

namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

rest_conn::rest_conn(boost::asio::io_context& ioc, const server_address& server)
    : stream_(ioc), host_(server.host + ":" + server.port) {
  tcp::resolver resolver(ioc);
  stream_.connect(resolver.resolve(server.host, server.port));
  stream_.socket().set_option(tcp::no_delay(true));
}

std::pair<unsigned, std::string> rest_conn::call(http::verb method, const std::string& target,
                                                 const std::string& token, std::string body,
                                                 std::string_view content_type) {
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, host_);
  if (!token.empty()) req.set("X-ChatWorkToken", token);
  if (!body.empty()) req.set(http::field::content_type, std::string(content_type));
  req.body() = std::move(body);
  req.prepare_payload();
  req.keep_alive(true);
  http::write(stream_, req);
  http::response<http::string_body> res;
  http::read(stream_, buffer_, res);
  return {res.result_int(), std::move(res.body())};
}

std::string form_escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

}  // namespace hibiki::bench
