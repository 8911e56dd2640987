// The breaker journal over a scripted inner journal and a manual clock: timeouts, counting, fail
// fast while open, the half-open trial, reads passing through, delete_to, close(), exactly-once
// callbacks in the timeout / late-answer race, bad options, many threads; and one case on the
// real clock, whose timer thread must answer a fail-fast call by itself.

#include <atomic>
#include <chrono>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "hibiki/persistence/breaker_journal.hpp"
#include "hibiki/testkit/manual_breaker_clock.hpp"

using namespace hibiki;
using namespace std::chrono_literals;
using hibiki::testkit::manual_breaker_clock;
using persistence::append_request;
using persistence::breaker_journal;

namespace {

/// An inner journal the test answers by hand: appends are held until `answer_next`; delete_to
/// returns `delete_status`; reads return canned values. Counts every call.
class scripted_journal final : public persistence::journal {
 public:
  void async_append(append_request req, persistence::append_callback done) override {
    std::lock_guard<std::mutex> lock(mutex_);
    ++appends_;
    held_.push_back({std::move(req), std::move(done)});
  }
  status replay(const entity_id& entity, seq_nr from, seq_nr to, std::uint64_t max,
                const std::function<void(const persistence::persisted_event&)>& fn) override {
    ++replays_;
    for (seq_nr s = from; s <= to && s <= 3 && s - from < max; ++s)
      fn(persistence::persisted_event{entity, s, "w", {1}});
    return {};
  }
  result<seq_nr> highest_seq(const entity_id&) override {
    ++highest_;
    return seq_nr{3};
  }
  status delete_to(const entity_id&, seq_nr) override {
    ++deletes_;
    return delete_status;
  }

  /// Answers the oldest held append with `st` (on the test's thread); false if none is held.
  bool answer_next(status st = {}) {
    persistence::append_callback done;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (held_.empty()) return false;
      done = std::move(held_.front().done);
      held_.pop_front();
    }
    done(std::move(st));
    return true;
  }
  std::size_t held() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return held_.size();
  }
  int appends() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return appends_;
  }

  status delete_status;
  std::atomic<int> replays_{0}, highest_{0}, deletes_{0};

 private:
  struct held_append {
    append_request req;
    persistence::append_callback done;
  };
  mutable std::mutex mutex_;
  std::deque<held_append> held_;
  int appends_ = 0;
};

/// Records every answer a callback gets, so a test can see how many times it ran and with what.
struct answers {
  std::vector<status> got;
  persistence::append_callback cb() {
    return [this](status st) { got.push_back(std::move(st)); };
  }
  std::size_t count() const { return got.size(); }
  bool ok(std::size_t i = 0) const { return got.at(i).ok(); }
  errc code(std::size_t i = 0) const { return got.at(i).ok() ? errc::ok : got.at(i).error().code; }
  std::string message(std::size_t i = 0) const {
    return got.at(i).ok() ? "" : got.at(i).error().message;
  }
};

append_request req(seq_nr seq = 1) {
  return append_request{"room-1", {persistence::persisted_event{"room-1", seq, "w", {1}}}, {}};
}

breaker_options opts(std::uint32_t failures = 3, std::chrono::milliseconds call = 10s,
                     std::chrono::milliseconds reset = 30s) {
  breaker_options o;
  o.max_failures = failures;
  o.call_timeout = call;
  o.reset_timeout = reset;
  return o;
}

const status unavailable{errc::unavailable, "disk on fire"};

/// Opens the breaker with `n` appends answered `unavailable`.
void open_with_failures(breaker_journal& j, scripted_journal& inner, std::uint32_t n) {
  answers a;
  for (std::uint32_t i = 0; i < n; ++i) j.async_append(req(), a.cb());
  for (std::uint32_t i = 0; i < n; ++i) REQUIRE(inner.answer_next(unavailable));
  REQUIRE(a.count() == n);
  REQUIRE(j.state() != breaker_state::closed);  // half-open at once when reset_timeout is 0
}

struct setup {
  explicit setup(breaker_options o = opts()) : j(inner, o, clock) {}
  scripted_journal inner;
  std::shared_ptr<manual_breaker_clock> clock = std::make_shared<manual_breaker_clock>();
  breaker_journal j;
};

}  // namespace

