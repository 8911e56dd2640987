#pragma once
/// The messages nodes exchange through their cluster ports, as typed CAF messages in CAF's binary
/// serialization (the middleman's wire format): a forwarded command with its typed core command,
/// its reply, pushes, a rename's push, a close, and a node's full presence list. Every type here
/// has an `inspect` overload and a name registered with add_cluster_message_types(), which every
/// actor system that talks to peers (the node's, the cluster test harness's) must call before it
/// starts. docs/decisions/0039 explains the choice and what happens when versions differ.
///
/// Only the content of a push (`frame`, the bytes the clients get) and the free-form fields of a
/// reply (an entity's reply object, as MessagePack) are not typed field by field.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <caf/all.hpp>

#include "entity_traits.hpp"
#include "hibiki/core/ids.hpp"
#include "hibiki/core/room.hpp"
#include "hibiki/core/user.hpp"
#include "messages.hpp"

namespace hibiki::actors {

/// A command for an entity served by the receiving node, from a node that does not serve it.
/// Answered with a remote_reply (`moved` when the receiver does not serve the shard either).
template <class Command>
struct remote_command {
  entity_id entity;
  Command cmd;
  /// The node and session the command came from (pushes skip that session).
  std::string origin_node;
  std::uint64_t origin_session = 0;
};
using remote_room_command = remote_command<room::command>;
using remote_user_command = remote_command<user::command>;
using remote_ids_command = remote_command<id_command>;

/// A command_reply as it crosses nodes. `code` is an errc (0 = ok); `fields` is the reply
/// object as MessagePack (empty = null).
struct remote_reply {
  std::uint8_t code = 0;
  std::string message;
  std::vector<std::uint8_t> fields;
  std::vector<std::string> then;
};

/// A push for the recipients' connections on the receiving node only.
struct remote_push {
  std::string frame;
  std::vector<std::uint64_t> recipients;
  /// Skip this session of this node (the command's origin). Empty node = none.
  std::string exclude_node;
  std::uint64_t exclude_session = 0;
};

/// A rename's `account_updated` push: delivered like remote_push, and the renamed account's
/// sessions on the receiving node take the new name.
struct remote_rename {
  std::string frame;
  std::vector<std::uint64_t> recipients;
  std::uint64_t account = 0;
  std::string name;
};

/// Closes the recipients' connections on the receiving node (an account disabled, its tokens
/// revoked) with WebSocket close code `code` (>= 1000).
struct remote_close {
  std::vector<std::uint64_t> recipients;
  std::uint16_t code = 0;
  std::string reason;
};

/// Every account connected to `node` (sent to a peer met for the first time).
struct presence_full {
  std::string node;
  std::vector<std::uint64_t> accounts;
};

/// Registers every type above with its wire name ("hibiki.remote_push.v1", ...). A change to a
/// type's fields must change its name (.v2): CAF's binary format has no field tags, so a peer
/// would misread the old layout; with a new name it drops the message it does not know.
void add_cluster_message_types(caf::actor_system_config& cfg);

/// The reply as it crosses nodes, and back. A reply that does not decode (an unknown code, `ok`
/// with a message, fields that are not MessagePack of an object or null) becomes an `internal`
/// error reply.
remote_reply to_wire(const command_reply& r);
command_reply from_wire(const remote_reply& r);

// ---- inspect helpers ----------------------------------------------------------------------------

namespace wire {

/// A std::optional field: a presence flag, then the value (a default one when absent).
template <class T>
struct optional_field {
  std::optional<T>& x;
};
template <class T>
optional_field<T> opt(std::optional<T>& x) {
  return {x};
}

template <class Inspector, class T>
typename Inspector::result_type inspect(Inspector& f, optional_field<T>& o) {
  if constexpr (Inspector::reads_state) {
    bool has = o.x.has_value();
    T value = has ? *o.x : T{};
    return f(has, value);
  } else {
    bool has = false;
    T value{};
    auto err = f(has, value);
    if (has)
      o.x = std::move(value);
    else
      o.x.reset();
    return err;
  }
}

/// A std::variant field: the alternative's index, then the alternative. An index out of range
/// fails deserialization (caf::sec::invalid_argument).
template <class... Ts>
struct variant_field {
  std::variant<Ts...>& x;
};
template <class... Ts>
variant_field<Ts...> alt(std::variant<Ts...>& x) {
  return {x};
}

template <class Variant, std::size_t... Is>
void emplace_index(Variant& v, std::size_t i, std::index_sequence<Is...>) {
  ((i == Is ? (v.template emplace<Is>(), true) : false) || ...);
}

template <class Inspector, class... Ts>
typename Inspector::result_type inspect(Inspector& f, variant_field<Ts...>& w) {
  static_assert(sizeof...(Ts) < 256);
  if constexpr (Inspector::reads_state) {
    auto index = static_cast<std::uint8_t>(w.x.index());
    return std::visit([&](auto& a) { return f(index, a); }, w.x);
  } else {
    std::uint8_t index = 0;
    if (auto err = f(index)) return err;
    if (index >= sizeof...(Ts)) return caf::make_error(caf::sec::invalid_argument);
    emplace_index(w.x, index, std::index_sequence_for<Ts...>{});
    return std::visit([&](auto& a) { return f(a); }, w.x);
  }
}

}  // namespace wire

template <class Inspector, class Command>
typename Inspector::result_type inspect(Inspector& f, remote_command<Command>& x) {
  return f(caf::meta::type_name("remote_command"), x.entity, wire::alt(x.cmd), x.origin_node,
           x.origin_session);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, remote_reply& x) {
  return f(caf::meta::type_name("remote_reply"), x.code, x.message, x.fields, x.then);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, remote_push& x) {
  return f(caf::meta::type_name("remote_push"), x.frame, x.recipients, x.exclude_node,
           x.exclude_session);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, remote_rename& x) {
  return f(caf::meta::type_name("remote_rename"), x.frame, x.recipients, x.account, x.name);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, remote_close& x) {
  return f(caf::meta::type_name("remote_close"), x.recipients, x.code, x.reason);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, presence_full& x) {
  return f(caf::meta::type_name("presence_full"), x.node, x.accounts);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, allocate_id&) {
  return f(caf::meta::type_name("allocate_id"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peek_ids&) {
  return f(caf::meta::type_name("peek_ids"));
}

}  // namespace hibiki::actors

// ---- the core commands, field by field (every field: a missing one would be lost in transit;
// tests/actors/cluster_wire_test.cpp checks each alternative against core's command codec) ----

namespace hibiki {

template <class Inspector, class Tag>
typename Inspector::result_type inspect(Inspector& f, strong_id<Tag>& x) {
  return f(x.value);
}

}  // namespace hibiki

namespace hibiki::room {

using actors::wire::opt;

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, create_room& x) {
  return f(x.actor, x.room, x.name, x.description, x.members, x.now, x.type);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, add_members& x) {
  return f(x.actor, x.accounts, x.role);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, remove_member& x) {
  return f(x.actor, x.account);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, leave_room& x) {
  return f(x.actor);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, send_message& x) {
  return f(x.actor, x.body, x.client_msg_id, x.now, x.self_unread, x.author_name);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, edit_message& x) {
  return f(x.actor, x.message, x.body, x.now, x.author_name);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, delete_message& x) {
  return f(x.actor, x.message, x.now);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mark_read& x) {
  return f(x.actor, x.message);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mark_unread& x) {
  return f(x.actor, x.message);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, add_task& x) {
  return f(x.actor, x.assignees, x.body, x.limit, x.limit_type, x.now, x.author_name, x.names);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, set_task_status& x) {
  return f(x.actor, x.task, x.status, x.now);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_task& x) {
  return f(x.actor, x.task);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, list_tasks& x) {
  return f(x.actor, opt(x.assignee), opt(x.assigned_by), opt(x.status));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_room& x) {
  return f(x.actor);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_members& x) {
  return f(x.actor);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, update_room& x) {
  return f(x.actor, opt(x.name), opt(x.description), opt(x.icon_preset), x.now);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, delete_room& x) {
  return f(x.actor, x.now);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, set_members& x) {
  return f(x.actor, x.admins, x.members, x.readonly);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, request_upload& x) {
  return f(x.actor, x.filename, x.size, x.content_type, x.max_size, x.object_key, x.now, x.window,
           x.max_pending);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, check_upload& x) {
  return f(x.actor, x.file, x.now);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, complete_upload& x) {
  return f(x.actor, x.file, x.stored_size, x.now, x.author_name, x.message);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, retire_file& x) {
  return f(x.actor, x.file, x.now, x.grace);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, forget_file& x) {
  return f(x.actor, x.file);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, create_webhook& x) {
  return f(x.actor, x.url, x.events, x.token, x.now);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, list_webhooks& x) {
  return f(x.actor);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, delete_webhook& x) {
  return f(x.actor, x.webhook, x.now);
}

}  // namespace hibiki::room

namespace hibiki::user {

using actors::wire::opt;

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, register_account& x) {
  return f(x.id, x.name, x.token_hash, x.now);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rename_account& x) {
  return f(x.actor, x.name);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, disable_account&) {
  return f(caf::meta::type_name("disable_account"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, enable_account&) {
  return f(caf::meta::type_name("enable_account"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, revoke_tokens&) {
  return f(caf::meta::type_name("revoke_tokens"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, issue_token& x) {
  return f(x.token_hash);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, move_fetch_cursor& x) {
  return f(x.room, x.up_to);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peek_fetch_cursor& x) {
  return f(x.room);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, update_profile& x) {
  return f(x.actor, opt(x.name), opt(x.chatwork_id), opt(x.organization), opt(x.department),
           opt(x.title), opt(x.introduction));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_profile& x) {
  return f(x.actor);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, assign_my_room& x) {
  return f(x.room);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, request_contact& x) {
  return f(x.from, x.to, x.message, x.now);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, accept_contact& x) {
  return f(x.actor, x.requester, x.room);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reject_contact& x) {
  return f(x.actor, x.requester);
}

}  // namespace hibiki::user
