#pragma once
/// One simulated user: an authenticated WebSocket connection that sends messages to its rooms
/// (at a fixed rate or with a window of sends in flight) and measures send→ack latency from its
/// own sends and send→delivery latency from every message_created push it receives (the send
/// time travels in the message body). Lives on its connection's strand.

#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "cluster_map.hpp"
#include "latency_histogram.hpp"
#include "run_clock.hpp"
#include "signup_client.hpp"
#include "ws_connection.hpp"

namespace hibiki::bench {

struct client_stats {
  latency_histogram ack;       ///< send→ack, for sends inside the window
  latency_histogram delivery;  ///< send→push, for sends inside the window
  std::uint64_t sent_in_window = 0;
  std::uint64_t acked_in_window = 0;      ///< ok replies received inside the window
  std::uint64_t delivered_in_window = 0;  ///< message_created pushes received inside the window
  std::uint64_t skipped = 0;  ///< rate-mode ticks dropped because too many sends were in flight
  std::map<std::string, std::uint64_t> errors;  ///< error replies by code, all phases
  /// send→ack split by hop (only when the run splits them; see start_sending). Allocated on
  /// demand: a histogram is 18 KiB and there are thousands of clients.
  std::unique_ptr<latency_histogram> ack_local;
  std::unique_ptr<latency_histogram> ack_remote;
};

struct send_plan {
  double rate_per_connection = 0;  ///< messages/s; 0 = window mode
  std::size_t window = 8;
  std::size_t body_size = 0;
};

class load_client : public std::enable_shared_from_this<load_client> {
 public:
  using reply_handler = std::function<void(const nlohmann::json& reply)>;

  /// `server` is the index of the server (node) this client connects to.
  load_client(net::io_context& ioc, run_clock& clock, tcp::endpoint endpoint,
              std::string host_header, std::string path, account acct, std::size_t index,
              std::size_t server = 0, bool tls = false);

  /// Connects and authenticates; `done(error)` with an empty error on success. On the strand.
  void connect(std::function<void(std::string error)> done);
  /// Sends a set-up request (the id is added); `on_reply` gets the whole reply. On the strand.
  void request(nlohmann::json req, reply_handler on_reply);
  /// Starts the send loop over `rooms`. With `hops` (one per room: is the room's shard on this
  /// client's node?) send→ack latency is also recorded per hop. Posts to the strand.
  void start_sending(std::vector<std::uint64_t> rooms, send_plan plan, std::vector<hop> hops = {});
  /// Stops the send loop and closes the connection. Posts to the strand.
  void shutdown();

  const account& acct() const { return acct_; }
  std::size_t server() const { return server_; }
  /// The connection's strand: set-up calls (connect, request) must run on it.
  ws_connection::strand_type executor() const { return conn_->executor(); }
  /// Read only after the io_context has stopped.
  const client_stats& stats() const { return stats_; }
  bool closed_early() const { return closed_early_; }

 private:
  struct pending {
    std::int64_t sent_ns = 0;  ///< for sends: the send time; 0 for set-up requests
    reply_handler on_reply;
    hop route = hop::unknown;  ///< for sends: local or one hop away
  };

  void on_frame(std::string_view frame);
  void on_reply(std::int64_t id, std::string_view frame);
  void on_message_created(std::string_view frame);
  void send_one();
  void schedule_tick();
  void pause_after_rate_limit();
  void fill_window();

  run_clock& clock_;
  std::shared_ptr<ws_connection> conn_;
  account acct_;
  std::size_t index_;
  std::size_t server_;
  std::int64_t next_id_ = 1;
  std::unordered_map<std::int64_t, pending> pending_;
  std::vector<std::uint64_t> rooms_;
  std::vector<hop> hops_;  ///< parallel to rooms_, or empty
  std::size_t next_room_ = 0;
  std::uint64_t sends_ = 0;
  send_plan plan_;
  std::size_t in_flight_ = 0;
  std::size_t cwnd_ = 0;  ///< window mode: sends allowed in flight now (<= plan_.window)
  std::size_t oks_since_growth_ = 0;
  bool paused_ = false;
  bool closed_early_ = false;
  std::string padding_;
  net::steady_timer timer_;
  std::chrono::steady_clock::time_point next_tick_;
  client_stats stats_;
};

}  // namespace hibiki::bench
