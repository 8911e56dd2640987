#pragma once
/// The messages the actors of one node exchange. They never leave the process (the cluster
/// protocol has its own serializable types, cluster_wire.hpp), so they are whitelisted with
/// CAF_ALLOW_UNSAFE_MESSAGE_TYPE instead of getting `inspect` overloads and type ids.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "hibiki/actors/node.hpp"
#include "hibiki/core/errc.hpp"
#include "hibiki/core/ids.hpp"
#include "hibiki/core/result.hpp"

namespace hibiki::actors {

// ---- atoms --------------------------------------------------------------------------------------
using acquire_atom = caf::atom_constant<caf::atom("h_acquire")>;   ///< entity → gate
using release_atom = caf::atom_constant<caf::atom("h_release")>;   ///< entity → gate
using granted_atom = caf::atom_constant<caf::atom("h_granted")>;   ///< gate → entity
using passivate_atom = caf::atom_constant<caf::atom("h_passiv")>;  ///< region → entity
using idle_atom = caf::atom_constant<caf::atom("h_idle")>;         ///< region → itself (timer)
using closed_atom = caf::atom_constant<caf::atom("h_closed")>;     ///< session object → session
using live_atom = caf::atom_constant<caf::atom("h_live")>;         ///< test query: live entities
using shards_atom = caf::atom_constant<caf::atom("h_shards")>;     ///< glue → regions, hub
using handoff_atom = caf::atom_constant<caf::atom("h_handoff")>;  ///< region → entity: shard gone
using retry_atom = caf::atom_constant<caf::atom("h_retry")>;      ///< region → itself (timer)
using sweep_atom = caf::atom_constant<caf::atom("h_sweep")>;  ///< file sweeper → itself (timer)

/// hub → session: (renamed, name) the session's account was renamed; its messages carry `name`
using renamed_atom = caf::atom_constant<caf::atom("h_renamed")>;

/// link → session: the connection took the last sync batch (client_link::when_drained)
using sync_drained_atom = caf::atom_constant<caf::atom("h_drained")>;

// ---- the cluster wire protocol (cluster_port.hpp)
// ------------------------------------------------ Commands, replies, pushes and full presence
// lists travel as the typed messages of cluster_wire.hpp; the small ones below are tuples of CAF's
// built-in types.
/// (rpush, push_msg): port → local hub, a push another node sent for this node's connections
using rpush_atom = caf::atom_constant<caf::atom("h_rpush")>;
/// (pres_add | pres_del, node, account): an account got its first / lost its last connection
using pres_add_atom = caf::atom_constant<caf::atom("h_presadd")>;
using pres_del_atom = caf::atom_constant<caf::atom("h_presdel")>;
/// (cstatus) → (journal_status_json) of the answering node
using cstatus_atom = caf::atom_constant<caf::atom("h_cstatus")>;
/// (hello, node): sent by a node, as its own cluster port, to a peer's port right after it
/// connected to it. Of two nodes only the one whose name sorts first connects; the other takes
/// the hello's sender as the first one's port (cluster_glue.cpp explains why).
using peer_hello_atom = caf::atom_constant<caf::atom("h_hello")>;

/// Which region a remote command is for.
enum class entity_kind : std::uint8_t { room = 0, user = 1, ids = 2 };

/// The outcome of a command or query: an error, or the reply fields; `then` are frames the
/// session sends right after the reply (the events a `sync` replays).
struct command_reply {
  std::optional<hibiki::error> err;
  nlohmann::json fields;  ///< an object, or null for `{}`
  std::vector<std::string> then;

  static command_reply fail(hibiki::error e) {
    command_reply r;
    r.err = std::move(e);
    return r;
  }
  static command_reply fail(errc code, std::string message) {
    return fail(hibiki::error{code, std::move(message)});
  }
  static command_reply ok(nlohmann::json fields = nullptr) {
    command_reply r;
    r.fields = std::move(fields);
    return r;
  }
};

/// Called exactly once with the outcome, on the thread of whoever answers (an entity actor or an
/// io thread). Must not block: the usual body is one `caf::anon_send`.
using reply_fn = std::function<void(command_reply)>;

/// A command for entity `entity`, routed by its kind's shard region.
template <class Command>
struct entity_command {
  entity_id entity;
  Command cmd;
  reply_fn reply;
  /// The session the command came from: its pushes skip that connection, which gets the reply
  /// instead (ws-protocol-v1: events "from every other connection"). 0 = none.
  std::uint64_t origin = 0;
  /// The node of that session; empty = this node.
  std::string origin_node{};
  /// Came from another node's region: served here or answered `moved`, never forwarded again.
  bool forwarded{false};
  /// Times it was re-routed after `moved` or an unreachable owner (the region gives up, with
  /// `unavailable`, after route_wait).
  std::uint32_t attempts = 0;
};

/// A reply arriving back at a session actor, matched by `tag` to the request that waits for it.
struct tagged_reply {
  std::uint64_t tag = 0;
  command_reply reply;
};

/// One frame for many connections: the hub sends the same bytes to every connection of every
/// recipient, except the session `exclude` (the `read` push skips the reader's own connection).
struct push_msg {
  std::shared_ptr<const std::string> frame;
  std::vector<account_id> recipients;
  std::uint64_t exclude = 0;
  /// Also for the connection the command came from (room_created goes to "every initial
  /// member", the creating connection included); other pushes skip it, it has the reply.
  bool to_origin = false;
  /// The node of session `exclude`; empty = this node.
  std::string exclude_node{};
  /// Not 0: instead of a frame, the recipients' connections are closed with this WebSocket close
  /// code and `close_reason` (an account disabled or its token revoked). `frame` is then unused.
  std::uint16_t close_code = 0;
  std::string close_reason{};
  /// Not 0: the recipients are this account and every account that shares a room, a contact or
  /// a contact request with it, found by `send_to_audience` (audience.hpp) before the hub gets
  /// the push (`recipients` then holds the union, each account once).
  account_id audience_of{};
  /// Not 0: the push announces this account's new name `new_name`; the hub also hands the name
  /// to the account's session actors, whose messages then carry it.
  account_id renamed{};
  std::string new_name{};
};

struct hub_register {
  account_id account;
  std::uint64_t session = 0;
  std::shared_ptr<client_link> link;
  /// The session actor of the connection (told of its account's renames); may be null in tests.
  caf::actor actor{};
};
struct hub_unregister {
  account_id account;
  std::uint64_t session = 0;
};

/// A text frame from a client, for its session actor.
struct client_text {
  std::string frame;
};

/// The journal acknowledged (or failed) append number `id` of the receiving entity.
struct append_done {
  std::uint64_t id = 0;
  hibiki::status st;
};

}  // namespace hibiki::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hibiki::actors::command_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hibiki::actors::tagged_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hibiki::actors::push_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hibiki::actors::hub_register)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hibiki::actors::hub_unregister)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hibiki::actors::client_text)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(hibiki::actors::append_done)

namespace caf {
template <class Command>
struct allowed_unsafe_message_type<hibiki::actors::entity_command<Command>> : std::true_type {};
}  // namespace caf
