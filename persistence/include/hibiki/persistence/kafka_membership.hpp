#pragma once
/// Membership of a node in the cluster's Kafka consumer group: the building block for shard
/// ownership. A kafka_membership joins consumer group `group_id` on the journal topic
/// with the cooperative-sticky assignor and reports which partitions (= shards) Kafka assigns to
/// it. It never consumes records for the application: assigned partitions are paused, and its
/// own thread polls only to drive the group protocol (heartbeats, rebalances).
///
/// The member's `client.id` is the caller's member name, so describe() — the Admin API's
/// DescribeConsumerGroups — tells every node which member (by name, e.g. its CAF endpoint) owns
/// which partitions.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hibiki/core/result.hpp"

namespace hibiki::persistence {

struct kafka_membership_options {
  /// Bootstrap servers, "host:port[,host:port]". Required.
  std::string brokers;
  /// The journal topic whose partitions are the shards. Required.
  std::string topic;
  /// The consumer group every node of one cluster joins. Required.
  std::string group_id;
  /// This member's name, used as its `client.id` (the node's CAF endpoint). Required.
  std::string member_name;
  /// The group's session timeout: how long the coordinator waits for a silent member before it
  /// gives its partitions to the others. Default: 10 s.
  std::chrono::milliseconds session_timeout{10'000};
  /// Extra librdkafka properties, applied last (to the group consumer and the admin client).
  std::vector<std::pair<std::string, std::string>> extra_config;
};

/// What the group handler is told. Each is called on the membership's own thread, one at a time,
/// with a non-empty, sorted list of partitions of the topic. They must not throw and must not
/// call close() or destroy the membership. A partition is released to the group only after
/// on_revoked/on_lost returned, so a handler that stops the shard's work before returning is sure
/// no other member has been given it yet (for on_lost, another member may already own it).
struct kafka_membership_handlers {
  /// Newly assigned partitions (added to owned() before the call).
  std::function<void(std::vector<std::int32_t>)> on_assigned;
  /// Partitions handed back in an orderly rebalance or at close() (removed from owned() first).
  std::function<void(std::vector<std::int32_t>)> on_revoked;
  /// Partitions lost without an orderly handback: the session timed out or the member was fenced
  /// out of the group (removed from owned() first). Another member may already own them.
  std::function<void(std::vector<std::int32_t>)> on_lost;
};

/// One member of the group as the group coordinator describes it.
struct kafka_group_member {
  std::string member_id;  ///< the coordinator's id for the member
  std::string client_id;  ///< the member's client.id: its member_name
  std::string host;       ///< the address the coordinator saw the member connect from
  std::vector<std::int32_t> partitions;  ///< its assigned partitions of the topic, sorted
};

class kafka_membership {
 public:
  /// Creates the group consumer and its thread and subscribes to the topic; joining the group
  /// happens in the background (an unreachable broker is not an error here). Errors: bad_request
  /// (an empty required option, a non-positive session timeout, a property librdkafka rejects),
  /// unavailable (subscribe refused).
  static result<std::unique_ptr<kafka_membership>> join(const kafka_membership_options& options,
                                                        kafka_membership_handlers handlers);

  /// Calls close().
  ~kafka_membership();
  kafka_membership(const kafka_membership&) = delete;
  kafka_membership& operator=(const kafka_membership&) = delete;

  /// The partitions currently assigned to this member, sorted. Thread-safe.
  std::vector<std::int32_t> owned() const;

  /// The group's members and their assignments of the topic, from the group coordinator (Admin
  /// API DescribeConsumerGroups). A group with no members gives an empty list. Returns within
  /// about `timeout`; unavailable when the broker or coordinator does not answer or reports an
  /// error. Thread-safe; also works after close().
  result<std::vector<kafka_group_member>> describe(
      std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

  /// Leaves the group cleanly (its partitions are revoked through on_revoked and handed to the
  /// other members at once, without waiting for the session timeout) and joins the thread.
  /// Idempotent.
  void close();

  const std::string& member_name() const;

  struct impl;

 private:
  explicit kafka_membership(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace hibiki::persistence
