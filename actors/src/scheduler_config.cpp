#include "scheduler_config.hpp"

#include <algorithm>
#include <thread>

#include <caf/atom.hpp>
#include <caf/timespan.hpp>

namespace hibiki::actors {

void apply_scheduler_options(caf::actor_system_config& cfg, std::size_t actor_threads,
                             const scheduler_options& options) {
  // 0 = one per core. CAF's own default is max(cores, 4): on two cores its four workers took
  // about a tenth more server CPU per message than two (docs/benchmarks.md, "Issue 13: single
  // node").
  cfg.set("scheduler.max-threads",
          actor_threads > 0 ? actor_threads
                            : std::max<std::size_t>(1, std::thread::hardware_concurrency()));
  cfg.set("scheduler.policy", options.policy == scheduler_policy::sharing ? caf::atom("sharing")
                                                                          : caf::atom("stealing"));
  // No limit is CAF's default, SIZE_MAX, which its config (int64 integers) cannot even hold.
  if (options.max_throughput > 0) cfg.set("scheduler.max-throughput", options.max_throughput);
  cfg.set("work-stealing.aggressive-poll-attempts", options.spin_polls);
  cfg.set("work-stealing.moderate-poll-attempts", options.sleep_polls);
  cfg.set("work-stealing.moderate-sleep-duration",
          std::chrono::duration_cast<caf::timespan>(options.poll_sleep));
  cfg.set("work-stealing.relaxed-sleep-duration",
          std::chrono::duration_cast<caf::timespan>(options.idle_wait));
}

}  // namespace hibiki::actors
