#pragma once
/// The user (account) aggregate: an account is registered once with a name and the hash of its
/// token; the token itself is never stored.

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
using command = std::variant<register_account, rename_account>;

struct account_registered {
  account_id id;
  std::string name;
  std::string token_hash;
  unix_time time = 0;
};
struct account_renamed {
  std::string name;
};
using event = std::variant<account_registered, account_renamed>;

struct state {
  account_id id;
  bool registered = false;
  std::string name;
  std::string token_hash;
  unix_time created_at = 0;

  friend bool operator==(const state&, const state&) = default;
};

/// Errors: conflict (already registered), bad_request (empty/too long/control characters in the
/// name), not_found (rename before registration), forbidden (renaming another account).
result<std::vector<event>> decide(const state& s, const command& cmd);
state apply(state s, const event& e);

/// A valid display name: 1..max_name_chars code points, valid UTF-8, no control characters.
status validate_name(std::string_view name);

}  // namespace hibiki::user
