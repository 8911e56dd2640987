#pragma once
/// The idle mode's clients: many authenticated WebSocket connections that then only keep reading
/// (Beast answers the server's pings), each as lean as a connection can be so that 100,000 fit in
/// the load generator next to the server. Kept apart from load_client, whose latency histograms
/// cost tens of KiB per connection.
///
/// One TCP source address allows about 28,000 connections to one server port (the kernel's
/// ephemeral port range), so the clients can be spread over several loopback source addresses
/// (127.0.0.2, 127.0.0.3, ...): Linux routes all of 127.0.0.0/8 to the loopback interface.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "options.hpp"
#include "signup_client.hpp"

namespace hibiki::bench {

class idle_client;

class idle_fleet {
 public:
  /// `sources`: the source addresses to spread the connections over, in turn; empty = the
  /// kernel picks (one address).
  idle_fleet(const options& opts, std::vector<boost::asio::ip::address> sources);
  ~idle_fleet();

  /// Resolves the servers; false (and a message on stderr) when one cannot be.
  bool resolve();
  /// Opens and authenticates one connection per account, `parallelism` handshakes at a time;
  /// account i connects to server i mod S. Returns how many succeeded (errors go to stderr).
  std::size_t connect_all(std::vector<account> accounts, std::size_t parallelism);
  /// How many of the connections are still open.
  std::size_t still_open() const;
  /// Closes every connection (close handshake), then stops the threads.
  void close_all();

 private:
  const options& opts_;
  std::vector<boost::asio::ip::address> sources_;
  boost::asio::io_context ioc_;
  std::vector<std::thread> threads_;
  std::vector<boost::asio::ip::tcp::endpoint> endpoints_;
  std::vector<std::shared_ptr<idle_client>> clients_;
};

/// The `count` loopback source addresses 127.0.0.2, 127.0.0.3, ... (at most 250).
std::vector<boost::asio::ip::address> loopback_sources(std::size_t count);

}  // namespace hibiki::bench
