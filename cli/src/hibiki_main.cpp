// hibiki: the command-line client. Speaks the same WebSocket protocol as the web client
// (ws_client.hpp: Beast's synchronous client, over TLS for wss://), plus POST /api/signup, and
// moves shared files between the disk and the object store (file_commands.hpp). Errors go to
// stderr with exit code 1; usage errors exit with 2.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "hibiki/cli/client_options.hpp"
#include "hibiki/cli/client_tls.hpp"
#include "hibiki/cli/cluster_status.hpp"
#include "hibiki/cli/file_commands.hpp"
#include "hibiki/cli/journal_status.hpp"
#include "hibiki/cli/projection_status.hpp"
#include "hibiki/cli/status_fetch.hpp"
#include "hibiki/cli/ws_client.hpp"

#ifndef HIBIKI_VERSION
#define HIBIKI_VERSION "unknown"
#endif

namespace {

using json = nlohmann::json;
using hibiki::errc;
using hibiki::result;
using hibiki::status;
using hibiki::cli::connect_and_auth;
using hibiki::cli::wire_error;

/// A failure to report: message on stderr, exit code 1.
status fail(std::string message) {
  return status(errc::internal, std::move(message));
}

status store_token(const std::string& token, std::string& stored_at) {
  const auto path = hibiki::cli::token_file_path();
  if (path.empty()) return fail("cannot store the token: neither HIBIKI_CONFIG nor HOME is set");
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) return fail("cannot create " + parent.string() + ": " + ec.message());
  // Created 0600 from the start: the token must never be readable by others, not even briefly.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail("cannot write " + path + ": " + std::strerror(errno));
  ::fchmod(fd, 0600);
  const auto line = token + "\n";
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!ok) return fail("cannot write " + path);
  stored_at = path;
  return status::success();
}

status do_signup(const hibiki::cli::client_options& o, const hibiki::cli::server_url& url) {
  auto res =
      hibiki::cli::http_exchange(url, o.tls, "POST", "/api/signup",
                                 json{{"name", o.args[0]}}.dump(), {}, std::chrono::seconds(15));
  if (!res) return fail(res.error().message);
  auto body = json::parse(res->body, nullptr, false);
  if (res->status != 200) {
    std::string why = body.is_object() ? wire_error(body) : res->body.substr(0, 200);
    return fail("sign-up failed (HTTP " + std::to_string(res->status) + "): " + why);
  }
  if (!body.is_object() || !body.contains("token") || !body.contains("account_id"))
    return fail("sign-up reply is malformed");
  const auto token = body["token"].get<std::string>();
  std::cout << "account_id: " << body["account_id"] << "\n"
            << "name: " << body.value("name", "") << "\n"
            << "token: " << token << "\n";
  std::string stored_at;
  if (auto st = store_token(token, stored_at); !st) return st;
  std::cout << "token stored in " << stored_at << "\n";
  return status::success();
}

std::string client_msg_id() {
  std::random_device rd;
  std::uniform_int_distribution<int> hex(0, 15);
  std::string id = "cli-";
  for (int i = 0; i < 24; ++i) id.push_back("0123456789abcdef"[hex(rd)]);
  return id;
}

