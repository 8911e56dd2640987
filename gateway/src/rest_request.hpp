#pragma once
/// The pure half of the Chatwork-compatible REST API on /v2 (docs/rest-api.md): which endpoint a
/// request names, its parameters (query string and form body together), and the checks and
/// conversions of their values. No socket and no node here, so all of it is unit-tested and
/// fuzzed on its own.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hibiki/core/ids.hpp"
#include "hibiki/core/result.hpp"

namespace hibiki::gateway {

/// The endpoints served, one per method and path shape. The names are the `endpoint` label of
/// hibiki_rest_requests_total (a bounded set: an unknown path is `unknown`).
enum class rest_endpoint : std::uint8_t {
  me,               ///< GET /me
  my_status,        ///< GET /my/status
  rooms_list,       ///< GET /rooms
  rooms_create,     ///< POST /rooms
  room_get,         ///< GET /rooms/{id}
  room_update,      ///< PUT /rooms/{id}
  room_leave,       ///< DELETE /rooms/{id} action_type=leave|delete
  members_list,     ///< GET /rooms/{id}/members
  members_update,   ///< PUT /rooms/{id}/members
  messages_list,    ///< GET /rooms/{id}/messages
  messages_post,    ///< POST /rooms/{id}/messages
  messages_read,    ///< PUT /rooms/{id}/messages/read
  messages_unread,  ///< PUT /rooms/{id}/messages/unread
  message_get,      ///< GET /rooms/{id}/messages/{message_id}
  message_update,   ///< PUT /rooms/{id}/messages/{message_id}
  message_delete,   ///< DELETE /rooms/{id}/messages/{message_id}
  contacts_list,    ///< GET /contacts
  requests_list,    ///< GET /incoming_requests
  request_accept,   ///< PUT /incoming_requests/{request_id}
  request_reject,   ///< DELETE /incoming_requests/{request_id}
  tasks_list,       ///< GET /rooms/{id}/tasks
  tasks_create,     ///< POST /rooms/{id}/tasks
  task_get,         ///< GET /rooms/{id}/tasks/{task_id}
  task_status,      ///< PUT /rooms/{id}/tasks/{task_id}/status
  my_tasks,         ///< GET /my/tasks
  files_list,       ///< GET /rooms/{id}/files
  file_get,         ///< GET /rooms/{id}/files/{file_id}
  files_upload,     ///< POST /rooms/{id}/files (multipart; http_session_rest_upload.cpp)
  search,           ///< GET /search (a hibiki extension: the `search` op)
  unknown,          ///< no such endpoint (or a refused request before routing)
};
inline constexpr std::size_t rest_endpoint_count =
    static_cast<std::size_t>(rest_endpoint::unknown) + 1;
std::string_view endpoint_name(rest_endpoint e);

/// The REST paths' prefix.
inline constexpr std::string_view rest_prefix = "/v2";
/// True for /v2 and everything under /v2/.
bool is_rest_path(std::string_view path);

/// A request's parameters: the query string's first, then the form body's, in order.
class rest_params {
 public:
  void add(std::string name, std::string value);
  /// The last value of `name` (a body value wins over a query value of the same name).
  std::optional<std::string_view> get(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

/// Decodes `application/x-www-form-urlencoded` text (also a query string) into `out`: `+` is a
/// space, `%XX` a byte. Errors: bad_request for a broken `%` escape or a name that is empty.
status parse_form(std::string_view text, rest_params& out);

/// A routed request: the endpoint and the ids in its path.
struct rest_route {
  rest_endpoint endpoint = rest_endpoint::unknown;
  room_id room;
  message_id message;
  /// A contact request's id: the account id of the one who asked.
  account_id request;
  task_id task;
  file_id file;
};

/// Routes `method` (after the `?method=` override, upper-case) and `path` (starting with /v2).
/// Errors: not_found (no such path; the message names the path), bad_request (a room id, message
/// id, task id, file id or request id in the path that is not a positive integer below 2^53),
/// method_not_allowed is reported as errc::conflict with the allowed methods in the message (the
/// caller answers 405).
result<rest_route> route_rest(std::string_view method, std::string_view path);

/// The effective method: `?method=PUT|DELETE` (any case) on a POST or GET overrides it, as
/// Chatwork accepts for clients that cannot send those verbs. Errors: bad_request for another
/// value.
result<std::string> effective_method(std::string_view method, const rest_params& query);

/// A positive integer below 2^53 written in decimal (no sign, no spaces, no leading zero).
std::optional<std::uint64_t> parse_wire_id(std::string_view text);

/// A comma-separated list of account ids ("1,2,3"; spaces around items allowed; empty = none).
/// Errors: bad_request naming `field`.
result<std::vector<account_id>> parse_id_list(std::string_view field, std::string_view text);

/// A 0/1 flag (also "true"/"false"). Errors: bad_request naming `field`.
result<bool> parse_flag(std::string_view field, std::string_view text);

/// An account id given as a parameter (a filter such as `assigned_by_account_id`): a positive
/// integer below 2^53. Errors: bad_request naming `field`.
result<account_id> parse_account_param(std::string_view field, std::string_view text);

/// A task status: `open` or `done`. Errors: bad_request naming `field`.
result<std::string> parse_task_status_param(std::string_view field, std::string_view text);

/// A task's `limit`: Unix seconds written in decimal, 0 or more (0: no limit). Errors:
/// bad_request.
result<std::int64_t> parse_limit(std::string_view text);

/// A task's `limit_type`: `none`, `date` or `time`. Errors: bad_request.
result<std::string> parse_limit_type(std::string_view text);

/// Chatwork's error body: {"errors": [message]}.
std::string rest_error_body(std::string_view message);

}  // namespace hibiki::gateway
