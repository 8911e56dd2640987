#pragma once
/// Helpers of the operator command tests (`hibiki journal status`, `hibiki cluster status`): a
/// port nobody listens on, and a server that answers one request with canned bytes.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <cstdint>
#include <string>
#include <thread>

namespace hibiki::testkit {

/// A port that nothing listens on: bound, then closed again.
inline std::uint16_t closed_port() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a(
      ioc, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

/// Accepts one connection, reads whatever comes, answers `reply` verbatim (or nothing when
/// empty, keeping the connection open until the test ends).
class canned_server {
 public:
  explicit canned_server(std::string reply)
      : acceptor_(ioc_,
                  boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)),
        reply_(std::move(reply)) {
    thread_ = std::thread([this] {
      boost::system::error_code ec;
      acceptor_.accept(socket_, ec);
      if (ec) return;
      char buf[4096];
      socket_.read_some(boost::asio::buffer(buf), ec);
      if (!reply_.empty()) {
        boost::asio::write(socket_, boost::asio::buffer(reply_), ec);
        socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
      }
    });
  }
  ~canned_server() {
    thread_.join();
    boost::system::error_code ec;
    socket_.close(ec);
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::ip::tcp::socket socket_{ioc_};
  std::string reply_;
  std::thread thread_;
};

inline std::string http_response_text(int status, const std::string& reason,
                                      const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

}  // namespace hibiki::testkit
