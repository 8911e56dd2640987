#include "rest_request.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include <nlohmann/json.hpp>

namespace hibiki::gateway {
namespace {

constexpr std::array<std::string_view, rest_endpoint_count> endpoint_names{"me",
                                                                           "my_status",
                                                                           "rooms_list",
                                                                           "rooms_create",
                                                                           "room_get",
                                                                           "room_update",
                                                                           "room_leave",
                                                                           "members_list",
                                                                           "members_update",
                                                                           "messages_list",
                                                                           "messages_post",
                                                                           "messages_read",
                                                                           "messages_unread",
                                                                           "message_get",
                                                                           "message_update",
                                                                           "message_delete",
                                                                           "contacts_list",
                                                                           "requests_list",
                                                                           "request_accept",
                                                                           "request_reject",
                                                                           "tasks_list",
                                                                           "tasks_create",
                                                                           "task_get",
                                                                           "task_status",
                                                                           "my_tasks",
                                                                           "files_list",
                                                                           "file_get",
                                                                           "files_upload",
                                                                           "search",
                                                                           "unknown"};

hibiki::error bad(std::string message) {
  return hibiki::error{errc::bad_request, std::move(message)};
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

result<std::string> url_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      const int hi = i + 1 < text.size() ? hex_value(text[i + 1]) : -1;
      const int lo = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) return bad("a parameter has a broken %-escape");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

/// The path's segments after /v2 ("/v2/rooms/5" → {"rooms", "5"}); a trailing slash is ignored.
std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  path.remove_prefix(rest_prefix.size());
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const auto end = path.find('/');
    out.push_back(path.substr(0, end));
    if (end == std::string_view::npos) break;
    path.remove_prefix(end);
  }
  return out;
}

hibiki::error not_allowed(std::string_view allowed) {
  // errc::conflict is only a carrier here: route_rest's caller answers 405 with Allow.
  return hibiki::error{errc::conflict, std::string(allowed)};
}

result<room_id> room_in_path(std::string_view text) {
  auto id = parse_wire_id(text);
  if (!id) return bad("room_id in the path must be a positive integer below 2^53");
  return room_id{*id};
}

result<task_id> task_in_path(std::string_view text) {
  auto id = parse_wire_id(text);
  if (!id) return bad("task_id in the path must be a positive integer below 2^53");
  return task_id{*id};
}

result<message_id> message_in_path(std::string_view text) {
  auto id = parse_wire_id(text);
  if (!id) return bad("message_id in the path must be a string of decimal digits");
  return message_id{*id};
}

}  // namespace

std::string_view endpoint_name(rest_endpoint e) {
  return endpoint_names[static_cast<std::size_t>(e)];
}

bool is_rest_path(std::string_view path) {
  return path == rest_prefix ||
         (path.size() > rest_prefix.size() && path.substr(0, rest_prefix.size()) == rest_prefix &&
          path[rest_prefix.size()] == '/');
}

void rest_params::add(std::string name, std::string value) {
  items_.emplace_back(std::move(name), std::move(value));
}

std::optional<std::string_view> rest_params::get(std::string_view name) const {
  for (auto it = items_.rbegin(); it != items_.rend(); ++it)
    if (it->first == name) return std::string_view(it->second);
  return std::nullopt;
}

status parse_form(std::string_view text, rest_params& out) {
  while (!text.empty()) {
    const auto amp = text.find('&');
    const auto item = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
    if (item.empty()) continue;
    const auto eq = item.find('=');
    auto name = url_decode(item.substr(0, eq));
    if (!name) return name.error();
    if (name->empty()) return bad("a parameter has no name");
    std::string value;
    if (eq != std::string_view::npos) {
      auto v = url_decode(item.substr(eq + 1));
      if (!v) return v.error();
      value = std::move(*v);
    }
    out.add(std::move(*name), std::move(value));
  }
  return {};
}

result<std::string> effective_method(std::string_view method, const rest_params& query) {
  auto override_to = query.get("method");
  if (!override_to) return std::string(method);
  std::string upper(*override_to);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (upper != "PUT" && upper != "DELETE" && upper != "POST" && upper != "GET")
    return bad("method must be PUT or DELETE (the ?method= override)");
  return upper;
}

