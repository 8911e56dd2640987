#include "cluster_port.hpp"

#include <unordered_map>

#include <nlohmann/json.hpp>

#include "cluster_wire.hpp"
#include "entity_traits.hpp"
#include "hibiki/core/log.hpp"

namespace hibiki::actors {

namespace {

/// An entity's answer to request `id`, brought back into the port, which alone delivers its
/// response promises.
struct port_answer {
  std::uint64_t id = 0;
  remote_reply reply;
};
/// The io thread's answer to a cstatus request `id`.
struct port_status {
  std::uint64_t id = 0;
  std::string text;
};

}  // namespace
}  // namespace hibiki::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hibiki::actors::port_answer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hibiki::actors::port_status)

namespace hibiki::actors {

namespace {

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

remote_reply bad_request(port_actor* self, const std::string& message) {
  ++self->state.stats->bad_inputs;
  log_bad(message);
  return to_wire(command_reply::fail(errc::bad_request, message));
}

/// Parks a promise for the answer and returns the id an answer must name.
std::uint64_t park(port_actor* self, caf::response_promise rp) {
  auto id = self->state.next_id++;
  self->state.waiting.emplace(id, std::move(rp));
  return id;
}

/// Delivers the answer parked under `id` (none: the port already answered it).
template <class T>
void answer(port_actor* self, std::uint64_t id, T&& value) {
  auto it = self->state.waiting.find(id);
  if (it == self->state.waiting.end()) return;
  auto rp = std::move(it->second);
  self->state.waiting.erase(it);
  rp.deliver(std::forward<T>(value));
}

template <class Traits>
caf::result<remote_reply> hand_to_region(port_actor* self, const caf::actor& region,
                                         remote_command<typename Traits::command>& c) {
  ++self->state.stats->commands;
  if (c.entity.size() <= Traits::id_prefix.size() || c.entity.rfind(Traits::id_prefix, 0) != 0)
    return bad_request(self, "entity " + c.entity + " is not of its kind");
  auto id = park(self, self->make_response_promise());
  auto port = caf::actor_cast<caf::actor>(self);
  entity_command<typename Traits::command> m{std::move(c.entity),
                                             std::move(c.cmd),
                                             [port, id](command_reply r) {
                                               caf::anon_send(port, port_answer{id, to_wire(r)});
                                             },
                                             c.origin_session,
                                             std::move(c.origin_node),
                                             true};
  self->send(region, std::move(m));
  return caf::delegated<remote_reply>{};
}

/// The recipients as account ids; false, counted and logged as bad input, when one is 0.
bool take_recipients(port_actor* self, const char* what,
                     const std::vector<std::uint64_t>& recipients, push_msg& p) {
  for (auto a : recipients) {
    if (a == 0) {
      ++self->state.stats->bad_inputs;
      log_bad(std::string(what) + " names account 0");
      return false;
    }
    p.recipients.push_back(account_id{a});
  }
  return true;
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
      [self](remote_room_command& c) -> caf::result<remote_reply> {
        return hand_to_region<room_traits>(self, self->state.ctx->rooms, c);
      },
      [self](remote_user_command& c) -> caf::result<remote_reply> {
        return hand_to_region<user_traits>(self, self->state.ctx->users, c);
      },
      [self](remote_ids_command& c) -> caf::result<remote_reply> {
        return hand_to_region<id_traits>(self, self->state.ctx->ids, c);
      },
      [self](port_answer& a) { answer(self, a.id, std::move(a.reply)); },
      [self](port_status& a) { answer(self, a.id, std::move(a.text)); },
      [self](remote_push& r) {
        ++self->state.stats->pushes;
        push_msg p;
        if (!take_recipients(self, "remote_push", r.recipients, p)) return;
        p.frame = std::make_shared<const std::string>(std::move(r.frame));
        p.exclude = r.exclude_session;
        p.exclude_node = std::move(r.exclude_node);
        self->send(self->state.ctx->hub, rpush_atom::value, std::move(p));
      },
      // A rename's push: delivered like remote_push, and the renamed account's sessions here
      // take the new name.
      [self](remote_rename& r) {
        ++self->state.stats->pushes;
        push_msg p;
        if (!take_recipients(self, "remote_rename", r.recipients, p)) return;
        if (r.account == 0) {
          ++self->state.stats->bad_inputs;
          log_bad("remote_rename of account 0");
          return;
        }
        p.frame = std::make_shared<const std::string>(std::move(r.frame));
        p.renamed = account_id{r.account};
        p.new_name = std::move(r.name);
        self->send(self->state.ctx->hub, rpush_atom::value, std::move(p));
      },
      // Another node's hub closes an account's connections here (disabled, token revoked).
      [self](remote_close& r) {
        ++self->state.stats->pushes;
        if (r.code < 1000) {
          ++self->state.stats->bad_inputs;
          log_bad("remote_close close code " + std::to_string(r.code));
          return;
        }
        push_msg p;
        if (!take_recipients(self, "remote_close", r.recipients, p)) return;
        p.close_code = r.code;
        p.close_reason = std::move(r.reason);
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
      [self](presence_full& f) {
        ++self->state.stats->presence;
        for (auto a : f.accounts) {
          if (a == 0) {
            ++self->state.stats->bad_inputs;
            log_bad("presence_full of node " + f.node.substr(0, 80) + " names account 0");
            return;
          }
        }
        self->send(self->state.ctx->hub, std::move(f));
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
          caf::anon_send(port, port_status{id, std::move(text)});
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

}  // namespace hibiki::actors
