#pragma once
/// A read side built from the event feed (event_feed.hpp): it applies events in feed order and
/// stores, together with its output, the feed positions that output reflects, so that after a
/// crash it resumes exactly where its durable output ends.
#include <string>
#include <vector>
#include "hibiki/core/result.hpp"
#include "hibiki/persistence/event_feed.hpp"

namespace hibiki::persistence {

class projection {
 public:
  virtual ~projection() = default;
  /// A short stable name ("search", "webhooks"): in logs, metrics, status and admin commands.
  virtual std::string name() const = 0;
  /// The positions stored with the durable output; empty when nothing was applied yet (the
  /// runner then starts every partition at offset 0).
  virtual result<feed_positions> committed() = 0;
  /// Applies `batch` (in feed order) and makes the output and `next` durable in one atomic step:
  /// after a crash, committed() returns either the old positions with the old output or `next`
  /// with all of the batch applied. An event the projection does not care about is skipped.
  virtual status apply(const std::vector<feed_record>& batch, const feed_positions& next) = 0;
  /// Like apply(), for events another node already applied (feed positions shared at a
  /// hand-over, position_store.hpp): keep what the projection needs as state to go on (webhooks:
  /// the settings), produce no output again (webhooks: no delivery). Default: apply() (a
  /// projection whose output does not repeat anything).
  virtual status replay(const std::vector<feed_record>& batch, const feed_positions& next) {
    return apply(batch, next);
  }
  /// Drops all output and positions (a rebuild from the beginning follows).
  virtual status reset() = 0;
};

}  // namespace hibiki::persistence
