#pragma once
/// The file sweeper: removes from the object store the objects no one can reach any more, those
/// of uploads never completed (once expired) and of hidden files (their message or room was
/// deleted, once the grace period is over), then lets their room forget them.
///
/// Every `file_sweep_interval` it reads the file_chores read model on an io thread and, for each
/// file that is due, in three steps: asks the room to retire it (`retire_file`: a pending upload
/// past its expiry is recorded as expired, so it can no longer be completed; the room says
/// whether the object may go, from its own state, appends in flight included); removes the
/// object (io thread, through the breaker); then `forget_file`, which drops the chore row. A
/// step that fails leaves the row, and the next pass tries again. One pass at a time.

#include <memory>

#include <caf/all.hpp>

#include "context.hpp"

namespace hibiki::actors {

/// Most chores one pass handles; the rest wait for the next pass.
inline constexpr std::size_t max_chores_per_sweep = 1000;

/// What a pass did, for tests and logs.
struct sweeper_stats {
  std::size_t passes = 0;
  std::size_t removed = 0;  ///< objects removed and forgotten
  std::size_t failed = 0;   ///< steps that failed (retried next pass)
};

/// Spawns the sweeper; it stops on an exit message (node shutdown).
caf::actor spawn_file_sweeper(caf::actor_system& sys, std::shared_ptr<node_context> ctx,
                              std::shared_ptr<sweeper_stats> stats);

}  // namespace hibiki::actors
