#pragma once
/// The set of load_clients of one run and the io_context threads that drive them, with the
/// blocking set-up steps the main thread walks through (connect everyone, create rooms).

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "load_client.hpp"
#include "options.hpp"

namespace hibiki::bench {

class fleet {
 public:
  fleet(const options& opts, run_clock& clock);
  ~fleet();

  /// Resolves the servers' addresses; false (and a message on stderr) when one cannot be.
  bool resolve();
  /// Starts the io_context threads.
  void start_threads();
  /// Connects and authenticates one client per account, `parallelism` handshakes at a time;
  /// client i connects to server i mod S (where account i signed up). Returns the number that
  /// succeeded (errors go to stderr).
  std::size_t connect_all(const std::vector<account>& accounts, std::size_t parallelism);
  /// Creates `rooms` rooms of `members` members each (client i belongs to rooms
  /// (i div members) ...; see the .cpp). Returns each client's room ids; empty on failure.
  std::vector<std::vector<std::uint64_t>> create_rooms(std::size_t rooms, std::size_t members);
  /// After create_rooms: each room's creator (an admin) adds a webhook to `url` for
  /// message_created. False (and a message on stderr) when one is refused.
  bool create_webhooks(const std::string& url);
  /// Stops the io_context and joins its threads; stats may be read afterwards.
  void stop();

  std::vector<std::shared_ptr<load_client>>& clients() { return clients_; }

 private:
  const options& opts_;
  run_clock& clock_;
  net::io_context ioc_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
  std::vector<tcp::endpoint> endpoints_;  ///< one per server
  std::vector<std::shared_ptr<load_client>> clients_;
  /// Each room create_rooms made, with its creator's index in clients_.
  std::vector<std::pair<std::uint64_t, std::size_t>> rooms_;
};

}  // namespace hibiki::bench
