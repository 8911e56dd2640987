#pragma once
/// Runs one read-side projection (projection.hpp) over one reader of the feed (event_feed.hpp) in
/// its own thread: reads the projection's committed positions, then reads batches from there and
/// hands each to apply() with the positions after it, forever. The write side never waits for it:
/// the feed is read from storage, and a slow or failing projection only grows its lag.
///
/// Errors (the feed, the projection, a throwing projection) are logged and retried with backoff;
/// after an error the runner reads committed() again, so it resumes exactly where the
/// projection's durable output ends. Nothing here ever takes the server down.
///
/// apply() may get an empty batch: it moves the positions past offsets that hold no event (Kafka
/// transaction markers and aborted records, events deleted by delete_to).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hibiki/core/result.hpp"
#include "hibiki/persistence/event_feed.hpp"
#include "hibiki/persistence/position_store.hpp"
#include "hibiki/persistence/projection.hpp"

namespace hibiki::metrics {
class registry;
}

namespace hibiki::persistence {

struct projection_runner_options {
  /// Most events handed to one apply(). Default: 1000.
  std::size_t batch_size = 1000;
  /// How long one read of the feed waits for new events; stop() may wait that long for a read in
  /// progress. Default: 200 ms.
  std::chrono::milliseconds wait{200};
  /// The pause after a first error; doubled after each further one, up to retry_max. Default:
  /// 100 ms.
  std::chrono::milliseconds retry_initial{100};
  /// The longest pause between retries. Default: 10 s.
  std::chrono::milliseconds retry_max{10'000};
  /// How often the feed's end is asked for (lag, rebuild progress). Default: 1 s.
  std::chrono::milliseconds end_refresh{1000};
  /// The partitions to follow, asked before each read (the answer may change: a clustered
  /// node's owned partitions). Default: empty = every partition of the feed.
  std::function<std::vector<std::int32_t>()> partitions;
  /// Positions shared with the other nodes (position_store.hpp): when a partition starts being
  /// followed (at start, after an error, when this node acquires it) and its stored position is
  /// past the projection's own, the runner hands the events up to the stored position to
  /// replay() (state without output: another node produced it), then applies the rest; it
  /// consults the store again for a partition that stopped being followed. After each apply it
  /// stores the positions of the partitions it follows (a failure to store is logged, not fatal). A
  /// rebuild ignores the stored positions of the partitions followed when it begins. Default:
  /// null = the projection's own positions only.
  std::shared_ptr<position_store> shared_positions;
  /// Where hibiki_projection_lag_events and hibiki_projection_applied_total are reported.
  /// Default: null = not recorded.
  std::shared_ptr<metrics::registry> metrics;
};

enum class projection_state : std::uint8_t {
  running,     ///< following the feed
  rebuilding,  ///< reset, reading the feed again from the beginning
  failing,     ///< the last attempt failed; retrying with backoff
  stopped,     ///< not started, or stopped
};
/// "running", "rebuilding", "failing", "stopped".
std::string_view to_string(projection_state s);

/// A rebuild's progress: events applied since reset() against the feed's end when it began.
struct rebuild_progress {
  bool active = false;        ///< a rebuild is running
  bool done = false;          ///< the last rebuild reached the end it started with
  std::uint64_t applied = 0;  ///< events applied since the rebuild began
  /// Feed offsets to read (the sum of the ends when it began); -1 until known.
  std::int64_t total = -1;
  std::int64_t position = 0;     ///< feed offsets read so far (sum over the partitions)
  double seconds = 0;            ///< since the rebuild began (until done)
  double events_per_second = 0;  ///< applied / seconds
};

/// A runner's status (`hibiki admin projections`).
struct projection_status {
  std::string name;
  projection_state state = projection_state::stopped;
  feed_positions positions;      ///< next offset to apply, per partition followed
  feed_positions end_positions;  ///< the feed's end per partition, as last asked
  std::int64_t lag = -1;         ///< sum over followed partitions of end - position; -1 unknown
  std::uint64_t applied = 0;     ///< events applied since the runner started
  double events_per_second = 0;  ///< applied per second over the last few seconds
  std::string last_error;        ///< the last error since the runner started; empty when none
  rebuild_progress rebuild;      ///< the current or last rebuild (all zero when none)
};

class projection_runner {
 public:
  /// Does not start yet. `p` and `feed` must not be null.
  projection_runner(std::unique_ptr<projection> p, std::unique_ptr<event_feed> feed,
                    projection_runner_options options = {});
  /// Stops (joins the thread).
  ~projection_runner();
  projection_runner(const projection_runner&) = delete;
  projection_runner& operator=(const projection_runner&) = delete;

  /// Starts the thread. Once only.
  void start();
  /// Asks the thread to stop and joins it: returns after the batch in progress is applied or
  /// the read in progress returns (at most `wait`). Idempotent.
  void stop();

  /// Asks for a rebuild: the thread calls reset(), then applies the feed from the beginning;
  /// progress in status().rebuild. Errors: unavailable when the runner is stopped.
  hibiki::status rebuild();

  const std::string& name() const { return name_; }
  /// A copy of the status. Thread-safe.
  projection_status status() const;

 private:
  struct impl;
  std::string name_;
  std::unique_ptr<impl> impl_;
};

}  // namespace hibiki::persistence
