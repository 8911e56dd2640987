#pragma once
/// One WebSocket connection: reads text frames into an actors::session and writes the frames the
/// session sends back, straight into its bounded write layer. Owned by shared_ptr: its own pending
/// operations keep it alive; the actor side holds only a weak link (ws_link), so a slow or dead
/// actor can never keep a closed connection's memory alive. Everything after construction runs on
/// the connection's strand.

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "access_log.hpp"
#include "admission.hpp"
#include "beast_fwd.hpp"
#include "coalescing_stream.hpp"
#include "connection_registry.hpp"
#include "edge_stream.hpp"
#include "gateway_context.hpp"

namespace hibiki::gateway {

class ws_session : public connection, public std::enable_shared_from_this<ws_session> {
 public:
  /// Takes over the connection's stream (TCP or TLS, handshake done) and its admission slot.
  ws_session(std::shared_ptr<gateway_context> ctx, edge_stream&& stream, admission_slot&& slot);
  ~ws_session() override;

  /// Accepts the upgrade request `req` (already read by the http_session).
  void run(http::request<http::string_body> req);

  /// Thread-safe: queue one frame / start closing with `code`.
  void post_send(std::shared_ptr<const std::string> frame);
  void post_close(std::uint16_t code, std::string reason);
  /// Thread-safe: `ready` runs on the strand once the backlog is at most `below_bytes`
  /// (client_link::when_drained); never if the connection closes first.
  void post_when_drained(std::size_t below_bytes, std::function<void()> ready);

  void shutdown() override;

 private:
  void on_accept(beast::error_code ec);
  /// Waits for the next message with only idle_read_ to read into (see below).
  void do_read();
  void on_read(beast::error_code ec, std::size_t bytes);
  /// Reads the rest of a message that did not fit in idle_read_ into message_.
  void read_more();
  void on_read_more(beast::error_code ec, std::size_t bytes);
  /// The read loop ended with `ec`.
  void end_reading(beast::error_code ec);
  /// A whole text message arrived: hand it to the session and wait for the next one.
  void deliver(std::string message);
  /// Puts one frame into the write layer, or drops a connection whose backlog is over the cap.
  void enqueue(std::shared_ptr<const std::string> frame);
  void begin_close(std::uint16_t code, std::string reason);
  void do_close();
  void drop();
  void notify_closed();
  /// The session's access record: how it ended, and who ended it.
  void write_access_record() const;
  /// Bytes handed over by the actor side (and Beast's control frames) not yet on the socket.
  std::size_t unsent_bytes();
  /// Runs the drain waiters whose threshold the backlog is now under.
  void run_drain_waiters();

  std::shared_ptr<gateway_context> ctx_;
  /// Without permessage-deflate support (the `false`): hibiki never offers it, and the stream then
  /// carries no per-connection state or code for it.
  websocket::stream<coalescing_stream<edge_stream>, false> ws_;
  admission_slot slot_;  ///< this connection's place under the connection caps
  /// Where a read waiting for the next message lands. An idle connection always has a read
  /// pending, and a dynamic buffer would hold Beast's read size (1.5 KiB and up) for as long as it
  /// waits, on every connection; a request usually fits in here, and a larger message continues
  /// into message_, which exists only while one is being read.
  std::array<char, 256> idle_read_;
  std::string message_;
  std::size_t message_bytes_ = 0;  ///< of message_, the bytes read so far
  std::unique_ptr<actors::session> session_;
  std::uint64_t registry_id_ = 0;

  /// The largest frame queued since the backlog was last empty (see enqueue()).
  std::size_t large_frame_allowance_ = 0;
  bool accepted_ = false;  ///< the opening handshake completed
  bool closing_ = false;   ///< no more frames are queued; a close is pending or running
  bool close_started_ = false;
  bool dropped_ = false;  ///< the socket was closed without a close handshake
  bool closed_notified_ = false;
  /// The close we send: kept as code and text, not as a websocket::close_reason, which holds
  /// a 123-byte array on every connection for a text that is usually empty.
  std::uint16_t close_code_ = 0;
  std::string close_text_;
  std::string peer_;  ///< "IP:PORT", for the access and audit logs
  /// Counters for the access record; shared with the link, which sets the account.
  std::shared_ptr<ws_access> access_ = std::make_shared<ws_access>();
  beast::error_code read_error_;  ///< how the read loop ended
  struct drain_waiter {
    std::size_t below_bytes = 0;
    std::function<void()> ready;
  };
  std::vector<drain_waiter> drain_waiters_;
};

}  // namespace hibiki::gateway