TEST_CASE("breaker journal: closed passes appends through and answers with the inner outcome",
          "[breaker_journal]") {
  setup s;
  answers a;
  s.j.async_append(req(1), a.cb());
  s.j.async_append(req(2), a.cb());
  CHECK(s.inner.appends() == 2);
  CHECK(a.count() == 0);  // nothing before the inner journal answers
  s.j.poll();
  CHECK(a.count() == 0);
  REQUIRE(s.inner.answer_next());
  REQUIRE(s.inner.answer_next(status{errc::conflict, "seq"}));
  REQUIRE(a.count() == 2);
  CHECK(a.ok(0));
  CHECK(a.code(1) == errc::conflict);
  CHECK(a.message(1) == "seq");
  CHECK(s.j.state() == breaker_state::closed);
}

TEST_CASE("breaker journal: max_failures unavailable answers open it; then appends fail fast",
          "[breaker_journal]") {
  setup s;
  open_with_failures(s.j, s.inner, 3);
  CHECK(s.j.consecutive_failures() == 3);

  answers a;
  s.j.async_append(req(), a.cb());
  CHECK(s.inner.appends() == 3);  // never reached the inner journal
  CHECK(a.count() == 0);          // not answered on the caller's stack
  s.j.poll();
  REQUIRE(a.count() == 1);
  CHECK(a.code() == errc::unavailable);
  CHECK(a.message() == "journal circuit breaker is open");
  s.j.poll();
  CHECK(a.count() == 1);
}

TEST_CASE("breaker journal: only unavailable counts as a failure", "[breaker_journal]") {
  setup s(opts(2));
  answers a;
  for (int i = 0; i < 6; ++i) s.j.async_append(req(), a.cb());
  REQUIRE(s.inner.answer_next(status{errc::conflict, "c"}));
  REQUIRE(s.inner.answer_next(status{errc::bad_request, "b"}));
  REQUIRE(s.inner.answer_next(status{errc::too_large, "t"}));
  CHECK(s.j.consecutive_failures() == 0);
  REQUIRE(s.inner.answer_next(unavailable));
  CHECK(s.j.consecutive_failures() == 1);
  // A caller's error between two storage failures: they are not in a row.
  REQUIRE(s.inner.answer_next(status{errc::conflict, "c"}));
  CHECK(s.j.consecutive_failures() == 0);
  REQUIRE(s.inner.answer_next(unavailable));
  CHECK(s.j.state() == breaker_state::closed);
  CHECK(a.count() == 6);
}

TEST_CASE("breaker journal: an append not answered within call_timeout is answered unavailable",
          "[breaker_journal]") {
  setup s(opts(3, 10s));
  answers a;
  s.j.async_append(req(), a.cb());
  s.clock->advance(9999ms);
  s.j.poll();
  CHECK(a.count() == 0);
  s.clock->advance(1ms);
  s.j.poll();
  REQUIRE(a.count() == 1);
  CHECK(a.code() == errc::unavailable);
  CHECK(a.message() == "journal call timed out");
  CHECK(s.j.consecutive_failures() == 1);

  SECTION("a late success is dropped and counts nothing") {
    REQUIRE(s.inner.answer_next());
    CHECK(a.count() == 1);
    CHECK(s.j.consecutive_failures() == 1);
  }
  SECTION("a late failure is dropped and counts nothing") {
    REQUIRE(s.inner.answer_next(unavailable));
    CHECK(a.count() == 1);
    CHECK(s.j.consecutive_failures() == 1);
  }
  s.j.poll();
  CHECK(a.count() == 1);
}

TEST_CASE("breaker journal: an answer that beats the poll wins, once", "[breaker_journal]") {
  setup s(opts(3, 10s));
  answers a;
  s.j.async_append(req(), a.cb());
  s.clock->advance(1h);  // overdue, but nobody polled yet
  REQUIRE(s.inner.answer_next());
  s.j.poll();
  REQUIRE(a.count() == 1);
  CHECK(a.ok());
  CHECK(s.j.consecutive_failures() == 0);
}

