#pragma once
/// The Beast and asio names the gateway's sources share, so each file spells them the same way.

#include <string_view>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace hibiki::gateway {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;

/// Beast 1.74 hands out boost::string_view; the rest of hibiki speaks std::string_view.
inline std::string_view to_std(beast::string_view s) {
  return {s.data(), s.size()};
}

}  // namespace hibiki::gateway
