#include "cluster_port.hpp"

#include <unordered_map>

#include <nlohmann/json.hpp>

#include "entity_traits.hpp"
#include "hibiki/core/log.hpp"

namespace hibiki::actors {

namespace {

/// An entity's (or the io thread's) answer to request `id`, brought back into the port, which
/// alone delivers its response promises.
struct port_answer {
  std::uint64_t id = 0;
  std::string text;
};

}  // namespace
}  // namespace hibiki::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hibiki::actors::port_answer)

namespace hibiki::actors {

namespace {

/// The internal name of a code: the wire name, except `moved` (whose wire name is unavailable,
/// but a peer must see it as moved to re-route).
std::string code_name(errc code) {
  return code == errc::moved ? std::string("moved") : std::string(wire_name(code));
}

std::optional<errc> code_from_name(std::string_view name) {
  if (name == "moved") return errc::moved;
  for (int c = static_cast<int>(errc::ok); c <= static_cast<int>(errc::moved); ++c) {
    auto code = static_cast<errc>(c);
    if (code != errc::moved && wire_name(code) == name) return code;
  }
  return std::nullopt;
}

void log_bad(const std::string& what) {
  log::warn("cluster") << "port: refused bad input: " << what;
}

struct port_state {
  std::shared_ptr<node_context> ctx;
  std::shared_ptr<port_stats> stats;
  std::unordered_map<std::uint64_t, caf::response_promise> waiting;
  std::uint64_t next_id = 1;
};

using port_actor = caf::stateful_actor<port_state>;

std::string bad_request(port_actor* self, const std::string& message) {
  ++self->state.stats->bad_inputs;
  log_bad(message);
  return encode_reply(command_reply::fail(errc::bad_request, message));
}

/// Parks a promise for the answer and returns the id an answer must name.
std::uint64_t park(port_actor* self, caf::response_promise rp) {
  auto id = self->state.next_id++;
  self->state.waiting.emplace(id, std::move(rp));
  return id;
}

template <class Traits>
caf::result<std::string> hand_to_region(port_actor* self, const caf::actor& region,
                                        const std::string& entity, const std::string& text,
                                        const std::string& origin_node,
                                        std::uint64_t origin_session) {
  if (entity.size() <= Traits::id_prefix.size() || entity.rfind(Traits::id_prefix, 0) != 0)
    return bad_request(self, "entity " + entity + " is not of its kind");
  auto cmd = Traits::decode_command(text);
  if (!cmd) return bad_request(self, cmd.error().message);
  auto id = park(self, self->make_response_promise());
  auto port = caf::actor_cast<caf::actor>(self);
  entity_command<typename Traits::command> m{
      entity,
      std::move(*cmd),
      [port, id](command_reply r) {
        caf::anon_send(port, port_answer{id, encode_reply(r)});
      },
      origin_session,
      origin_node,
      true};
  self->send(region, std::move(m));
  return caf::delegated<std::string>{};
}

/// Fills p.recipients from a peer's JSON array of account ids (rpush, rclose); false, counted and
/// logged as bad input, when it is anything else.
bool take_recipients(port_actor* self, const char* what, const std::string& recipients_json,
                     push_msg& p) {
  auto j = nlohmann::json::parse(recipients_json, nullptr, false);
  bool ok = !j.is_discarded() && j.is_array();
  for (const auto& v : ok ? j : nlohmann::json::array()) {
    if (!v.is_number_unsigned()) {
      ok = false;
      break;
    }
    p.recipients.push_back(account_id{v.get<std::uint64_t>()});
  }
  if (!ok) {
    ++self->state.stats->bad_inputs;
    log_bad(std::string(what) + " recipients " + recipients_json);
  }
  return ok;
}

/// Who sent the message being handled, for a log line: "node N" (CAF's node id) or "anonymous".
std::string sender_text(port_actor* self) {
  const auto& sender = self->current_sender();
  if (!sender) return "an anonymous sender";
  if (sender->node() == self->node()) return "a local actor";
  return "node " + caf::to_string(sender->node());
}

caf::behavior port_impl(port_actor* self, std::shared_ptr<node_context> ctx,
                        std::shared_ptr<port_stats> stats) {
  self->state.ctx = std::move(ctx);
  self->state.stats = stats ? std::move(stats) : std::make_shared<port_stats>();
  // Only the shapes below are accepted; anything else a peer sends is refused with a log line
  // (CAF's default would print it and drop it unnoticed) and answered with unexpected_message.
  self->set_default_handler(
      [](caf::scheduled_actor* base, caf::message_view& x) -> caf::result<caf::message> {
        auto* self = static_cast<port_actor*>(base);
        ++self->state.stats->bad_inputs;
        auto shape = x.content().stringify();
        if (shape.size() > 200) shape = shape.substr(0, 200) + "...";
        log_bad("a message of unexpected shape from " + sender_text(self) + ": " + shape);
        return caf::sec::unexpected_message;
      });
  return {
      [self](rcmd_atom, std::uint8_t kind, const std::string& entity, const std::string& text,
             const std::string& origin_node,
             std::uint64_t origin_session) -> caf::result<std::string> {
        ++self->state.stats->commands;
        auto& ctx = *self->state.ctx;
        switch (kind) {
          case static_cast<std::uint8_t>(entity_kind::room):
            return hand_to_region<room_traits>(self, ctx.rooms, entity, text, origin_node,
                                               origin_session);
          case static_cast<std::uint8_t>(entity_kind::user):
            return hand_to_region<user_traits>(self, ctx.users, entity, text, origin_node,
                                               origin_session);
          case static_cast<std::uint8_t>(entity_kind::ids):
            return hand_to_region<id_traits>(self, ctx.ids, entity, text, origin_node,
                                             origin_session);
          default:
            return bad_request(self, "unknown entity kind " + std::to_string(kind));
        }
      },
      [self](port_answer& a) {
        auto it = self->state.waiting.find(a.id);
        if (it == self->state.waiting.end()) return;
        auto rp = std::move(it->second);
        self->state.waiting.erase(it);
        rp.deliver(std::move(a.text));
      },
      [self](rpush_atom, const std::string& frame, const std::string& recipients_json,
             const std::string& exclude_node, std::uint64_t exclude_session) {
        ++self->state.stats->pushes;
        push_msg p;
        if (!take_recipients(self, "rpush", recipients_json, p)) return;
        p.frame = std::make_shared<const std::string>(frame);
        p.exclude = exclude_session;
        p.exclude_node = exclude_node;
        self->send(self->state.ctx->hub, rpush_atom::value, std::move(p));
      },
      // A rename's push: delivered like rpush, and the renamed account's sessions here take the
      // new name.
      [self](rrename_atom, const std::string& frame, const std::string& recipients_json,
             std::uint64_t account, const std::string& name) {
        ++self->state.stats->pushes;
        push_msg p;
        if (!take_recipients(self, "rrename", recipients_json, p)) return;
        if (account == 0) {
          ++self->state.stats->bad_inputs;
          log_bad("rrename of account 0");
          return;
        }
        p.frame = std::make_shared<const std::string>(frame);
        p.renamed = account_id{account};
        p.new_name = name;
        self->send(self->state.ctx->hub, rpush_atom::value, std::move(p));
      },
      // Another node's hub closes an account's connections here (disabled, token revoked).
      [self](rclose_atom, const std::string& recipients_json, std::uint16_t code,
             const std::string& reason) {
        ++self->state.stats->pushes;
        if (code < 1000) {
          ++self->state.stats->bad_inputs;
          log_bad("rclose close code " + std::to_string(code));
          return;
        }
        push_msg p;
        if (!take_recipients(self, "rclose", recipients_json, p)) return;
        p.close_code = code;
        p.close_reason = reason;
        self->send(self->state.ctx->hub, rpush_atom::value, std::move(p));
      },
      [self](pres_add_atom a, const std::string& node, std::uint64_t account) {
        ++self->state.stats->presence;
        self->send(self->state.ctx->hub, a, node, account);
      },
      [self](pres_del_atom a, const std::string& node, std::uint64_t account) {
        ++self->state.stats->presence;
        self->send(self->state.ctx->hub, a, node, account);
      },
      [self](pres_full_atom a, const std::string& node, const std::string& accounts_json) {
        ++self->state.stats->presence;
        auto j = nlohmann::json::parse(accounts_json, nullptr, false);
        if (j.is_discarded() || !j.is_array()) {
          ++self->state.stats->bad_inputs;
          log_bad("pres_full accounts " + accounts_json);
          return;
        }
        self->send(self->state.ctx->hub, a, node, accounts_json);
      },
      // A peer that connected to this node says which node it is; its sender is its port.
      [self](peer_hello_atom, const std::string& node) {
        const auto& sender = self->current_sender();
        if (!sender || sender->node() == self->node() || node.empty() || node.size() > 255) {
          ++self->state.stats->bad_inputs;
          log_bad("a hello from " + sender_text(self) + " naming node '" + node.substr(0, 80) +
                  "'");
          return;
        }
        if (self->state.ctx->deps.peer_greeted) self->state.ctx->deps.peer_greeted(node, sender);
      },
      [self](cstatus_atom) -> caf::result<std::string> {
        auto ctx = self->state.ctx;
        if (!ctx->deps.status_json) return std::string("null");
        auto id = park(self, self->make_response_promise());
        auto port = caf::actor_cast<caf::actor>(self);
        // Reading the journal status blocks: on the io executor, answered back through the port.
        ctx->deps.io->post([ctx, port, id] {
          std::string text;
          try {
            text = ctx->deps.status_json();
          } catch (const std::exception& ex) {
            text = nlohmann::json{{"error", ex.what()}}.dump();
          }
          caf::anon_send(port, port_answer{id, std::move(text)});
        });
        return caf::delegated<std::string>{};
      },
  };
}

}  // namespace

caf::actor spawn_cluster_port(caf::actor_system& sys, std::shared_ptr<node_context> ctx,
                              std::shared_ptr<port_stats> stats) {
  return sys.spawn(port_impl, std::move(ctx), std::move(stats));
}

std::string encode_reply(const command_reply& r) {
  nlohmann::json j = nlohmann::json::object();
  if (r.err) {
    j["err"] = {{"code", code_name(r.err->code)}, {"message", r.err->message}};
  } else {
    j["fields"] = r.fields;
    if (!r.then.empty()) j["then"] = r.then;
  }
  return j.dump();
}

command_reply decode_reply(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  auto bad = [&] { return command_reply::fail(errc::internal, "undecodable reply from a peer"); };
  if (j.is_discarded() || !j.is_object()) return bad();
  if (auto err = j.find("err"); err != j.end()) {
    if (!err->is_object()) return bad();
    auto code = err->find("code");
    auto message = err->find("message");
    if (code == err->end() || !code->is_string() || message == err->end() || !message->is_string())
      return bad();
    auto c = code_from_name(code->get<std::string>());
    if (!c || *c == errc::ok) return bad();
    return command_reply::fail(*c, message->get<std::string>());
  }
  auto fields = j.find("fields");
  if (fields == j.end() || !(fields->is_object() || fields->is_null())) return bad();
  command_reply r = command_reply::ok(*fields);
  if (auto then = j.find("then"); then != j.end()) {
    if (!then->is_array()) return bad();
    for (const auto& f : *then) {
      if (!f.is_string()) return bad();
      r.then.push_back(f.get<std::string>());
    }
  }
  return r;
}

}  // namespace hibiki::actors
