#pragma once
/// Feed positions kept outside the node (a Kafka consumer group's committed offsets), for a
/// projection whose partitions move between nodes (follow::owned_partitions: webhooks). The
/// projection's own committed() stays the truth for what its output holds; this store only tells a
/// node that starts following a partition where the previous owner got to, so that what lies
/// between its own (older, or absent) position and there is only replayed, not applied again. The
/// projection runner consults it when a partition starts being followed and tells it the positions
/// after each apply.
#include <cstdint>
#include <vector>

#include "hibiki/core/result.hpp"
#include "hibiki/persistence/event_feed.hpp"

namespace hibiki::persistence {

class position_store {
 public:
  virtual ~position_store() = default;
  /// The stored positions of `partitions`; a partition with none stored is absent. Errors:
  /// unavailable (the store cannot be read: the runner retries rather than guess).
  virtual result<feed_positions> load(const std::vector<std::int32_t>& partitions) = 0;
  /// Stores `positions` (only partitions this node follows now), replacing what was stored for
  /// them. Errors: unavailable (the runner logs it and goes on: its own positions are durable).
  virtual status store(const feed_positions& positions) = 0;
};

/// Where a runner resumes applying a partition it starts following: the later of its own
/// position and the shared one (`shared` absent = none stored); what lies between is replayed
/// (projection::replay). Positions only move forward.
inline std::int64_t resume_position(std::int64_t own, const feed_positions& shared,
                                    std::int32_t partition) {
  auto it = shared.find(partition);
  return it == shared.end() || it->second < own ? own : it->second;
}

}  // namespace hibiki::persistence
