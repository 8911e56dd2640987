#pragma once
/// The read-side projections a node runs (search, webhooks, ...): one projection_runner each,
/// over its own reader of the backend's feed. The node owns one `projections` and stops it
/// before it closes the backend. Adding a projection is one call:
///
///     node.projections().add(std::make_unique<my_projection>(...));
///
/// Thread-safe.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "hibiki/core/result.hpp"
#include "hibiki/persistence/backend.hpp"
#include "hibiki/persistence/projection_runner.hpp"

namespace hibiki::persistence {

/// Which partitions of the feed a projection follows.
enum class follow : std::uint8_t {
  /// Every partition (search: every node indexes everything).
  all_partitions,
  /// Only the partitions this node owns (a clustered node; webhooks, so that each event is
  /// delivered by one node). A node that is not clustered owns every partition.
  owned_partitions,
};

class projections {
 public:
  /// Over `b` (which must outlive this registry, or at least its stop()). `defaults` are every
  /// runner's options (their `partitions` is replaced per projection). `owned` returns the
  /// partitions this node owns now; empty function = the node owns every partition.
  projections(backend& b, projection_runner_options defaults,
              std::function<std::vector<std::int32_t>()> owned = {});
  /// Stops every runner.
  ~projections();
  projections(const projections&) = delete;
  projections& operator=(const projections&) = delete;

  /// Starts a runner for `p` over a new reader of the feed. Errors: bad_request (null, empty or
  /// duplicate name), unavailable (the backend has no feed, or the registry is stopped).
  hibiki::status add(std::unique_ptr<projection> p, follow which = follow::all_partitions);

  /// Every runner's status, by name.
  std::vector<projection_status> status() const;
  /// One runner's status. Errors: not_found (no projection of that name).
  result<projection_status> status(const std::string& name) const;
  /// Starts a rebuild of `name` (projection_runner::rebuild). Errors: not_found (no projection
  /// of that name; the message lists the ones there are), unavailable.
  hibiki::status rebuild(const std::string& name);
  /// The names of the projections, sorted.
  std::vector<std::string> names() const;

  /// Stops every runner (joins their threads); add() fails afterwards. Idempotent.
  void stop();

 private:
  backend& backend_;
  const projection_runner_options defaults_;
  const std::function<std::vector<std::int32_t>()> owned_;
  mutable std::mutex mutex_;
  bool stopped_ = false;
  std::map<std::string, std::unique_ptr<projection_runner>> runners_;
};

}  // namespace hibiki::persistence
