#include "hibiki/persistence/projection_runner.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "hibiki/core/log.hpp"
#include "hibiki/metrics/registry.hpp"

namespace hibiki::persistence {

namespace {

using clock = std::chrono::steady_clock;

/// The window events_per_second is measured over.
constexpr auto rate_window = std::chrono::seconds(5);

double seconds_between(clock::time_point a, clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

/// Sum over `followed` of end - position (never below 0); -1 when an end is unknown.
std::int64_t lag_of(const feed_positions& positions, const feed_positions& ends,
                    const std::vector<std::int32_t>& followed) {
  std::int64_t lag = 0;
  for (auto p : followed) {
    auto e = ends.find(p);
    if (e == ends.end()) return -1;
    auto pos = positions.find(p);
    const std::int64_t at = pos == positions.end() ? 0 : pos->second;
    lag += std::max<std::int64_t>(0, e->second - at);
  }
  return lag;
}

std::int64_t sum_of(const feed_positions& positions, const std::vector<std::int32_t>& followed) {
  std::int64_t sum = 0;
  for (auto p : followed)
    if (auto it = positions.find(p); it != positions.end()) sum += it->second;
  return sum;
}

}  // namespace

std::string_view to_string(projection_state s) {
  switch (s) {
    case projection_state::running:
      return "running";
    case projection_state::rebuilding:
      return "rebuilding";
    case projection_state::failing:
      return "failing";
    case projection_state::stopped:
      break;
  }
  return "stopped";
}

struct projection_runner::impl {
  impl(std::unique_ptr<projection> p, std::unique_ptr<event_feed> f, projection_runner_options o)
      : proj(std::move(p)), feed(std::move(f)), options(std::move(o)) {}

  std::unique_ptr<projection> proj;
  std::unique_ptr<event_feed> feed;
  const projection_runner_options options;

  mutable std::mutex mutex;  // guards everything below up to `thread`
  std::condition_variable wake;
  bool started = false;
  bool stopping = false;
  bool rebuild_requested = false;
  projection_status st;
  /// (when, applied) samples for events_per_second.
  std::deque<std::pair<clock::time_point, std::uint64_t>> samples;
  std::thread thread;
  metrics::collector_handle collector;

  // The thread's own state.
  feed_positions positions;  ///< every partition's next offset (also those not followed now)
  bool loaded = false;       ///< positions hold committed() since the last error
  std::vector<std::int32_t> followed;
  /// Followed partitions whose shared position was consulted since they started being followed
  /// (or since the last load of committed()).
  std::set<std::int32_t> consulted;
  /// Partitions taken over behind their shared position: up to that offset their events are
  /// handed to replay() (another node applied them), not apply().
  feed_positions replay_to;
  /// What was last given to options.shared_positions->store().
  feed_positions shared_stored;
  feed_positions ends;
  clock::time_point ends_at{};
  bool rebuilding = false;
  feed_positions rebuild_target;
  clock::time_point rebuild_started{};

  void run();
  /// One read and apply; returns the events applied. Errors end the step.
  result<std::size_t> step();
  hibiki::status begin_rebuild();
  result<std::vector<std::int32_t>> partitions_to_follow();
  /// Moves each newly followed partition to the later of its position and the shared one.
  hibiki::status adopt_shared_positions();
  /// Gives the followed partitions' positions to the shared store when they moved.
  void store_shared_positions();
  void refresh_ends(bool force);
  /// Publishes the thread's state into `st` (under the mutex).
  void publish(std::size_t applied_now, projection_state state);
  void fail(const std::string& what);
  bool sleep_for(std::chrono::milliseconds d);
};

projection_runner::projection_runner(std::unique_ptr<projection> p,
                                     std::unique_ptr<event_feed> feed,
                                     projection_runner_options options)
    : name_(p->name()),
      impl_(std::make_unique<impl>(std::move(p), std::move(feed), std::move(options))) {
  impl_->st.name = name_;
}

projection_runner::~projection_runner() {
  stop();
}

void projection_runner::start() {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->started) return;
    impl_->started = true;
    impl_->st.state = projection_state::running;
  }
  if (impl_->options.metrics) {
    impl_->collector = impl_->options.metrics->add_collector([this](metrics::registry& r) {
      auto s = status();
      r.set_projection(s.name, s.lag, s.applied);
    });
  }
  impl_->thread = std::thread([this] { impl_->run(); });
}

void projection_runner::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
    impl_->wake.notify_all();
  }
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->collector.reset();
  std::lock_guard lock(impl_->mutex);
  impl_->st.state = projection_state::stopped;
  impl_->st.events_per_second = 0;
}

