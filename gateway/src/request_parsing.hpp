#pragma once
/// The pure parsing steps of an HTTP request that reach application code: splitting the target
/// into path and query, and reading the sign-up body. Kept apart from the session so they are
/// unit-tested and fuzzed without a socket.

#include <string>
#include <string_view>

#include "hibiki/core/result.hpp"

namespace hibiki::gateway {

/// A request target split at its first '?' (query) and '#' (fragment, dropped).
struct target_parts {
  std::string_view path;   ///< everything before the first '?' or '#'
  std::string_view query;  ///< between the first '?' and the next '#'; empty when there is none
};

/// Splits `target` without decoding anything; both parts are views into `target`.
target_parts split_target(std::string_view target);

/// The display name of a `POST /api/signup` body `{"name": "..."}` (other fields are ignored).
/// Errors: bad_request with the message the client sees, when the body is not a JSON object or
/// "name" is missing or not a string. The name itself is checked later, by the user aggregate.
result<std::string> parse_signup_body(std::string_view body);

}  // namespace hibiki::gateway
