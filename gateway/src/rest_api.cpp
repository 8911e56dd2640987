#include "rest_api.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "hibiki/core/log.hpp"
#include "hibiki/core/room.hpp"

namespace hibiki::gateway {
namespace {

using json = nlohmann::json;
using done_fn = std::function<void(rest_answer)>;

rest_answer ok_json(const json& body, unsigned status = 200) {
  return {status, body.dump(-1, ' ', false, json::error_handler_t::replace)};
}

/// The answer for a failed ws-protocol reply.
rest_answer from_reply_error(const json& reply) {
  const auto& err = reply.contains("error") ? reply["error"] : json::object();
  const auto code = err.value("code", std::string("internal"));
  return rest_error(rest_status_for(code), err.value("message", std::string("failed")));
}

/// A client_msg_id for a REST post: Chatwork's API has no idempotency key, so every post is a new
/// message; 128 random bits keep it apart from every other in the room's dedupe window.
std::string fresh_client_msg_id() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  char text[40];
  std::snprintf(text, sizeof text, "rest-%016llx%016llx", static_cast<unsigned long long>(random()),
                static_cast<unsigned long long>(random()));
  return text;
}

bool ok(const json& reply) {
  return reply.value("ok", false);
}

/// The author's name a ws-protocol message object carries (`account.name`), if it has one.
std::optional<std::string_view> current_name(const json& message) {
  auto account = message.find("account");
  if (account == message.end() || !account->is_object()) return std::nullopt;
  auto name = account->find("name");
  if (name == account->end() || !name->is_string()) return std::nullopt;
  return std::string_view(name->get_ref<const std::string&>());
}

/// One endpoint's run: the channel, the inputs and the completion, kept alive by the ops'
/// callbacks.
class rest_run : public std::enable_shared_from_this<rest_run> {
 public:
  rest_run(std::shared_ptr<rest_channel> channel, rest_route route, const rest_params& params,
           account_id me, rest_images images, done_fn done)
      : channel_(std::move(channel)),
        route_(route),
        params_(params),
        me_(me),
        images_(std::move(images)),
        done_(std::move(done)) {}

  void start() {
    switch (route_.endpoint) {
      case rest_endpoint::me:
        return me();
      case rest_endpoint::my_status:
        return my_status();
      case rest_endpoint::rooms_list:
        return rooms_list();
      case rest_endpoint::rooms_create:
        return rooms_create();
      case rest_endpoint::room_get:
        return room_get();
      case rest_endpoint::room_update:
        return room_update();
      case rest_endpoint::room_leave:
        return room_leave();
      case rest_endpoint::members_list:
        return members_list();
      case rest_endpoint::members_update:
        return members_update();
      case rest_endpoint::messages_unread:
        return messages_unread();
      case rest_endpoint::tasks_list:
        return tasks_list();
      case rest_endpoint::tasks_create:
        return tasks_create();
      case rest_endpoint::task_get:
        return task_get();
      case rest_endpoint::task_status:
        return task_status();
      case rest_endpoint::my_tasks:
        return my_tasks();
      case rest_endpoint::files_list:
        return files_list();
      case rest_endpoint::file_get:
        return file_get();
      case rest_endpoint::messages_list:
        return messages_list();
      case rest_endpoint::messages_post:
        return messages_post();
      case rest_endpoint::messages_read:
        return messages_read();
      case rest_endpoint::message_get:
        return message_get();
      case rest_endpoint::message_update:
        return message_update();
      case rest_endpoint::message_delete:
        return message_delete();
      case rest_endpoint::contacts_list:
        return contacts_list();
      case rest_endpoint::requests_list:
        return requests_list();
      case rest_endpoint::request_accept:
        return request_accept();
      case rest_endpoint::request_reject:
        return request_reject();
      case rest_endpoint::search:
        return search();
      case rest_endpoint::files_upload:  // its body is streamed: http_session_rest_upload.cpp
      case rest_endpoint::unknown:
        break;
    }
    finish(rest_error(404, "no such endpoint"));
  }

