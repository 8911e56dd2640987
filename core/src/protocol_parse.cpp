/// Strict parsing of client requests (ws-protocol-v1). Every type is checked here so the layers
/// behind the gateway see only well-typed values; the messages name the offending field.

#include <algorithm>
#include <limits>
#include <optional>

#include "hibiki/core/protocol.hpp"
#include "json_fields.hpp"

namespace hibiki::protocol {

namespace {

using nlohmann::json;

/// Thrown only inside this file and caught in parse_request: it keeps each op's parser a
/// straight list of fields instead of a chain of early returns.
struct field_error {
  std::string message;
};

[[noreturn]] void reject(std::string message) {
  throw field_error{std::move(message)};
}

const json& required(const json& obj, std::string_view key) {
  const auto* v = detail::field(obj, key);
  if (v == nullptr) reject(std::string(key) + " is required");
  return *v;
}

/// A wire id: a JSON integer 1..2^53-1 (not a float, string or bool).
std::uint64_t wire_id(const json& v, std::string_view key) {
  auto u = v.is_number_integer() ? detail::as_u64(v) : std::nullopt;
  if (!u || *u == 0 || *u > max_wire_id) reject(std::string(key) + " must be a positive integer");
  return *u;
}

template <class Id>
Id id_field(const json& obj, std::string_view key) {
  return Id{wire_id(required(obj, key), key)};
}

std::vector<account_id> account_list(const json& obj, std::string_view key) {
  const auto& arr = required(obj, key);
  if (!arr.is_array()) reject(std::string(key) + " must be an array of account ids");
  std::vector<account_id> out;
  out.reserve(arr.size());
  for (const auto& v : arr) out.push_back(account_id{wire_id(v, key)});
  return out;
}

std::string string_field(const json& obj, std::string_view key) {
  const auto& v = required(obj, key);
  if (!v.is_string()) reject(std::string(key) + " must be a string");
  return v.get<std::string>();
}

std::optional<std::string> optional_string(const json& obj, std::string_view key) {
  const auto* v = detail::field(obj, key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) reject(std::string(key) + " must be a string");
  return v->get<std::string>();
}

message_id wire_message_id(const json& v, std::string_view key) {
  auto id = v.is_string() ? message_id_from_wire(v.get_ref<const std::string&>()) : std::nullopt;
  if (!id) reject(std::string(key) + " must be a string of decimal digits");
  return *id;
}

message_id message_field(const json& obj, std::string_view key) {
  return wire_message_id(required(obj, key), key);
}

std::optional<message_id> optional_message(const json& obj, std::string_view key) {
  const auto* v = detail::field(obj, key);
  if (v == nullptr) return std::nullopt;
  return wire_message_id(*v, key);
}

request_body parse_create_room(const json& j) {
  create_room_req r;
  r.name = string_field(j, "name");
  r.members = account_list(j, "members");
  r.description = optional_string(j, "description").value_or("");
  // my and direct chats are made by the server (with the account, with a contact); a client
  // creates group rooms only.
  if (auto type = optional_string(j, "type"); type && *type != "group") {
    reject("type must be \"group\": my and direct chats are made by the server");
  }
  return r;
}

std::optional<bool> optional_bool(const json& obj, std::string_view key) {
  const auto* v = detail::field(obj, key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_boolean()) reject(std::string(key) + " must be true or false");
  return v->get<bool>();
}

request_body parse_add_members(const json& j) {
  add_members_req r;
  r.room = id_field<room_id>(j, "room_id");
  r.accounts = account_list(j, "account_ids");
  if (auto text = optional_string(j, "role")) {
    auto parsed = parse_role(*text);
    if (!parsed) reject("role must be one of admin, member, readonly");
    r.role = *parsed;
  }
  return r;
}

std::vector<account_id> optional_account_list(const json& obj, std::string_view key) {
  if (detail::field(obj, key) == nullptr) return {};
  return account_list(obj, key);
}

request_body parse_update_room(const json& j) {
  update_room_req r;
  r.room = id_field<room_id>(j, "room_id");
  r.name = optional_string(j, "name");
  r.description = optional_string(j, "description");
  r.icon_preset = optional_string(j, "icon_preset");
  if (!r.name && !r.description && !r.icon_preset) {
    reject("name, description or icon_preset is required");
  }
  return r;
}

request_body parse_set_members(const json& j) {
  set_members_req r;
  r.room = id_field<room_id>(j, "room_id");
  r.admins = account_list(j, "members_admin_ids");
  r.members = optional_account_list(j, "members_member_ids");
  r.readonly = optional_account_list(j, "members_readonly_ids");
  if (r.admins.empty()) reject("members_admin_ids must name at least one admin");
  return r;
}

std::optional<account_id> optional_account(const json& obj, std::string_view key) {
  const auto* v = detail::field(obj, key);
  if (v == nullptr) return std::nullopt;
  return account_id{wire_id(*v, key)};
}

std::optional<std::string> optional_status(const json& obj) {
  auto status = optional_string(obj, "status");
  if (status && *status != "open" && *status != "done") reject("status must be open or done");
  return status;
}

request_body parse_add_task(const json& j) {
  add_task_req r;
  r.room = id_field<room_id>(j, "room_id");
  r.body = string_field(j, "body");
  r.to_ids = account_list(j, "to_ids");
  if (r.to_ids.empty()) reject("to_ids must name at least one account");
  if (const auto* v = detail::field(j, "limit")) {
    auto n = v->is_number_integer() ? detail::as_i64(*v) : std::nullopt;
    if (!n || *n < 0) reject("limit must be a Unix time in seconds (an integer, 0 or more)");
    r.limit = *n;
  }
  r.limit_type = optional_string(j, "limit_type");
  if (r.limit_type && *r.limit_type != "none" && *r.limit_type != "date" &&
      *r.limit_type != "time") {
    reject("limit_type must be none, date or time");
  }
  return r;
}

request_body parse_history(const json& j) {
  history_req r;
  r.room = id_field<room_id>(j, "room_id");
  r.before = optional_message(j, "before");
  // after "0" is "from the start" (Chatwork clients count from 0); other ids are 1 or more.
  if (const auto* a = detail::field(j, "after"); a != nullptr && a->is_string() && *a == "0") {
    r.after = message_id{0};
  } else {
    r.after = optional_message(j, "after");
  }
  if (r.before && r.after) reject("before and after cannot be used together");
  if (const auto* v = detail::field(j, "limit")) {
    auto n = v->is_number_integer() ? detail::as_u64(*v) : std::nullopt;
    if (!n || *n < 1 || *n > 100) reject("limit must be an integer from 1 to 100");
    r.limit = static_cast<std::size_t>(*n);
  }
  return r;
}

/// An optional integer field from `min` to `max` (the message names the range).
template <class Int>
std::optional<Int> optional_integer(const json& obj, std::string_view key, Int min, Int max,
                                    std::string_view what) {
  const auto* v = detail::field(obj, key);
  if (v == nullptr) return std::nullopt;
  auto n = v->is_number_integer() ? detail::as_i64(*v) : std::nullopt;
  if (!n || *n < static_cast<std::int64_t>(min) || *n > static_cast<std::int64_t>(max)) {
    reject(std::string(key) + " must be " + std::string(what));
  }
  return static_cast<Int>(*n);
}

request_body parse_search(const json& j) {
  search_req r;
  r.q = string_field(j, "q");
  if (detail::field(j, "room_id") != nullptr) r.room = id_field<room_id>(j, "room_id");
  r.account = optional_account(j, "account_id");
  constexpr std::int64_t max_time = std::int64_t{1} << 53;
  r.after_time = optional_integer<std::int64_t>(j, "after_time", 0, max_time,
                                                "a Unix time in seconds (an integer, 0 or more)");
  r.before_time = optional_integer<std::int64_t>(j, "before_time", 0, max_time,
                                                 "a Unix time in seconds (an integer, 0 or more)");
  if (auto order = optional_string(j, "order")) {
    if (*order != "newest" && *order != "relevance") reject("order must be newest or relevance");
    r.relevance = *order == "relevance";
  }
  r.limit =
      optional_integer<std::size_t>(j, "limit", 1, max_search_results, "an integer from 1 to 100")
          .value_or(r.limit);
  r.offset =
      optional_integer<std::size_t>(j, "offset", 0, max_search_offset, "an integer from 0 to 9900")
          .value_or(0);
  return r;
}

/// A `since` key: a room id in canonical decimal (1..2^53-1, no sign, no leading zeros), so each
/// room has exactly one spelling and a request cannot name the same room twice.
std::optional<std::uint64_t> sync_room_key(const std::string& key) {
  if (key.empty() || key.size() > 16 || key.front() == '0') return std::nullopt;
  std::uint64_t room = 0;
  for (const char c : key) {
    if (c < '0' || c > '9') return std::nullopt;
    room = room * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (room > max_wire_id) return std::nullopt;
  return room;
}

request_body parse_sync(const json& j) {
  const auto& since = required(j, "since");
  if (!since.is_object()) reject("since must be an object mapping room ids to seq numbers");
  sync_req r;
  r.since.reserve(since.size());
  for (auto it = since.begin(); it != since.end(); ++it) {
    const std::string& key = it.key();
    auto room = sync_room_key(key);
    if (!room) {
      // Quoted as JSON so a key with control characters cannot garble the message.
      reject("since key " + json(key).dump(-1, ' ', false, json::error_handler_t::replace) +
             " is not a room id (a positive integer below 2^53 in decimal, without leading "
             "zeros)");
    }
    auto seq = it.value().is_number_integer() ? detail::as_u64(it.value()) : std::nullopt;
    if (!seq) reject("since values must be non-negative integers");
    r.since.emplace_back(room_id{*room}, *seq);
  }
  // JSON object keys are unique (a repeated key keeps its last value) and each room has one
  // spelling, so rooms are unique here; ordered by id so replays go room by room in id order.
  std::sort(r.since.begin(), r.since.end(),
            [](const auto& a, const auto& b) { return a.first.value < b.first.value; });
  return r;
}

request_body parse_update_profile(const json& j) {
  update_profile_req r;
  r.name = optional_string(j, "name");
  r.chatwork_id = optional_string(j, "chatwork_id");
  r.organization_name = optional_string(j, "organization_name");
  r.department = optional_string(j, "department");
  r.title = optional_string(j, "title");
  r.introduction = optional_string(j, "introduction");
  if (!r.name && !r.chatwork_id && !r.organization_name && !r.department && !r.title &&
      !r.introduction) {
    reject(
        "update_profile needs at least one of name, chatwork_id, organization_name, department, "
        "title, introduction");
  }
  return r;
}

std::vector<account_id> bounded_accounts(const json& j) {
  auto accounts = account_list(j, "account_ids");
  if (accounts.empty() || accounts.size() > max_get_accounts)
    reject("account_ids must hold 1 to " + std::to_string(max_get_accounts) + " account ids");
  return accounts;
}

request_body parse_body(std::string_view op, const json& j) {
  if (op == "ping") return ping_req{};
  if (op == "auth") {
    auto token = string_field(j, "token");
    if (token.empty()) reject("token must not be empty");
    return auth_req{std::move(token)};
  }
  if (op == "create_room") return parse_create_room(j);
  if (op == "add_members") return parse_add_members(j);
  if (op == "remove_member") {
    return remove_member_req{id_field<room_id>(j, "room_id"),
                             id_field<account_id>(j, "account_id")};
  }
  if (op == "leave_room") return leave_room_req{id_field<room_id>(j, "room_id")};
  if (op == "list_rooms") return list_rooms_req{optional_bool(j, "details").value_or(false)};
  if (op == "send_message") {
    return send_message_req{id_field<room_id>(j, "room_id"), string_field(j, "body"),
                            string_field(j, "client_msg_id"),
                            optional_bool(j, "self_unread").value_or(false)};
  }
  if (op == "get_message") {
    return get_message_req{id_field<room_id>(j, "room_id"), message_field(j, "message_id")};
  }
  if (op == "mark_unread") {
    return mark_unread_req{id_field<room_id>(j, "room_id"), message_field(j, "message_id")};
  }
  if (op == "edit_message") {
    return edit_message_req{id_field<room_id>(j, "room_id"), message_field(j, "message_id"),
                            string_field(j, "body")};
  }
  if (op == "delete_message") {
    return delete_message_req{id_field<room_id>(j, "room_id"), message_field(j, "message_id")};
  }
  if (op == "history") return parse_history(j);
  if (op == "mark_read") {
    return mark_read_req{id_field<room_id>(j, "room_id"), message_field(j, "message_id")};
  }
  if (op == "sync") return parse_sync(j);
  if (op == "get_accounts") return get_accounts_req{bounded_accounts(j)};
  if (op == "get_room") return get_room_req{id_field<room_id>(j, "room_id")};
  if (op == "update_room") return parse_update_room(j);
  if (op == "delete_room") return delete_room_req{id_field<room_id>(j, "room_id")};
  if (op == "get_members") return get_members_req{id_field<room_id>(j, "room_id")};
  if (op == "set_members") return parse_set_members(j);
  if (op == "add_task") return parse_add_task(j);
  if (op == "set_task_status") {
    set_task_status_req r{id_field<room_id>(j, "room_id"), id_field<task_id>(j, "task_id"),
                          string_field(j, "status")};
    if (r.status != "open" && r.status != "done") reject("status must be open or done");
    return r;
  }
  if (op == "get_task") {
    return get_task_req{id_field<room_id>(j, "room_id"), id_field<task_id>(j, "task_id")};
  }
  if (op == "list_tasks") {
    return list_tasks_req{id_field<room_id>(j, "room_id"), optional_account(j, "account_id"),
                          optional_account(j, "assigned_by_account_id"), optional_status(j)};
  }
  if (op == "my_tasks") {
    return my_tasks_req{optional_account(j, "assigned_by_account_id"), optional_status(j)};
  }
  if (op == "my_status") return my_status_req{};
  if (op == "fetch_messages") {
    fetch_messages_req r{id_field<room_id>(j, "room_id")};
    if (const auto* v = detail::field(j, "force")) {
      if (!v->is_boolean()) reject("force must be true or false");
      r.force = v->get<bool>();
    }
    return r;
  }
  if (op == "me") return me_req{};
  if (op == "update_profile") return parse_update_profile(j);
  if (op == "get_profiles") return get_profiles_req{bounded_accounts(j)};
  if (op == "request_contact") {
    return request_contact_req{id_field<account_id>(j, "account_id"),
                               optional_string(j, "message").value_or("")};
  }
  if (op == "incoming_requests") return incoming_requests_req{};
  if (op == "accept_contact") return accept_contact_req{id_field<account_id>(j, "request_id")};
  if (op == "reject_contact") return reject_contact_req{id_field<account_id>(j, "request_id")};
  if (op == "contacts") return list_contacts_req{};
  if (op == "request_upload") {
    request_upload_req r;
    r.room = id_field<room_id>(j, "room_id");
    r.filename = string_field(j, "filename");
    const auto& size = required(j, "size");
    auto n = size.is_number_integer() ? detail::as_u64(size) : std::nullopt;
    if (!n) reject("size must be an integer number of bytes");
    r.size = *n;
    r.content_type = string_field(j, "content_type");
    return r;
  }
  if (op == "complete_upload") {
    return complete_upload_req{id_field<room_id>(j, "room_id"), id_field<file_id>(j, "file_id"),
                               optional_string(j, "message").value_or("")};
  }
  if (op == "get_file") {
    return get_file_req{id_field<room_id>(j, "room_id"), id_field<file_id>(j, "file_id"),
                        optional_bool(j, "download_url").value_or(false)};
  }
  if (op == "search") return parse_search(j);
  if (op == "list_files") {
    return list_files_req{id_field<room_id>(j, "room_id"), optional_account(j, "account_id")};
  }
  // ---- webhooks
  if (op == "create_webhook") {
    create_webhook_req r;
    r.room = id_field<room_id>(j, "room_id");
    r.url = string_field(j, "url");
    const auto& events = required(j, "events");
    if (!events.is_array()) reject("events must be an array of event names");
    for (const auto& e : events) {
      if (!e.is_string()) reject("events must be an array of event names");
      r.events.push_back(e.get<std::string>());
    }
    return r;
  }
  if (op == "list_webhooks") return list_webhooks_req{id_field<room_id>(j, "room_id")};
  if (op == "delete_webhook") {
    return delete_webhook_req{id_field<room_id>(j, "room_id"),
                              id_field<webhook_id>(j, "webhook_id")};
  }
  reject("unknown op \"" + std::string(op) + "\"");
}

parse_failure bad(std::optional<std::int64_t> id, std::string message) {
  return parse_failure{id, hibiki::error{errc::bad_request, std::move(message)}};
}

}  // namespace

std::variant<request, parse_failure> parse_request(std::string_view text) {
  try {
    const json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) return bad(std::nullopt, "frame is not valid JSON");
    if (!j.is_object()) return bad(std::nullopt, "frame must be a JSON object");
    const auto* id_value = detail::field(j, "id");
    if (id_value == nullptr) return bad(std::nullopt, "id is required");
    const auto id = id_value->is_number_integer() ? detail::as_i64(*id_value) : std::nullopt;
    if (!id) return bad(std::nullopt, "id must be an integer");
    const auto* op = detail::field(j, "op");
    if (op == nullptr) return bad(id, "op is required");
    if (!op->is_string()) return bad(id, "op must be a string");
    try {
      auto body = parse_body(op->get_ref<const std::string&>(), j);
      return request{*id, std::move(body)};
    } catch (const field_error& e) {
      return bad(id, e.message);
    }
  } catch (const std::exception& ex) {
    // nlohmann can still throw on pathological input (e.g. depth); never let it out of core.
    return bad(std::nullopt, std::string("frame could not be parsed: ") + ex.what());
  }
}

}  // namespace hibiki::protocol