TEST_CASE("breaker journal: timeouts open it; each timed-out call counts once",
          "[breaker_journal]") {
  setup s(opts(3, 10s));
  answers a;
  for (int i = 0; i < 3; ++i) {
    s.j.async_append(req(), a.cb());
    s.clock->advance(10s);
    s.j.poll();
    s.j.poll();
  }
  CHECK(a.count() == 3);
  CHECK(s.j.state() == breaker_state::open);
  // Three late answers: dropped, and the breaker stays open.
  while (s.inner.answer_next()) {
  }
  CHECK(a.count() == 3);
  CHECK(s.j.state() == breaker_state::open);
}

TEST_CASE("breaker journal: calls overdue together all time out in one poll", "[breaker_journal]") {
  setup s(opts(10, 10s));
  answers a;
  s.j.async_append(req(), a.cb());
  s.clock->advance(5s);
  s.j.async_append(req(), a.cb());
  s.clock->advance(5s);
  s.j.poll();
  CHECK(a.count() == 1);  // only the first is overdue
  s.clock->advance(5s);
  s.j.poll();
  CHECK(a.count() == 2);
  CHECK(s.j.consecutive_failures() == 2);
}

TEST_CASE("breaker journal: half-open lets one trial through; its success closes it",
          "[breaker_journal]") {
  setup s(opts(2, 10s, 30s));
  open_with_failures(s.j, s.inner, 2);
  s.clock->advance(29s);
  CHECK(s.j.state() == breaker_state::open);
  s.clock->advance(1s);
  CHECK(s.j.state() == breaker_state::half_open);

  answers trial, other;
  s.j.async_append(req(), trial.cb());
  s.j.async_append(req(), other.cb());
  CHECK(s.inner.appends() == 3);  // the trial only
  s.j.poll();
  REQUIRE(other.count() == 1);
  CHECK(other.code() == errc::unavailable);
  CHECK(trial.count() == 0);

  REQUIRE(s.inner.answer_next());
  REQUIRE(trial.count() == 1);
  CHECK(trial.ok());
  CHECK(s.j.state() == breaker_state::closed);
  CHECK(s.j.consecutive_failures() == 0);

  answers after;
  s.j.async_append(req(), after.cb());
  s.j.async_append(req(), after.cb());
  CHECK(s.inner.appends() == 5);
}

TEST_CASE("breaker journal: a failed trial re-opens it for another reset_timeout",
          "[breaker_journal]") {
  setup s(opts(2, 10s, 30s));
  open_with_failures(s.j, s.inner, 2);
  s.clock->advance(30s);
  answers trial;

  SECTION("the trial is answered unavailable") {
    s.j.async_append(req(), trial.cb());
    REQUIRE(s.inner.answer_next(unavailable));
    REQUIRE(trial.count() == 1);
  }
  SECTION("the trial times out") {
    s.j.async_append(req(), trial.cb());
    s.clock->advance(10s);
    s.j.poll();
    REQUIRE(trial.count() == 1);
    CHECK(trial.message() == "journal call timed out");
    REQUIRE(s.inner.answer_next());  // its late success does not close it
    CHECK(trial.count() == 1);
  }
  CHECK(trial.code() == errc::unavailable);
  CHECK(s.j.state() == breaker_state::open);
  const int reached = s.inner.appends();
  answers next;
  s.j.async_append(req(), next.cb());
  s.j.poll();
  REQUIRE(next.count() == 1);
  CHECK(next.message() == "journal circuit breaker is open");
  CHECK(s.inner.appends() == reached);

  s.clock->advance(30s);
  CHECK(s.j.state() == breaker_state::half_open);
  answers second;
  s.j.async_append(req(), second.cb());
  CHECK(s.inner.appends() == reached + 1);
  REQUIRE(s.inner.answer_next());
  CHECK(second.ok());
  CHECK(s.j.state() == breaker_state::closed);
}

TEST_CASE("breaker journal: a call from before the opening does not decide the trial",
          "[breaker_journal]") {
  setup s(opts(1, 60s, 30s));
  answers opener, straggler, trial;
  s.j.async_append(req(), opener.cb());
  s.j.async_append(req(), straggler.cb());    // still in flight when the breaker opens
  REQUIRE(s.inner.answer_next(unavailable));  // the opener: max_failures 1 opens it
  REQUIRE(s.j.state() == breaker_state::open);
  s.clock->advance(30s);
  s.j.async_append(req(), trial.cb());
  REQUIRE(s.inner.answer_next());  // the straggler succeeds: not the trial, so it does not close
  CHECK(straggler.ok());
  CHECK(s.j.state() == breaker_state::half_open);
  REQUIRE(s.inner.answer_next(unavailable));  // the trial fails
  CHECK(trial.code() == errc::unavailable);
  CHECK(s.j.state() == breaker_state::open);
}