 private:
  void finish(rest_answer a) {
    if (!done_) return;
    auto done = std::move(done_);
    done_ = nullptr;
    done(std::move(a));
  }

  /// Sends `request`; on an error reply answers it, else runs `next` with the reply. A reply
  /// without the fields `next` reads (a bug, never a client's doing) answers 500 instead of
  /// taking the server down from the connection's strand.
  void op(json request, std::function<void(json&)> next) {
    channel_->call(std::move(request), [self = shared_from_this(), next = std::move(next)](json r) {
      if (!ok(r)) return self->finish(from_reply_error(r));
      try {
        next(r);
      } catch (const json::exception& e) {
        log::error("rest") << "unexpected reply to " << endpoint_name(self->route_.endpoint) << ": "
                           << e.what();
        self->finish(rest_error(500, "internal error: unexpected reply from the server"));
      }
    });
  }

  std::optional<std::string_view> param(std::string_view name) const { return params_.get(name); }

  bool require(std::string_view name, std::string_view& out) {
    auto v = param(name);
    if (!v || v->empty()) {
      finish(rest_error(400, "the parameter " + std::string(name) + " is required"));
      return false;
    }
    out = *v;
    return true;
  }

  // ---- search (an extension) --------------------------------------------------------------

  /// GET /v2/search: the `search` op's parameters as query parameters, its reply as the body.
  /// Numbers are checked for being decimal here; their ranges (and the text's rules) by the op.
  void search() {
    std::string_view q;
    if (!require("q", q)) return;
    // The op's JSON must be valid UTF-8; a percent-escape can carry any byte.
    if (!room::utf8_length(q)) return finish(rest_error(400, "q is not valid UTF-8"));
    json request{{"op", "search"}, {"q", std::string(q)}};
    for (const char* name :
         {"room_id", "account_id", "after_time", "before_time", "limit", "offset"}) {
      auto v = param(name);
      if (!v) continue;
      const bool decimal = !v->empty() && v->size() <= 16 &&
                           v->find_first_not_of("0123456789") == std::string_view::npos;
      if (!decimal) {
        return finish(rest_error(400, std::string(name) + " must be a non-negative integer"));
      }
      request[name] = std::stoull(std::string(*v));
    }
    if (auto order = param("order")) request["order"] = std::string(*order);
    op(std::move(request), [self = shared_from_this()](json& r) {
      self->finish(ok_json({{"total", r.at("total")}, {"results", r.at("results")}}));
    });
  }

  // ---- me, my/status ----------------------------------------------------------------------

  void me() {
    op({{"op", "me"}}, [self = shared_from_this()](json& r) {
      self->finish(ok_json(chatwork_me(r, self->images_)));
    });
  }

  void my_status() {
    // The room entity's read model keeps the six counts (unread, mentions, open tasks).
    op({{"op", "my_status"}}, [self = shared_from_this()](json& r) {
      json out = json::object();
      for (const char* k : {"unread_room_num", "mention_room_num", "mytask_room_num", "unread_num",
                            "mention_num", "mytask_num"})
        out[k] = r.value(k, std::uint64_t{0});
      self->finish(ok_json(std::move(out)));
    });
  }

  // ---- rooms ------------------------------------------------------------------------------

  void rooms_list() {
    op({{"op", "list_rooms"}, {"details", true}}, [self = shared_from_this()](json& r) {
      json out = json::array();
      for (const auto& room : r["rooms"]) out.push_back(chatwork_room(room, self->images_));
      self->finish(ok_json(out));
    });
  }

