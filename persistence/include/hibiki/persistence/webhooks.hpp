#pragma once
/// Webhook deliveries: a projection of the journal (projection.hpp, name "webhooks") that turns
/// the events of rooms with webhook settings into deliveries in a durable outbox, and a worker
/// that POSTs them, signed, retried, ordered per room, behind a circuit breaker per endpoint.
///
/// The outbox is its own RocksDB database (`<data-dir>/webhooks`): the projection writes the
/// deliveries of a batch and the batch's feed positions in one WriteBatch, so after a crash an
/// event's deliveries are in the outbox exactly once. A delivery leaves the outbox only after the
/// receiver answered 2xx (at-least-once), or when it is given up (a day of failures).
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hibiki/core/circuit_breaker.hpp"
#include "hibiki/core/ids.hpp"
#include "hibiki/core/result.hpp"
#include "hibiki/metrics/registry.hpp"
#include "hibiki/persistence/projection.hpp"

namespace hibiki::persistence {

struct webhook_options {
  /// The outbox database's directory (created when missing).
  std::string path;
  /// Allow targets on private, loopback, link-local and other non-public addresses (tests and
  /// closed networks). Default: false.
  bool allow_private = false;
  /// Delivery threads; each delivers one room's head delivery at a time. Default: 4.
  std::size_t workers = 4;
  /// Longest wait for the TCP (and TLS) connection. Default: 5 s.
  std::chrono::milliseconds connect_timeout{5'000};
  /// Longest wait for a whole delivery, connection included. Default: 10 s.
  std::chrono::milliseconds request_timeout{10'000};
  /// First retry delay; each failure doubles it. Default: 1 s.
  std::chrono::milliseconds backoff_initial{1'000};
  /// Longest retry delay. Default: 10 min.
  std::chrono::milliseconds backoff_max{600'000};
  /// A delivery failing for this long after it was made is given up. Default: 24 h.
  std::chrono::milliseconds give_up_after{24 * 3600 * 1000};
  /// The breaker per endpoint (scheme://host:port): failures in a row that open it, how long it
  /// stays open. Default: 5 failures, 60 s.
  breaker_options breaker{5, std::chrono::milliseconds{0}, std::chrono::milliseconds{60'000}};
  /// Which rooms this node delivers for (cluster: the owner of the room's partition). Others
  /// stay pending here. Default: every room.
  std::function<bool(room_id)> delivers_for;
  /// Where deliveries/s and the pending count go; null: no metrics. Default: null.
  std::shared_ptr<metrics::registry> metrics;
};

// ---- pieces, public for tests and for the create-time check ---------------------------------

/// base64 (RFC 4648, with padding).
std::string base64_encode(std::string_view bytes);
/// nullopt when `text` is not base64.
std::optional<std::string> base64_decode(std::string_view text);
/// A new webhook token: the base64 of 32 random bytes (OpenSSL RAND_bytes).
result<std::string> new_webhook_token();
/// Chatwork's signature: base64(HMAC-SHA256(key = base64-decoded token, body)).
result<std::string> webhook_signature(std::string_view token, std::string_view body);

/// Why an address may not be a webhook target, or "" when it may: loopback, private (RFC 1918,
/// fc00::/7), link-local, CGNAT (100.64/10), multicast, unspecified, broadcast, documentation,
/// benchmarking, reserved, 0/8, IPv4-mapped / -compatible / NAT64 / 6to4 forms of those. `address`
/// is a numeric IPv4 or IPv6 address; anything else is refused ("not an IP address").
std::string forbidden_address_reason(std::string_view address);
/// Resolves `host` (a name or a numeric form, inet_aton's decimal and hex forms included) and
/// answers its addresses, or an error (bad_request) when it does not resolve or when, unless
/// `allow_private`, any of its addresses is forbidden. Blocking (DNS).
result<std::vector<std::string>> resolve_webhook_host(const std::string& host, bool allow_private);
/// The create-time check of a webhook URL: its shape (core) and where its host resolves.
status check_webhook_target(std::string_view url, bool allow_private);

/// The retry delay after `failures` failures in a row (1, 2, ...): initial * 2^(failures-1),
/// capped at `max`.
std::chrono::milliseconds webhook_backoff(std::uint32_t failures, std::chrono::milliseconds initial,
                                          std::chrono::milliseconds max);

/// What list_webhooks shows of one webhook's deliveries, as this node knows them.
struct webhook_delivery_state {
  int last_status = 0;            ///< the last HTTP status (0: none or no answer)
  std::string last_error;         ///< why the last attempt failed ("" after a success)
  std::int64_t last_attempt = 0;  ///< Unix seconds of the last attempt (0: none yet)
  std::uint32_t consecutive_failures = 0;
  std::string breaker = "closed";  ///< its endpoint's breaker: closed, open, half_open
  std::uint64_t pending = 0;       ///< deliveries in the outbox
  std::uint64_t delivered = 0;     ///< answered 2xx since the outbox was made
  std::uint64_t given_up = 0;      ///< dropped after failing for --webhook-give-up
};

/// The outbox, its projection and the delivery worker of one node.
class webhook_service {
 public:
  /// Opens (or creates) the outbox database; delivers nothing until start().
  static result<std::unique_ptr<webhook_service>> open(webhook_options options);
  virtual ~webhook_service() = default;

  /// The projection that fills the outbox; a projection runner drives it.
  virtual projection& outbox_projection() = 0;
  /// Starts the delivery threads.
  virtual void start() = 0;
  /// Stops them (a delivery in flight ends first or times out); the outbox stays.
  virtual void stop() = 0;
  /// The delivery state of `room`'s webhooks, by webhook id (those with any state).
  virtual std::map<webhook_id, webhook_delivery_state> states(room_id room) = 0;
  /// Deliveries in the outbox, all rooms.
  virtual std::uint64_t pending() = 0;
  /// Wakes the workers (rooms whose owner changed to this node, tests).
  virtual void wake() = 0;
};

}  // namespace hibiki::persistence
