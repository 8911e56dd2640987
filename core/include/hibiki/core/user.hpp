#pragma once
/// The user (account) aggregate: an account is registered once with a name and the hash of its
/// token; the token itself is never stored. An operator may disable and enable the account,
/// revoke its token, issue it a new one (the account has at most one live token: issuing one
/// replaces the old), and rename it. The owner edits its profile (name, chatwork_id,
/// organization, department, title, introduction) and gets its own `my` room once.
///
/// Contacts: the relationship of a pair of accounts lives in the user entity of the *lower*
/// account id of the pair (its owner), so every request, acceptance and rejection of one pair is
/// decided by one entity, in order. That is what keeps "one direct room per pair": the owner
/// records the room of the pair once, and every later acceptance answers with that room.

#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "hibiki/core/ids.hpp"
#include "hibiki/core/result.hpp"

namespace hibiki::user {

inline constexpr std::size_t max_name_chars = 64;
/// chatwork_id: a handle shown on the profile, 0..max_chatwork_id_chars of [A-Za-z0-9_.-].
inline constexpr std::size_t max_chatwork_id_chars = 50;
/// organization_name, department, title: one line each.
inline constexpr std::size_t max_profile_line_chars = 255;
/// introduction: several lines (newlines and tabs allowed).
inline constexpr std::size_t max_introduction_chars = 2000;
/// The message sent with a contact request.
inline constexpr std::size_t max_request_message_chars = 1000;

/// The profile fields besides the name (the name has its own event, `account_renamed`).
struct profile {
  std::string chatwork_id;
  std::string organization;
  std::string department;
  std::string title;
  std::string introduction;

  friend bool operator==(const profile&, const profile&) = default;
};

/// The state of a pair of accounts, kept by the pair's owner (the lower id).
struct pair_state {
  /// A request waits (`requester` asked the other one), or the two are contacts.
  bool contacts = false;
  account_id requester;  ///< who asked (kept once they are contacts)
  std::string message;   ///< the request's message
  unix_time requested_at = 0;
  room_id room;  ///< the direct room of the pair, once they are contacts

  friend bool operator==(const pair_state&, const pair_state&) = default;
};

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
/// The owner changes some of its profile; fields left empty (nullopt) stay as they are. A new
/// name is a rename (the same event as the operator's).
struct update_profile {
  account_id actor;
  std::optional<std::string> name{};
  std::optional<std::string> chatwork_id{};
  std::optional<std::string> organization{};
  std::optional<std::string> department{};
  std::optional<std::string> title{};
  std::optional<std::string> introduction{};
};
/// Reads the owner's own profile (`me`); decides nothing.
struct get_profile {
  account_id actor;
};
/// Gives the account its `my` room `room` unless it has one already (then nothing changes and
/// the reply names the existing one).
struct assign_my_room {
  room_id room;
};
/// Sent to the owner of the pair {from, to}.
struct request_contact {
  account_id from;
  account_id to;
  std::string message;
  unix_time now = 0;
};
/// `actor` accepts the request `requester` sent; `room` is a fresh room id for the direct room,
/// used only if the pair has none yet. Sent to the owner of the pair.
struct accept_contact {
  account_id actor;
  account_id requester;
  room_id room;
};
/// `actor` turns down the request `requester` sent. Sent to the owner of the pair.
struct reject_contact {
  account_id actor;
  account_id requester;
};
using command =
    std::variant<register_account, rename_account, disable_account, enable_account, revoke_tokens,
                 issue_token, move_fetch_cursor, peek_fetch_cursor, update_profile, get_profile,
                 assign_my_room, request_contact, accept_contact, reject_contact>;

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
/// The whole profile after the change (every field, not only the changed ones).
struct profile_updated {
  profile value;
};
struct my_room_assigned {
  room_id room;
};
struct contact_requested {
  account_id from;
  account_id to;
  std::string message;
  unix_time time = 0;
};
/// The request from `from` to `to` is gone (turned down by `to`).
struct contact_request_rejected {
  account_id from;
  account_id to;
};
/// `by` accepted the request of `requester`: they are contacts, with direct room `room`.
struct contact_accepted {
  account_id requester;
  account_id by;
  room_id room;
};
using event =
    std::variant<account_registered, account_renamed, account_disabled, account_enabled,
                 tokens_revoked, token_issued, fetch_cursor_moved, profile_updated,
                 my_room_assigned, contact_requested, contact_request_rejected, contact_accepted>;

struct state {
  account_id id;
  bool registered = false;
  std::string name;
  std::string token_hash;  ///< empty: no live token (revoked)
  unix_time created_at = 0;
  /// A disabled account cannot authenticate, whatever its token.
  bool disabled = false;
  /// The REST API's fetch position per room (move_fetch_cursor); rooms never fetched are absent.
  std::map<room_id, message_id> fetch_cursors{};
  user::profile profile{};
  room_id my_room{};  ///< none until assigned (accounts older than `my` rooms get one lazily)
  /// The pairs this account owns: other account (always a higher id) → their state.
  std::map<account_id, pair_state> pairs{};

  friend bool operator==(const state&, const state&) = default;
};

/// The owner of the pair {a, b}: the lower id.
inline account_id pair_owner(account_id a, account_id b) {
  return a < b ? a : b;
}

/// Errors: conflict (already registered; a request to someone who is already a contact, or
/// already asked, or who already asked you), bad_request (empty/too long/control characters in
/// the name or a profile field, a token hash that is not 64 hex digits, a request to oneself, a
/// pair command sent to an entity that does not own the pair), not_found (any command but
/// registration before registration; accepting or rejecting a request that does not exist),
/// forbidden (renaming or editing another account). Disabling a disabled account, enabling an
/// enabled one, revoking when there is no token, a profile update that changes nothing, and
/// assigning a `my` room when there is one decide no events (nothing changes).
result<std::vector<event>> decide(const state& s, const command& cmd);
state apply(state s, const event& e);

/// A valid display name: 1..max_name_chars code points, valid UTF-8, no control characters.
status validate_name(std::string_view name);
/// The profile fields' rules (see the limits above); each error names its field.
status validate_profile(const update_profile& u);

/// The pair `other` of the owner `s`, or nullptr.
const pair_state* find_pair(const state& s, account_id other);

}  // namespace hibiki::user