hibiki::status projection_runner::rebuild() {
  std::lock_guard lock(impl_->mutex);
  if (!impl_->started || impl_->stopping)
    return {errc::unavailable, "the projection " + name_ + " is not running"};
  impl_->rebuild_requested = true;
  // Seen at once by `hibiki admin rebuild`, even before the thread gets to it.
  impl_->st.state = projection_state::rebuilding;
  impl_->st.rebuild = rebuild_progress{};
  impl_->st.rebuild.active = true;
  impl_->wake.notify_all();
  return {};
}

projection_status projection_runner::status() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->st;
}

void projection_runner::impl::run() {
  auto backoff = options.retry_initial;
  for (;;) {
    {
      std::lock_guard lock(mutex);
      if (stopping) return;
    }
    std::string failure;
    try {
      auto applied = step();
      if (applied) {
        backoff = options.retry_initial;
        continue;
      }
      failure = applied.error().message;
    } catch (const std::exception& e) {
      failure = std::string("exception: ") + e.what();
    } catch (...) {
      failure = "unknown exception";
    }
    fail(failure);
    if (!sleep_for(backoff)) return;
    backoff = std::min(backoff * 2, options.retry_max);
  }
}

result<std::size_t> projection_runner::impl::step() {
  bool rebuild_now = false;
  {
    std::lock_guard lock(mutex);
    rebuild_now = std::exchange(rebuild_requested, false);
  }
  if (rebuild_now) {
    if (auto s = begin_rebuild(); !s) {
      // Not reset: ask again on the next attempt.
      std::lock_guard lock(mutex);
      rebuild_requested = true;
      return s.error();
    }
  }
  if (!loaded) {
    auto committed = proj->committed();
    if (!committed) return committed.error();
    positions = std::move(*committed);
    loaded = true;
    consulted.clear();
    replay_to.clear();
  }
  auto follow = partitions_to_follow();
  if (!follow) return follow.error();
  followed = std::move(*follow);
  if (auto s = adopt_shared_positions(); !s) return s.error();
  feed_positions from;
  for (auto p : followed) from[p] = positions.try_emplace(p, 0).first->second;
  std::erase_if(replay_to, [&](const auto& e) {
    return !from.contains(e.first) || from.at(e.first) >= e.second;
  });
  // Partitions being replayed go first, alone: a batch is either replayed or applied.
  const bool replaying = !replay_to.empty();
  if (replaying) std::erase_if(from, [&](const auto& e) { return !replay_to.contains(e.first); });
  refresh_ends(false);
  if (rebuilding && rebuild_target.empty()) {
    refresh_ends(true);  // the end could not be read when the rebuild began
    rebuild_target = ends;
  }

  auto batch = feed->read(from, std::max<std::size_t>(1, options.batch_size), options.wait);
  if (!batch) return batch.error();
  if (replaying) {
    // Only up to the shared position; what lies past it is read again and applied.
    std::erase_if(*batch,
                  [&](const feed_record& r) { return r.offset >= replay_to.at(r.partition); });
  }
  feed_positions next = positions;
  for (const auto& r : *batch) {
    auto& at = next[r.partition];
    at = std::max(at, r.offset + 1);
  }
  for (const auto& [p, offset] : feed->read_to()) {
    if (!from.contains(p)) continue;
    auto& at = next[p];
    at = std::max(at, replaying ? std::min(offset, replay_to.at(p)) : offset);
  }
  if (!batch->empty() || next != positions) {
    auto s = replaying ? proj->replay(*batch, next) : proj->apply(*batch, next);
    if (!s) return s.error();
    positions = std::move(next);
    // A replay is behind the shared positions: storing it would move them back.
    if (!replaying) store_shared_positions();
  }
  if (batch->empty()) refresh_ends(false);
  publish(batch->size(), rebuilding ? projection_state::rebuilding : projection_state::running);
  return batch->size();
}

hibiki::status projection_runner::impl::begin_rebuild() {
  log::info("projection") << proj->name() << ": rebuild requested; resetting";
  if (auto s = proj->reset(); !s) return s;
  positions.clear();
  loaded = true;
  // From the beginning, whatever the other nodes got to (partitions acquired later still resume
  // from the shared positions).
  consulted = {followed.begin(), followed.end()};
  replay_to.clear();
  rebuilding = true;
  rebuild_started = clock::now();
  refresh_ends(true);
  rebuild_target = ends;
  std::lock_guard lock(mutex);
  st.rebuild = rebuild_progress{};
  st.rebuild.active = true;
  return {};
}

result<std::vector<std::int32_t>> projection_runner::impl::partitions_to_follow() {
  if (options.partitions) {
    auto ps = options.partitions();
    std::sort(ps.begin(), ps.end());
    return ps;
  }
  if (!followed.empty() && !options.partitions) return followed;  // the feed's do not change
  return feed->partitions();
}

