#include "rest_shapes.hpp"

#include <algorithm>

#include "hibiki/core/room.hpp"
#include "rest_request.hpp"

namespace hibiki::gateway {

using json = nlohmann::json;

std::string rest_images::avatar() const {
  return base + "/img/avatar.svg";
}

std::string rest_images::icon(std::string_view preset) const {
  const auto name = room::is_icon_preset(preset) ? preset : room::default_icon_preset;
  return base + "/img/icon/" + std::string(name) + ".svg";
}

std::string image_base(std::string_view public_url, std::string_view host, bool tls) {
  if (!public_url.empty()) {
    while (!public_url.empty() && public_url.back() == '/') public_url.remove_suffix(1);
    return std::string(public_url);
  }
  // The Host header is the client's own word: only a plain authority goes into a URL, so a
  // header cannot smuggle a path, a query, a user part or another scheme into the answers.
  const bool plain =
      !host.empty() && host.size() <= 255 && std::all_of(host.begin(), host.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
      });
  if (!plain) return {};
  return std::string(tls ? "https://" : "http://") + std::string(host);
}

unsigned rest_status_for(std::string_view code) {
  if (code == "bad_request") return 400;
  if (code == "unauthenticated") return 401;
  if (code == "forbidden") return 403;
  if (code == "not_found") return 404;
  if (code == "conflict") return 409;
  if (code == "too_large") return 413;
  if (code == "rate_limited") return 429;
  if (code == "unavailable") return 503;
  return 500;
}

rest_answer rest_error(unsigned status, std::string_view message) {
  return {status, rest_error_body(message)};
}

nlohmann::json chatwork_message(const nlohmann::json& m, std::string_view author_name,
                                const rest_images& images) {
  return json{{"message_id", m.value("message_id", std::string())},
              {"account",
               {{"account_id", m.value("account_id", std::uint64_t{0})},
                {"name", author_name},
                {"avatar_image_url", images.avatar()}}},
              {"body", m.value("body", std::string())},
              {"send_time", m.value("send_time", std::int64_t{0})},
              {"update_time", m.value("update_time", std::int64_t{0})}};
}

nlohmann::json chatwork_me(const nlohmann::json& me, const rest_images& images) {
  return json{{"account_id", me.value("account_id", std::uint64_t{0})},
              {"room_id", me.value("room_id", std::uint64_t{0})},
              {"name", me.value("name", std::string())},
              {"chatwork_id", me.value("chatwork_id", std::string())},
              {"organization_id", 0},
              {"organization_name", me.value("organization_name", std::string())},
              {"department", me.value("department", std::string())},
              {"title", me.value("title", std::string())},
              {"url", ""},
              {"introduction", me.value("introduction", std::string())},
              {"mail", ""},
              {"avatar_image_url", images.avatar()},
              {"login_mail", ""}};
}

nlohmann::json chatwork_contact(const nlohmann::json& p, const rest_images& images) {
  return json{{"account_id", p.value("account_id", std::uint64_t{0})},
              {"room_id", p.value("room_id", std::uint64_t{0})},
              {"name", p.value("name", std::string())},
              {"chatwork_id", p.value("chatwork_id", std::string())},
              {"organization_id", 0},
              {"organization_name", p.value("organization_name", std::string())},
              {"department", p.value("department", std::string())},
              {"avatar_image_url", images.avatar()}};
}

nlohmann::json chatwork_request(const nlohmann::json& q, const rest_images& images) {
  return json{{"request_id", q.value("request_id", std::uint64_t{0})},
              {"account_id", q.value("account_id", std::uint64_t{0})},
              {"message", q.value("message", std::string())},
              {"name", q.value("name", std::string())},
              {"chatwork_id", q.value("chatwork_id", std::string())},
              {"organization_id", 0},
              {"organization_name", q.value("organization_name", std::string())},
              {"department", q.value("department", std::string())},
              {"avatar_image_url", images.avatar()}};
}

nlohmann::json chatwork_room(const nlohmann::json& l, const rest_images& images) {
  return json{{"room_id", l.value("room_id", std::uint64_t{0})},
              {"name", l.value("name", std::string())},
              {"type", l.value("type", std::string("group"))},
              {"role", l.value("role", std::string("member"))},
              {"sticky", false},
              {"unread_num", l.value("unread_num", std::uint64_t{0})},
              {"mention_num", l.value("mention_num", std::uint64_t{0})},
              {"mytask_num", l.value("mytask_num", std::uint64_t{0})},
              {"message_num", l.value("message_num", std::uint64_t{0})},
              {"file_num", l.value("file_num", std::uint64_t{0})},
              {"task_num", l.value("task_num", std::uint64_t{0})},
              {"icon_path", images.icon(l.value("icon_preset", std::string()))},
              {"last_update_time", l.value("last_update_time", std::int64_t{0})}};
}

nlohmann::json chatwork_room_details(const nlohmann::json& r, const rest_images& images) {
  auto out = chatwork_room(r, images);
  out["description"] = r.value("description", std::string());
  return out;
}

nlohmann::json chatwork_member(const nlohmann::json& member, const nlohmann::json& profile,
                               const rest_images& images) {
  return json{{"account_id", member.value("account_id", std::uint64_t{0})},
              {"role", member.value("role", std::string("member"))},
              {"name", member.value("name", profile.value("name", std::string()))},
              {"chatwork_id", profile.value("chatwork_id", std::string())},
              {"organization_id", 0},
              {"organization_name", profile.value("organization_name", std::string())},
              {"department", profile.value("department", std::string())},
              {"avatar_image_url", images.avatar()}};
}

namespace {

json chatwork_person(const json& person, const rest_images& images) {
  const auto& p = person.is_object() ? person : json::object();
  return json{{"account_id", p.value("account_id", std::uint64_t{0})},
              {"name", p.value("name", std::string())},
              {"avatar_image_url", images.avatar()}};
}

}  // namespace

nlohmann::json chatwork_task(const nlohmann::json& t, bool with_room, const rest_images& images) {
  json out{{"task_id", t.value("task_id", std::uint64_t{0})}};
  if (with_room) {
    const auto& room = t.contains("room") && t["room"].is_object() ? t["room"] : json::object();
    out["room"] = {{"room_id", room.value("room_id", std::uint64_t{0})},
                   {"name", room.value("name", std::string())},
                   {"icon_path", images.icon(room.value("icon_preset", std::string()))}};
  }
  out["account"] = chatwork_person(t.contains("account") ? t["account"] : json(), images);
  out["assigned_by_account"] = chatwork_person(
      t.contains("assigned_by_account") ? t["assigned_by_account"] : json(), images);
  out["message_id"] = t.value("message_id", std::string());
  out["body"] = t.value("body", std::string());
  out["limit_time"] = t.value("limit_time", std::int64_t{0});
  out["status"] = t.value("status", std::string("open"));
  out["limit_type"] = t.value("limit_type", std::string("none"));
  return out;
}

nlohmann::json chatwork_file(const nlohmann::json& f, std::string_view uploader_name,
                             const rest_images& images) {
  return {{"file_id", f.at("file_id")},
          {"account",
           {{"account_id", f.at("account_id")},
            {"name", std::string(uploader_name)},
            {"avatar_image_url", images.avatar()}}},
          {"message_id", f.at("message_id")},
          {"filename", f.at("filename")},
          {"filesize", f.at("size")},
          {"upload_time", f.at("upload_time")}};
}

}  // namespace hibiki::gateway