namespace {

/// /rooms/{id}/tasks, /rooms/{id}/tasks/{task_id} and /rooms/{id}/tasks/{task_id}/status.
template <typename Unknown>
result<rest_route> route_tasks(std::string_view method, const std::vector<std::string_view>& seg,
                               rest_route r, Unknown unknown) {
  if (seg.size() == 3) {
    if (method == "GET")
      r.endpoint = rest_endpoint::tasks_list;
    else if (method == "POST")
      r.endpoint = rest_endpoint::tasks_create;
    else
      return not_allowed("GET, POST");
    return r;
  }
  if (seg.size() > 5 || (seg.size() == 5 && seg[4] != "status")) return unknown();
  auto task = task_in_path(seg[3]);
  if (!task) return task.error();
  r.task = *task;
  if (seg.size() == 4) {
    if (method != "GET") return not_allowed("GET");
    r.endpoint = rest_endpoint::task_get;
    return r;
  }
  if (method != "PUT") return not_allowed("PUT");
  r.endpoint = rest_endpoint::task_status;
  return r;
}

/// /rooms/{id}/files (GET: the list, POST: an upload, multipart) and /rooms/{id}/files/{file_id}.
template <typename Unknown>
result<rest_route> route_files(std::string_view method, const std::vector<std::string_view>& seg,
                               rest_route r, Unknown unknown) {
  if (seg.size() > 4) return unknown();
  if (seg.size() == 3) {
    if (method == "POST") {
      r.endpoint = rest_endpoint::files_upload;
      return r;
    }
    if (method != "GET") return not_allowed("GET, POST");
    r.endpoint = rest_endpoint::files_list;
    return r;
  }
  if (method != "GET") return not_allowed("GET");
  auto file = parse_wire_id(seg[3]);
  if (!file) return bad("file_id in the path must be a positive integer below 2^53");
  r.file = file_id{*file};
  r.endpoint = rest_endpoint::file_get;
  return r;
}

}  // namespace

result<rest_route> route_rest(std::string_view method, std::string_view path) {
  const auto seg = segments(path);
  rest_route r;
  auto unknown = [&] {
    return hibiki::error{errc::not_found, "no such endpoint: " + std::string(path)};
  };
  const bool get = method == "GET";
  if (seg.size() == 1 && seg[0] == "me") {
    if (!get) return not_allowed("GET");
    r.endpoint = rest_endpoint::me;
    return r;
  }
  if (seg.size() == 2 && seg[0] == "my" && seg[1] == "status") {
    if (!get) return not_allowed("GET");
    r.endpoint = rest_endpoint::my_status;
    return r;
  }
  if (seg.size() == 2 && seg[0] == "my" && seg[1] == "tasks") {
    if (!get) return not_allowed("GET");
    r.endpoint = rest_endpoint::my_tasks;
    return r;
  }
  if (seg.size() == 1 && seg[0] == "search") {
    if (!get) return not_allowed("GET");
    r.endpoint = rest_endpoint::search;
    return r;
  }
  if (seg.size() == 1 && seg[0] == "contacts") {
    if (!get) return not_allowed("GET");
    r.endpoint = rest_endpoint::contacts_list;
    return r;
  }
  if (!seg.empty() && seg[0] == "incoming_requests") {
    if (seg.size() == 1) {
      if (!get) return not_allowed("GET");
      r.endpoint = rest_endpoint::requests_list;
      return r;
    }
    if (seg.size() != 2) return unknown();
    auto request = parse_wire_id(seg[1]);
    if (!request) return bad("request_id in the path must be a positive integer below 2^53");
    r.request = account_id{*request};
    if (method == "PUT")
      r.endpoint = rest_endpoint::request_accept;
    else if (method == "DELETE")
      r.endpoint = rest_endpoint::request_reject;
    else
      return not_allowed("PUT, DELETE");
    return r;
  }
  if (seg.empty() || seg[0] != "rooms") return unknown();
  if (seg.size() == 1) {
    if (get)
      r.endpoint = rest_endpoint::rooms_list;
    else if (method == "POST")
      r.endpoint = rest_endpoint::rooms_create;
    else
      return not_allowed("GET, POST");
    return r;
  }
  auto room = room_in_path(seg[1]);
  if (!room) return room.error();
  r.room = *room;
  if (seg.size() == 2) {
    if (get)
      r.endpoint = rest_endpoint::room_get;
    else if (method == "PUT")
      r.endpoint = rest_endpoint::room_update;
    else if (method == "DELETE")
      r.endpoint = rest_endpoint::room_leave;
    else
      return not_allowed("GET, PUT, DELETE");
    return r;
  }
  if (seg[2] == "members") {
    if (seg.size() != 3) return unknown();
    if (get)
      r.endpoint = rest_endpoint::members_list;
    else if (method == "PUT")
      r.endpoint = rest_endpoint::members_update;
    else
      return not_allowed("GET, PUT");
    return r;
  }
  if (seg[2] == "tasks") return route_tasks(method, seg, r, unknown);
  if (seg[2] == "files") return route_files(method, seg, r, unknown);
  if (seg[2] != "messages") return unknown();
  if (seg.size() == 3) {
    if (get)
      r.endpoint = rest_endpoint::messages_list;
    else if (method == "POST")
      r.endpoint = rest_endpoint::messages_post;
    else
      return not_allowed("GET, POST");
    return r;
  }
  if (seg.size() != 4) return unknown();
  if (seg[3] == "read" || seg[3] == "unread") {
    if (method != "PUT") return not_allowed("PUT");
    r.endpoint = seg[3] == "read" ? rest_endpoint::messages_read : rest_endpoint::messages_unread;
    return r;
  }
  auto message = message_in_path(seg[3]);
  if (!message) return message.error();
  r.message = *message;
  if (get)
    r.endpoint = rest_endpoint::message_get;
  else if (method == "PUT")
    r.endpoint = rest_endpoint::message_update;
  else if (method == "DELETE")
    r.endpoint = rest_endpoint::message_delete;
  else
    return not_allowed("GET, PUT, DELETE");
  return r;
}

