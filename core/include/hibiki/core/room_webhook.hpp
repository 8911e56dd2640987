#pragma once
/// Webhook settings of a room: the commands, events and state the room aggregate (room.hpp)
/// keeps for them. A setting is a URL, the kinds of events it wants, and the base64 secret that
/// signs its deliveries. Deliveries themselves are not room state: a projection of the journal
/// (persistence/webhooks) turns the room's later events into them. The rules only check the
/// URL's shape; whether its host may be reached (private addresses) is the node's check.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hibiki/core/ids.hpp"
#include "hibiki/core/result.hpp"

namespace hibiki::room {

// ---- limits -----------------------------------------------------------------------------------

/// Settings one room may have at once: each is a stream of POSTs the node makes.
inline constexpr std::size_t max_webhooks_per_room = 5;
/// A webhook URL is at most 2,048 bytes (what browsers and proxies reliably carry).
inline constexpr std::size_t max_webhook_url_bytes = 2048;

/// The events a webhook can ask for. message_created and mention_to_me are Chatwork's;
/// task_created is hibiki's own (its body is documented in docs/protocol.md).
enum class webhook_event : std::uint8_t { message_created, mention_to_me, task_created };
std::string_view to_string(webhook_event e);
std::optional<webhook_event> parse_webhook_event(std::string_view text);

/// A webhook URL taken apart. `host` is a name or an address (IPv6 without brackets).
struct webhook_url {
  bool https = false;
  std::string host;
  std::uint16_t port = 0;  ///< the URL's port, else 80 or 443
  std::string target;      ///< path and query, "/" when the URL has none
};
/// Checks the shape of a webhook URL: http or https only, at most max_webhook_url_bytes of
/// printable ASCII, a host, no user information (`user@`), no fragment, a port 1..65535.
/// Errors: bad_request, too_large.
result<webhook_url> parse_webhook_url(std::string_view url);

// ---- commands -------------------------------------------------------------------------------

/// Adds a webhook (admins only). `token` is the base64 of a random 32-byte secret the node chose
/// (the rules never see randomness); it is answered once and never shown again.
struct create_webhook {
  account_id actor;
  std::string url;
  std::vector<std::string> events;
  std::string token;
  unix_time now = 0;
};
/// The room's webhooks without their tokens (admins only). A query.
struct list_webhooks {
  account_id actor;
};
/// Removes a webhook (admins only): no delivery is made for events after it.
struct delete_webhook {
  account_id actor;
  webhook_id webhook;
  unix_time now = 0;
};

// ---- events (not room events of the protocol: no seq, no push) ------------------------------

struct webhook_created {
  webhook_id id;
  std::string url;
  std::vector<webhook_event> events;
  /// The base64 secret: the journal holds it (it signs every delivery after a restart).
  std::string token;
  account_id by;
  unix_time time = 0;
};
struct webhook_deleted {
  webhook_id id;
  account_id by;
  unix_time time = 0;
};

// ---- state ----------------------------------------------------------------------------------

struct webhook_setting {
  std::string url;
  std::vector<webhook_event> events;
  std::string token;
  account_id by;
  unix_time created_at = 0;

  bool wants(webhook_event e) const;
  friend bool operator==(const webhook_setting&, const webhook_setting&) = default;
};

}  // namespace hibiki::room
