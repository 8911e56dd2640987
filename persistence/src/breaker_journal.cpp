#include "hibiki/persistence/breaker_journal.hpp"

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace hibiki::persistence {

namespace {

class steady_clock_impl final : public breaker_clock {
 public:
  circuit_breaker::time_point now() const override { return circuit_breaker::clock::now(); }
  bool is_real_time() const override { return true; }
};

/// How often the timer thread looks for overdue calls and queued fail-fast answers. A timeout
/// thus fires up to this much late, which is noise next to the seconds a call timeout is.
constexpr std::chrono::milliseconds poll_interval{10};

const char* const open_message = "journal circuit breaker is open";
const char* const timeout_message = "journal call timed out";
const char* const closed_message = "journal closed";

/// Only storage failures say the journal is unwell; conflict, bad_request and too_large are the
/// caller's mistakes, answered by a healthy journal.
bool counts_as_failure(const status& st) {
  return !st.ok() && st.error().code == errc::unavailable;
}

/// Shared with the inner journal's callbacks and the timer thread, so a late answer arriving
/// after the breaker_journal is gone still finds valid memory (and is dropped).
struct breaker_core {
  /// An append handed to the inner journal and not answered yet.
  struct call {
    append_callback done;
    circuit_breaker::time_point deadline;
    bool trial = false;  ///< the one call of the half-open state
  };
  using answer = std::pair<append_callback, status>;

  breaker_core(journal& inner_journal, breaker_options options, std::shared_ptr<breaker_clock> c)
      : inner(&inner_journal), clock(std::move(c)), breaker(options) {}

  journal* inner;
  std::shared_ptr<breaker_clock> clock;

  mutable std::mutex mutex;
  circuit_breaker breaker;
  std::uint64_t next_id = 1;
  /// By id; with a clock that never goes back, deadlines grow with the id.
  std::map<std::uint64_t, call> waiting;
  std::vector<answer> fail_fast;  ///< answers for the next poll()
  bool closed = false;

  std::condition_variable wake;
  bool stop_timer = false;
  std::thread timer;

  bool has_deadline() const { return breaker.options().call_timeout.count() > 0; }

  /// Asks the breaker whether a call may start; sets `trial` when it is the half-open trial.
  /// Requires the mutex.
  bool acquire(circuit_breaker::time_point now, bool& trial) {
    const bool was_closed = breaker.state(now) == breaker_state::closed;
    if (!breaker.try_acquire(now)) return false;
    trial = !was_closed;
    return true;
  }

  /// Feeds one outcome to the breaker. A call that is not the trial only counts while the
  /// breaker is closed: one started before the breaker opened says nothing about the storage
  /// now, and must not close (or re-open) a half-open breaker in the trial's place.
  /// Requires the mutex.
  void record(bool trial, bool failed, circuit_breaker::time_point now) {
    if (!trial && breaker.state(now) != breaker_state::closed) return;
    if (failed)
      breaker.on_failure(now);
    else
      breaker.on_success(now);
  }

  void on_inner_answer(std::uint64_t id, status st) {
    append_callback done;
    {
      std::lock_guard<std::mutex> lock(mutex);
      auto it = waiting.find(id);
      if (it == waiting.end()) return;  // already answered (timed out or closed): dropped
      done = std::move(it->second.done);
      const bool trial = it->second.trial;
      waiting.erase(it);
      record(trial, counts_as_failure(st), clock->now());
    }
    done(std::move(st));
  }

  void poll() {
    std::vector<answer> out;
    {
      std::lock_guard<std::mutex> lock(mutex);
      out.swap(fail_fast);
      if (has_deadline()) {
        const auto now = clock->now();
        for (auto it = waiting.begin(); it != waiting.end();) {
          if (it->second.deadline > now) break;
          record(it->second.trial, true, now);
          out.emplace_back(std::move(it->second.done), status{errc::unavailable, timeout_message});
          it = waiting.erase(it);
        }
      }
    }
    for (auto& [done, st] : out) done(std::move(st));
  }

  void run_timer() {
    std::unique_lock<std::mutex> lock(mutex);
    while (!stop_timer) {
      wake.wait_for(lock, poll_interval);
      if (stop_timer) break;
      lock.unlock();
      poll();
      lock.lock();
    }
  }
};

}  // namespace

std::shared_ptr<breaker_clock> steady_breaker_clock() {
  static const auto clock = std::make_shared<steady_clock_impl>();
  return clock;
}

struct breaker_journal::impl {
  std::shared_ptr<breaker_core> core;
};

breaker_journal::breaker_journal(journal& inner, breaker_options options,
                                 std::shared_ptr<breaker_clock> clock)
    : impl_(std::make_unique<impl>()) {
  if (!clock) clock = steady_breaker_clock();
  auto core = std::make_shared<breaker_core>(inner, options, std::move(clock));
  // The thread holds the core, not `this`: it may outlive the journal when close() ran on it.
  if (core->clock->is_real_time()) core->timer = std::thread([core] { core->run_timer(); });
  impl_->core = std::move(core);
}

breaker_journal::~breaker_journal() {
  close();
}

void breaker_journal::async_append(append_request req, append_callback done) {
  std::uint64_t id = 0;
  {
    std::lock_guard<std::mutex> lock(impl_->core->mutex);
    if (!impl_->core->closed) {
      const auto now = impl_->core->clock->now();
      bool trial = false;
      if (!impl_->core->acquire(now, trial)) {
        // Answered by the next poll(), never on the caller's stack.
        impl_->core->fail_fast.emplace_back(std::move(done),
                                            status{errc::unavailable, open_message});
        impl_->core->wake.notify_one();
        return;
      }
      id = impl_->core->next_id++;
      impl_->core->waiting.emplace(
          id, breaker_core::call{std::move(done), now + impl_->core->breaker.options().call_timeout,
                                 trial});
    }
  }
  if (id == 0) {
    // Closed: nothing polls any more, so the inner journal answers on its own thread (with
    // `unavailable` itself once it is closed too).
    impl_->core->inner->async_append(std::move(req), std::move(done));
    return;
  }
  std::weak_ptr<breaker_core> self = impl_->core;
  impl_->core->inner->async_append(std::move(req), [self, id](status st) {
    if (auto p = self.lock()) p->on_inner_answer(id, std::move(st));
  });
}

status breaker_journal::replay(const entity_id& entity, seq_nr from, seq_nr to, std::uint64_t max,
                               const std::function<void(const persisted_event&)>& fn) {
  return impl_->core->inner->replay(entity, from, to, max, fn);
}

result<seq_nr> breaker_journal::highest_seq(const entity_id& entity) {
  return impl_->core->inner->highest_seq(entity);
}

status breaker_journal::delete_to(const entity_id& entity, seq_nr to) {
  bool trial = false;
  bool guarded = false;
  {
    std::lock_guard<std::mutex> lock(impl_->core->mutex);
    if (!impl_->core->closed) {
      if (!impl_->core->acquire(impl_->core->clock->now(), trial))
        return status{errc::unavailable, open_message};
      guarded = true;
    }
  }
  status st = impl_->core->inner->delete_to(entity, to);
  if (guarded) {
    std::lock_guard<std::mutex> lock(impl_->core->mutex);
    impl_->core->record(trial, counts_as_failure(st), impl_->core->clock->now());
  }
  return st;
}

breaker_state breaker_journal::state() const {
  std::lock_guard<std::mutex> lock(impl_->core->mutex);
  return impl_->core->breaker.state(impl_->core->clock->now());
}

std::uint32_t breaker_journal::consecutive_failures() const {
  std::lock_guard<std::mutex> lock(impl_->core->mutex);
  return impl_->core->breaker.consecutive_failures();
}

void breaker_journal::poll() {
  impl_->core->poll();
}

void breaker_journal::close() {
  std::vector<breaker_core::answer> out;
  std::thread timer;
  {
    std::lock_guard<std::mutex> lock(impl_->core->mutex);
    impl_->core->closed = true;
    impl_->core->stop_timer = true;
    out.swap(impl_->core->fail_fast);
    for (auto& [id, c] : impl_->core->waiting)
      out.emplace_back(std::move(c.done), status{errc::unavailable, closed_message});
    impl_->core->waiting.clear();
    timer = std::move(impl_->core->timer);
  }
  impl_->core->wake.notify_all();
  if (timer.joinable()) {
    // close() from a callback the timer thread runs cannot join itself; the thread ends on its
    // own at its next wake-up.
    if (timer.get_id() == std::this_thread::get_id())
      timer.detach();
    else
      timer.join();
  }
  for (auto& [done, st] : out) done(std::move(st));
}

}  // namespace hibiki::persistence
