/// Encoding of replies and events, and the small helpers shared by every request.

#include <charconv>

#include "hibiki/core/protocol.hpp"
#include "json_fields.hpp"

namespace hibiki::protocol {

namespace {

/// Copies the members of `fields` (when it is an object) into `out`. Reserved keys set by the
/// caller afterwards win, so a field cannot forge "re"/"ok"/"ev".
void merge(nlohmann::json& out, const nlohmann::json& fields) {
  if (!fields.is_object()) return;
  for (auto it = fields.begin(); it != fields.end(); ++it) out[it.key()] = it.value();
}

}  // namespace

std::string encode_ok(std::int64_t id, const nlohmann::json& fields) {
  nlohmann::json j = nlohmann::json::object();
  merge(j, fields);
  j["re"] = id;
  j["ok"] = true;
  return detail::dump(j);
}

std::string encode_error(std::optional<std::int64_t> id, const hibiki::error& err) {
  nlohmann::json j = nlohmann::json::object();
  j["re"] = id ? nlohmann::json(*id) : nlohmann::json(nullptr);
  j["ok"] = false;
  j["error"] = {{"code", std::string(wire_name(err.code))}, {"message", err.message}};
  return detail::dump(j);
}

std::string encode_event(std::string_view name, const nlohmann::json& fields) {
  nlohmann::json j = nlohmann::json::object();
  merge(j, fields);
  j["ev"] = std::string(name);
  return detail::dump(j);
}

std::string to_wire(message_id id) {
  return std::to_string(id.value);
}

std::optional<message_id> message_id_from_wire(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');  // 19 digits cannot overflow
  }
  if (value == 0) return std::nullopt;
  return message_id{value};
}

std::string_view op_name(const request_body& body) {
  constexpr std::string_view names[] = {
      "ping", "auth", "create_room", "add_members", "remove_member", "leave_room", "list_rooms",
      "send_message", "edit_message", "delete_message", "history", "mark_read", "sync",
      "get_accounts", "get_room", "update_room", "delete_room", "get_members", "set_members",
      "add_task", "set_task_status", "get_task", "list_tasks", "my_tasks", "my_status",
      "get_message", "mark_unread", "fetch_messages", "me", "update_profile", "get_profiles",
      "request_contact", "incoming_requests", "accept_contact", "reject_contact", "contacts",
      "request_upload", "complete_upload", "get_file", "list_files",
      // webhooks
      "create_webhook", "list_webhooks", "delete_webhook",
      // search
      "search"};
  static_assert(std::variant_size_v<request_body> == std::size(names));
  return names[body.index()];
}

bool allowed_before_auth(const request_body& body) {
  return std::holds_alternative<ping_req>(body) || std::holds_alternative<auth_req>(body);
}

}  // namespace hibiki::protocol
