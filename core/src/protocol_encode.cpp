/// Encoding of replies and events, and the small helpers shared by every request.

#include <charconv>

#include "hibiki/core/json_text.hpp"
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
  // Written straight to bytes in the order a merged object would dump in (std::map key order),
  // without copying the fields into a new DOM: this is the reply to every request.
  std::string out;
  out.reserve(64);
  out.push_back('{');
  bool ok_written = false;
  bool re_written = false;
  bool first = true;
  auto comma = [&] {
    if (!first) out.push_back(',');
    first = false;
  };
  auto reserved_before = [&](std::string_view key) {
    if (!ok_written && std::string_view("ok") < key) {
      comma();
      out += "\"ok\":true";
      ok_written = true;
    }
    if (!re_written && std::string_view("re") < key) {
      comma();
      json_text::append_key(out, "re");
      json_text::append_number(out, id);
      re_written = true;
    }
  };
  if (fields.is_object()) {
    for (auto it = fields.begin(); it != fields.end(); ++it) {
      const std::string_view key = it.key();
      // The reserved keys are the reply's own: a field cannot forge them.
      if (key == "ok" || key == "re") continue;
      reserved_before(key);
      comma();
      json_text::append_key(out, key);
      json_text::append_value(out, it.value());
    }
  }
  // Whatever sorts after every field goes last.
  if (!ok_written) {
    comma();
    out += "\"ok\":true";
  }
  if (!re_written) {
    comma();
    json_text::append_key(out, "re");
    json_text::append_number(out, id);
  }
  out.push_back('}');
  return out;
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