hibiki::status projection_runner::impl::adopt_shared_positions() {
  // A partition no longer followed is consulted again when it comes back: another node may
  // have moved it on meanwhile.
  std::erase_if(consulted, [&](std::int32_t p) {
    return !std::binary_search(followed.begin(), followed.end(), p);
  });
  if (!options.shared_positions) return {};
  std::vector<std::int32_t> fresh;
  for (auto p : followed)
    if (!consulted.contains(p)) fresh.push_back(p);
  if (fresh.empty()) return {};
  auto shared = options.shared_positions->load(fresh);
  if (!shared)
    return error{shared.error().code,
                 "reading the shared feed positions: " + shared.error().message};
  for (auto p : fresh) {
    const auto at = positions.try_emplace(p, 0).first->second;
    const auto resume = resume_position(at, *shared, p);
    if (resume != at) {
      log::info("projection") << proj->name() << ": partition " << p << " replayed from " << at
                              << " to " << resume << ", applied from there (shared position)";
      replay_to[p] = resume;
    }
    consulted.insert(p);
  }
  return {};
}

void projection_runner::impl::store_shared_positions() {
  if (!options.shared_positions) return;
  feed_positions mine;
  for (auto p : followed) mine[p] = positions[p];
  bool moved = false;
  for (const auto& [p, at] : mine)
    if (auto it = shared_stored.find(p); it == shared_stored.end() || it->second != at)
      moved = true;
  if (!moved) return;
  if (auto s = options.shared_positions->store(mine); !s) {
    log::warn("projection") << proj->name()
                            << ": cannot store the shared feed positions: " << s.error().message;
    return;
  }
  for (const auto& [p, at] : mine) shared_stored[p] = at;
}

void projection_runner::impl::refresh_ends(bool force) {
  const auto now = clock::now();
  if (!force && now - ends_at < options.end_refresh) return;
  ends_at = now;
  auto e = feed->end_positions();
  if (!e) {
    log::warn("projection") << proj->name()
                            << ": cannot read the feed's end: " << e.error().message;
    return;
  }
  ends = std::move(*e);
}

void projection_runner::impl::publish(std::size_t applied_now, projection_state state) {
  const auto now = clock::now();
  std::lock_guard lock(mutex);
  st.applied += applied_now;
  samples.emplace_back(now, st.applied);
  while (samples.size() > 2 && now - samples.front().first > rate_window) samples.pop_front();
  const double span = seconds_between(samples.front().first, now);
  st.events_per_second =
      span > 0 ? static_cast<double>(st.applied - samples.front().second) / span : 0;
  st.positions.clear();
  for (auto p : followed) {
    st.positions[p] = positions[p];
    // The end asked for a moment ago may already be behind what was read since.
    if (auto e = ends.find(p); e != ends.end()) e->second = std::max(e->second, positions[p]);
  }
  st.end_positions = ends;
  st.lag = lag_of(positions, ends, followed);
  if (rebuilding) {
    auto& rb = st.rebuild;
    rb.active = true;
    rb.applied += applied_now;
    std::int64_t total = 0;
    bool reached = true;
    for (auto p : followed) {
      auto t = rebuild_target.find(p);
      const std::int64_t target = t == rebuild_target.end() ? 0 : t->second;
      total += target;
      if (positions[p] < target) reached = false;
    }
    rb.total = rebuild_target.empty() ? -1 : total;
    rb.position = sum_of(positions, followed);
    rb.seconds = seconds_between(rebuild_started, now);
    rb.events_per_second = rb.seconds > 0 ? static_cast<double>(rb.applied) / rb.seconds : 0;
    if (reached && !rebuild_target.empty()) {
      rebuilding = false;
      rb.active = false;
      rb.done = true;
      state = projection_state::running;
      log::info("projection") << st.name << ": rebuild done: " << rb.applied << " events in "
                              << rb.seconds << " s ("
                              << static_cast<std::uint64_t>(rb.events_per_second) << " events/s)";
    }
  }
  // A rebuild asked for but not begun yet keeps showing "rebuilding".
  st.state = rebuild_requested ? projection_state::rebuilding : state;
}

void projection_runner::impl::fail(const std::string& what) {
  log::warn("projection") << proj->name() << ": " << what << " (retrying)";
  loaded = false;  // the projection's durable positions decide where to resume
  // The lag still shows while failing: it is what an operator watches then.
  try {
    refresh_ends(false);
  } catch (...) {
  }
  std::lock_guard lock(mutex);
  st.state = projection_state::failing;
  st.last_error = what;
  st.end_positions = ends;
  if (!followed.empty()) st.lag = lag_of(positions, ends, followed);
}

bool projection_runner::impl::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock lock(mutex);
  return !wake.wait_for(lock, d, [&] { return stopping; });
}

}  // namespace hibiki::persistence
