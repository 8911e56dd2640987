#pragma once
/// Which node serves which shard, as the servers' GET /api/cluster tells it, so the load
/// generator can tell a send whose room lives on the sender's own node ("local") from one the
/// node forwards to another ("remote", one hop). A room's shard is its journal partition:
/// Kafka's murmur2 partitioner on the room's entity id ("room-<id>"), the function the nodes
/// themselves route by.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "options.hpp"

namespace hibiki::bench {

/// How a send reached its room's shard.
enum class hop : std::int8_t { unknown = -1, local = 0, remote = 1 };

class cluster_map {
 public:
  /// Asks every server for GET /api/cluster (loopback only on hibikid). Nothing, and `error`
  /// set, when a server cannot be asked or its answer makes no sense. A server that is not
  /// clustered serves every shard itself.
  static std::optional<cluster_map> fetch(const std::vector<server_url>& servers,
                                          std::string& error);

  /// Local or remote for a send from a connection on server `server` to room `room`; unknown
  /// when the servers disagree on the room's shard or nobody serves it.
  hop classify(std::size_t server, std::uint64_t room) const;

  /// The node name of each server (its /api/cluster "node").
  const std::vector<std::string>& node_of_server() const { return node_of_server_; }
  std::int32_t partition_count() const { return partition_count_; }
  /// The owner of each partition; empty when unowned or the servers' views disagree.
  const std::vector<std::string>& owners() const { return owners_; }
  /// Partitions whose owner was not the same in every server's view.
  std::size_t disagreements() const { return disagreements_; }

 private:
  std::vector<std::string> node_of_server_;
  std::int32_t partition_count_ = 1;
  std::vector<std::string> owners_;
  std::size_t disagreements_ = 0;
};

/// GET `target` from host:port over plain HTTP/1.1 with a few seconds' timeout. The body of a
/// 200 answer, or nothing and `error` set.
std::optional<std::string> http_get(const std::string& host, const std::string& port,
                                    const std::string& target, std::string& error);

}  // namespace hibiki::bench