  void rooms_create() {
    std::string_view name;
    std::string_view admins_text;
    if (!require("name", name) || !require("members_admin_ids", admins_text)) return;
    auto admins = parse_id_list("members_admin_ids", admins_text);
    auto members = parse_id_list("members_member_ids", param("members_member_ids").value_or(""));
    auto readonly =
        parse_id_list("members_readonly_ids", param("members_readonly_ids").value_or(""));
    for (auto* list : {&admins, &members, &readonly})
      if (!*list) return finish(rest_error(400, list->error().message));
    // One role per account; the caller is always an admin of the room it creates.
    std::set<std::uint64_t> seen;
    std::vector<std::uint64_t> everyone, admin_ids, readonly_ids;
    bool caller_listed = false;
    for (auto [list, role] :
         {std::pair{&*admins, 0}, std::pair{&*members, 1}, std::pair{&*readonly, 2}}) {
      for (auto a : *list) {
        if (!seen.insert(a.value).second)
          return finish(rest_error(400, "account " + std::to_string(a.value) +
                                            " is listed more than once in the member lists"));
        if (a == me_) {
          caller_listed = true;
          if (role != 0)
            return finish(rest_error(
                400, "the creator of a room is its admin: list your own id in members_admin_ids"));
          continue;
        }
        everyone.push_back(a.value);
        if (role == 0) admin_ids.push_back(a.value);
        if (role == 2) readonly_ids.push_back(a.value);
      }
    }
    (void)caller_listed;
    // The icon is set by an update after the creation, so a bad one is refused before anything
    // is made.
    std::string icon;
    if (auto v = param("icon_preset"); v && !v->empty() && *v != room::default_icon_preset) {
      if (!room::is_icon_preset(*v))
        return finish(rest_error(400,
                                 "icon_preset must be one of Chatwork's presets (group, check, "
                                 "document, meeting, event, project, business, study, security, "
                                 "star, idea, heart, magcup, beer, music, sports, travel)"));
      icon = *v;
    }
    json create{{"op", "create_room"}, {"name", name}, {"members", everyone}};
    if (auto d = param("description")) create["description"] = *d;
    op(std::move(create), [self = shared_from_this(), admin_ids, readonly_ids, icon](json& r) {
      const auto room = r.value("room_id", std::uint64_t{0});
      self->set_roles(room, admin_ids, "admin", [self, room, readonly_ids, icon] {
        self->set_roles(room, readonly_ids, "readonly", [self, room, icon] {
          self->set_icon(room, icon, [self, room] { self->finish(ok_json({{"room_id", room}})); });
        });
      });
    });
  }

  /// update_room with `icon` (none when empty), then `next`.
  void set_icon(std::uint64_t room, const std::string& icon, std::function<void()> next) {
    if (icon.empty()) return next();
    channel_->call({{"op", "update_room"}, {"room_id", room}, {"icon_preset", icon}},
                   [self = shared_from_this(), room, next = std::move(next)](json r) {
                     if (!ok(r)) return self->created_but(room, "setting the icon", r);
                     next();
                   });
  }

  /// The answer when a step after the creation failed: the room exists, so say so.
  void created_but(std::uint64_t room, std::string_view step, const json& reply) {
    auto a = from_reply_error(reply);
    a.body = rest_error_body(
        "room " + std::to_string(room) + " was created, but " + std::string(step) +
        " failed: " + reply.value("error", json::object()).value("message", std::string()));
    finish(std::move(a));
  }

  /// add_members with `role` for accounts already in the room (changes their role), then `next`.
  void set_roles(std::uint64_t room, const std::vector<std::uint64_t>& accounts,
                 std::string_view role, std::function<void()> next) {
    if (accounts.empty()) return next();
    channel_->call(
        {{"op", "add_members"}, {"room_id", room}, {"account_ids", accounts}, {"role", role}},
        [self = shared_from_this(), room, next = std::move(next)](json r) {
          if (!ok(r)) return self->created_but(room, "setting the roles", r);
          next();
        });
  }

  void room_get() {
    op({{"op", "get_room"}, {"room_id", route_.room.value}}, [self = shared_from_this()](json& r) {
      self->finish(ok_json(chatwork_room_details(r["room"], self->images_)));
    });
  }

  void room_update() {
    json update{{"op", "update_room"}, {"room_id", route_.room.value}};
    for (const char* k : {"name", "description", "icon_preset"})
      if (auto v = param(k)) update[k] = *v;
    if (update.size() == 2)
      return finish(rest_error(400, "name, description or icon_preset is required"));
    op(std::move(update), [self = shared_from_this()](json&) {
      self->finish(ok_json({{"room_id", self->route_.room.value}}));
    });
  }

