#pragma once
/// Snapshots of entity state, so recovery reads the latest snapshot plus the events after it
/// instead of the whole history.

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "hibiki/core/ids.hpp"
#include "hibiki/core/result.hpp"

namespace hibiki::persistence {

struct snapshot_metadata {
  entity_id entity;
  seq_nr seq = 0;
  std::int64_t timestamp_ms = 0;  ///< wall-clock time of the save, milliseconds since the epoch

  friend bool operator==(const snapshot_metadata&, const snapshot_metadata&) = default;
};

struct snapshot {
  snapshot_metadata meta;
  std::vector<std::uint8_t> data;

  friend bool operator==(const snapshot&, const snapshot&) = default;
};

/// Which snapshots a load or delete matches (bounds inclusive). The default matches all.
struct snapshot_criteria {
  seq_nr max_seq = std::numeric_limits<seq_nr>::max();
  std::int64_t max_timestamp_ms = std::numeric_limits<std::int64_t>::max();
  seq_nr min_seq = 0;
  std::int64_t min_timestamp_ms = 0;
};

class snapshot_store {
 public:
  virtual ~snapshot_store() = default;

  /// Saves (or overwrites, for the same entity and seq) a snapshot. Durable when it returns ok.
  virtual status save(const snapshot& s) = 0;
  /// The matching snapshot with the highest seq, or nullopt.
  virtual result<std::optional<snapshot>> load(const entity_id& entity,
                                               const snapshot_criteria& criteria) = 0;
  /// Deletes the snapshot of `entity` at exactly `seq` (no error if there is none).
  virtual status remove(const entity_id& entity, seq_nr seq) = 0;
  /// Deletes every matching snapshot of `entity`.
  virtual status remove_matching(const entity_id& entity, const snapshot_criteria& criteria) = 0;
};

}  // namespace hibiki::persistence
