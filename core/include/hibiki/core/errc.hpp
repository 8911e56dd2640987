#pragma once
/// The project's error codes. The names are the wire codes of ws-protocol-v1, so an error can go
/// from any layer to a client without translation tables scattered around the code.

#include <string>
#include <string_view>
#include <system_error>

namespace hibiki {

enum class errc {
  ok = 0,
  bad_request,      ///< malformed JSON, missing or mistyped field, unknown op, invalid value
  unauthenticated,  ///< request before auth, or a bad token
  forbidden,        ///< not a member, read-only member, not the author, not an admin
  not_found,        ///< no such room, message or account
  too_large,        ///< body, frame or event over its limit
  rate_limited,     ///< too many requests; slow down
  conflict,         ///< state does not allow it (e.g. expected sequence number mismatch)
  unavailable,      ///< storage or journal cannot accept writes right now; retry later
  internal,         ///< a bug or an unexpected failure; logged on the server
  /// Cluster-internal: this node does not (or no longer) own the entity's shard, and the command
  /// was NOT applied; the sender re-routes it to the current owner. Never reaches a client as
  /// such: its wire name is "unavailable", the contract's retriable code.
  moved,
};

/// The wire name of a code ("bad_request", ...).
std::string_view wire_name(errc code);

const std::error_category& hibiki_category() noexcept;
std::error_code make_error_code(errc code) noexcept;

/// An error with a human-readable message for the client or the log.
struct error {
  errc code = errc::internal;
  std::string message;

  friend bool operator==(const error&, const error&) = default;
};

inline error make_error(errc code, std::string message) {
  return error{code, std::move(message)};
}

}  // namespace hibiki

template <>
struct std::is_error_code_enum<hibiki::errc> : std::true_type {};