  void room_leave() {
    std::string_view action;
    if (!require("action_type", action)) return;
    if (action != "leave" && action != "delete")
      return finish(rest_error(400, "action_type must be leave or delete"));
    op({{"op", action == "leave" ? "leave_room" : "delete_room"}, {"room_id", route_.room.value}},
       [self = shared_from_this()](json&) {
         self->finish({204, {}});
       });
  }

  // ---- members ----------------------------------------------------------------------------

  void members_list() {
    op({{"op", "get_members"}, {"room_id", route_.room.value}},
       [self = shared_from_this()](json& r) {
         auto members = std::make_shared<json>(std::move(r["members"]));
         self->with_profiles(members, 0, std::make_shared<std::map<std::uint64_t, json>>());
       });
  }

  /// Reads the profiles of `members` from index `from` on (get_profiles takes up to 1,000 ids a
  /// call), then answers the member list in Chatwork's shape.
  void with_profiles(std::shared_ptr<json> members, std::size_t from,
                     std::shared_ptr<std::map<std::uint64_t, json>> profiles) {
    constexpr std::size_t per_call = 1000;
    if (from >= members->size()) {
      json out = json::array();
      for (const auto& m : *members) {
        const auto id = m.value("account_id", std::uint64_t{0});
        auto p = profiles->find(id);
        out.push_back(
            chatwork_member(m, p == profiles->end() ? json::object() : p->second, images_));
      }
      return finish(ok_json(out));
    }
    std::vector<std::uint64_t> ids;
    for (std::size_t i = from; i < members->size() && ids.size() < per_call; ++i)
      ids.push_back((*members)[i].value("account_id", std::uint64_t{0}));
    op({{"op", "get_profiles"}, {"account_ids", ids}},
       [self = shared_from_this(), members, from, profiles](json& r) {
         for (auto& p : r["profiles"]) {
           // The key first: json's operator= takes its argument by value, so moving `p` on the
           // same line would empty it before the key is read.
           const auto id = p.value("account_id", std::uint64_t{0});
           (*profiles)[id] = std::move(p);
         }
         self->with_profiles(members, from + per_call, profiles);
       });
  }

  void members_update() {
    std::string_view admins_text;
    if (!require("members_admin_ids", admins_text)) return;
    json request{{"op", "set_members"}, {"room_id", route_.room.value}};
    for (const char* field : {"members_admin_ids", "members_member_ids", "members_readonly_ids"}) {
      auto list = parse_id_list(field, param(field).value_or(""));
      if (!list) return finish(rest_error(400, list.error().message));
      std::vector<std::uint64_t> ids;
      for (auto a : *list) ids.push_back(a.value);
      request[field] = ids;
    }
    op(std::move(request), [self = shared_from_this()](json& r) {
      self->finish(
          ok_json({{"admin", r["admin"]}, {"member", r["member"]}, {"readonly", r["readonly"]}}));
    });
  }

  // ---- messages ---------------------------------------------------------------------------

  void messages_list() {
    auto force = parse_flag("force", param("force").value_or("0"));
    if (!force) return finish(rest_error(400, force.error().message));
    op({{"op", "fetch_messages"}, {"room_id", route_.room.value}, {"force", *force}},
       [self = shared_from_this()](json& r) {
         json messages = json::array();
         for (auto& m : r["messages"])
           if (!m.value("deleted", false)) messages.push_back(std::move(m));
         if (messages.empty()) return self->finish({204, {}});
         self->with_names(std::move(messages), [self](json list) { self->finish(ok_json(list)); });
       });
  }

