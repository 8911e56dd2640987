#pragma once
/// The operator's account API (`hibiki admin ...`): POST /api/admin/ACTION with a JSON body.
/// Parsing the request and shaping the answer are pure functions here, unit-tested; the session
/// only sends the parsed call to the node. The access rules (admin token, admin listener) are
/// routes.hpp's.
///
///   create-account  {"name": S}                 → {"account_id","name","token"} (sign-up closed or
///   not) disable-account {"account_id": N}           → {"account_id","name","disabled"}
///   enable-account  {"account_id": N}           → the same
///   revoke-tokens   {"account_id": N}           → the same
///   create-token    {"account_id": N}           → the same plus "token" (the old one stops
///   working) rename          {"account_id": N, "name": S} → the same

#include <optional>
#include <string>
#include <string_view>

#include "hibiki/actors/node.hpp"
#include "hibiki/core/result.hpp"

namespace hibiki::gateway {

struct admin_call {
  std::string action;  ///< the path's last part, e.g. "disable-account"
  /// create-account: a sign-up by the operator (name in `create_name`); else an account action.
  bool create = false;
  std::string create_name;
  actors::admin_request request;
};

/// Parses POST `path` (/api/admin/ACTION) with `body`. Errors: not_found (no such action),
/// bad_request (the body is not a JSON object, a field is missing, of the wrong type or unknown,
/// an account_id that is not a positive integer below 2^53).
result<admin_call> parse_admin_call(std::string_view path, std::string_view body);

/// The JSON answer for a done account action.
std::string admin_answer(const actors::admin_result& r);
std::string admin_answer(const actors::signup_result& r);

/// The audit trail of operator actions: one line per action with the peer, the action, the
/// account and the outcome (never a token): an `admin` record in the audit log, and a line in
/// the app log.
void audit_admin_action(std::string_view peer, std::string_view action, std::uint64_t account,
                        std::string_view outcome);

}  // namespace hibiki::gateway
