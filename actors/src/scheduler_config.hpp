#pragma once
/// The node's scheduler settings, written into the CAF config the actor system starts from.

#include <cstddef>

#include <caf/actor_system_config.hpp>

#include "hibiki/actors/scheduler_options.hpp"

namespace hibiki::actors {

/// Sets CAF's `scheduler.*` and `work-stealing.*` keys: `actor_threads` workers (0 = one per
/// core) and the policy, throughput and polling of `options`.
void apply_scheduler_options(caf::actor_system_config& cfg, std::size_t actor_threads,
                             const scheduler_options& options);

}  // namespace hibiki::actors