  /// Turns ws-protocol message objects into Chatwork's, with their authors' names.
  void with_names(json messages, std::function<void(json)> next) {
    // history and fetch_messages already name each author as named now (message.account.name):
    // only messages without it (rows from before it existed) need get_accounts.
    std::set<std::uint64_t> authors;
    for (const auto& m : messages)
      if (!current_name(m)) authors.insert(m.value("account_id", std::uint64_t{0}));
    authors.erase(0);
    if (authors.empty()) {
      json out = json::array();
      for (const auto& m : messages) out.push_back(chatwork_message(m, *current_name(m), images_));
      return next(std::move(out));
    }
    op({{"op", "get_accounts"},
        {"account_ids", std::vector<std::uint64_t>(authors.begin(), authors.end())}},
       [self = shared_from_this(), messages = std::move(messages),
        next = std::move(next)](json& r) {
         std::map<std::uint64_t, std::string> names;
         for (const auto& a : r["accounts"])
           names[a.value("account_id", std::uint64_t{0})] = a.value("name", "");
         json out = json::array();
         for (const auto& m : messages) {
           auto name = current_name(m);
           out.push_back(chatwork_message(
               m, name ? *name : names[m.value("account_id", std::uint64_t{0})], self->images_));
         }
         next(std::move(out));
       });
  }

  bool body_param(std::string_view& body) {
    if (!require("body", body)) return false;
    return true;
  }

  void messages_post() {
    std::string_view body;
    if (!body_param(body)) return;
    auto self_unread = parse_flag("self_unread", param("self_unread").value_or("0"));
    if (!self_unread) return finish(rest_error(400, self_unread.error().message));
    json request{{"op", "send_message"},
                 {"room_id", route_.room.value},
                 {"body", body},
                 {"client_msg_id", fresh_client_msg_id()}};
    // self_unread=1: the new message stays unread for the sender (its read cursor stays).
    if (*self_unread) request["self_unread"] = true;
    op(std::move(request), [self = shared_from_this()](json& r) {
      self->finish(ok_json({{"message_id", r.value("message_id", std::string())}}));
    });
  }

  void messages_read() {
    auto given = param("message_id");
    if (given && !given->empty()) {
      if (!parse_wire_id(*given))
        return finish(rest_error(400, "message_id must be a string of decimal digits"));
      return mark_read(std::string(*given));
    }
    // Without message_id: up to the latest message.
    op({{"op", "history"}, {"room_id", route_.room.value}, {"limit", 1}},
       [self = shared_from_this()](json& r) {
         const auto& list = r["messages"];
         if (list.empty()) return self->finish(ok_json({{"unread_num", 0}, {"mention_num", 0}}));
         self->mark_read(list.back().value("message_id", std::string()));
       });
  }

  void mark_read(std::string message) {
    op({{"op", "mark_read"}, {"room_id", route_.room.value}, {"message_id", message}},
       [self = shared_from_this()](json& r) {
         self->finish(ok_json({{"unread_num", r.value("unread_num", 0)},
                               {"mention_num", r.value("mention_num", 0)}}));
       });
  }

  void messages_unread() {
    std::string_view given;
    if (!require("message_id", given)) return;
    if (!parse_wire_id(given))
      return finish(rest_error(400, "message_id must be a string of decimal digits"));
    op({{"op", "mark_unread"}, {"room_id", route_.room.value}, {"message_id", given}},
       [self = shared_from_this()](json& r) {
         self->finish(ok_json({{"unread_num", r.value("unread_num", 0)},
                               {"mention_num", r.value("mention_num", 0)}}));
       });
  }

  void message_get() {
    // The message just before id+1: this one if it exists.
    op({{"op", "history"},
        {"room_id", route_.room.value},
        {"before", std::to_string(route_.message.value + 1)},
        {"limit", 1}},
       [self = shared_from_this()](json& r) {
         const auto wanted = std::to_string(self->route_.message.value);
         auto& list = r["messages"];
         if (list.empty() || list.back().value("message_id", std::string()) != wanted ||
             list.back().value("deleted", false))
           return self->finish(rest_error(404, "no such message"));
         self->with_names(json::array({list.back()}),
                          [self](json out) { self->finish(ok_json(out[0])); });
       });
  }

