#include "hibiki/core/command_codec.hpp"

#include <map>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "json_fields.hpp"

namespace hibiki::codec {

namespace {

using nlohmann::json;

template <class... Fs>
struct overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
overloaded(Fs...) -> overloaded<Fs...>;

json opt(const std::optional<std::string>& text) {
  return text ? json(*text) : json(nullptr);
}

json opt_id(const std::optional<account_id>& a) {
  return a ? json(a->value) : json(nullptr);
}

json ids(const std::vector<account_id>& accounts) {
  json out = json::array();
  for (auto a : accounts) out.push_back(a.value);
  return out;
}

/// {"2": "bob", ...}: names by account id in decimal.
json names_object(const std::map<account_id, std::string>& names) {
  json out = json::object();
  for (const auto& [a, name] : names) out[std::to_string(a.value)] = name;
  return out;
}

/// A decimal account id of a `names` key ("0", signs, spaces and overflow refused).
std::optional<std::uint64_t> parse_decimal_id(const std::string& text) {
  if (text.empty() || text.size() > 19 || text.front() == '0') return std::nullopt;
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

/// Reads the fields of one command object, remembering the first problem; `done` also refuses
/// fields the command does not have.
class strict_reader {
 public:
  explicit strict_reader(const json& obj) : obj_(obj) {}

  std::uint64_t u64(std::string_view key) {
    auto v = find(key);
    if (!v) return 0;
    auto n = detail::as_u64(*v);
    if (!n) return fail(key), 0;
    return *n;
  }
  std::int64_t i64(std::string_view key) {
    auto v = find(key);
    if (!v) return 0;
    auto n = detail::as_i64(*v);
    if (!n) return fail(key), 0;
    return *n;
  }
  bool boolean(std::string_view key) {
    auto v = find(key);
    if (!v) return false;
    if (!v->is_boolean()) return fail(key), false;
    return v->get<bool>();
  }
  std::string str(std::string_view key) {
    auto v = find(key);
    if (!v) return {};
    if (!v->is_string()) return fail(key), std::string();
    return v->get<std::string>();
  }
  std::vector<account_id> accounts(std::string_view key) {
    std::vector<account_id> out;
    auto v = find(key);
    if (!v) return out;
    if (!v->is_array()) return fail(key), out;
    for (const auto& item : *v) {
      auto n = detail::as_u64(item);
      if (!n) return fail(key), std::vector<account_id>{};
      out.push_back(account_id{*n});
    }
    return out;
  }
  /// An array of strings.
  std::vector<std::string> string_list(std::string_view key) {
    std::vector<std::string> out;
    auto v = find(key);
    if (!v) return out;
    if (!v->is_array()) return fail(key), out;
    for (const auto& item : *v) {
      if (!item.is_string()) return fail(key), std::vector<std::string>{};
      out.push_back(item.get<std::string>());
    }
    return out;
  }
  /// An object of optional string fields; a field that is present must be a string.
  std::vector<std::pair<std::string, std::string>> strings(std::string_view key) {
    std::vector<std::pair<std::string, std::string>> out;
    auto v = find(key);
    if (!v) return out;
    if (!v->is_object()) return fail(key), out;
    for (auto it = v->begin(); it != v->end(); ++it) {
      if (!it.value().is_string()) return fail(key), decltype(out){};
      out.emplace_back(it.key(), it.value().get<std::string>());
    }
    return out;
  }
  hibiki::role role(std::string_view key) {
    auto text = str(key);
    if (error_) return hibiki::role::member;
    auto r = parse_role(text);
    if (!r) return fail(key), hibiki::role::member;
    return *r;
  }

  /// A string or null (absent in the command).
  std::optional<std::string> opt_str(std::string_view key) {
    auto v = find(key);
    if (!v || v->is_null()) return std::nullopt;
    if (!v->is_string()) return fail(key), std::nullopt;
    return v->get<std::string>();
  }

  /// An account id or null.
  std::optional<account_id> opt_account(std::string_view key) {
    auto v = find(key);
    if (!v || v->is_null()) return std::nullopt;
    auto n = detail::as_u64(*v);
    if (!n) return fail(key), std::nullopt;
    return account_id{*n};
  }

  template <class T, class Parse>
  T named(std::string_view key, Parse parse, T fallback) {
    auto text = str(key);
    if (error_) return fallback;
    auto v = parse(text);
    if (!v) return fail(key), fallback;
    return *v;
  }

  room::room_type room_type(std::string_view key) {
    auto text = str(key);
    if (error_) return room::room_type::group;
    auto t = room::parse_room_type(text);
    if (!t) return fail(key), room::room_type::group;
    return *t;
  }

  /// ok when every field was present and well typed and there was no other field.
  status done() const {
    if (error_) return *error_;
    if (obj_.size() != read_ + 1)  // + "t"
      return hibiki::error{errc::bad_request, "command has unknown fields"};
    return {};
  }

 private:
  const json* find(std::string_view key) {
    if (error_) return nullptr;
    const json* v = detail::field(obj_, key);
    if (v == nullptr) {
      error_ = hibiki::error{errc::bad_request, "command lacks field " + std::string(key)};
      return nullptr;
    }
    ++read_;
    return v;
  }
  void fail(std::string_view key) {
    if (!error_) error_ = hibiki::error{errc::bad_request, "bad command field " + std::string(key)};
  }

  const json& obj_;
  std::size_t read_ = 0;
  std::optional<hibiki::error> error_;
};

/// The object and its type name, or bad_request.
result<std::pair<json, std::string>> parse_object(std::string_view text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return hibiki::error{errc::bad_request, "command is not a JSON object"};
  auto t = detail::get_string(j, "t");
  if (!t) return hibiki::error{errc::bad_request, "command lacks its type"};
  return std::pair<json, std::string>{std::move(j), std::move(*t)};
}

template <class T>
result<T> finish(const strict_reader& r, T value) {
  if (auto st = r.done(); !st) return st.error();
  return value;
}

}  // namespace

std::string encode_command(const room::command& cmd) {
  json j = std::visit(
      overloaded{
          [](const room::create_room& c) -> json {
            return {{"t", "room.create_room"},
                    {"actor", c.actor.value},
                    {"room", c.room.value},
                    {"name", c.name},
                    {"description", c.description},
                    {"members", ids(c.members)},
                    {"now", c.now},
                    {"type", std::string(room::to_string(c.type))}};
          },
          [](const room::add_members& c) -> json {
            return {{"t", "room.add_members"},
                    {"actor", c.actor.value},
                    {"accounts", ids(c.accounts)},
                    {"role", std::string(to_string(c.role))}};
          },
          [](const room::remove_member& c) -> json {
            return {{"t", "room.remove_member"},
                    {"actor", c.actor.value},
                    {"account", c.account.value}};
          },
          [](const room::leave_room& c) -> json {
            return {{"t", "room.leave_room"}, {"actor", c.actor.value}};
          },
          [](const room::send_message& c) -> json {
            return {{"t", "room.send_message"},
                    {"actor", c.actor.value},
                    {"body", c.body},
                    {"client_msg_id", c.client_msg_id},
                    {"now", c.now},
                    {"self_unread", c.self_unread},
                    {"author_name", c.author_name}};
          },
          [](const room::edit_message& c) -> json {
            return {{"t", "room.edit_message"},
                    {"actor", c.actor.value},
                    {"message", c.message.value},
                    {"body", c.body},
                    {"now", c.now},
                    {"author_name", c.author_name}};
          },
          [](const room::delete_message& c) -> json {
            return {{"t", "room.delete_message"},
                    {"actor", c.actor.value},
                    {"message", c.message.value},
                    {"now", c.now}};
          },
          [](const room::mark_read& c) -> json {
            return {
                {"t", "room.mark_read"}, {"actor", c.actor.value}, {"message", c.message.value}};
          },
          [](const room::mark_unread& c) -> json {
            return {
                {"t", "room.mark_unread"}, {"actor", c.actor.value}, {"message", c.message.value}};
          },
          [](const room::get_room& c) -> json {
            return {{"t", "room.get_room"}, {"actor", c.actor.value}};
          },
          [](const room::get_members& c) -> json {
            return {{"t", "room.get_members"}, {"actor", c.actor.value}};
          },
          [](const room::update_room& c) -> json {
            return {{"t", "room.update_room"},
                    {"actor", c.actor.value},
                    {"name", opt(c.name)},
                    {"description", opt(c.description)},
                    {"icon_preset", opt(c.icon_preset)},
                    {"now", c.now}};
          },
          [](const room::delete_room& c) -> json {
            return {{"t", "room.delete_room"}, {"actor", c.actor.value}, {"now", c.now}};
          },
          [](const room::add_task& c) -> json {
            return {{"t", "room.add_task"},
                    {"actor", c.actor.value},
                    {"assignees", ids(c.assignees)},
                    {"body", c.body},
                    {"limit", c.limit},
                    {"limit_type", std::string(room::to_string(c.limit_type))},
                    {"now", c.now},
                    {"author_name", c.author_name},
                    {"names", names_object(c.names)}};
          },
          [](const room::set_task_status& c) -> json {
            return {{"t", "room.set_task_status"},
                    {"actor", c.actor.value},
                    {"task", c.task.value},
                    {"status", std::string(room::to_string(c.status))},
                    {"now", c.now}};
          },
          [](const room::get_task& c) -> json {
            return {{"t", "room.get_task"}, {"actor", c.actor.value}, {"task", c.task.value}};
          },
          [](const room::list_tasks& c) -> json {
            return {{"t", "room.list_tasks"},
                    {"actor", c.actor.value},
                    {"assignee", opt_id(c.assignee)},
                    {"assigned_by", opt_id(c.assigned_by)},
                    {"status",
                     c.status ? json(std::string(room::to_string(*c.status))) : json(nullptr)}};
          },
          [](const room::set_members& c) -> json {
            return {{"t", "room.set_members"},
                    {"actor", c.actor.value},
                    {"admins", ids(c.admins)},
                    {"members", ids(c.members)},
                    {"readonly", ids(c.readonly)}};
          },
          [](const room::request_upload& c) -> json {
            return {{"t", "room.request_upload"},
                    {"actor", c.actor.value},
                    {"filename", c.filename},
                    {"size", c.size},
                    {"content_type", c.content_type},
                    {"max_size", c.max_size},
                    {"object_key", c.object_key},
                    {"now", c.now},
                    {"window", c.window},
                    {"max_pending", c.max_pending}};
          },
          [](const room::check_upload& c) -> json {
            return {{"t", "room.check_upload"},
                    {"actor", c.actor.value},
                    {"file", c.file.value},
                    {"now", c.now}};
          },
          [](const room::complete_upload& c) -> json {
            return {{"t", "room.complete_upload"},
                    {"actor", c.actor.value},
                    {"file", c.file.value},
                    {"stored_size", c.stored_size},
                    {"now", c.now},
                    {"author_name", c.author_name},
                    {"message", c.message}};
          },
          [](const room::retire_file& c) -> json {
            return {{"t", "room.retire_file"},
                    {"file", c.file.value},
                    {"now", c.now},
                    {"grace", c.grace}};
          },
          [](const room::forget_file& c) -> json {
            return {{"t", "room.forget_file"}, {"file", c.file.value}};
          },
          [](const room::create_webhook& c) -> json {
            return {{"t", "room.create_webhook"}, {"actor", c.actor.value}, {"url", c.url},
                    {"events", c.events},         {"token", c.token},       {"now", c.now}};
          },
          [](const room::list_webhooks& c) -> json {
            return {{"t", "room.list_webhooks"}, {"actor", c.actor.value}};
          },
          [](const room::delete_webhook& c) -> json {
            return {{"t", "room.delete_webhook"},
                    {"actor", c.actor.value},
                    {"webhook", c.webhook.value},
                    {"now", c.now}};
          },
      },
      cmd);
  return detail::dump(j);
}

std::string encode_command(const user::command& cmd) {
  json j = std::visit(
      overloaded{
          [](const user::register_account& c) -> json {
            return {{"t", "user.register_account"},
                    {"id", c.id.value},
                    {"name", c.name},
                    {"token_hash", c.token_hash},
                    {"now", c.now}};
          },
          [](const user::rename_account& c) -> json {
            return {{"t", "user.rename_account"}, {"actor", c.actor.value}, {"name", c.name}};
          },
          [](const user::disable_account&) -> json {
            return {{"t", "user.disable_account"}};
          },
          [](const user::enable_account&) -> json {
            return {{"t", "user.enable_account"}};
          },
          [](const user::revoke_tokens&) -> json {
            return {{"t", "user.revoke_tokens"}};
          },
          [](const user::issue_token& c) -> json {
            return {{"t", "user.issue_token"}, {"token_hash", c.token_hash}};
          },
          [](const user::move_fetch_cursor& c) -> json {
            return {
                {"t", "user.move_fetch_cursor"}, {"room", c.room.value}, {"up_to", c.up_to.value}};
          },
          [](const user::peek_fetch_cursor& c) -> json {
            return {{"t", "user.peek_fetch_cursor"}, {"room", c.room.value}};
          },
          [](const user::update_profile& c) -> json {
            json fields = json::object();
            const std::pair<const char*, const std::optional<std::string>*> all[] = {
                {"name", &c.name},
                {"chatwork_id", &c.chatwork_id},
                {"organization", &c.organization},
                {"department", &c.department},
                {"title", &c.title},
                {"introduction", &c.introduction}};
            for (const auto& [key, value] : all)
              if (*value) fields[key] = **value;
            return {{"t", "user.update_profile"}, {"actor", c.actor.value}, {"fields", fields}};
          },
          [](const user::get_profile& c) -> json {
            return {{"t", "user.get_profile"}, {"actor", c.actor.value}};
          },
          [](const user::assign_my_room& c) -> json {
            return {{"t", "user.assign_my_room"}, {"room", c.room.value}};
          },
          [](const user::request_contact& c) -> json {
            return {{"t", "user.request_contact"},
                    {"from", c.from.value},
                    {"to", c.to.value},
                    {"message", c.message},
                    {"now", c.now}};
          },
          [](const user::accept_contact& c) -> json {
            return {{"t", "user.accept_contact"},
                    {"actor", c.actor.value},
                    {"requester", c.requester.value},
                    {"room", c.room.value}};
          },
          [](const user::reject_contact& c) -> json {
            return {{"t", "user.reject_contact"},
                    {"actor", c.actor.value},
                    {"requester", c.requester.value}};
          },
      },
      cmd);
  return j.dump();
}

result<room::command> decode_room_command(std::string_view text) {
  auto parsed = parse_object(text);
  if (!parsed) return parsed.error();
  const auto& [j, t] = *parsed;
  strict_reader r(j);
  if (t == "room.create_room") {
    room::create_room c;
    c.actor = account_id{r.u64("actor")};
    c.room = room_id{r.u64("room")};
    c.name = r.str("name");
    c.description = r.str("description");
    c.members = r.accounts("members");
    c.now = r.i64("now");
    c.type = r.room_type("type");
    return finish<room::command>(r, std::move(c));
  }
  if (t == "room.add_members") {
    room::add_members c;
    c.actor = account_id{r.u64("actor")};
    c.accounts = r.accounts("accounts");
    c.role = r.role("role");
    return finish<room::command>(r, std::move(c));
  }
  if (t == "room.remove_member") {
    room::remove_member c;
    c.actor = account_id{r.u64("actor")};
    c.account = account_id{r.u64("account")};
    return finish<room::command>(r, c);
  }
  if (t == "room.leave_room") {
    room::leave_room c;
    c.actor = account_id{r.u64("actor")};
    return finish<room::command>(r, c);
  }
  if (t == "room.send_message") {
    room::send_message c;
    c.actor = account_id{r.u64("actor")};
    c.body = r.str("body");
    c.client_msg_id = r.str("client_msg_id");
    c.now = r.i64("now");
    c.author_name = r.str("author_name");
    c.self_unread = r.boolean("self_unread");
    return finish<room::command>(r, std::move(c));
  }
  if (t == "room.edit_message") {
    room::edit_message c;
    c.actor = account_id{r.u64("actor")};
    c.message = message_id{r.u64("message")};
    c.body = r.str("body");
    c.now = r.i64("now");
    c.author_name = r.str("author_name");
    return finish<room::command>(r, std::move(c));
  }
  if (t == "room.delete_message") {
    room::delete_message c;
    c.actor = account_id{r.u64("actor")};
    c.message = message_id{r.u64("message")};
    c.now = r.i64("now");
    return finish<room::command>(r, c);
  }
  if (t == "room.mark_read") {
    room::mark_read c;
    c.actor = account_id{r.u64("actor")};
    c.message = message_id{r.u64("message")};
    return finish<room::command>(r, c);
  }
  if (t == "room.mark_unread") {
    room::mark_unread c;
    c.actor = account_id{r.u64("actor")};
    c.message = message_id{r.u64("message")};
    return finish<room::command>(r, c);
  }
  if (t == "room.get_room") {
    return finish<room::command>(r, room::get_room{account_id{r.u64("actor")}});
  }
  if (t == "room.get_members") {
    return finish<room::command>(r, room::get_members{account_id{r.u64("actor")}});
  }
  if (t == "room.update_room") {
    room::update_room c;
    c.actor = account_id{r.u64("actor")};
    c.name = r.opt_str("name");
    c.description = r.opt_str("description");
    c.icon_preset = r.opt_str("icon_preset");
    c.now = r.i64("now");
    return finish<room::command>(r, std::move(c));
  }
  if (t == "room.delete_room") {
    room::delete_room c;
    c.actor = account_id{r.u64("actor")};
    c.now = r.i64("now");
    return finish<room::command>(r, c);
  }
  if (t == "room.set_members") {
    room::set_members c;
    c.actor = account_id{r.u64("actor")};
    c.admins = r.accounts("admins");
    c.members = r.accounts("members");
    c.readonly = r.accounts("readonly");
    return finish<room::command>(r, std::move(c));
  }
  if (t == "room.add_task") {
    room::add_task c;
    c.actor = account_id{r.u64("actor")};
    c.assignees = r.accounts("assignees");
    c.body = r.str("body");
    c.limit = r.i64("limit");
    c.limit_type = r.named("limit_type", room::parse_limit_type, room::limit_type::none);
    c.now = r.i64("now");
    c.author_name = r.str("author_name");
    for (auto& [key, name] : r.strings("names")) {
      auto id = parse_decimal_id(key);
      if (!id) return hibiki::error{errc::bad_request, "bad command field names"};
      c.names[account_id{*id}] = std::move(name);
    }
    return finish<room::command>(r, std::move(c));
  }
  if (t == "room.set_task_status") {
    room::set_task_status c;
    c.actor = account_id{r.u64("actor")};
    c.task = task_id{r.u64("task")};
    c.status = r.named("status", room::parse_task_status, room::task_status::open);
    c.now = r.i64("now");
    return finish<room::command>(r, c);
  }
  if (t == "room.get_task") {
    room::get_task c;
    c.actor = account_id{r.u64("actor")};
    c.task = task_id{r.u64("task")};
    return finish<room::command>(r, c);
  }
  if (t == "room.list_tasks") {
    room::list_tasks c;
    c.actor = account_id{r.u64("actor")};
    c.assignee = r.opt_account("assignee");
    c.assigned_by = r.opt_account("assigned_by");
    if (auto text = r.opt_str("status")) {
      c.status = room::parse_task_status(*text);
      if (!c.status) return hibiki::error{errc::bad_request, "bad command field status"};
    }
    return finish<room::command>(r, c);
  }
  if (t == "room.request_upload") {
    room::request_upload c;
    c.actor = account_id{r.u64("actor")};
    c.filename = r.str("filename");
    c.size = r.u64("size");
    c.content_type = r.str("content_type");
    c.max_size = r.u64("max_size");
    c.object_key = r.str("object_key");
    c.now = r.i64("now");
    c.window = r.i64("window");
    const auto max_pending = r.u64("max_pending");
    if (max_pending > UINT32_MAX)
      return hibiki::error{errc::bad_request, "bad command field max_pending"};
    c.max_pending = static_cast<std::uint32_t>(max_pending);
    return finish<room::command>(r, std::move(c));
  }
  if (t == "room.check_upload") {
    room::check_upload c;
    c.actor = account_id{r.u64("actor")};
    c.file = file_id{r.u64("file")};
    c.now = r.i64("now");
    return finish<room::command>(r, c);
  }
  if (t == "room.complete_upload") {
    room::complete_upload c;
    c.actor = account_id{r.u64("actor")};
    c.file = file_id{r.u64("file")};
    c.stored_size = r.u64("stored_size");
    c.now = r.i64("now");
    c.author_name = r.str("author_name");
    c.message = r.str("message");
    return finish<room::command>(r, std::move(c));
  }
  if (t == "room.retire_file") {
    room::retire_file c;
    c.file = file_id{r.u64("file")};
    c.now = r.i64("now");
    c.grace = r.i64("grace");
    return finish<room::command>(r, c);
  }
  if (t == "room.create_webhook") {
    room::create_webhook c;
    c.actor = account_id{r.u64("actor")};
    c.url = r.str("url");
    c.events = r.string_list("events");
    c.token = r.str("token");
    c.now = r.i64("now");
    return finish<room::command>(r, std::move(c));
  }
  if (t == "room.list_webhooks") {
    room::list_webhooks c;
    c.actor = account_id{r.u64("actor")};
    return finish<room::command>(r, c);
  }
  if (t == "room.delete_webhook") {
    room::delete_webhook c;
    c.actor = account_id{r.u64("actor")};
    c.webhook = webhook_id{r.u64("webhook")};
    c.now = r.i64("now");
    return finish<room::command>(r, c);
  }
  if (t == "room.forget_file") {
    room::forget_file c;
    c.file = file_id{r.u64("file")};
    return finish<room::command>(r, c);
  }
  return hibiki::error{errc::bad_request, "unknown room command " + t};
}

result<user::command> decode_user_command(std::string_view text) {
  auto parsed = parse_object(text);
  if (!parsed) return parsed.error();
  const auto& [j, t] = *parsed;
  strict_reader r(j);
  if (t == "user.register_account") {
    user::register_account c;
    c.id = account_id{r.u64("id")};
    c.name = r.str("name");
    c.token_hash = r.str("token_hash");
    c.now = r.i64("now");
    return finish<user::command>(r, std::move(c));
  }
  if (t == "user.rename_account") {
    user::rename_account c;
    c.actor = account_id{r.u64("actor")};
    c.name = r.str("name");
    return finish<user::command>(r, std::move(c));
  }
  if (t == "user.disable_account") return finish<user::command>(r, user::disable_account{});
  if (t == "user.enable_account") return finish<user::command>(r, user::enable_account{});
  if (t == "user.revoke_tokens") return finish<user::command>(r, user::revoke_tokens{});
  if (t == "user.issue_token") {
    user::issue_token c;
    c.token_hash = r.str("token_hash");
    return finish<user::command>(r, std::move(c));
  }
  if (t == "user.move_fetch_cursor") {
    user::move_fetch_cursor c;
    c.room = room_id{r.u64("room")};
    c.up_to = message_id{r.u64("up_to")};
    return finish<user::command>(r, c);
  }
  if (t == "user.peek_fetch_cursor") {
    user::peek_fetch_cursor c;
    c.room = room_id{r.u64("room")};
    return finish<user::command>(r, c);
  }
  if (t == "user.update_profile") {
    user::update_profile c;
    c.actor = account_id{r.u64("actor")};
    for (auto& [key, value] : r.strings("fields")) {
      if (key == "name")
        c.name = std::move(value);
      else if (key == "chatwork_id")
        c.chatwork_id = std::move(value);
      else if (key == "organization")
        c.organization = std::move(value);
      else if (key == "department")
        c.department = std::move(value);
      else if (key == "title")
        c.title = std::move(value);
      else if (key == "introduction")
        c.introduction = std::move(value);
      else
        return hibiki::error{errc::bad_request, "unknown profile field " + key};
    }
    return finish<user::command>(r, std::move(c));
  }
  if (t == "user.get_profile") {
    user::get_profile c;
    c.actor = account_id{r.u64("actor")};
    return finish<user::command>(r, c);
  }
  if (t == "user.assign_my_room") {
    user::assign_my_room c;
    c.room = room_id{r.u64("room")};
    return finish<user::command>(r, c);
  }
  if (t == "user.request_contact") {
    user::request_contact c;
    c.from = account_id{r.u64("from")};
    c.to = account_id{r.u64("to")};
    c.message = r.str("message");
    c.now = r.i64("now");
    return finish<user::command>(r, std::move(c));
  }
  if (t == "user.accept_contact") {
    user::accept_contact c;
    c.actor = account_id{r.u64("actor")};
    c.requester = account_id{r.u64("requester")};
    c.room = room_id{r.u64("room")};
    return finish<user::command>(r, c);
  }
  if (t == "user.reject_contact") {
    user::reject_contact c;
    c.actor = account_id{r.u64("actor")};
    c.requester = account_id{r.u64("requester")};
    return finish<user::command>(r, c);
  }
  return hibiki::error{errc::bad_request, "unknown user command " + t};
}

}  // namespace hibiki::codec