TEST_CASE("breaker journal: reads pass through while open", "[breaker_journal]") {
  setup s(opts(1));
  open_with_failures(s.j, s.inner, 1);
  std::vector<seq_nr> seen;
  REQUIRE(s.j.replay("room-1", 1, persistence::max_seq, 10,
                     [&](const persistence::persisted_event& e) { seen.push_back(e.seq); })
              .ok());
  CHECK(seen == std::vector<seq_nr>{1, 2, 3});
  auto h = s.j.highest_seq("room-1");
  REQUIRE(h.ok());
  CHECK(*h == 3);
  CHECK(s.inner.replays_ == 1);
  CHECK(s.inner.highest_ == 1);
  CHECK(s.j.state() == breaker_state::open);
}

TEST_CASE("breaker journal: delete_to goes through the breaker", "[breaker_journal]") {
  setup s(opts(2, 10s, 30s));
  SECTION("closed: forwarded, caller errors do not count, unavailable does") {
    s.inner.delete_status = status{errc::bad_request, "no"};
    CHECK(s.j.delete_to("room-1", 2).error().code == errc::bad_request);
    CHECK(s.j.consecutive_failures() == 0);
    s.inner.delete_status = unavailable;
    CHECK(s.j.delete_to("room-1", 2).error().code == errc::unavailable);
    CHECK(s.j.delete_to("room-1", 2).error().code == errc::unavailable);
    CHECK(s.inner.deletes_ == 3);
    CHECK(s.j.state() == breaker_state::open);
  }
  SECTION("open: fails fast without the inner journal; a delete can be the trial") {
    open_with_failures(s.j, s.inner, 2);
    auto st = s.j.delete_to("room-1", 2);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().code == errc::unavailable);
    CHECK(st.error().message == "journal circuit breaker is open");
    CHECK(s.inner.deletes_ == 0);
    s.clock->advance(30s);
    CHECK(s.j.delete_to("room-1", 2).ok());
    CHECK(s.inner.deletes_ == 1);
    CHECK(s.j.state() == breaker_state::closed);
  }
  SECTION("while an append is the trial, a delete fails fast") {
    open_with_failures(s.j, s.inner, 2);
    s.clock->advance(30s);
    answers trial;
    s.j.async_append(req(), trial.cb());
    CHECK(s.j.delete_to("room-1", 2).error().code == errc::unavailable);
    CHECK(s.inner.deletes_ == 0);
    REQUIRE(s.inner.answer_next());
    CHECK(s.j.state() == breaker_state::closed);
  }
}

TEST_CASE("breaker journal: close answers everything waiting, once", "[breaker_journal]") {
  setup s(opts(1, 10s));
  answers waiting, queued;
  s.j.async_append(req(), waiting.cb());
  s.j.async_append(req(), waiting.cb());
  REQUIRE(s.inner.answer_next(unavailable));  // opens it
  s.j.async_append(req(), queued.cb());       // fail-fast, queued for the next poll
  REQUIRE(waiting.count() == 1);
  s.j.close();
  REQUIRE(waiting.count() == 2);
  CHECK(waiting.code(1) == errc::unavailable);
  CHECK(waiting.message(1) == "journal closed");
  REQUIRE(queued.count() == 1);
  CHECK(queued.code() == errc::unavailable);

  s.j.close();  // idempotent
  s.j.poll();
  REQUIRE(s.inner.answer_next());  // the late answer of the closed call: dropped
  CHECK(waiting.count() == 2);
  CHECK(queued.count() == 1);

  // After close the inner journal answers by itself (nothing polls any more).
  answers after;
  s.j.async_append(req(), after.cb());
  REQUIRE(s.inner.answer_next(unavailable));
  REQUIRE(after.count() == 1);
  CHECK(after.message() == "disk on fire");
}