  void message_update() {
    std::string_view body;
    if (!body_param(body)) return;
    op({{"op", "edit_message"},
        {"room_id", route_.room.value},
        {"message_id", std::to_string(route_.message.value)},
        {"body", body}},
       [self = shared_from_this()](json&) { self->answer_message_id(); });
  }

  void message_delete() {
    op({{"op", "delete_message"},
        {"room_id", route_.room.value},
        {"message_id", std::to_string(route_.message.value)}},
       [self = shared_from_this()](json&) { self->answer_message_id(); });
  }

  // ---- contacts and contact requests -------------------------------------------------------

  void contacts_list() {
    op({{"op", "contacts"}}, [self = shared_from_this()](json& r) {
      json out = json::array();
      for (const auto& c : r["contacts"]) out.push_back(chatwork_contact(c, self->images_));
      self->finish(ok_json(out));
    });
  }

  void requests_list() {
    op({{"op", "incoming_requests"}}, [self = shared_from_this()](json& r) {
      json out = json::array();
      for (const auto& q : r["requests"]) out.push_back(chatwork_request(q, self->images_));
      self->finish(ok_json(out));
    });
  }

  void request_accept() {
    op({{"op", "accept_contact"}, {"request_id", route_.request.value}},
       [self = shared_from_this()](json& r) {
         self->finish(ok_json(chatwork_contact(r, self->images_)));
       });
  }

  void request_reject() {
    op({{"op", "reject_contact"}, {"request_id", route_.request.value}},
       [self = shared_from_this()](json&) {
         self->finish({204, {}});
       });
  }

  // ---- tasks ------------------------------------------------------------------------------

  /// Adds the filters `names` (account ids) and `status` to `request`; false after answering a
  /// bad one.
  bool task_filters(json& request, std::initializer_list<const char*> names) {
    for (const char* name : names) {
      auto v = param(name);
      if (!v) continue;
      auto id = parse_account_param(name, *v);
      if (!id) {
        finish(rest_error(400, id.error().message));
        return false;
      }
      request[name] = id->value;
    }
    if (auto v = param("status")) {
      auto status = parse_task_status_param("status", *v);
      if (!status) {
        finish(rest_error(400, status.error().message));
        return false;
      }
      request["status"] = *status;
    }
    return true;
  }

  /// A task list: 204 when empty, as Chatwork answers.
  void answer_tasks(const json& tasks, bool with_room) {
    if (tasks.empty()) return finish({204, {}});
    json out = json::array();
    for (const auto& t : tasks) out.push_back(chatwork_task(t, with_room, images_));
    finish(ok_json(out));
  }

  void tasks_list() {
    json request{{"op", "list_tasks"}, {"room_id", route_.room.value}};
    if (!task_filters(request, {"account_id", "assigned_by_account_id"})) return;
    op(std::move(request),
       [self = shared_from_this()](json& r) { self->answer_tasks(r["tasks"], false); });
  }

  void my_tasks() {
    json request{{"op", "my_tasks"}};
    if (!task_filters(request, {"assigned_by_account_id"})) return;
    op(std::move(request),
       [self = shared_from_this()](json& r) { self->answer_tasks(r["tasks"], true); });
  }

  void tasks_create() {
    std::string_view body;
    std::string_view to_text;
    if (!require("body", body) || !require("to_ids", to_text)) return;
    auto to = parse_id_list("to_ids", to_text);
    if (!to) return finish(rest_error(400, to.error().message));
    std::vector<std::uint64_t> ids;
    for (auto a : *to) ids.push_back(a.value);
    json request{
        {"op", "add_task"}, {"room_id", route_.room.value}, {"body", body}, {"to_ids", ids}};
    if (auto v = param("limit"); v && !v->empty()) {
      auto limit = parse_limit(*v);
      if (!limit) return finish(rest_error(400, limit.error().message));
      request["limit"] = *limit;
    }
    if (auto v = param("limit_type"); v && !v->empty()) {
      auto type = parse_limit_type(*v);
      if (!type) return finish(rest_error(400, type.error().message));
      request["limit_type"] = *type;
    }
    op(std::move(request), [self = shared_from_this()](json& r) {
      self->finish(ok_json({{"task_ids", r["task_ids"]}}));
    });
  }

