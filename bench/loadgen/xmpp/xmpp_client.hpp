#pragma once
/// One simulated XMPP user: a WebSocket connection (RFC 7395) that registers its account in band
/// if asked, authenticates with SASL PLAIN, binds a resource, joins MUC rooms and then sends
/// groupchat messages to them at a fixed rate or with a window in flight. The room reflects each
/// message to every occupant, the sender included: the sender's own copy is its ack (send→ack),
/// the other occupants' copies are deliveries (send→delivery); the send time travels in the body
/// as in the hibiki mode. Lives on its connection's strand.

#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "../load_client.hpp"
#include "../ws_connection.hpp"
#include "stanza.hpp"
#include "xmpp_options.hpp"

namespace hibiki::bench {

class xmpp_client : public std::enable_shared_from_this<xmpp_client> {
 public:
  using done_handler = std::function<void(std::string error)>;

  xmpp_client(net::io_context& ioc, run_clock& clock, tcp::endpoint endpoint,
              std::string host_header, std::string path, bool tls, std::string user,
              const xmpp_options& opts, std::size_t index);

  /// Opens the stream, registers (if asked), authenticates and binds; `done` gets an empty
  /// error on success. On the strand.
  void connect(done_handler done);
  /// Joins `room_jid` under the account name as nick; the room's creator also unlocks it
  /// (instant room). `done` once the room has confirmed the join. On the strand.
  void join(std::string room_jid, done_handler done);
  /// Starts sending groupchat messages to `rooms` in turn. Posts to the strand.
  void start_sending(std::vector<std::string> rooms, send_plan plan);
  /// Stops sending and closes the connection. Posts to the strand.
  void shutdown();

  ws_connection::strand_type executor() const { return conn_->executor(); }
  const std::string& user() const { return user_; }
  /// Read only after the io_context has stopped.
  const client_stats& stats() const { return stats_; }
  bool closed_early() const { return closed_early_; }
  /// Connected, authenticated and bound (read after connect's `done` has run).
  bool ready() const { return phase_ == phase::ready && conn_->is_open(); }

 private:
  enum class phase { opening, registering, authenticating, reopening, binding, ready };

  void on_frame(std::string_view frame);
  void on_setup_event(const xmpp::event& ev);
  void on_presence(const xmpp::event& ev);
  void on_groupchat(const xmpp::event& ev);
  void on_message_error(const xmpp::event& ev);
  void finish_connect(std::string error);
  void send_one();
  void schedule_tick();
  void fill_window();

  run_clock& clock_;
  std::shared_ptr<ws_connection> conn_;
  std::string user_;
  const xmpp_options& opts_;
  std::size_t index_;
  phase phase_ = phase::opening;
  done_handler connect_done_;
  /// Joins waiting for the room's confirmation, by room JID; and instant-room requests waiting
  /// for their result, by iq id.
  std::unordered_map<std::string, done_handler> joins_;
  std::unordered_map<std::string, done_handler> configs_;
  std::uint64_t next_iq_ = 1;
  /// Sends not reflected yet: message id -> send time.
  std::unordered_map<std::uint64_t, std::int64_t> pending_;
  std::uint64_t next_message_ = 1;
  std::vector<std::string> rooms_;
  std::size_t next_room_ = 0;
  send_plan plan_;
  std::string padding_;
  net::steady_timer timer_;
  std::chrono::steady_clock::time_point next_tick_;
  bool closed_early_ = false;
  client_stats stats_;
};

}  // namespace hibiki::bench