TEST_CASE("breaker journal: the destructor closes, and late answers after it are safe",
          "[breaker_journal]") {
  scripted_journal inner;
  answers a;
  {
    breaker_journal j(inner, opts(), std::make_shared<manual_breaker_clock>());
    j.async_append(req(), a.cb());
  }
  REQUIRE(a.count() == 1);
  CHECK(a.code() == errc::unavailable);
  REQUIRE(inner.answer_next());  // the breaker is gone; the answer goes nowhere
  CHECK(a.count() == 1);
}

TEST_CASE("breaker journal: bad options", "[breaker_journal]") {
  SECTION("zero max_failures counts as one") {
    setup s(opts(0));
    answers a;
    s.j.async_append(req(), a.cb());
    CHECK(s.inner.appends() == 1);  // not open before the first call
    REQUIRE(s.inner.answer_next(unavailable));
    CHECK(s.j.state() == breaker_state::open);
  }
  SECTION("zero call_timeout enforces no deadline") {
    setup s(opts(1, 0ms));
    answers a;
    s.j.async_append(req(), a.cb());
    s.clock->advance(24h);
    s.j.poll();
    CHECK(a.count() == 0);
    REQUIRE(s.inner.answer_next());
    CHECK(a.ok());
  }
  SECTION("zero reset_timeout: the next call is the trial at once") {
    setup s(opts(1, 10s, 0ms));
    open_with_failures(s.j, s.inner, 1);
    CHECK(s.j.state() == breaker_state::half_open);
    answers trial, other;
    s.j.async_append(req(), trial.cb());
    s.j.async_append(req(), other.cb());
    s.j.poll();
    CHECK(other.code() == errc::unavailable);
    CHECK(s.inner.appends() == 2);
    REQUIRE(s.inner.answer_next());
    CHECK(s.j.state() == breaker_state::closed);
  }
  SECTION("a null clock means the real one") {
    scripted_journal inner;
    breaker_journal j(inner, opts(), nullptr);
    CHECK(j.state() == breaker_state::closed);
  }
}

TEST_CASE("breaker journal: many threads, every callback runs exactly once", "[breaker_journal]") {
  scripted_journal inner;
  auto clock = std::make_shared<manual_breaker_clock>();
  breaker_journal j(inner, opts(1000000, 10s), clock);
  constexpr int threads = 4, per_thread = 250;
  std::vector<std::atomic<int>> calls(threads * per_thread);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        auto slot = t * per_thread + i;
        j.async_append(req(), [&calls, slot](status) { ++calls[slot]; });
      }
    });
  for (auto& t : ts) t.join();
  REQUIRE(inner.held() == threads * per_thread);
  // Half the calls time out while answers race in from two threads and a poller.
  clock->advance(10s);
  std::atomic<bool> done{false};
  std::thread poller([&] {
    while (!done) j.poll();
  });
  std::thread a1([&] {
    while (inner.answer_next()) {
    }
  });
  std::thread a2([&] {
    while (inner.answer_next()) {
    }
  });
  a1.join();
  a2.join();
  done = true;
  poller.join();
  j.poll();
  for (std::size_t i = 0; i < calls.size(); ++i) REQUIRE(calls[i] == 1);
}

TEST_CASE("breaker journal: on the real clock its own thread answers a fail-fast call",
          "[breaker_journal][realtime]") {
  scripted_journal inner;
  breaker_journal j(inner, opts(1, 10s, 600s));
  answers opener;
  j.async_append(req(), opener.cb());
  REQUIRE(inner.answer_next(unavailable));
  REQUIRE(j.state() == breaker_state::open);

  auto got = std::make_shared<std::promise<std::pair<status, std::thread::id>>>();
  auto fut = got->get_future();
  j.async_append(req(), [got](status st) {
    got->set_value({std::move(st), std::this_thread::get_id()});
  });
  // Generous: the thread polls every few ms; this only guards against a hang.
  REQUIRE(fut.wait_for(60s) == std::future_status::ready);
  auto [st, thread] = fut.get();
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == errc::unavailable);
  CHECK(st.error().message == "journal circuit breaker is open");
  CHECK(thread != std::this_thread::get_id());
  CHECK(inner.appends() == 1);
}