std::optional<std::uint64_t> parse_wire_id(std::string_view text) {
  if (text.empty() || text.size() > 16 || text.front() == '0') return std::nullopt;
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || ptr != text.data() + text.size()) return std::nullopt;
  if (v == 0 || v > max_wire_id) return std::nullopt;
  return v;
}

result<std::vector<account_id>> parse_id_list(std::string_view field, std::string_view text) {
  std::vector<account_id> out;
  const auto bad_list = [&] {
    return bad(std::string(field) +
               " must be account ids separated by commas (positive integers below 2^53)");
  };
  if (!text.empty() && text.back() == ',') return bad_list();
  while (!text.empty()) {
    const auto comma = text.find(',');
    auto item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    auto id = parse_wire_id(item);
    if (!id) return bad_list();
    out.push_back(account_id{*id});
  }
  return out;
}

result<bool> parse_flag(std::string_view field, std::string_view text) {
  if (text == "1" || text == "true") return true;
  if (text == "0" || text == "false" || text.empty()) return false;
  return bad(std::string(field) + " must be 0 or 1");
}

result<account_id> parse_account_param(std::string_view field, std::string_view text) {
  auto id = parse_wire_id(text);
  if (!id)
    return bad(std::string(field) + " must be an account id (a positive integer below 2^53)");
  return account_id{*id};
}

result<std::string> parse_task_status_param(std::string_view field, std::string_view text) {
  if (text != "open" && text != "done") return bad(std::string(field) + " must be open or done");
  return std::string(text);
}

result<std::int64_t> parse_limit(std::string_view text) {
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || text.front() == '-' || text.front() == '+' || ec != std::errc{} ||
      ptr != text.data() + text.size())
    return bad("limit must be a Unix time in seconds (an integer, 0 or more)");
  return v;
}

result<std::string> parse_limit_type(std::string_view text) {
  if (text != "none" && text != "date" && text != "time")
    return bad("limit_type must be none, date or time");
  return std::string(text);
}

std::string rest_error_body(std::string_view message) {
  return nlohmann::json{{"errors", nlohmann::json::array({message})}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace hibiki::gateway
