#pragma once
/// A node's membership in its cluster, as the actor layer sees it: which shards the cluster
/// gives this node, and which member owns which shard. The clustered Kafka backend implements it
/// with the cluster's Kafka consumer group (kafka_membership.hpp); the actor layer only sees
/// this interface, so it knows nothing of Kafka.
///
/// Members are named by the storage options (storage.hpp: "<node>@<cluster endpoint>"), so
/// describe() tells every node where each member can be reached.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hibiki/core/result.hpp"

namespace hibiki::persistence {

/// What the membership tells its user. Each is called on the membership's own thread, one at a
/// time, with a non-empty, sorted list of shards. They must not throw and must not call leave().
/// A shard is given back to the cluster only after on_revoked/on_lost returned, so a handler
/// that stops the shard's work before returning is sure no other member has it yet (for on_lost,
/// another member may already own it).
struct membership_handlers {
  /// Shards newly given to this node.
  std::function<void(std::vector<std::int32_t>)> on_assigned;
  /// Shards handed back in an orderly way (a rebalance, or leave()).
  std::function<void(std::vector<std::int32_t>)> on_revoked;
  /// Shards lost without an orderly hand-back (the node was silent too long, or fenced out).
  std::function<void(std::vector<std::int32_t>)> on_lost;
};

/// One member of the cluster as described by the cluster's coordinator.
struct cluster_member {
  std::string name;                  ///< the member's name: "<node>@<cluster endpoint>"
  std::string host;                  ///< the address the coordinator saw it connect from
  std::vector<std::int32_t> shards;  ///< its shards, sorted
};

class membership {
 public:
  virtual ~membership() = default;

  /// This node's member name.
  virtual const std::string& member_name() const = 0;

  /// The name of the group every member of this cluster joins (Kafka: the consumer group id).
  virtual const std::string& group() const = 0;

  /// Joins the cluster; assignments arrive through `handlers` in the background (an unreachable
  /// coordinator is not an error here). Once only. Errors: bad_request (options), unavailable.
  virtual status join(membership_handlers handlers) = 0;

  /// The members and their shards, from the coordinator, within about `timeout`. Errors:
  /// unavailable (no answer, or an error reported). Thread-safe; also works after leave().
  virtual result<std::vector<cluster_member>> describe(std::chrono::milliseconds timeout) const = 0;

  /// Leaves the cluster cleanly: this node's shards are revoked through on_revoked and handed to
  /// the other members at once. Idempotent; a membership never joined does nothing.
  virtual void leave() = 0;
};

}  // namespace hibiki::persistence
