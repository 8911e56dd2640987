#pragma once
/// Command-line options of hibiki_loadgen, and the parsed form of the server URLs.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "xmpp/xmpp_options.hpp"

namespace hibiki::bench {

/// One server (a hibikid node): its WebSocket URL, split. HTTP (sign-up, /api/cluster) goes to
/// the same host and port.
struct server_url {
  std::string url = "ws://127.0.0.1:8080/ws";
  std::string host = "127.0.0.1";
  std::string port = "8080";
  std::string path = "/ws";
  /// wss:// (and https:// for sign-up): TLS, without verifying the certificate.
  bool tls = false;
};

struct options {
  /// The servers, from `--url` (repeated or a comma list). Account i signs up on, and connects
  /// to, server i mod S, so consecutive accounts (and so a room's members) sit on different
  /// nodes. Default: ws://127.0.0.1:8080/ws alone.
  std::vector<server_url> servers{server_url{}};
  /// Authenticated connections, one account each. Default: 100
  std::size_t connections = 100;
  /// Rooms to create. Default: 10
  std::size_t rooms = 10;
  /// Member accounts per room (the creator included). Default: 10
  std::size_t members_per_room = 10;
  /// Messages per second over all connections; 0 = as fast as the window allows. Default: 0
  double rate = 0;
  /// Sends in flight per connection when rate is 0. Default: 8
  std::size_t window = 8;
  /// Seconds measured, after the warm-up. Default: 10
  double duration = 10;
  /// Seconds of load before measuring starts. Default: 2
  double warmup = 2;
  /// Extra bytes of padding in each message body. Default: 0
  std::size_t body_size = 0;
  /// After set-up, each room's creator adds a webhook to this URL for message_created
  /// (`create_webhook`), so every message is also delivered there. Default: empty = none
  std::string webhook_url;
  /// io_context threads (1 or 2). Default: 1
  std::size_t threads = 1;
  /// hibikid pids (`--server-pid`, repeatable), for CPU seconds and RSS from /proc, reported
  /// per pid and summed. Default: none
  std::vector<long> server_pids;
  /// The Kafka broker's pid: its CPU and RSS are reported apart, and msgs per CPU-second once
  /// more with it included (the journal's cost). Default: none
  std::optional<long> broker_pid;
  /// Split send→ack latency by whether the room's shard is served by the sender's node (local)
  /// or by another node (one hop), from each server's GET /api/cluster. On by default with more
  /// than one server (`--hops` turns it on for one). Default: false
  bool hops = false;
  /// Idle mode: open this many authenticated idle connections and report server RSS. Default: 0
  std::size_t idle_connections = 0;
  /// Idle mode: seconds to hold the idle connections before the second RSS reading. Default: 5
  double idle_hold = 5;
  /// Idle mode: spread the connections over this many loopback source addresses (127.0.0.2, ...;
  /// about 28,000 connections fit on one). Default: none = one per 25,000 connections when every
  /// server is on 127.0.0.0/8, else the kernel's choice
  std::optional<std::size_t> source_addresses;
  /// Concurrent HTTP sign-ups during set-up. Default: 8
  std::size_t signup_parallelism = 8;
  /// Concurrent WebSocket handshakes during set-up. Default: 256
  std::size_t connect_parallelism = 256;
  /// The XMPP mode (`--protocol xmpp`, `--xmpp-*`); see xmpp/xmpp_options.hpp.
  xmpp_options xmpp;
};

/// Parses argv; on a bad or missing value prints the reason and the usage to stderr and returns
/// nothing. `--help` prints the usage to stdout and returns nothing as well.
std::optional<options> parse_options(int argc, char** argv);

/// Several servers, several pids or `--hops`: the report adds its per-node and hop sections
/// (without them it is exactly the single-server report).
inline bool extended_report(const options& o) {
  return o.servers.size() > 1 || o.server_pids.size() > 1 || o.hops || o.broker_pid;
}

}  // namespace hibiki::bench
