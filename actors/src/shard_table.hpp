#pragma once
/// Where each shard (journal partition) of a node's entities lives, as this node knows it. Read
/// by the shard regions on every command (thread-safe, cheap), written by the node's cluster
/// glue (Kafka membership, describe(), middleman) or by a test. After a change the writer calls
/// `notify_shards_changed` so regions stop the entities of shards they lost and re-route the
/// commands they held back, and the hub meets new peers.
///
/// A single node (embedded RocksDB or single-node Kafka) has a table whose every shard is
/// `serving` for good: routing then is exactly the local, unclustered path.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>

#include "hibiki/core/ids.hpp"

namespace hibiki::actors {

/// This node's own part in a shard.
enum class local_shard : std::uint8_t {
  none,       ///< not assigned here
  acquiring,  ///< assigned here; fencing the old writer and catching up (commands wait)
  serving,    ///< this node writes it: its entities live here
};

/// How a command for a shard is routed right now.
struct shard_route {
  enum kind_t : std::uint8_t {
    serving,    ///< to the local entity
    acquiring,  ///< held back here until the shard serves
    remote,     ///< forwarded to `endpoint` (the cluster port of node `node`)
    unowned,    ///< no reachable owner known: held back until the table changes, then retried
  };
  kind_t kind = unowned;
  std::string node;
  caf::actor endpoint;
};

class shard_table {
 public:
  /// A single node: `partitions` shards (at least 1), all serving here for good.
  static std::shared_ptr<shard_table> single(std::int32_t partitions, std::string self);
  /// A cluster member: nothing owned, nothing known until the glue says so.
  static std::shared_ptr<shard_table> clustered(std::int32_t partitions, std::string self);

  std::int32_t partition_count() const { return partitions_; }
  const std::string& self() const { return self_; }
  bool is_clustered() const { return clustered_; }
  /// The shard of `entity`: shard_of (core/shard.hpp), the journal topic's partition.
  std::int32_t partition_of(const entity_id& entity) const;

  shard_route route(std::int32_t partition) const;
  bool serving(std::int32_t partition) const;
  /// Bumped by every change.
  std::uint64_t version() const;

  // ---- updates (node glue, tests) -------------------------------------------------------------
  void set_local(std::int32_t partition, local_shard state);
  /// Kafka's view: the partitions assigned to each node (by node name). Replaces the last one.
  void set_assignment(const std::map<std::string, std::vector<std::int32_t>>& by_node);
  /// `node` is reachable at `endpoint` (its cluster port).
  void set_peer(const std::string& node, caf::actor endpoint);
  /// `node`'s endpoint went down: not used again until set_peer.
  void peer_down(const std::string& node);
  /// The reachable peers (not this node), by name.
  std::vector<std::pair<std::string, caf::actor>> peers() const;
  /// Kafka's assignment as last set, by node name (for status).
  std::map<std::string, std::vector<std::int32_t>> assignment() const;
  std::vector<local_shard> local_states() const;

  shard_table(std::int32_t partitions, std::string self, bool clustered);

 private:
  const std::int32_t partitions_;
  const std::string self_;
  const bool clustered_;
  mutable std::mutex mutex_;
  std::vector<local_shard> local_;
  std::vector<std::string> owner_;  ///< Kafka's assigned node per partition ("" = none)
  std::unordered_map<std::string, caf::actor> peers_;
  std::uint64_t version_ = 0;
};

struct node_context;
/// Tells the regions and the hub of `ctx` that its shard table changed.
void notify_shards_changed(const node_context& ctx);

}  // namespace hibiki::actors