std::string format_time(std::int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

void print_message(const json& m, std::string_view suffix = "") {
  // The author's name when the server sends one (`account.name`), after its id.
  std::string name;
  if (auto a = m.find("account"); a != m.end() && a->is_object()) name = a->value("name", "");
  std::cout << "[" << format_time(m.value("send_time", std::int64_t{0})) << "] #"
            << m.value("message_id", "?") << " " << m.value("account_id", std::uint64_t{0})
            << (name.empty() ? std::string() : " " + name) << ": "
            << (m.value("deleted", false) ? std::string("(deleted)") : m.value("body", ""))
            << suffix << std::endl;
}

/// Prints one push for the tailed room.
void print_event(const json& ev, std::uint64_t room) {
  if (ev.value("room_id", std::uint64_t{0}) != room) return;
  const auto name = ev.value("ev", "");
  if (name == "message_created" && ev.contains("message")) {
    print_message(ev["message"]);
  } else if (name == "message_updated" && ev.contains("message")) {
    print_message(ev["message"], " (edited)");
  } else if (name == "message_deleted") {
    std::cout << "#" << ev.value("message_id", "?") << " was deleted" << std::endl;
  } else if (name == "member_added") {
    std::cout << "account " << ev.value("account_id", std::uint64_t{0}) << " joined as "
              << ev.value("role", "member") << std::endl;
  } else if (name == "member_removed") {
    std::cout << "account " << ev.value("account_id", std::uint64_t{0}) << " left" << std::endl;
  } else {
    std::cout << ev.dump() << std::endl;
  }
}

/// A message_id string as a number; 0 when it is not one (never throws on a bad server).
std::uint64_t message_number(const json& v) {
  if (!v.is_string()) return 0;
  std::uint64_t n = 0;
  for (char ch : v.get<std::string>()) {
    if (ch < '0' || ch > '9') return 0;
    n = n * 10 + static_cast<std::uint64_t>(ch - '0');
  }
  return n;
}

std::uint64_t id_arg(const std::string& s) {
  return *hibiki::cli::parse_id(s, "id");
}

/// The admin token for operator commands: --admin-token-file, else $HIBIKI_ADMIN_TOKEN, else
/// none (an admin listener without a token needs none).
result<std::string> find_admin_token(const hibiki::cli::client_options& o) {
  if (!o.admin_token_file.empty()) {
    std::ifstream in(o.admin_token_file);
    if (!in) {
      return result<std::string>(
          errc::bad_request,
          "cannot read the admin token file " + o.admin_token_file + ": " + std::strerror(errno));
    }
    std::stringstream text;
    text << in.rdbuf();
    auto token = hibiki::cli::trim_spaces(text.str());
    if (token.empty())
      return result<std::string>(errc::bad_request,
                                 "the admin token file " + o.admin_token_file + " is empty");
    return token;
  }
  if (const char* t = std::getenv("HIBIKI_ADMIN_TOKEN"); t != nullptr && *t != '\0')
    return hibiki::cli::trim_spaces(t);
  return std::string();
}

/// `journal status` and `cluster status`: an operator's look over HTTP, with the admin token.
status do_operator_status(const hibiki::cli::client_options& o,
                          const hibiki::cli::server_url& url) {
  auto token = find_admin_token(o);
  if (!token) return fail(token.error().message);
  const bool journal = o.command == "journal";
  auto reply =
      journal ? hibiki::cli::fetch_journal_status(url, std::chrono::seconds(10), *token, o.tls)
              : hibiki::cli::fetch_cluster_status(url, std::chrono::seconds(15), *token, o.tls);
  if (!reply) return fail(reply.error().message);
  if (o.json) {
    std::cout << reply->body << "\n";
    return status::success();
  }
  auto text = journal ? hibiki::cli::format_journal_status(reply->json)
                      : hibiki::cli::format_cluster_status(reply->json);
  if (!text) return fail(text.error().message);
  std::cout << *text;
  return status::success();
}

/// `admin ACTION ...`: POST /api/admin/ACTION with the admin token.
status do_admin(const hibiki::cli::client_options& o, const hibiki::cli::server_url& url) {
  auto token = find_admin_token(o);
  if (!token) return fail(token.error().message);
  const auto& action = o.args[0];
  if (action == "projections" || action == "rebuild") {
    auto done = hibiki::cli::run_projections_command(o, url, *token, std::cout);
    return done ? status::success() : fail(done.error().message);
  }
  json body = json::object();
  if (action == "create-account") {
    body["name"] = o.args[1];
  } else {
    body["account_id"] = id_arg(o.args[1]);
    if (action == "rename") body["name"] = o.args[2];
  }
  auto reply =
      hibiki::cli::post_operator_json(url, "/api/admin/" + action, body.dump(), "admin " + action,
                                      std::chrono::seconds(15), *token, o.tls);
  if (!reply) return fail(reply.error().message);
  if (o.json) {
    std::cout << reply->body << "\n";
    return status::success();
  }
  const auto& r = reply->json;
  std::cout << "account_id: " << r.value("account_id", std::uint64_t{0}) << "\n"
            << "name: " << r.value("name", "") << "\n";
  if (r.contains("disabled"))
    std::cout << "disabled: " << (r.value("disabled", false) ? "yes" : "no") << "\n";
  if (r.contains("token")) {
    std::cout << "token: " << r.value("token", "") << "\n"
              << "(shown once: hand it to the account's owner; the server keeps only its hash)\n";
  }
  return status::success();
}

/// --insecure is said, every time, where the user sees it.
void warn_if_insecure(const hibiki::cli::client_options& o, const hibiki::cli::server_url& url) {
  if (url.tls && o.tls.insecure) std::cerr << hibiki::cli::insecure_warning << "\n";
}

status run(const hibiki::cli::client_options& o) {
  auto url = hibiki::cli::parse_server_url(o.server);
  if (!url) return url.error();
  if (o.command == "journal" || o.command == "cluster" || o.command == "admin") {
    auto admin_url = hibiki::cli::parse_server_url(hibiki::cli::operator_url(o));
    if (!admin_url) return admin_url.error();
    warn_if_insecure(o, *admin_url);
    return o.command == "admin" ? do_admin(o, *admin_url) : do_operator_status(o, *admin_url);
  }
  warn_if_insecure(o, *url);
  if (o.command == "signup") return do_signup(o, *url);
  // They check the local file first, and use more than one connection.
  if (o.command == "upload") return hibiki::cli::upload_file(o, *url);
  if (o.command == "download") return hibiki::cli::download_file(o, *url);

  auto conn = connect_and_auth(o, *url);
  if (!conn) return conn.error();
  auto& c = *conn.value();

  if (o.command == "send") {
    auto r = c.call({{"op", "send_message"},
                     {"room_id", id_arg(o.args[0])},
                     {"body", o.args[1]},
                     {"client_msg_id", client_msg_id()}});
    if (!r) return r.error();
    std::cout << "message_id: " << r->value("message_id", "") << "\n"
              << "seq: " << r->value("seq", std::uint64_t{0}) << "\n";
  } else if (o.command == "rooms") {
    auto r = c.call({{"op", "list_rooms"}, {"details", true}});
    if (!r) return r.error();
    // my and direct chats have no name of their own: show "my chat" and the contact's name.
    std::map<std::uint64_t, std::string> contact_names;
    const auto rooms = r->value("rooms", json::array());
    if (std::any_of(rooms.begin(), rooms.end(),
                    [](const json& x) { return x.value("type", "") == "direct"; })) {
      auto list = c.call({{"op", "contacts"}});
      if (!list) return list.error();
      for (const auto& x : list->value("contacts", json::array()))
        contact_names[x.value("room_id", std::uint64_t{0})] = x.value("name", "");
    }
    std::printf("%-10s %-24s %-6s %-9s %7s %8s %9s %9s\n", "ROOM_ID", "NAME", "TYPE", "ROLE",
                "UNREAD", "MENTIONS", "MESSAGES", "LAST_SEQ");
    for (const auto& room : rooms) {
      const auto id = room.value("room_id", std::uint64_t{0});
      const auto type = room.value("type", "group");
      auto name = room.value("name", "");
      if (name.empty() && type == "my") name = "(my chat)";
      if (name.empty() && type == "direct") {
        auto it = contact_names.find(id);
        name = it != contact_names.end() ? it->second : "(direct chat)";
      }
      std::printf("%-10llu %-24s %-6s %-9s %7llu %8llu %9llu %9llu\n",
                  static_cast<unsigned long long>(id), name.c_str(), type.c_str(),
                  room.value("role", "").c_str(),
                  static_cast<unsigned long long>(room.value("unread_num", std::uint64_t{0})),
                  static_cast<unsigned long long>(room.value("mention_num", std::uint64_t{0})),
                  static_cast<unsigned long long>(room.value("message_num", std::uint64_t{0})),
                  static_cast<unsigned long long>(room.value("last_seq", std::uint64_t{0})));
    }
  } else if (o.command == "create-room") {
    json members = json::array();
    for (std::size_t i = 1; i < o.args.size(); ++i) members.push_back(id_arg(o.args[i]));
    auto r = c.call({{"op", "create_room"}, {"name", o.args[0]}, {"members", members}});
    if (!r) return r.error();
    std::cout << "room_id: " << r->value("room_id", std::uint64_t{0}) << "\n";
  } else if (o.command == "me" || o.command == "profile") {
    json req = {{"op", o.command == "me" ? "me" : "update_profile"}};
    for (const auto& a : o.args) {
      const auto eq = a.find('=');
      req[a.substr(0, eq)] = a.substr(eq + 1);
    }
    auto r = c.call(req);
    if (!r) return r.error();
    for (const char* k : {"account_id", "room_id", "name", "chatwork_id", "organization_name",
                          "department", "title", "introduction"}) {
      const auto& v = (*r)[k];
      std::cout << k << ": " << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
    }
  } else if (o.command == "contacts" || o.command == "requests") {
    const bool contacts = o.command == "contacts";
    auto r = c.call({{"op", contacts ? "contacts" : "incoming_requests"}});
    if (!r) return r.error();
    std::printf("%-10s %-10s %-24s %s\n", "ACCOUNT_ID", contacts ? "ROOM_ID" : "REQUEST_ID", "NAME",
                contacts ? "ORGANIZATION" : "MESSAGE");
    for (const auto& x : r->value(contacts ? "contacts" : "requests", json::array())) {
      std::printf("%-10llu %-10llu %-24s %s\n",
                  static_cast<unsigned long long>(x.value("account_id", std::uint64_t{0})),
                  static_cast<unsigned long long>(
                      x.value(contacts ? "room_id" : "request_id", std::uint64_t{0})),
                  x.value("name", "").c_str(),
                  x.value(contacts ? "organization_name" : "message", "").c_str());
    }
  } else if (o.command == "contact-request") {
    auto r = c.call({{"op", "request_contact"},
                     {"account_id", id_arg(o.args[0])},
                     {"message", o.args.size() > 1 ? o.args[1] : std::string()}});
    if (!r) return r.error();
    std::cout << "ok\n";
  } else if (o.command == "accept" || o.command == "reject") {
    const bool accept = o.command == "accept";
    auto r = c.call(
        {{"op", accept ? "accept_contact" : "reject_contact"}, {"request_id", id_arg(o.args[0])}});
    if (!r) return r.error();
    if (accept)
      std::cout << "room_id: " << r->value("room_id", std::uint64_t{0}) << "\n";
    else
      std::cout << "ok\n";
  } else if (o.command == "dm") {
    // The direct room comes from the contact list: a DM needs an accepted contact.
    const auto other = id_arg(o.args[0]);
    auto list = c.call({{"op", "contacts"}});
    if (!list) return list.error();
    std::uint64_t room = 0;
    for (const auto& x : list->value("contacts", json::array()))
      if (x.value("account_id", std::uint64_t{0}) == other) room = x.value("room_id", room);
    if (room == 0) {
      return status(errc::not_found, "account " + std::to_string(other) +
                                         " is not among your contacts (hibiki contact-request " +
                                         std::to_string(other) + " first)");
    }
    auto r = c.call({{"op", "send_message"},
                     {"room_id", room},
                     {"body", o.args[1]},
                     {"client_msg_id", client_msg_id()}});
    if (!r) return r.error();
    std::cout << "room_id: " << room << "\n"
              << "message_id: " << r->value("message_id", "") << "\n";
  } else if (o.command == "add-member") {
    auto r = c.call({{"op", "add_members"},
                     {"room_id", id_arg(o.args[0])},
                     {"account_ids", json::array({id_arg(o.args[1])})}});
    if (!r) return r.error();
    std::cout << "ok\n";
  } else if (o.command == "members") {
    auto r = c.call({{"op", "get_members"}, {"room_id", id_arg(o.args[0])}});
    if (!r) return r.error();
    std::printf("%-12s %-9s %s\n", "ACCOUNT_ID", "ROLE", "NAME");
    for (const auto& m : r->value("members", json::array())) {
      std::printf("%-12llu %-9s %s\n",
                  static_cast<unsigned long long>(m.value("account_id", std::uint64_t{0})),
                  m.value("role", "").c_str(), m.value("name", "").c_str());
    }
  } else if (o.command == "set-members") {
    json req{{"op", "set_members"}, {"room_id", id_arg(o.args[0])}};
    const char* fields[] = {"members_admin_ids", "members_member_ids", "members_readonly_ids"};
    for (std::size_t k = 1; k < o.args.size(); ++k)
      req[fields[k - 1]] = *hibiki::cli::parse_id_list(o.args[k], "account id");
    auto r = c.call(req);
    if (!r) return r.error();
    for (const char* role : {"admin", "member", "readonly"})
      std::cout << role << ": " << r->value(role, json::array()).dump() << "\n";
  } else if (o.command == "add-task") {
    json to = json::array();
    for (std::size_t i = 2; i < o.args.size(); ++i) to.push_back(id_arg(o.args[i]));
    auto r = c.call(
        {{"op", "add_task"}, {"room_id", id_arg(o.args[0])}, {"body", o.args[1]}, {"to_ids", to}});
    if (!r) return r.error();
    std::cout << "task_ids: " << r->value("task_ids", json::array()).dump() << "\n";
  } else if (o.command == "tasks" || o.command == "my-tasks") {
    auto r = o.command == "tasks" ? c.call({{"op", "list_tasks"}, {"room_id", id_arg(o.args[0])}})
                                  : c.call({{"op", "my_tasks"}});
    if (!r) return r.error();
    std::printf("%-8s %-8s %-10s %-10s %-6s %s\n", "ROOM_ID", "TASK_ID", "ASSIGNEE", "BY", "STATUS",
                "BODY");
    for (const auto& t : r->value("tasks", json::array())) {
      std::printf(
          "%-8llu %-8llu %-10llu %-10llu %-6s %s\n",
          static_cast<unsigned long long>(t.value("room_id", std::uint64_t{0})),
          static_cast<unsigned long long>(t.value("task_id", std::uint64_t{0})),
          static_cast<unsigned long long>(
              t.value("account", json::object()).value("account_id", std::uint64_t{0})),
          static_cast<unsigned long long>(
              t.value("assigned_by_account", json::object()).value("account_id", std::uint64_t{0})),
          t.value("status", "").c_str(), t.value("body", "").c_str());
    }
  } else if (o.command == "done" || o.command == "reopen") {
    auto r = c.call({{"op", "set_task_status"},
                     {"room_id", id_arg(o.args[0])},
                     {"task_id", id_arg(o.args[1])},
                     {"status", o.command == "done" ? "done" : "open"}});
    if (!r) return r.error();
    std::cout << "ok\n";
  } else if (o.command == "tail") {
    const auto room = id_arg(o.args[0]);
    std::vector<json> early;
    auto r = c.call({{"op", "history"}, {"room_id", room}, {"limit", 20}}, &early);
    if (!r) return r.error();
    std::uint64_t last_shown = 0;
    for (const auto& m : r->value("messages", json::array())) {
      print_message(m);
      last_shown =
          std::max<std::uint64_t>(last_shown, message_number(m.value("message_id", json())));
    }
    // Pushes that raced the history reply: skip the messages it already showed.
    for (const auto& ev : early) {
      if (ev.value("ev", "") == "message_created" && ev.contains("message") &&
          message_number(ev["message"].value("message_id", json())) <= last_shown)
        continue;
      print_event(ev, room);
    }
    for (;;) {  // until Ctrl-C or the server goes away
      auto ev = c.read();
      if (!ev) return ev.error();
      if (ev->contains("ev")) print_event(*ev, room);
    }
  }
  c.close();
  return status::success();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto options = hibiki::cli::parse_client_options(args);
  if (!options) {
    std::cerr << "hibiki: " << options.error().message << "\nTry 'hibiki --help'.\n";
    return 2;
  }
  if (options->help) {
    std::cout << hibiki::cli::client_usage();
    return 0;
  }
  if (options->version) {
    std::cout << "hibiki " << HIBIKI_VERSION << "\n";
    return 0;
  }
  if (auto st = run(*options); !st) {
    std::cerr << "hibiki: " << st.error().message << "\n";
    return 1;
  }
  return 0;
}