  void task_get() {
    op({{"op", "get_task"}, {"room_id", route_.room.value}, {"task_id", route_.task.value}},
       [self = shared_from_this()](json& r) {
         self->finish(ok_json(chatwork_task(r["task"], false, self->images_)));
       });
  }

  void task_status() {
    // Chatwork names the new status `body`.
    std::string_view given;
    if (!require("body", given)) return;
    auto status = parse_task_status_param("body", given);
    if (!status) return finish(rest_error(400, status.error().message));
    op({{"op", "set_task_status"},
        {"room_id", route_.room.value},
        {"task_id", route_.task.value},
        {"status", *status}},
       [self = shared_from_this()](json&) {
         self->finish(ok_json({{"task_id", self->route_.task.value}}));
       });
  }

  // ---- files --------------------------------------------------------------------------------

  /// Answers `files` (ws-protocol file objects) in Chatwork's shape, each naming its uploader
  /// (their current names, from get_accounts). `single`: one object, with `download_url` when
  /// given; otherwise a list, 204 when empty as Chatwork answers.
  void answer_files(json files, bool single, std::optional<std::string> download_url) {
    if (!single && files.empty()) return finish({204, {}});
    std::vector<std::uint64_t> ids;
    for (const auto& f : files) ids.push_back(f.at("account_id").get<std::uint64_t>());
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    op({{"op", "get_accounts"}, {"account_ids", ids}},
       [self = shared_from_this(), files = std::move(files), single,
        download_url = std::move(download_url)](json& r) {
         std::map<std::uint64_t, std::string> names;
         for (const auto& a : r["accounts"])
           names[a.at("account_id").get<std::uint64_t>()] = a.value("name", "");
         json out = json::array();
         for (const auto& f : files)
           out.push_back(
               chatwork_file(f, names[f.at("account_id").get<std::uint64_t>()], self->images_));
         if (!single) return self->finish(ok_json(out));
         auto one = std::move(out.at(0));
         if (download_url) one["download_url"] = *download_url;
         self->finish(ok_json(one));
       });
  }

  void files_list() {
    json request{{"op", "list_files"}, {"room_id", route_.room.value}};
    if (auto v = param("account_id")) {
      auto id = parse_account_param("account_id", *v);
      if (!id) return finish(rest_error(400, id.error().message));
      request["account_id"] = id->value;
    }
    op(std::move(request), [self = shared_from_this()](json& r) {
      self->answer_files(std::move(r.at("files")), false, std::nullopt);
    });
  }

  void file_get() {
    bool with_url = false;
    if (auto v = param("create_download_url"); v && !v->empty()) {
      auto flag = parse_flag("create_download_url", *v);
      if (!flag) return finish(rest_error(400, flag.error().message));
      with_url = *flag;
    }
    op({{"op", "get_file"},
        {"room_id", route_.room.value},
        {"file_id", route_.file.value},
        {"download_url", with_url}},
       [self = shared_from_this()](json& r) {
         std::optional<std::string> url;
         if (r.contains("download_url")) url = r["download_url"].get<std::string>();
         self->answer_files(json::array({r.at("file")}), true, std::move(url));
       });
  }

  void answer_message_id() {
    finish(ok_json({{"message_id", std::to_string(route_.message.value)}}));
  }

  std::shared_ptr<rest_channel> channel_;
  rest_route route_;
  rest_params params_;
  account_id me_;
  rest_images images_;
  done_fn done_;
};

}  // namespace

void run_rest_endpoint(std::shared_ptr<rest_channel> channel, const rest_route& route,
                       const rest_params& params, account_id me, rest_images images,
                       std::function<void(rest_answer)> done) {
  std::make_shared<rest_run>(std::move(channel), route, params, me, std::move(images),
                             std::move(done))
      ->start();
}

}  // namespace hibiki::gateway
