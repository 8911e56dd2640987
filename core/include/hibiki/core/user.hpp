#pragma once
/// The user (account) aggregate: an account is registered once with a name and the hash of its
/// token; the token itself is never stored. An operator may disable and enable the account,
/// revoke its token, issue it a new one (the account has at most one live token: issuing one
/// replaces the old), and rename it.

#include <map>
#include <string>
#include <variant>
#include <vector>

#include "hibiki/core/ids.hpp"
#include "hibiki/core/result.hpp"

namespace hibiki::user {

inline constexpr std::size_t max_name_chars = 64;

struct register_account {
  account_id id;
  std::string name;
  std::string token_hash;  ///< hex SHA-256 of the token
  unix_time now = 0;
};
struct rename_account {
  account_id actor;
  std::string name;
};
/// Operator commands (`hibiki admin ...`): they come from the admin endpoint, not from a client,
/// so they carry no acting account.
struct disable_account {};
struct enable_account {};
/// Every token of the account stops working (the account keeps existing).
struct revoke_tokens {};
/// A new token for the account; the previous one, if any, stops working.
struct issue_token {
  std::string token_hash;  ///< hex SHA-256 of the new token
};
/// The REST API's "new since my last call" position in one room (GET /v2/rooms/{id}/messages):
/// the last message handed out. It only moves forward; an older position decides nothing.
struct move_fetch_cursor {
  room_id room;
  message_id up_to;
};
/// Reads the fetch position of a room (decides nothing; the reply carries it).
struct peek_fetch_cursor {
  room_id room;
};
using command = std::variant<register_account, rename_account, disable_account, enable_account,
                             revoke_tokens, issue_token, move_fetch_cursor, peek_fetch_cursor>;

struct account_registered {
  account_id id;
  std::string name;
  std::string token_hash;
  unix_time time = 0;
};
struct account_renamed {
  std::string name;
};
struct account_disabled {};
struct account_enabled {};
struct tokens_revoked {};
struct token_issued {
  std::string token_hash;
};
struct fetch_cursor_moved {
  room_id room;
  message_id up_to;
};
using event = std::variant<account_registered, account_renamed, account_disabled, account_enabled,
                           tokens_revoked, token_issued, fetch_cursor_moved>;

struct state {
  account_id id;
  bool registered = false;
  std::string name;
  std::string token_hash;  ///< empty: no live token (revoked)
  unix_time created_at = 0;
  /// A disabled account cannot authenticate, whatever its token.
  bool disabled = false;
  /// The REST API's fetch position per room (move_fetch_cursor); rooms never fetched are absent.
  std::map<room_id, message_id> fetch_cursors;

  friend bool operator==(const state&, const state&) = default;
};

/// Errors: conflict (already registered), bad_request (empty/too long/control characters in the
/// name, a token hash that is not 64 hex digits), not_found (any command but registration before
/// registration), forbidden (renaming another account). Disabling a disabled account, enabling an
/// enabled one and revoking when there is no token decide no events (nothing changes).
result<std::vector<event>> decide(const state& s, const command& cmd);
state apply(state s, const event& e);

/// A valid display name: 1..max_name_chars code points, valid UTF-8, no control characters.
status validate_name(std::string_view name);

}  // namespace hibiki::user
